"""benchmarks/site_sync.py at a tiny size, so that it cannot rot: it runs on the three databases and prints
every figure, each positive."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "full sync, in process, customers/s",
    "full sync, service alone, customers/s",
    "full sync, over a socket, customers/s",
    "peak RSS during the sync, MB",
    "changes pass after the edits, s",
    "webhook round p50 ms",
    "webhook round p99 ms",
)


def test_the_site_sync_benchmark_prints_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.site_sync", "--quick", "--db-name", f"em_site_bench_{tmp_path.name[-8:]}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert re.search(r"sqlite\s+postgresql\s+mariadb", result.stdout)
    for figure in FIGURES:
        (line,) = [line for line in lines if line.startswith(figure)]
        values = [float(v) for v in line[len(figure) :].split()]
        assert len(values) == 3 and all(v > 0 for v in values), line
