"""The search and write benchmark, service against baseline, side by side in one run.

    python -m benchmarks.run [--backend sqlite|postgresql|mariadb] [--customers N] [--quick]

It generates N customers (benchmarks/dataset.py), loads them with ``erpnext-medusa import``, starts the
real server (``erpnext-medusa serve``) and the baseline (the same app with the replaced app's query,
benchmarks/baseline.py) one after the other on the same data, and prints one table:

* single-client latency p50/p99 per query class (limit=20), over HTTP and at the database level;
* throughput and p99 at 32 connections for the mixed query set (benchmarks/load.py, its own process);
* update_address and link_medusa_lead throughput at 16 connections, with their error counts;
* peak RSS of the server processes, and the import time.

Every query's answer is checked against the baseline's (same customers); a mismatch fails the run.
``--quick`` (20,000 customers, short runs) is the CI smoke test: it checks answers, not speed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import erpnext_medusa
from benchmarks import dataset
from benchmarks.baseline import baseline_search
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.store import SqlStore

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
SERVER_URLS = {
    "postgresql": os.environ.get(
        "ERPNEXT_MEDUSA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("ERPNEXT_MEDUSA_BENCH_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"),
}
DB_NAME = "erpnext_medusa_bench"
QUERY_CLASSES: dict[str, list[str]] = {
    "1 character": ["a", "q", "ظ"],
    "2 characters": ["an", "yn", "zq"],
    "longer word": ["trading", "johnson", "الحسن"],
    "several words": ["acme trad", "mary smith", "محمد علي"],
    "no match": ["xyzzy", "andrea", "qqq"],
    "common words": ["a e", "co", "al"],
    "non-Latin": ["محمد", "شركة", "ال"],
}
FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"


# -- database and data ----------------------------------------------------------------------------------


def _admin(backend: str, *statements: str) -> None:
    engine = create_engine(make_url(SERVER_URLS[backend]), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def drop_database(backend: str, name: str) -> None:
    """Drop the benchmark's database on a server (SQLite's file goes with the work folder)."""
    if backend == "postgresql":
        _admin(backend, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    elif backend == "mariadb":
        _admin(backend, f"DROP DATABASE IF EXISTS `{name}`")


def database_url(backend: str, work: Path, name: str) -> str:
    if backend == "sqlite":
        path = work / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    drop_database(backend, name)
    if backend == "postgresql":
        _admin(backend, f'CREATE DATABASE "{name}"')
    else:
        _admin(backend, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return make_url(SERVER_URLS[backend]).set(database=name).render_as_string(hide_password=False)


def cli(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "erpnext_medusa", *args], env=env, check=True, text=True,
        stdout=subprocess.PIPE if capture else None,
    )  # fmt: skip
    return result.stdout or ""


def write_fixtures(
    path: Path, docs: list[dict[str, Any]], addresses: int, leads: int
) -> tuple[list[str], list[tuple[str, str]]]:
    """Billing addresses for some unlinked customers (update_address) and Leads with Medusa ids to link to
    other unlinked customers (link_medusa_lead). Returns the customers to update and the (lead, customer)
    pairs to link."""
    unlinked = [d["name"] for d in docs if not d.get("medusa_id")]
    to_update = unlinked[:addresses]
    to_link = unlinked[addresses : addresses + leads]
    pairs = [(f"BENCH-LEAD-{i:07d}", customer) for i, customer in enumerate(to_link)]
    with path.open("w", encoding="utf-8") as out:
        for lead, _customer in pairs:
            out.write(
                json.dumps({"doctype": "Lead", "name": lead, "first_name": "Bench", "medusa_id": f"cus_{lead.lower()}"})
                + "\n"
            )
        for customer in to_update:
            address = {
                "doctype": "Address", "address_type": "Billing", "address_line1": "1 Main Street", "city": "Dubai",
                "country": "United Arab Emirates", "links": [{"link_doctype": "Customer", "link_name": customer}],
            }  # fmt: skip
            out.write(json.dumps(address, ensure_ascii=False) + "\n")
    return to_update, pairs


# -- servers ---------------------------------------------------------------------------------------------


@contextmanager
def server(env: dict[str, str], port: int, workers: int, baseline: bool) -> Iterator[subprocess.Popen[bytes]]:
    if baseline:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.baseline:create_app",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    else:
        cmd = [sys.executable, "-m", "erpnext_medusa", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT.parent)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/method/ping")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peak_rss_mb(proc: subprocess.Popen[bytes]) -> float:
    """The largest VmHWM among the server process and its children (the workers)."""
    pids = [proc.pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == proc.pid:
                pids.append(int(entry.name))
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def fetch_path(query: str, limit: int = 20) -> str:
    return f"{FETCH}?{urllib.parse.urlencode({'name': query, 'limit': limit})}"


def http_get(conn: http.client.HTTPConnection, path: str) -> Any:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"GET {path}: HTTP {response.status}")
    return json.loads(body)["message"]


WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def wrk_load(url: str, paths: list[str], connections: int, duration: float, work: Path) -> dict[str, Any] | None:
    """Throughput of a GET mix with wrk (C, light on the CPU it shares with the server), if installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = work / "mix.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths), encoding="utf-8")
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "120s", "--latency", "-s",
         str(script), url],
        check=True, text=True, stdout=subprocess.PIPE,
    ).stdout  # fmt: skip

    def millis(label: str) -> float:
        value = next(line.split()[1] for line in out.splitlines() if line.strip().startswith(label))
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        unit = value.lstrip("0123456789.")
        return float(value[: len(value) - len(unit)]) * scale[unit]

    rate = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec:")))
    non2xx = [int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line]
    total = int(next(line.split()[0] for line in out.splitlines() if "requests in" in line))
    return {"requests": total, "errors": sum(non2xx), "rate": rate, "p50_ms": millis("50%"),
            "p99_ms": millis("99%"), "generator": "wrk"}  # fmt: skip


