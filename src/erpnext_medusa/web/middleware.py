"""Per-request context, before any route runs: one small ASGI middleware per concern, in :data:`LAYERS`
(outermost first): request ids, Cache-Control, CORS headers, allowed Host names, browsers' preflights and
cross-site writes, size limits, and the last word on errors.

- Every response carries ``X-Request-Id``: an id the server assigns, which log lines and audit rows are tagged
  with. A sane id the client sent (1-64 of ``A-Z a-z 0-9 . _ -``) is kept beside it (audit rows record both),
  never instead of it.
- A body larger than ``ERPNEXT_MEDUSA_MAX_BODY_BYTES`` is refused with 413 before it is read: at once when
  ``Content-Length`` says so, or as soon as the bytes received pass the limit (chunked uploads). The query
  string is held to the same limit.
- A request whose Host header names a host not in ``ERPNEXT_MEDUSA_ALLOWED_HOSTS`` (by default the loopback
  names) is refused with 421 before anything else: a page whose name was rebound to the service's address
  (DNS rebinding) gets nothing from it.
- ``OPTIONS`` is an empty 200 before routing and authentication, as in Frappe. For an origin in
  ``ERPNEXT_MEDUSA_ALLOW_CORS`` every response carries the CORS headers. An unsafe request (POST, PUT, DELETE,
  PATCH) that a browser marks as coming from another site (:mod:`erpnext_medusa.web.origins`) is refused with
  403 unless its origin is allowed: a page elsewhere cannot make a visitor's browser change an address or log
  it in. Clients that send none of the headers (servers, curl) are not affected.
- An unexpected error is answered with a Frappe-shaped 500 that names the request id, and the connection stays
  usable (it is not dropped as it would be if the error reached the server).
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.errors import (
    MisdirectedRequestError,
    NotPermittedError,
    RequestTooLargeError,
    ServiceError,
)
from erpnext_medusa.logs import REQUEST_ID
from erpnext_medusa.web import frappe
from erpnext_medusa.web.observe import count_refusal
from erpnext_medusa.web.origins import Origins, Provenance, host_name, provenance

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-Id"
#: The id the client sent with the request, when it was sane.
CLIENT_REQUEST_ID: ContextVar[str | None] = ContextVar("erpnext_medusa_client_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
CACHE_CONTROL = "no-store,no-cache,must-revalidate,max-age=0"


def client_request_id(sent: str | None) -> str | None:
    return sent if sent and _SANE_ID.fullmatch(sent) else None


def cross_site_refusal() -> NotPermittedError:
    return NotPermittedError("Requests from another site are not allowed.", reason="cross_site")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first request header called ``name`` (lower case, as servers pass them), as ``Headers.get`` reads it
    but without building one: each layer reads only the header it needs."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _Layer:
    """A middleware of :data:`LAYERS` around ``app``; a layer that needs settings reads them in its own
    ``__init__``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app


class RequestIds(_Layer):
    """Tags the request with an id of the server's (and the sane one the client sent) and answers it in
    ``X-Request-Id``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(16)
        # Each request runs in its own task, so the ids stay with it (and reach the threads it uses).
        REQUEST_ID.set(rid)
        CLIENT_REQUEST_ID.set(client_request_id(_header(scope, b"x-request-id")))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)


class CacheControl(_Layer):
    """Frappe's default ``Cache-Control`` on every response that does not set its own."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                if "cache-control" not in out:
                    out["Cache-Control"] = CACHE_CONTROL
            await send(message)

        await self.app(scope, receive, send_with_cache_control)


