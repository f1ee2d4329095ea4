"""The erpnext shape's typeahead against the original query, side by side in one run, on one database.

    python -m benchmarks.site_typeahead [--backend sqlite|postgresql|mariadb] [--customers N] [--repeat 10]
                                        [--src PATH] [--quick]

It generates N customers (benchmarks/dataset.py) and writes them twice, straight from the generator, in pages:

* into the service's mirror (``erpnext_medusa_site_customer``), on a database built by the site track's
  migrations, through ``Mirror.upsert_customers`` (as a sync writes it, without a site to read from);
* into ``tabCustomer`` alone, on a second database: the table the original query scanned.

Then it serves the mirror with ``erpnext-medusa serve`` in the ``erpnext`` shape, and the original query with
benchmarks/baseline.py on the second database. A search reads only the mirror: the shape's site URL points at
a listener of this script that answers nothing, and the run fails if anything calls it. Before anything is
timed, every query's pages are checked against the matches in the original table (benchmarks/run.py's check:
the customers whose folded name holds every folded word, as the mirror folds them on every database).

It prints, service beside original query: single-client p50/p99 over HTTP per query class of benchmarks/run.py
(the 21 original queries and the 24 of the adversarial battery) and the p99 over all of them; the read mix at
32 connections (wrk, else benchmarks/load.py): requests/s, successful requests/s, p99, errors.

``--src PATH`` runs the service's code from another checkout's ``src`` (this script and its data stay).
``--quick`` (2,000 customers, short runs) is the smoke test: it checks answers, not speed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url

import erpnext_medusa
from benchmarks import dataset
from benchmarks.baseline import folded_names_in_order
from benchmarks.run import (
    ALL_CLASSES,
    FETCH_CAP,
    HEADER,
    check_answers,
    database_url,
    drop_database,
    fetch_path,
    http_get,
    http_latencies,
    http_lines,
    mix_lines,
    read_mix,
    server,
    service_env,
)
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.store.sql.mirror import Mirror, MirrorCustomer
from erpnext_medusa.store.sql.site_tables import SITE_TABLES

DB_NAME = "erpnext_medusa_site_typeahead"
PAGE = 5_000  # customers per write
MODIFIED = datetime(2026, 1, 1)
#: Seconds for the workers' planner statistics to come in before anything is timed (a 1M sample takes ~2 s).
STATISTICS_WAIT_S = 5.0


# -- the data, twice ------------------------------------------------------------------------------------


def _mirrored(doc: dict[str, Any], i: int) -> MirrorCustomer:
    return MirrorCustomer(
        name=doc["name"], customer_name=doc["customer_name"], email_id=doc.get("email_id"),
        mobile_no=doc.get("mobile_no"), medusa_id=doc.get("medusa_id"), lead_name=None, disabled=False,
        modified=MODIFIED + timedelta(seconds=i),
    )  # fmt: skip


def _original(doc: dict[str, Any], i: int) -> dict[str, Any]:
    fields = ("name", "customer_name", "customer_type", "customer_group", "territory")
    at = MODIFIED + timedelta(seconds=i)
    return {f: doc[f] for f in fields} | {
        "email_id": doc.get("email_id"), "mobile_no": doc.get("mobile_no"), "medusa_id": doc.get("medusa_id"),
        "creation": at, "modified": at,
    }  # fmt: skip


def fill(customers: int, mirror_engine: Engine, original_engine: Engine) -> dict[str, float]:
    """The data set into the mirror (site track's schema) and into a bare ``tabCustomer``; seconds of each."""
    upgrade(mirror_engine, track="site")
    # tabCustomer without the standalone shape's search machinery (the original query scans it), and the
    # service's own tables, which the baseline's server prunes.
    own = [table for table in SITE_TABLES if table.metadata is t.metadata]
    t.metadata.create_all(original_engine, tables=[t.customer, *own])
    mirror = Mirror(mirror_engine)
    spent = {"mirror_fill_s": 0.0, "original_fill_s": 0.0}
    docs = dataset.documents(customers)
    for start in range(0, customers, PAGE):
        page = [(start + k, doc) for k, doc in zip(range(PAGE), docs, strict=False)]
        started = time.perf_counter()
        mirror.upsert_customers([_mirrored(doc, i) for i, doc in page])
        spent["mirror_fill_s"] += time.perf_counter() - started
        started = time.perf_counter()
        with original_engine.begin() as conn:
            conn.execute(insert(t.customer), [_original(doc, i) for i, doc in page])
        spent["original_fill_s"] += time.perf_counter() - started
    started = time.perf_counter()
    mirror.analyze()  # as a sync does once it has filled the mirror
    spent["mirror_fill_s"] += time.perf_counter() - started
    return spent


# -- the site the shape points at: nobody should call it ------------------------------------------------


@contextmanager
def tripwire() -> Iterator[tuple[str, list[str]]]:
    """A listener on a free port that answers every request 503 and notes its path; its URL and the paths."""
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            calls.append(f"{self.command} {self.path}")
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _refuse

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the run prints its own figures
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.server_address[1]}", calls
    finally:
        listener.shutdown()
        listener.server_close()


