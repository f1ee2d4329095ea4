"""Operations endpoints and request metrics: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``GET /healthz``: the process is alive and serving (no database call).
- ``GET /readyz``: the database answers within a short timeout and its schema is at the migrations' head;
  otherwise 503 with the reason, so a load balancer stops sending traffic to this worker.
- ``GET /metrics`` (``ERPNEXT_MEDUSA_METRICS=open|token``): Prometheus text. :class:`ObserveMiddleware` counts
  and times every request, labelled by the Frappe method the registry knows (``other`` for anything else), and
  writes the JSON access lines.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erpnext_medusa import logs, metrics
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.services import Services
from erpnext_medusa.web.registry import Registry

access = logging.getLogger("erpnext_medusa.access")
#: How long /readyz waits for the database.
READY_TIMEOUT = 2.0
_ROUTES = {
    "/healthz": "healthz",
    "/readyz": "readyz",
    "/metrics": "metrics",
    "/": "index",
    "/webhooks/medusa/customer": "webhook_medusa_customer",
}


def method_label(path: str, registry: Registry) -> str:
    """The metrics label of a request: its Frappe method when the registry knows it, a fixed route name, or
    ``other`` (so junk paths cannot grow the label set)."""
    for prefix in ("/api/method/", "/api/v1/method/", "/api/v2/method/"):
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/")[0]
            return name if registry.get(name) is not None else "other"
    return _ROUTES.get(path, "other")


class ObserveMiddleware:
    """Times every request and, as configured, counts it for ``/metrics`` and writes its access line
    (``ERPNEXT_MEDUSA_LOG_FORMAT=json``) with what a log collector wants as fields: the Frappe method, status,
    duration, client address and user."""

    def __init__(self, app: ASGIApp, registry: Registry, *, count: bool, log: bool) -> None:
        self.app = app
        self.registry = registry
        self.count = count
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        facts: dict[str, str] = {}  # filled in by the pipeline (web/pipeline.py), whichever thread it runs in
        logs.REQUEST_FACTS.set(facts)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            label = method_label(scope["path"], self.registry)
            if self.count:
                metrics.REQUESTS.labels(label, str(status), metrics.outcome(status)).inc()
                metrics.LATENCY.labels(label).observe(seconds)
            if self.log:
                query = scope.get("query_string", b"").decode("latin-1")
                path = scope["path"] + (f"?{query}" if query else "")
                fields = {
                    "method": label,
                    "path": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": facts.get("client") or (scope.get("client") or ("-",))[0],
                    "user": facts.get("user"),
                }
                access.info("%s %s %d", scope["method"], path, status, extra=fields)


def count_refusal(exc: ServiceError) -> None:
    if exc.reason is not None:
        metrics.REFUSALS.labels(reason=exc.reason).inc()


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        problem = await asyncio.wait_for(run_in_threadpool(services.readiness), READY_TIMEOUT)
    except TimeoutError:
        problem = f"the database did not answer within {READY_TIMEOUT:g} s"
    if problem is not None:
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


async def metrics_endpoint(request: Request) -> Response:
    settings = request.app.state.services.settings
    if settings.metrics == "token":
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            _digest(token), _digest(settings.metrics_token.get_secret_value())
        ):
            return JSONResponse({"exc_type": "AuthenticationError"}, status_code=401)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
