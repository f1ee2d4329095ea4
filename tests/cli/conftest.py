"""Fixtures of the CLI tests: a SQLite file of the test's own, named by the environment as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)  # no stray .env or default database file from the repository
    return path