def load(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    path = work / "load.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "benchmarks.load", str(path)], check=True, text=True,
                         stdout=subprocess.PIPE, cwd=ROOT.parent).stdout  # fmt: skip
    return dict(json.loads(out))


# -- measurements ----------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def timed(fn: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def check_answers(port: int, baseline_answers: dict[str, set[str]]) -> None:
    """The service's page is the first 20 of the baseline's matches, and asking for the full cap (500)
    gives all of them when there are fewer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for query, expected in baseline_answers.items():
        page = http_get(conn, fetch_path(query, 20))
        page = [] if isinstance(page, str) else [row["name"] for row in page]
        full = http_get(conn, fetch_path(query, 500))
        full = [] if isinstance(full, str) else [row["name"] for row in full]
        ok = set(page) <= expected and len(page) == min(20, len(expected)) and set(full) <= expected
        ok = ok and len(full) == min(500, len(expected)) and page == full[: len(page)]
        if not ok:
            raise SystemExit(f"answers differ for {query!r}: service {len(page)}/{len(full)}, baseline {len(expected)}")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement; the work folder and the database are removed afterwards unless --keep."""
    work = Path(tempfile.mkdtemp(prefix="erpnext-medusa-bench-"))
    db_name = args.db_name or DB_NAME + ("_quick" if args.quick else "")
    try:
        return _measure(args, work, db_name)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            drop_database(args.backend, db_name)


