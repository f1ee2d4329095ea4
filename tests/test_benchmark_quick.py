"""The benchmark's --quick mode as a smoke test: it loads 20,000 customers, serves them with the real server
and the baseline, and fails when any answer of the service differs from the baseline's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import ADMIN_URLS

if TYPE_CHECKING:
    from tests.conftest import TestDatabases

ROOT = Path(__file__).resolve().parent.parent


def free_port_pair() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return int(port)


def test_quick_benchmark_answers_as_the_baseline(databases: TestDatabases) -> None:
    backend = databases.backend
    env = {
        **os.environ,
        "ERPNEXT_MEDUSA_BENCH_POSTGRES_URL": ADMIN_URLS["postgresql"],
        "ERPNEXT_MEDUSA_BENCH_MARIADB_URL": ADMIN_URLS["mariadb"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--backend", backend, "--port", str(free_port_pair())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "32 conns mixed fetch, requests/s" in result.stdout
    assert "16 conns update, errors" in result.stdout
