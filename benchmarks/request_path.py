"""CPU time per request spent outside the database, in-process:

    python -m benchmarks.request_path [--requests 20000] [--repeat 5]

The ASGI application is driven directly (a minimal ASGI client loop, no sockets, no HTTP parser), and
``time.process_time()`` (every thread of the process, so the thread pool's work counts) is read around each
batch. Three requests, each on its own batch:

- ``ping``: the request path alone (routing, middleware, the dispatcher, the envelope);
- ``search (stub store)``: a guest's ``fetch_all_customers`` against a search port that returns a fixed page
  of 20 customers without touching storage, so the figure is the web layer's and the domain's cost;
- ``search (SQLite)``: the same request against a real SQLite database of a few hundred customers;
- ``API key (SQLite)``: ``frappe.auth.get_logged_user`` with an API key checked against SQLite (the path of a
  caller with a credential: the key's check waits on the database).

The figures are medians of ``--repeat`` runs, in microseconds of CPU per request, with each search's ratio to
``ping``. Guest rate limits are off (``rate_limit`` 0: the figure is the path, not the limiter); the guest
policy is ``open``. ``--observed`` turns on what a production server usually runs with: Prometheus metrics and
JSON access lines (on stderr: send it to ``/dev/null``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.importing import import_documents
from erpnext_medusa.domain.models import CustomerSummary, Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app

PING = "/api/method/ping"
WHO = "/api/method/frappe.auth.get_logged_user"
SEARCH = "/api/method/medusa_integration.api.fetch_all_customers?name=al%20sa&limit=20"
_PAGE = [
    CustomerSummary(name=f"CUST-{i:05d}", customer_name=f"Ali Saleh {i}", mobile_no=None, email_id=None)
    for i in range(20)
]


class StubSearch:
    """The store with its search replaced by a fixed page (everything else is the real store)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        return _PAGE[:limit]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def _drive(app: Any, target: str, count: int, headers: Sequence[tuple[bytes, bytes]] = ()) -> float:
    """CPU seconds per request over ``count`` GETs of ``target`` (with ``headers``); every answer must be 200."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(dict(scope), receive, send)  # warm up, and check the answer
    if statuses != [200]:
        raise SystemExit(f"{target} answered {statuses}")
    start = time.process_time()
    for _ in range(count):
        await app(dict(scope), receive, send)
    spent = (time.process_time() - start) / count
    if set(statuses) != {200}:
        raise SystemExit(f"{target} answered {sorted(set(statuses))}")
    return spent


def _customers(count: int) -> list[dict[str, Any]]:
    first = ["Ali", "Sara", "Omar", "Lina", "Sami", "Rana", "Alan", "Salma"]
    return [
        {"doctype": "Customer", "name": f"C{i:05d}", "customer_name": f"{first[i % 8]} Sa{i % 13} {i}"}
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000, help="requests per run and per request kind")
    parser.add_argument("--repeat", type=int, default=5, help="runs per request kind (the median is printed)")
    parser.add_argument(
        "--observed", action="store_true", help="as a production server runs: metrics on, JSON access lines"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        observed: dict[str, Any] = {"metrics": "open", "log_format": "json"} if args.observed else {}
        settings = Settings(database_url=url, allowed_hosts="testserver", rate_limit=0, **observed)
        services = Services.from_settings(settings)
        upgrade(services.store.engine)
        import_documents(services.store, _customers(500), Stamp(user="Administrator", at=services.now()))
        key = create_api_key(services.keys, "Administrator", services.now())
        token = [(b"authorization", f"token {key.api_key}:{key.api_secret}".encode())]
        stubbed = replace(services, store=StubSearch(services.store))  # type: ignore[arg-type]
        apps = {
            "ping": (create_app(services=services), PING, []),
            "search (stub store)": (create_app(services=stubbed), SEARCH, []),
            "search (SQLite)": (create_app(services=services), SEARCH, []),
            "API key (SQLite)": (create_app(services=services), WHO, token),
        }
        figures: dict[str, list[float]] = {label: [] for label in apps}
        for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine spreads over all kinds
            for label, (app, target, headers) in apps.items():
                figures[label].append(asyncio.run(_drive(app, target, args.requests, headers)))
        services.close()
    ping = statistics.median(figures["ping"])
    shape = "metrics on, JSON access lines" if args.observed else "metrics off, text logs"
    print(f"{args.requests} requests per run, median of {args.repeat} runs, {shape}; CPU microseconds per request")
    print(f"{'request':<22}{'median':>10}{'min':>10}{'max':>10}{'vs ping':>10}")
    for label, runs in figures.items():
        median = statistics.median(runs)
        print(f"{label:<22}{median * 1e6:>10.0f}{min(runs) * 1e6:>10.0f}{max(runs) * 1e6:>10.0f}{median / ping:>9.2f}x")
    stub = statistics.median(figures["search (stub store)"])
    print(f"search outside the database (stub store): {stub * 1e6:.0f} us (target <= 500 us)")


if __name__ == "__main__":
    main()
