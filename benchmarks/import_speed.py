"""Import speed: ``erpnext-medusa import`` of N benchmark customers into an empty, migrated database.

    python -m benchmarks.import_speed --backend mariadb --customers 200000 --runs 3 [--baseline REF]

Each run creates the database, upgrades it, and times the import command (a process of its own), whose
peak RSS is read from the kernel when it exits. With ``--baseline REF`` the same runs are made with the code
of git revision REF (checked out in a temporary worktree), alternating with this checkout's, and both are
printed side by side: medians over the runs, and the ratio of this checkout's to the baseline's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import dataset
from benchmarks.run import DATA, ROOT, database_url, drop_database

DB_NAME = "erpnext_medusa_import_bench"


def run_once(backend: str, source: Path, code: Path, work: Path) -> tuple[float, float]:
    """One import with the service's code under ``code`` (a ``src`` folder): seconds and peak RSS (MB)."""
    url = database_url(backend, work, DB_NAME)
    env = {**os.environ, "ERPNEXT_MEDUSA_DATABASE_URL": url, "ERPNEXT_MEDUSA_LOG_LEVEL": "warning",
           "PYTHONPATH": os.pathsep.join([str(code), str(ROOT.parent)])}  # fmt: skip
    command = [sys.executable, "-m", "erpnext_medusa"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    process = subprocess.Popen([*command, "import", str(source)], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the import failed (exit {process.returncode})")
    drop_database(backend, DB_NAME)
    return seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), required=True)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF", help="also time git revision REF, run for run")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    source = dataset.write_jsonl(DATA / f"customers-{args.customers}.jsonl", args.customers)
    current = ROOT.parent / "src"
    with tempfile.TemporaryDirectory(prefix="erpnext-medusa-import-") as tmp:
        work = Path(tmp)
        codes = {"current": current}
        if args.baseline:
            checkout = work / "baseline"
            subprocess.run(["git", "-C", str(ROOT.parent), "worktree", "add", "--detach", str(checkout),
                            args.baseline], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            codes["baseline"] = checkout / "src"
        try:
            figures: dict[str, list[tuple[float, float]]] = {label: [] for label in codes}
            for run in range(1, args.runs + 1):
                for label, code in codes.items():
                    seconds, rss = run_once(args.backend, source, code, work)
                    figures[label].append((seconds, rss))
                    print(f"run {run} {label:8} {seconds:8.1f} s {rss:7.0f} MB", flush=True)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT.parent), "worktree", "remove", "--force",
                                str(work / "baseline")], check=False)  # fmt: skip
    medians = {label: (statistics.median(s for s, _ in runs), statistics.median(r for _, r in runs))
               for label, runs in figures.items()}  # fmt: skip
    print(f"\n{args.backend}, {args.customers:,} customers, medians of {args.runs} run(s):")
    print(f"{'':10}{'import s':>10}{'peak RSS MB':>13}")
    for label, (seconds, rss) in medians.items():
        print(f"{label:10}{seconds:10.1f}{rss:13.0f}")
    if "baseline" in medians:
        (cs, cr), (bs, br) = medians["current"], medians["baseline"]
        print(f"{'ratio':10}{cs / bs:10.2f}{cr / br:13.2f}  (current / baseline)")


if __name__ == "__main__":
    main()
