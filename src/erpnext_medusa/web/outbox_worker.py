"""The delivery worker of the outbox (ERPNext -> Medusa), a task of every serve process: every
:data:`POLL_SECONDS` it sends the events due (domain/outbound.py ``deliver_due``), and every
:data:`GAUGE_SECONDS` it sets the outbox's gauges. Processes share the work through the database: an event is
claimed before it is sent, and one Customer's events are sent one at a time. A failure of Medusa or of the
database is logged and tried again; the service keeps serving meanwhile."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.concurrency import run_in_threadpool

from erpnext_medusa import metrics
from erpnext_medusa.domain.outbound import deliver_due
from erpnext_medusa.services import Services

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
GAUGE_SECONDS = 5.0


def update_gauges(services: Services) -> None:
    outbox = services.outbox
    assert outbox is not None
    for state, count in outbox.counts().items():
        metrics.OUTBOX_EVENTS.labels(state=state).set(count)
    oldest = outbox.oldest_waiting()
    metrics.OUTBOX_OLDEST_SECONDS.set(0 if oldest is None else max((services.now() - oldest).total_seconds(), 0))


async def deliver_periodically(services: Services) -> None:
    outbox, medusa = services.outbox, services.medusa
    assert outbox is not None and medusa is not None  # started only when Medusa's URL is set
    policy = services.delivery_policy()
    counting = services.settings.metrics_on
    gauges_at = 0.0
    while True:
        try:
            outcomes = await run_in_threadpool(deliver_due, outbox, medusa, policy)
            for state, count in outcomes.items():
                if state != "delivered":
                    log.warning("outbox: %d delivery(ies) to Medusa ended %s", count, state)
                if counting:
                    metrics.OUTBOX_DELIVERIES.labels(state=state).inc(count)
            if counting and time.monotonic() >= gauges_at:
                await run_in_threadpool(update_gauges, services)
                gauges_at = time.monotonic() + GAUGE_SECONDS
        except Exception:
            log.exception("outbox delivery failed")
        await asyncio.sleep(POLL_SECONDS)
