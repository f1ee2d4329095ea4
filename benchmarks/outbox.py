"""The outbox's own cost: events per second recorded and delivered, beside the baseline of the same pushes sent
to Medusa directly (no outbox), and the latency from a recorded change to its delivery with the worker's poll.

    python -m benchmarks.outbox --backend sqlite|postgresql|mariadb [--events 500] [--runs 5]

Medusa is answered in-process (an httpx MockTransport that accepts every push), so the figures are the
service's side alone: the database work of recording, claiming and settling each event. Each figure is the
median of ``--runs`` runs on a fresh database; the ratio is outbox over baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from benchmarks.run import database_url, drop_database
from erpnext_medusa.domain import outbound as o
from erpnext_medusa.store.medusa import MedusaAdmin
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.store.sql.outbox import Outbox

POLL_SECONDS = 0.5  # as web/outbox_worker.py
T0 = datetime(2026, 12, 7, 8, 0, 0)


def _medusa() -> MedusaAdmin:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"addresses": [{"id": "a1", "is_default_billing": True}]})
        return httpx.Response(200, json={"customer": {"id": request.url.path.split("/")[3]}})

    return MedusaAdmin("http://medusa.bench", "sk_bench", transport=httpx.MockTransport(answer))


def _snapshot(n: int, version: int) -> dict[str, object]:
    return {"first_name": f"Name{version}", "last_name": f"C{n}", "email": f"c{n}@example.com", "phone": None,
            "billing_address": {"address_1": f"{version} Street", "city": "Leeds", "country_code": "gb"}}  # fmt: skip


def one_run(url: str, events: int) -> dict[str, float]:
    engine = make_engine(make_url(url))
    upgrade(engine, track="site")
    box = Outbox(engine, clock=datetime.now)
    medusa = _medusa()
    for n in range(events):  # first sight: the baseline of every Customer
        box.record_alone(f"C{n}", f"cus_{n}", _snapshot(n, 0), T0, from_medusa=False)

    started = time.perf_counter()
    for n in range(events):
        box.record_alone(f"C{n}", f"cus_{n}", _snapshot(n, 1), T0 + timedelta(seconds=1), from_medusa=False)
    recorded = time.perf_counter() - started
    started = time.perf_counter()
    while o.deliver_due(box, medusa, o.Policy(), limit=200):
        pass
    delivered = time.perf_counter() - started
    assert box.counts()[o.DELIVERED] == events, box.counts()

    started = time.perf_counter()
    for n in range(events):
        medusa.push(f"cus_{n}", _snapshot(n, 1))
    direct = time.perf_counter() - started

    latencies = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            o.deliver_due(box, medusa, o.Policy())
            stop.wait(POLL_SECONDS)

    thread = threading.Thread(target=worker)
    thread.start()
    for n in range(20):
        time.sleep(0.137)  # changes arrive at moments unrelated to the poll
        at = time.perf_counter()
        event = box.record_alone(
            f"C{n}", f"cus_{n}", _snapshot(n, 2 + n), T0 + timedelta(seconds=2 + n), from_medusa=False
        )
        assert event is not None
        while (found := box.get(event)) is not None and found.state != o.DELIVERED:
            time.sleep(0.005)
        latencies.append(time.perf_counter() - at)
    stop.set()
    thread.join()
    medusa.close()
    engine.dispose()
    return {
        "recorded_per_s": events / recorded,
        "delivered_per_s": events / delivered,
        "direct_per_s": events / direct,
        "latency_median_s": statistics.median(latencies),
        "latency_max_s": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            url = database_url(args.backend, Path(tmp), "erpnext_medusa_bench_outbox")
            runs.append(one_run(url, args.events))
            drop_database(args.backend, "erpnext_medusa_bench_outbox")
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    median["delivered_over_direct"] = median["delivered_per_s"] / median["direct_per_s"]
    print(json.dumps({"backend": args.backend, "events": args.events, "runs": args.runs, **median}, indent=2))


if __name__ == "__main__":
    main()