def _measure(args: argparse.Namespace, work: Path, db_name: str) -> dict[str, Any]:
    backend = args.backend
    args.data_dir.mkdir(parents=True, exist_ok=True)
    source = dataset.write_jsonl(args.data_dir / f"customers-{args.customers}.jsonl", args.customers)
    url = database_url(backend, work, db_name)
    # Rate limits off, and the bound on one address's concurrent searches as high as it goes (the bound on
    # all searches stays): every request comes from one address here, where a storefront's come from many,
    # and the search path is what is measured. The servers and the CLI import the service from where this
    # process did: the same code as the in-process DB figures, even beside another checkout's editable install.
    code = Path(erpnext_medusa.__file__).resolve().parents[1]
    paths = [str(ROOT.parent)] if "site-packages" in code.parts else [str(code), str(ROOT.parent)]
    env = {**os.environ, "ERPNEXT_MEDUSA_DATABASE_URL": url, "ERPNEXT_MEDUSA_LOG_LEVEL": "warning",
           "ERPNEXT_MEDUSA_RATE_LIMIT": "0", "ERPNEXT_MEDUSA_SEARCH_CONCURRENCY_PER_CLIENT": "100",
           "PYTHONPATH": os.pathsep.join(paths)}  # fmt: skip
    results: dict[str, Any] = {"backend": backend, "customers": args.customers}

    cli(env, "db", "upgrade")
    started = time.perf_counter()
    cli(env, "import", str(source))
    results["import_s"] = time.perf_counter() - started
    docs = list(dataset.documents(args.customers))
    updates, pairs = write_fixtures(work / "fixtures.jsonl", docs, args.addresses, args.leads)
    cli(env, "import", str(work / "fixtures.jsonl"))
    key = json.loads(cli(env, "api-key", "create", "--user", "Administrator", "--json", capture=True))
    auth = f"token {key['api_key']}:{key['api_secret']}"

    queries = [q for qs in QUERY_CLASSES.values() for q in qs]
    engine = make_engine(make_url(url))
    store = SqlStore(engine)
    store.search.refresh_statistics()  # as a running server has them
    baseline_answers = {q: {r.name for r in baseline_search(engine, q.split())} for q in queries}
    results["matches"] = {q: len(v) for q, v in baseline_answers.items()}

    # Database level, in this process: the service's search (limit 20) and the old query.
    db: dict[str, dict[str, tuple[float, float]]] = {"service": {}, "baseline": {}}
    for cls, qs in QUERY_CLASSES.items():
        svc: list[float] = []
        base: list[float] = []
        for q in qs:
            words = q.split()
            svc += timed(lambda w=words: store.search_unlinked_customers(w, limit=20, offset=0), args.repeat)
            base += timed(lambda w=words: baseline_search(engine, w), args.baseline_repeat)
        db["service"][cls], db["baseline"][cls] = percentiles(svc), percentiles(base)
    results["db"] = db
    engine.dispose()

    mixed = [{"method": "GET", "path": fetch_path(q)} for q in queries]
    for name, port, is_baseline in (("service", args.port, False), ("baseline", args.port + 1, True)):
        with server(env, port, args.workers, is_baseline) as proc:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            if not is_baseline:
                check_answers(port, baseline_answers)
                for _ in range(4 * args.workers):
                    http_get(conn, fetch_path("warm up"))
                time.sleep(3)  # let the workers take their gram statistics
            per_class = {}
            for cls, qs in QUERY_CLASSES.items():
                samples: list[float] = []
                for q in qs:
                    path = fetch_path(q)
                    samples += timed(
                        lambda p=path, c=conn: http_get(c, p), args.baseline_repeat if is_baseline else args.repeat
                    )
                per_class[cls] = percentiles(samples)
            conn.close()
            results[f"{name}_http"] = per_class
            base_url = f"http://127.0.0.1:{port}"
            # Writes before the read load: the baseline's reads at 32 connections keep its workers busy long
            # after the load generator stops.
            if backend == "postgresql" or args.writes_everywhere:
                writes = [{"method": "POST", "path": UPDATE, "body": {"customer_id": c, "city": f"City {i} {name}"}}
                          for i, c in enumerate(updates * 20)]  # fmt: skip
                spec = {"url": base_url, "connections": 16, "duration": args.duration, "requests": writes}
                results[f"{name}_update"] = load(spec, work)
                half = len(pairs) // 2
                mine = pairs[:half] if not is_baseline else pairs[half:]
                links = [{"method": "POST", "path": LINK, "headers": {"Authorization": auth},
                          "body": {"customer": c, "lead": lead}} for lead, c in mine]  # fmt: skip
                spec = {"url": base_url, "connections": 16, "duration": args.duration, "requests": links, "once": True}
                results[f"{name}_link"] = load(spec, work)
            spec = {"url": base_url, "connections": 32, "duration": args.duration, "requests": mixed}
            paths = [m["path"] for m in mixed]
            by_wrk = None if args.python_load else wrk_load(base_url, paths, 32, args.duration, work)
            results[f"{name}_load"] = by_wrk or load(spec, work) | {"generator": "benchmarks/load.py"}
            results[f"{name}_rss_mb"] = peak_rss_mb(proc)
    return results


