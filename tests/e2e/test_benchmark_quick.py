"""The benchmark's --quick mode as a smoke test: it loads 20,000 customers, serves them with the real server
and the baseline, and fails when any answer of the service differs from the baseline's."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text

from tests.helpers import ADMIN_URLS, free_port_pair

if TYPE_CHECKING:
    from tests.helpers import TestDatabases

ROOT = Path(__file__).resolve().parents[2]


def _database_exists(backend: str, name: str) -> bool:
    if backend == "sqlite":
        return False
    engine = create_engine(ADMIN_URLS[backend])
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            else:
                found = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
                                     {"n": name}).first()  # fmt: skip
    finally:
        engine.dispose()
    return found is not None


def test_quick_benchmark_answers_as_the_baseline(databases: TestDatabases, tmp_path: Path) -> None:
    backend = databases.backend
    db_name = f"em_bench_{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "ERPNEXT_MEDUSA_BENCH_POSTGRES_URL": ADMIN_URLS["postgresql"],
        "ERPNEXT_MEDUSA_BENCH_MARIADB_URL": ADMIN_URLS["mariadb"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--backend", backend, "--port", str(free_port_pair()),
         "--data-dir", str(tmp_path / "data"), "--db-name", db_name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "32 conns mixed fetch, requests/s" in result.stdout
    assert "16 conns update, errors" in result.stdout
    assert not _database_exists(backend, db_name), "the benchmark left its database behind"
