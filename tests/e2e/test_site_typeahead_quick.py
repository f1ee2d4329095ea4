"""benchmarks/site_typeahead.py and benchmarks/http_overhead.py at a tiny size, so that they cannot rot: the
typeahead benchmark checks every answer of the erpnext shape's mirror against the original query's on each
database, prints every figure, never calls the site, and leaves no database behind; the overhead benchmark
prints its CPU figures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.test_benchmark_quick import _database_exists
from tests.helpers import ADMIN_URLS, free_port_pair

if TYPE_CHECKING:
    from tests.helpers import TestDatabases

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("HTTP all queries p99 ms", "32 conns mixed fetch, successful/s", "32 conns mixed fetch, p99 ms")


def test_quick_site_typeahead_answers_as_the_original_query(databases: TestDatabases) -> None:
    backend = databases.backend
    db_name = f"em_site_ta_{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "ERPNEXT_MEDUSA_BENCH_POSTGRES_URL": ADMIN_URLS["postgresql"],
        "ERPNEXT_MEDUSA_BENCH_MARIADB_URL": ADMIN_URLS["mariadb"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.site_typeahead", "--quick", "--backend", backend,
         "--port", str(free_port_pair()), "--db-name", db_name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    for figure in FIGURES:
        (line,) = [line for line in lines if line.startswith(figure)]
        service, baseline, _ratio = (float(v) for v in line[len(figure) :].split())
        assert service > 0 and baseline > 0, line
    assert "requests the service made to the site: 0" in lines
    for name in (db_name, f"{db_name}_original"):
        assert not _database_exists(backend, name), f"the benchmark left {name} behind"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the overhead benchmark is measured with wrk")
def test_the_http_overhead_benchmark_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.http_overhead", "--runs", "1", "--duration", "1", "--connections", "4",
         "--port", str(free_port_pair())],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    for kind in ("ping", r"search \(stub store\)"):
        found = re.search(rf"^{kind}\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)x\s+(\d+)$", result.stdout, re.MULTILINE)
        assert found is not None, result.stdout
        assert all(float(v) > 0 for v in found.groups()), found.group(0)
