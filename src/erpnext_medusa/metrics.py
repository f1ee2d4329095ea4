"""Prometheus metrics of the running service (``GET /metrics`` with ``ERPNEXT_MEDUSA_METRICS=open|token``).

Every figure is counted by the process that served the request. ``erpnext-medusa serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before its workers start, so that the client library's
multiprocess mode writes each worker's figures there and ``/metrics`` adds them up, whichever worker answers.

Labels are bounded: a request is labelled with its Frappe method when the registry knows it and ``other``
otherwise, so no caller can grow the label set with junk paths.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "erpnext_medusa_requests",
    "HTTP requests by Frappe method (or route), status code and outcome.",
    ["method", "status", "outcome"],
)
LATENCY = Histogram(
    "erpnext_medusa_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by Frappe method (or route).",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REFUSALS = Counter(
    "erpnext_medusa_refusals",
    "Requests refused before the method ran, by reason (rate limits, guest access policy, search bounds).",
    ["reason"],
)
SEARCH_PLANS = Counter("erpnext_medusa_search_plans", "Typeahead searches by the plan that answered them.", ["plan"])
CONNECTIONS_IN_USE = Gauge(
    "erpnext_medusa_db_connections_in_use",
    "Database connections checked out of the pools.",
    multiprocess_mode="livesum",
)
SEARCHES_WAITING = Gauge(
    "erpnext_medusa_searches_waiting", "Guest searches waiting for a free search slot.", multiprocess_mode="livesum"
)
INTAKE_EVENTS = Counter(
    "erpnext_medusa_intake_events",
    "Medusa customer webhook events by outcome: created, updated, unchanged (a re-delivery, or nothing new), "
    "refused (bad signature or body) or kept (a live ERPNext site refused the Lead; kept to be retried).",
    ["outcome"],
)
#: The outcomes INTAKE_EVENTS counts (a fixed set: the label cannot grow).
INTAKE_OUTCOMES = ("created", "updated", "unchanged", "refused", "kept")
#: The erpnext shape: documents the change feed brought into the mirror, by source (webhook, pass) and outcome
#: (updated, removed, ignored); whether the last reconciliation pass failed.
SITE_CHANGES = Counter(
    "erpnext_medusa_site_changes", "Mirror changes from the ERPNext site, by source and outcome.", ["source", "outcome"]
)
SITE_SYNC_FAILING = Gauge(
    "erpnext_medusa_site_sync_failing",
    "1 while the last reconciliation pass with the ERPNext site failed.",
    multiprocess_mode="max",
)
AUDIT_ROWS = Counter("erpnext_medusa_audit_rows", "Audit rows committed (one per write that changed something).")
#: ERPNext -> Medusa: the outbox's events by state (pending, failed, dead, ...; read from the database, so the
#: same in every process) and the age of the oldest one not yet delivered; deliveries by the state they led to.
OUTBOX_EVENTS = Gauge(
    "erpnext_medusa_outbox_events", "Outbox events by state.", ["state"], multiprocess_mode="mostrecent"
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "erpnext_medusa_outbox_oldest_pending_seconds",
    "Age of the oldest outbox event not yet delivered (0 when there is none).",
    multiprocess_mode="mostrecent",
)
OUTBOX_DELIVERIES = Counter(
    "erpnext_medusa_outbox_deliveries", "Deliveries to Medusa by the state they led to.", ["state"]
)


def outcome(status: int) -> str:
    """What a status code tells an operator."""
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 429:
        return "limited"
    if status == 503:
        return "unavailable"
    return "invalid" if status < 500 else "error"


class StoreMetrics:
    """What the SQL store reports (it knows nothing of Prometheus: it calls these)."""

    def search_plan(self, plan: str) -> None:
        SEARCH_PLANS.labels(plan=plan).inc()

    def connections_in_use(self, delta: int) -> None:
        CONNECTIONS_IN_USE.inc(delta)

    def audit_rows(self, count: int) -> None:
        AUDIT_ROWS.inc(count)


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type: every worker's figures added up in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (counters and histograms keep their totals)."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(pid)
