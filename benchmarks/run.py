"""The search and write benchmark, service against baseline, side by side in one run.

    python -m benchmarks.run [--backend sqlite|postgresql|mariadb] [--customers N] [--quick]

It generates N customers (benchmarks/dataset.py), loads them with ``erpnext-medusa import``, starts the
real server (``erpnext-medusa serve``) and the baseline (the same app with the replaced app's query,
benchmarks/baseline.py) one after the other on the same data, and prints one table:

* single-client latency p50/p99 per query class, over HTTP and at the database level, and the p99 over every
  query: the original 21 queries (first pages of 20) and the adversarial battery (late-sorting common words,
  short words, ten words, no-match words of common grams, a page at the cap and the deepest page);
* throughput and p99 at 32 connections for the mixed query set, all of the queries above (wrk, or
  benchmarks/load.py in its own process);
* update_address and link_medusa_lead throughput at 16 connections, with their error counts;
* peak RSS of the server processes, and the import time.

Every query's answer is checked against the baseline's (the same customers in the same order, page by
page); a mismatch fails the run.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import erpnext_medusa
from benchmarks import dataset
from benchmarks.baseline import baseline_names_in_order, baseline_search
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
FETCH_CAP = 500  # the service's fetch_max_results, set for the servers of the run: the battery's pages reach it


@dataclass(frozen=True)
class Query:
    """One search: its words (the ``name`` argument) and the page asked for (``limit``, ``limit_start``)."""

    words: str
    limit: int = 20
    offset: int = 0

    @property
    def label(self) -> str:
        """The words alone for a first page of 20, as the original queries; else the page too."""
        if (self.limit, self.offset) == (20, 0):
            return self.words
        return f"{self.words} [limit {self.limit}" + (f", limit_start {self.offset}]" if self.offset else "]")

    @property
    def path(self) -> str:
        return fetch_path(self.words, self.limit, self.offset)


#: The original 21 queries, first pages of 20. Unchanged, so that their figures compare with earlier runs.
QUERY_CLASSES: dict[str, list[Query]] = {
    cls: [Query(words) for words in queries]
    for cls, queries in {
        "1 character": ["a", "q", "ظ"],
        "2 characters": ["an", "yn", "zq"],
        "longer word": ["trading", "johnson", "الحسن"],
        "several words": ["acme trad", "mary smith", "محمد علي"],
        "no match": ["xyzzy", "andrea", "qqq"],
        "common words": ["a e", "co", "al"],
        "non-Latin": ["محمد", "شركة", "ال"],
    }.items()
}
#: The adversarial battery, beside the original queries: searches chosen to be costly for the service. About 35%
#: of the generated names are in Arabic script and sort after every Latin one, so a search walking names in
#: result order passes all the Latin names before its first Arabic match. Matches among the 18,000 unlinked
#: customers of the 20,000-customer data set are given for each query.
BATTERY_CLASSES: dict[str, list[Query]] = {
    # Common Arabic words and grams, all matches late in the order: مؤسسة (560), للتجارة (302), الم (617),
    # and two common words together, ال ة (3,143).
    "late common words": [Query("مؤسسة"), Query("للتجارة"), Query("الم"), Query("ال ة")],
    # 1 and 2 characters, common and rare, beside the original classes' Latin ones: ي (5,367) and ئ (204),
    # late; mm (97), rare; لل (2,854), common and late.
    "short words": [Query("ي"), Query("ئ"), Query("mm"), Query("لل")],
    # The most words a search takes (max_search_words, 10): ten common letters found together in many
    # names (498); ten fragments of "Elizabeth Christopher Martinez" (1) and of "محمود إبراهيم القحطاني"
    # (1); the first nine fragments of the Latin name and a common word no such name has (0).
    "ten words": [
        Query("a e i o r n s t l h"),
        Query("eli zab eth chr ist oph er mar tin ez"),
        Query("مح مو د إب را هي م ال قح طاني"),
        Query("eli zab eth chr ist oph er mar tin trading"),
    ],
    # Words of 5 to 8 characters that match nothing although every character pair and triple in them is
    # common. Chosen once from the data set of 20,000 (benchmarks/dataset.py): strings chained from the 30
    # character pairs found in the most names of each script, with no triple repeated, that are part of no
    # name (of no word of the vocabularies, so they match nothing at any size either), ranked by the number
    # of names holding their rarest character triple; picked near the top of that ranking, of different
    # lengths (the rarest triple of chart is in 602 names, ichares 493, للامين 214, السيارات 324).
    "no match, common grams": [Query("chart"), Query("ichares"), Query("للامين"), Query("السيارات")],
    # The most rows one call may return: a (9,748), ال (6,247), محمد (191), johnson (100).
    "limit at cap": [Query(w, limit=FETCH_CAP) for w in ("a", "ال", "محمد", "johnson")],
    # The deepest page the cap allows, rows 481 to 500: an (2,875), ال (6,247), شركة (524), johnson (100; at
    # 20,000 customers an empty page, with 5,686 matches at a million a full one).
    "deep page": [Query(w, limit=20, offset=FETCH_CAP - 20) for w in ("an", "ال", "شركة", "johnson")],
}
ALL_CLASSES: dict[str, list[Query]] = {**QUERY_CLASSES, **BATTERY_CLASSES}
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


def service_env(url: str) -> dict[str, str]:
    """The environment of the servers and the CLI on the database at ``url``.

    Rate limits off, and the bound on one address's concurrent searches as high as it goes (the bound on all
    searches stays): every request comes from one address here, where a storefront's come from many, and the
    search path is what is measured. The cap is the one the battery's pages are made for. The servers and the
    CLI import the service from where this process did: the same code as the in-process DB figures, even beside
    another checkout's editable install."""
    code = Path(erpnext_medusa.__file__).resolve().parents[1]
    paths = [str(ROOT.parent)] if "site-packages" in code.parts else [str(code), str(ROOT.parent)]
    return {**os.environ, "ERPNEXT_MEDUSA_DATABASE_URL": url, "ERPNEXT_MEDUSA_LOG_LEVEL": "warning",
            "ERPNEXT_MEDUSA_RATE_LIMIT": "0", "ERPNEXT_MEDUSA_SEARCH_CONCURRENCY_PER_CLIENT": "100",
            "ERPNEXT_MEDUSA_FETCH_MAX_RESULTS": str(FETCH_CAP), "PYTHONPATH": os.pathsep.join(paths)}  # fmt: skip


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
def server(
    env: dict[str, str], port: int, workers: int, baseline: bool, command: list[str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """The service (``erpnext-medusa serve``), the baseline, or ``command``, until it answers ping on ``port``."""
    if command is not None:
        cmd = command
    elif baseline:
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


def fetch_path(words: str, limit: int = 20, offset: int = 0) -> str:
    params: dict[str, str | int] = {"name": words, "limit": limit}
    if offset:
        params["limit_start"] = offset
    return f"{FETCH}?{urllib.parse.urlencode(params)}"


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


def http_latencies(
    conn: http.client.HTTPConnection, repeat: int
) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    """Single-client p50/p99 (ms) of every query, ``repeat`` requests each: per class, and over every query."""
    per_class = {}
    every: list[float] = []
    for cls, qs in ALL_CLASSES.items():
        samples: list[float] = []
        for q in qs:
            samples += timed(lambda p=q.path: http_get(conn, p), repeat)
        per_class[cls] = percentiles(samples)
        every += samples
    return per_class, percentiles(every)


def read_mix(base_url: str, duration: float, work: Path, *, python_load: bool = False) -> dict[str, Any]:
    """The read mix (every query with its page) at 32 connections: wrk if installed (and not ``python_load``),
    else benchmarks/load.py in its own process."""
    paths = [q.path for qs in ALL_CLASSES.values() for q in qs]
    by_wrk = None if python_load else wrk_load(base_url, paths, 32, duration, work)
    if by_wrk is not None:
        return by_wrk
    spec = {"url": base_url, "connections": 32, "duration": duration,
            "requests": [{"method": "GET", "path": p} for p in paths]}  # fmt: skip
    return load(spec, work) | {"generator": "benchmarks/load.py"}


def check_answers(port: int, queries: list[Query], in_order: dict[str, list[str]]) -> None:
    """Every page the service gives is its slice of the baseline's matches put in the service's order
    (customer_name, then name; ``in_order`` holds the first FETCH_CAP of them for each query's words): the
    query's own page, and for its words also the first page of 20 and the full cap."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    pages = {(q.words, q.limit, q.offset) for q in queries}
    pages |= {(q.words, limit, 0) for q in queries for limit in (20, FETCH_CAP)}
    for words, limit, offset in sorted(pages):
        got = http_get(conn, fetch_path(words, limit, offset))
        got = [] if isinstance(got, str) else [row["name"] for row in got]
        expected = in_order[words][offset : offset + limit]
        if got != expected:
            raise SystemExit(
                f"answers differ for {words!r} at limit {limit}, limit_start {offset}: service {len(got)} rows, "
                f"baseline {len(expected)}" + (" (same rows, another order)" if set(got) == set(expected) else "")
            )


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
    env = service_env(url)
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

    queries = [q for qs in ALL_CLASSES.values() for q in qs]
    engine = make_engine(make_url(url))
    store = SqlStore(engine)
    store.search.refresh_statistics()  # as a running server has them
    in_order: dict[str, list[str]] = {}
    matches: dict[str, int] = {}
    for phrase in dict.fromkeys(q.words for q in queries):
        found = baseline_names_in_order(engine, phrase.split())
        in_order[phrase], matches[phrase] = found[:FETCH_CAP], len(found)
    results["matches"] = {q.label: matches[q.words] for q in queries}

    # Database level, in this process: the service's search (each query's page) and the old query (no limit).
    db: dict[str, dict[str, tuple[float, float]]] = {"service": {}, "baseline": {}}
    every: dict[str, list[float]] = {"service": [], "baseline": []}
    for cls, qs in ALL_CLASSES.items():
        svc: list[float] = []
        base: list[float] = []
        for q in qs:
            words = q.words.split()
            svc += timed(lambda w=words, q=q: store.search_unlinked_customers(w, limit=q.limit, offset=q.offset),
                         args.repeat)  # fmt: skip
            base += timed(lambda w=words: baseline_search(engine, w), args.baseline_repeat)
        db["service"][cls], db["baseline"][cls] = percentiles(svc), percentiles(base)
        every["service"] += svc
        every["baseline"] += base
    results["db"] = db
    results["db_all"] = {name: percentiles(samples) for name, samples in every.items()}
    engine.dispose()

    for name, port, is_baseline in (("service", args.port, False), ("baseline", args.port + 1, True)):
        with server(env, port, args.workers, is_baseline) as proc:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            if not is_baseline:
                check_answers(port, queries, in_order)
                for _ in range(4 * args.workers):
                    http_get(conn, fetch_path("warm up"))
                time.sleep(3)  # let the workers take their gram statistics
            per_class, over_all = http_latencies(conn, args.baseline_repeat if is_baseline else args.repeat)
            conn.close()
            results[f"{name}_http"], results[f"{name}_http_all"] = per_class, over_all
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
            results[f"{name}_load"] = read_mix(base_url, args.duration, work, python_load=args.python_load)
            results[f"{name}_rss_mb"] = peak_rss_mb(proc)
    return results


# -- report ----------------------------------------------------------------------------------------------


HEADER = f"{'figure':<44}{'service':>12}{'baseline':>12}{'ratio s/b':>12}"


def side_by_side(label: str, svc: float, base: float, fmt: str = "{:.2f}") -> str:
    """One line of the report: a figure of the service, the baseline's, and their ratio."""
    ratio = svc / base if base else float("nan")
    return f"{label:<44}{fmt.format(svc):>12}{fmt.format(base):>12}{ratio:>12.4f}"


def http_lines(r: dict[str, Any]) -> list[str]:
    """The single-client figures over HTTP, per class and over every query."""
    lines = []
    for cls in ALL_CLASSES:
        (s50, s99), (b50, b99) = r["service_http"][cls], r["baseline_http"][cls]
        lines += [side_by_side(f"HTTP {cls} p50 ms", s50, b50), side_by_side(f"HTTP {cls} p99 ms", s99, b99)]
    # The target is a p99 over every query: every single-client sample of every query, in one pool.
    lines.append(side_by_side("HTTP all queries p99 ms", r["service_http_all"][1], r["baseline_http_all"][1]))
    return lines


def successful(load: dict[str, Any]) -> float:
    """Answers per second without the errors."""
    return float(load["rate"] * (load["requests"] - load["errors"]) / load["requests"]) if load["requests"] else 0.0


def mix_lines(r: dict[str, Any]) -> list[str]:
    """The read mix at 32 connections: successful requests/s, p99 and errors."""
    svc, base = r["service_load"], r["baseline_load"]
    return [
        side_by_side("32 conns mixed fetch, requests/s", svc["rate"], base["rate"], "{:.1f}"),
        side_by_side("32 conns mixed fetch, successful/s", successful(svc), successful(base), "{:.1f}"),
        side_by_side("32 conns mixed fetch, p99 ms", svc["p99_ms"], base["p99_ms"], "{:.1f}"),
        side_by_side("32 conns mixed fetch, errors", svc["errors"], base["errors"], "{:.0f}"),
        f"(load generator: {svc['generator']})",
    ]


def report(r: dict[str, Any]) -> str:
    lines = [f"backend {r['backend']}, {r['customers']:,} customers, import {r['import_s']:.1f} s", ""]
    lines.append(HEADER)

    def row(label: str, svc: float, base: float, fmt: str = "{:.2f}") -> None:
        lines.append(side_by_side(label, svc, base, fmt))

    lines += http_lines(r)
    for cls in ALL_CLASSES:
        s50, s99 = r["db"]["service"][cls]
        b50, b99 = r["db"]["baseline"][cls]
        row(f"DB {cls} p50 ms", s50, b50)
        row(f"DB {cls} p99 ms", s99, b99)
    row("DB all queries p99 ms", r["db_all"]["service"][1], r["db_all"]["baseline"][1])
    lines += mix_lines(r)
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
