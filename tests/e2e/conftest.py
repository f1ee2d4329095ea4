"""Fixtures of the process tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from erpnext_medusa.services import Services
from tests.helpers import migrated_database


@pytest.fixture
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[URL, Services]]:
    """A new database on the backend the test is parametrised with (``indirect=True``), built by the real
    migrations; dropped after the test."""
    with migrated_database(request.param, tmp_path) as made:
        yield made
