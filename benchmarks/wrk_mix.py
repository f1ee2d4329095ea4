"""Print a wrk script for the benchmark's read mix, optionally without some queries:

    python -m benchmarks.wrk_mix [--without QUERY ...] > mix.lua
    wrk -t2 -c32 -d10s --timeout 120s --latency -s mix.lua http://127.0.0.1:8000

For figures beside the full run (benchmarks/run.py), against a server started on its database.
"""

from __future__ import annotations

import argparse
import json

from benchmarks.run import QUERY_CLASSES, WRK_SCRIPT, fetch_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--without", nargs="*", default=[], help="queries to leave out of the mix")
    args = parser.parse_args()
    queries = [q for qs in QUERY_CLASSES.values() for q in qs if q not in args.without]
    print(WRK_SCRIPT % ", ".join(json.dumps(fetch_path(q)) for q in queries))


if __name__ == "__main__":
    main()
