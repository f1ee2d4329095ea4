"""How search latency grows with the number of customers: the database-level figures of every query class.

    python -m benchmarks.growth --backend postgresql --customers 10000 100000 1000000 5000000 [--repeat 30]

For each size it builds a fresh database (``erpnext-medusa db upgrade`` and ``import``, timed), takes the
search's statistics as a running server would, and times every query of ``benchmarks/run.py`` (the original
classes and the adversarial battery, each with its own page) called in-process, as the ``DB`` rows of the main
benchmark are. It prints one table: per class, the p99 in ms at each size, and the ratio of the largest size
to the one before it (the growth target compares 5M with 1M). The database is dropped afterwards unless
``--keep``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks import dataset
from benchmarks.run import ALL_CLASSES, DATA, ROOT, cli, database_url, drop_database, percentiles, timed
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.store import SqlStore


def measure(backend: str, customers: int, repeat: int, data_dir: Path, keep: bool) -> dict[str, float]:
    """p99 ms per class (and over every query) at this size, plus the import's seconds."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = dataset.write_jsonl(data_dir / f"customers-{customers}.jsonl", customers)
    name = f"em_growth_{customers}"
    work = Path(tempfile.mkdtemp(prefix="em-growth-"))
    url = database_url(backend, work, name)
    env = {**os.environ, "ERPNEXT_MEDUSA_DATABASE_URL": url, "ERPNEXT_MEDUSA_LOG_LEVEL": "warning",
           "PYTHONPATH": str(ROOT.parent)}  # fmt: skip
    try:
        cli(env, "db", "upgrade")
        started = time.perf_counter()
        cli(env, "import", str(source))
        figures = {"import s": time.perf_counter() - started}
        engine = make_engine(make_url(url))
        store = SqlStore(engine)
        store.search.refresh_statistics()
        every: list[float] = []
        for cls, queries in ALL_CLASSES.items():
            samples: list[float] = []
            for q in queries:
                words = q.words.split()
                samples += timed(lambda w=words, q=q: store.search_unlinked_customers(
                    w, limit=q.limit, offset=q.offset), repeat)  # fmt: skip
            figures[cls] = percentiles(samples)[1]
            every += samples
        figures["all queries"] = percentiles(every)[1]
        engine.dispose()
        return figures
    finally:
        if not keep:
            drop_database(backend, name)
            for path in sorted(work.glob("*")):
                path.unlink()
            work.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=30, help="searches per query")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where generated data sets are cached")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args(argv)
    sizes = sorted(args.customers)
    table = {n: measure(args.backend, n, args.repeat, args.data_dir, args.keep) for n in sizes}
    rows = ["import s", *ALL_CLASSES, "all queries"]
    head = f"{'p99 ms (DB), ' + args.backend:34}" + "".join(f"{n:>12,}" for n in sizes)
    if len(sizes) > 1:
        head += f"{'ratio':>8}"
    print(head)
    for row in rows:
        line = f"{row:34}" + "".join(f"{table[n][row]:12.2f}" for n in sizes)
        if len(sizes) > 1:
            line += f"{table[sizes[-1]][row] / table[sizes[-2]][row]:8.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