class Cors(_Layer):
    """The CORS headers on every response to an origin in ``ERPNEXT_MEDUSA_ALLOW_CORS`` (a preflight's too)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app, settings)
        self.origins = Origins(settings.allow_cors)
        self.enabled = self.origins.any or bool(self.origins.listed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin") if self.enabled else None
        if origin is None or not self.origins.allows(origin):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Allow-Credentials"] = "true"
                out.append("Vary", "Origin")
                if scope["method"] == "OPTIONS":
                    headers = Headers(scope=scope)
                    if "access-control-request-method" in headers:
                        out["Access-Control-Allow-Methods"] = headers["access-control-request-method"]
                    if "access-control-request-headers" in headers:
                        out["Access-Control-Allow-Headers"] = headers["access-control-request-headers"]
                    out["Access-Control-Max-Age"] = "86400"
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _refuse(refusal: ServiceError, count: bool, scope: Scope, receive: Receive, send: Send) -> None:
    if count:
        count_refusal(refusal)
    await frappe.error(refusal, version=frappe.api_version(scope["path"]))(scope, receive, send)


class AllowedHosts(_Layer):
    """421 for a Host header that names a host not in ``ERPNEXT_MEDUSA_ALLOWED_HOSTS``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app, settings)
        self.hosts = settings.host_names
        self.count_refusals = settings.metrics_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hosts = self.hosts
        if scope["type"] == "http" and hosts is not None and host_name(_header(scope, b"host")) not in hosts:
            await _refuse(self.misdirected(), self.count_refusals, scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def misdirected() -> MisdirectedRequestError:
        return MisdirectedRequestError(
            "This service does not answer for that host name (ERPNEXT_MEDUSA_ALLOWED_HOSTS).", reason="host"
        )


class CrossSite(_Layer):
    """``OPTIONS`` is an empty 200 before routing; an unsafe request a browser marks as another site's is 403
    unless its origin is allowed."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app, settings)
        self.origins = Origins(settings.allow_cors)
        self.count_refusals = settings.metrics_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "OPTIONS":
                await Response(status_code=200)(scope, receive, send)
                return
            if scope["method"] in _UNSAFE and provenance(Headers(scope=scope), self.origins) is Provenance.FOREIGN:
                await _refuse(cross_site_refusal(), self.count_refusals, scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit(_Layer):
    """413 for a body or a query string over ``ERPNEXT_MEDUSA_MAX_BODY_BYTES``: at once when ``Content-Length``
    says so, else as soon as the bytes received pass it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(app, settings)
        self.limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = _header(scope, b"content-length") or ""
        if (declared.isdigit() and int(declared) > limit) or len(scope.get("query_string", b"")) > limit:
            await frappe.error(self.too_large(), version=frappe.api_version(scope["path"]))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self.too_large()
            return message

        await self.app(scope, limited_receive, send)

    def too_large(self) -> RequestTooLargeError:
        return RequestTooLargeError(f"The request is too large: at most {self.limit} bytes are accepted.")


class ServerError(_Layer):
    """An unexpected error: logged, and answered with a Frappe-shaped 500 naming the request id while the
    response has not begun (after that the server closes the connection); a client that went away gets
    nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except ClientDisconnect:
            return  # the client went away (or was cut off for sending too slowly): there is no one to answer
        except Exception:
            log.exception("unhandled error")
            if started:
                raise
            failure = ServiceError("Something went wrong. The error was logged on the server.")
            headers = {REQUEST_ID_HEADER: REQUEST_ID.get() or ""}
            await frappe.error(failure, headers, frappe.api_version(scope["path"]))(scope, receive, send)


#: The request's middleware, outermost first (every response, refusals included, carries the request id, the
#: Cache-Control default and the CORS headers).
LAYERS = (
    RequestIds,
    CacheControl,
    Cors,
    AllowedHosts,
    CrossSite,
    BodyLimit,
    ServerError,
)


def wrap(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` behind :data:`LAYERS`."""
    for layer in reversed(LAYERS):
        app = layer(app, settings)
    return app


def install(app: FastAPI, settings: Settings) -> None:
    """Put :data:`LAYERS` in front of ``app``'s routes (middleware added later runs outside them)."""
    for layer in reversed(LAYERS):
        app.add_middleware(layer, settings=settings)
