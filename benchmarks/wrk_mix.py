"""Print a wrk script for the benchmark's read mix, optionally without some queries:

    python -m benchmarks.wrk_mix [--original] [--without QUERY ...] > mix.lua
    wrk -t2 -c32 -d10s --timeout 120s --latency -s mix.lua http://127.0.0.1:8000

For figures beside the full run (benchmarks/run.py), against a server started on its database (with the
default cap, ``fetch_max_results`` 500, which the battery's pages reach). The mix is every query of the run,
each with its own page (``limit``, ``limit_start``); ``--original`` keeps only the original 21 queries, the
mix of the figures taken before the adversarial battery.
"""

from __future__ import annotations

import argparse
import json

from benchmarks.run import ALL_CLASSES, QUERY_CLASSES, WRK_SCRIPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--original", action="store_true", help="only the original 21 queries (no battery)")
    parser.add_argument(
        "--without", nargs="*", default=[], help="queries to leave out of the mix, by label (as in --list)"
    )
    parser.add_argument("--list", action="store_true", help="print the queries' labels instead, one a line")
    args = parser.parse_args()
    classes = QUERY_CLASSES if args.original else ALL_CLASSES
    queries = [q for qs in classes.values() for q in qs if q.label not in args.without]
    if args.list:
        print("\n".join(q.label for q in queries))
        return
    print(WRK_SCRIPT % ", ".join(json.dumps(q.path) for q in queries))


if __name__ == "__main__":
    main()