# -- report ----------------------------------------------------------------------------------------------


def report(r: dict[str, Any]) -> str:
    lines = [f"backend {r['backend']}, {r['customers']:,} customers, import {r['import_s']:.1f} s", ""]
    lines.append(f"{'figure':<44}{'service':>12}{'baseline':>12}{'ratio s/b':>12}")

    def row(label: str, svc: float, base: float, fmt: str = "{:.2f}") -> None:
        ratio = svc / base if base else float("nan")
        lines.append(f"{label:<44}{fmt.format(svc):>12}{fmt.format(base):>12}{ratio:>12.4f}")

    for level, svc_key, base_key in (("HTTP", "service_http", "baseline_http"),):
        for cls in QUERY_CLASSES:
            s50, s99 = r[svc_key][cls]
            b50, b99 = r[base_key][cls]
            row(f"{level} {cls} p50 ms", s50, b50)
            row(f"{level} {cls} p99 ms", s99, b99)
    for cls in QUERY_CLASSES:
        s50, s99 = r["db"]["service"][cls]
        b50, b99 = r["db"]["baseline"][cls]
        row(f"DB {cls} p50 ms", s50, b50)
        row(f"DB {cls} p99 ms", s99, b99)
    row("32 conns mixed fetch, requests/s", r["service_load"]["rate"], r["baseline_load"]["rate"], "{:.1f}")
    row("32 conns mixed fetch, p99 ms", r["service_load"]["p99_ms"], r["baseline_load"]["p99_ms"], "{:.1f}")
    row("32 conns mixed fetch, errors", r["service_load"]["errors"], r["baseline_load"]["errors"], "{:.0f}")
    lines.append(f"(load generator: {r['service_load']['generator']})")
    for op in ("update", "link"):
        if f"service_{op}" in r:
            row(f"16 conns {op}, writes/s", r[f"service_{op}"]["rate"], r[f"baseline_{op}"]["rate"], "{:.1f}")
            row(f"16 conns {op}, p99 ms", r[f"service_{op}"]["p99_ms"], r[f"baseline_{op}"]["p99_ms"], "{:.1f}")
            row(f"16 conns {op}, errors", r[f"service_{op}"]["errors"], r[f"baseline_{op}"]["errors"], "{:.0f}")
    row("peak RSS per process, MB", r["service_rss_mb"], r["baseline_rss_mb"], "{:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 customers and short runs (CI smoke test)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=18080, help="service port (the baseline takes the next)")
    parser.add_argument("--repeat", type=int, default=50, help="single-client requests per query (service)")
    parser.add_argument("--baseline-repeat", type=int, default=5, help="single-client requests per query (baseline)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--addresses", type=int, default=2000, help="customers with a billing address to update")
    parser.add_argument("--leads", type=int, default=8000, help="leads to link")
    parser.add_argument("--writes-everywhere", action="store_true", help="measure writes on every backend")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where generated data sets are cached")
    parser.add_argument("--db-name", help=f"database name on PostgreSQL / MariaDB (default {DB_NAME})")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work folder afterwards")
    parser.add_argument("--python-load", action="store_true", help="use benchmarks/load.py even if wrk is installed")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.repeat, args.baseline_repeat, args.duration = 20_000, 3, 2, 2.0
        args.addresses, args.leads, args.writes_everywhere = 200, 400, True
    results = measure(args)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
