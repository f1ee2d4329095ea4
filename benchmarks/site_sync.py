"""The erpnext shape's sync, against the ERPNext test double (tests/erpnext_site/), on each database.

    python -m benchmarks.site_sync [--backend sqlite|postgresql|mariadb|all] [--customers N] [--runs 3]

The double is filled once with N customers (benchmarks/dataset.py). Then, per database and run, on a fresh
service database:

* a full ``erpnext sync`` with the double in process: customers/s of the whole pass, and of the service alone
  (the pass's time less the time spent inside the double answering);
* the same over a real socket (the double served by uvicorn on 127.0.0.1): customers/s;
* peak RSS of this process during the pass (the double's documents included; the size before is printed);
* a changes pass after ``--edits`` desk edits (seconds);
* the webhook round: a desk edit's webhook delivered to the service until the typeahead answers with it,
  p50/p99 over ``--rounds`` edits.

Each figure is the median of the runs. ``--quick`` is the smoke test's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.erpnext_site.http import serve, transport
from tests.erpnext_site.site import Site
from tests.site.world import SERVICE_URL, site_settings

from benchmarks import dataset
from benchmarks.run import database_url, drop_database, percentiles
from erpnext_medusa.services import Services
from erpnext_medusa.store.site.setup import Target, setup
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app

BACKENDS = ("sqlite", "postgresql", "mariadb")
DB_NAME = "erpnext_medusa_site_bench"
FETCH = "/api/method/medusa_integration.api.fetch_all_customers"


class TimedSite(Site):
    """The double, counting the time it spends answering (the in-process pass's share that is not the
    service's)."""

    answering = 0.0

    def handle(self, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().handle(request)
        finally:
            self.answering += time.perf_counter() - started


def fill(site: Site, customers: int) -> tuple[list[str], list[str]]:
    """The data set's customers on the site (through the site's own insert: named, validated, stamped); their
    names, and those of the ones the typeahead lists (no medusa_id)."""
    names, unlinked = [], []
    for doc in dataset.documents(customers):
        body = {k: v for k, v in doc.items() if k not in ("doctype", "customer_type")}
        names.append(site.insert("Customer", body)["name"])
        if not doc.get("medusa_id"):
            unlinked.append(names[-1])
    return names, unlinked


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


@contextmanager
def service(site: Site, url: str, erpnext_url: str | None = None) -> Iterator[Services]:
    """The service in erpnext shape on ``url``, reaching the site in process, or at ``erpnext_url``."""
    # One webhook secret for every service the run builds on the one site (each gets its own API user).
    values = {"rate_limit": 0, "search_concurrency_per_client": 100, "erpnext_webhook_secret": "bench-secret"}
    settings = site_settings(site, url, **values)
    if erpnext_url is not None:
        settings = settings.model_copy(update={"erpnext_url": erpnext_url})
    services = Services.from_settings(settings, site_transport=None if erpnext_url else transport(site))
    try:
        upgrade(services.store.engine, track="site")
        assert services.site is not None
        target = Target(services.site.client, SERVICE_URL, services.site.webhook_secret)
        if not all(f.ok for f in setup(target)):
            raise SystemExit("erpnext setup failed against the double")
        yield services
    finally:
        services.close()


def full_sync(services: Services) -> float:
    assert services.site is not None
    started = time.perf_counter()
    services.site.feed.reconcile(full=True)
    return time.perf_counter() - started


def one_run(
    site: TimedSite, backend: str, names: tuple[list[str], list[str]], args: argparse.Namespace, run: int
) -> dict[str, Any]:
    every, unlinked = names
    work = Path(tempfile.mkdtemp(prefix="erpnext-medusa-site-bench-"))
    r: dict[str, Any] = {}
    try:
        url = database_url(backend, work, args.db_name)
        with service(site, url) as services:
            before, site.answering = peak_rss_mb(), 0.0
            reset_peak_rss()
            seconds = full_sync(services)
            r["rss_before_mb"], r["rss_peak_mb"] = before, peak_rss_mb()
            r["in_process_per_s"] = args.customers / seconds
            r["service_alone_per_s"] = args.customers / (seconds - site.answering)
            assert services.site is not None
            if services.site.feed.mirror.count("Customer") != args.customers:
                raise SystemExit("the mirror does not hold every customer after the sync")
            step = max(1, len(every) // args.edits)
            for i, name in enumerate(every[::step][: args.edits]):
                site.update("Customer", name, {"customer_name": f"Edited {run} {i} {name}"})
            started = time.perf_counter()
            (report, *_) = services.site.feed.reconcile()
            r["changes_pass_s"] = time.perf_counter() - started
            if report.read != min(args.edits, len(every)):
                raise SystemExit(f"the changes pass read {report.read} documents, not the {args.edits} edited")
            r["webhook_ms"] = webhook_rounds(site, services, unlinked, args.rounds, run)
        url = database_url(backend, work, args.db_name)
        with serve(site) as base, service(site, url, base) as services:
            r["socket_per_s"] = args.customers / full_sync(services)
    finally:
        drop_database(backend, args.db_name)
    return r


def webhook_rounds(site: Site, services: Services, names: list[str], rounds: int, run: int) -> tuple[float, float]:
    """A desk edit with its webhook, delivered to the service's own app, until the typeahead answers with it."""
    samples = []
    with TestClient(create_app(services=services)) as client:
        for i in range(rounds):
            name, word = names[-1 - i], f"hooked{run}x{i}"
            started = time.perf_counter()
            site.update("Customer", name, {"customer_name": word}, webhooks=True)
            site.deliver_pending(
                lambda d: client.post(d.url.removeprefix(SERVICE_URL), content=d.body, headers=d.headers).status_code
            )
            if any(d.status != 200 for d in site.deliveries if d.name == name and d.attempts):
                raise SystemExit(f"the service refused the webhook of {name!r}: {[d.status for d in site.deliveries]}")
            while True:
                if time.perf_counter() - started > 30:
                    raise SystemExit(f"the typeahead did not answer with {name!r} within 30 s of its webhook")
                answer = client.get(FETCH, params={"name": word})
                if answer.status_code != 200:
                    raise SystemExit(f"the typeahead answered {answer.status_code}: {answer.text}")
                found = answer.json()["message"]
                if isinstance(found, list) and [row["name"] for row in found] == [name]:
                    break
            samples.append(time.perf_counter() - started)
    return percentiles(samples)


def median(runs: list[dict[str, Any]], key: str) -> Any:
    values = [r[key] for r in runs]
    if isinstance(values[0], tuple | list):
        return tuple(statistics.median(v[i] for v in values) for i in range(len(values[0])))
    return statistics.median(values)


def report(customers: int, results: dict[str, list[dict[str, Any]]]) -> str:
    runs = len(next(iter(results.values())))
    lines = [f"erpnext shape sync, {customers:,} customers, median of {runs} runs", ""]
    lines.append(f"{'figure':<44}" + "".join(f"{b:>12}" for b in results))
    rows = [
        ("full sync, in process, customers/s", "in_process_per_s", "{:.0f}"),
        ("full sync, service alone, customers/s", "service_alone_per_s", "{:.0f}"),
        ("full sync, over a socket, customers/s", "socket_per_s", "{:.0f}"),
        ("peak RSS during the sync, MB", "rss_peak_mb", "{:.1f}"),
        ("RSS before the sync (double filled), MB", "rss_before_mb", "{:.1f}"),
        ("changes pass after the edits, s", "changes_pass_s", "{:.3f}"),
    ]
    for label, key, fmt in rows:
        lines.append(f"{label:<44}" + "".join(f"{fmt.format(median(r, key)):>12}" for r in results.values()))
    for label, index in (("webhook round p50 ms", 0), ("webhook round p99 ms", 1)):
        lines.append(f"{label:<44}" + "".join(f"{median(r, 'webhook_ms')[index]:>12.2f}" for r in results.values()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=1000, help="desk edits before the changes pass")
    parser.add_argument("--rounds", type=int, default=100, help="webhook rounds")
    parser.add_argument("--db-name", default=DB_NAME, help="database name on PostgreSQL / MariaDB")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="a tiny size (the smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.runs, args.edits, args.rounds = 300, 3, 50, 5
    site = TimedSite()
    started = time.perf_counter()
    names = fill(site, args.customers)
    print(f"double filled with {args.customers:,} customers in {time.perf_counter() - started:.1f} s", flush=True)
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    results = {b: [one_run(site, b, names, args, run) for run in range(args.runs)] for b in backends}
    print(report(args.customers, results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