def erpnext_env(url: str, site_url: str) -> dict[str, str]:
    """The service in the erpnext shape on the mirror at ``url``, its site at ``site_url``; no periodic pass
    within a run (its first comes one sync interval after start)."""
    return service_env(url) | {
        "ERPNEXT_MEDUSA_BACKEND": "erpnext", "ERPNEXT_MEDUSA_ERPNEXT_URL": site_url,
        "ERPNEXT_MEDUSA_ERPNEXT_API_KEY": "bench", "ERPNEXT_MEDUSA_ERPNEXT_API_SECRET": "bench",
        "ERPNEXT_MEDUSA_ERPNEXT_SYNC_INTERVAL": "86400",
    }  # fmt: skip


# -- the run ---------------------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; the work folder and both databases are removed afterwards unless --keep."""
    work = Path(tempfile.mkdtemp(prefix="erpnext-medusa-site-typeahead-"))
    names = (args.db_name, f"{args.db_name}_original")
    try:
        return _measure(args, work, names)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            for name in names:
                drop_database(args.backend, name)


def _measure(args: argparse.Namespace, work: Path, db_names: tuple[str, str]) -> dict[str, Any]:
    urls = []
    for name in db_names:
        (work / name).mkdir()
        urls.append(database_url(args.backend, work / name, name))
    mirror_url, original_url = urls
    mirror_engine, original_engine = make_engine(make_url(mirror_url)), make_engine(make_url(original_url))
    try:
        results: dict[str, Any] = {"backend": args.backend, "customers": args.customers}
        results |= fill(args.customers, mirror_engine, original_engine)
        print(f"filled: mirror {results['mirror_fill_s']:.1f} s, original table {results['original_fill_s']:.1f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        queries = [q for qs in ALL_CLASSES.values() for q in qs]
        found = folded_names_in_order(original_engine, list(dict.fromkeys(q.words for q in queries)), cap=FETCH_CAP)
    finally:
        mirror_engine.dispose()
        original_engine.dispose()
    in_order = {words: names for words, (names, _count) in found.items()}
    results["matches"] = {q.label: found[q.words][1] for q in queries}
    with tripwire() as (site_url, site_calls):
        envs = {"service": erpnext_env(mirror_url, site_url), "baseline": service_env(original_url)}
        for name, port in (("service", args.port), ("baseline", args.port + 1)):
            with server(envs[name], port, args.workers, baseline=name == "baseline"):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                if name == "service":
                    check_answers(port, queries, in_order)
                    for _ in range(4 * args.workers):
                        http_get(conn, fetch_path("warm up"))
                    # Each worker samples the names for its planner in the background at its first search: let
                    # the samples come in, so that what is timed is the service as it runs, not its first seconds.
                    time.sleep(STATISTICS_WAIT_S)
                    conn.close()  # the server's keep-alive has closed it meanwhile
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                repeat = args.repeat if name == "service" else args.baseline_repeat
                results[f"{name}_http"], results[f"{name}_http_all"] = http_latencies(conn, repeat)
                conn.close()
                results[f"{name}_load"] = read_mix(
                    f"http://127.0.0.1:{port}", args.duration, work, python_load=args.python_load
                )
        results["site_calls"] = list(site_calls)
    if site_calls:
        raise SystemExit(f"the service called the site during the run: {site_calls[:5]}")
    return results


def report(r: dict[str, Any]) -> str:
    lines = [
        f"backend {r['backend']}, {r['customers']:,} customers, erpnext shape (mirror) against the original query",
        f"fill: mirror {r['mirror_fill_s']:.1f} s, original table {r['original_fill_s']:.1f} s",
        "",
        HEADER,
        *http_lines(r),
        *mix_lines(r),
        f"requests the service made to the site: {len(r['site_calls'])}",
    ]
    return "\n".join(lines)


def _run_from(src: Path, argv: list[str]) -> None:
    """Run this script again with the service's code from ``src`` (unless it already comes from there)."""
    here = Path(erpnext_medusa.__file__).resolve().parents[1]
    if here == src.resolve():
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src.resolve()), str(Path(__file__).parents[1])])}
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks.site_typeahead", *argv], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="2,000 customers and short runs (the smoke test)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=18090, help="service port (the baseline takes the next)")
    parser.add_argument("--repeat", type=int, default=10, help="single-client requests per query (service)")
    parser.add_argument("--baseline-repeat", type=int, default=3, help="single-client requests per query (baseline)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the read mix")
    parser.add_argument("--src", type=Path, help="the service's code from this folder (another checkout's src)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--db-name", default=DB_NAME, help="database name on PostgreSQL / MariaDB (two: + _original)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the work folder afterwards")
    parser.add_argument("--python-load", action="store_true", help="use benchmarks/load.py even if wrk is installed")
    args = parser.parse_args(argv)
    if args.src is not None:
        _run_from(args.src, sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.customers, args.repeat, args.baseline_repeat, args.duration = 2_000, 2, 1, 1.0
    results = measure(args)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
