"""Per-request context, before any route runs: request ids, size limits, browsers' cross-site requests, and
the last word on errors.

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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body_bytes = settings.max_body_bytes
        self.origins = Origins(settings.allow_cors)
        self.hosts = settings.host_names
        self.count_refusals = settings.metrics_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = secrets.token_hex(16)
        # Each request runs in its own task, so the ids stay with it (and reach the threads it uses).
        REQUEST_ID.set(rid)
        CLIENT_REQUEST_ID.set(client_request_id(headers.get("x-request-id")))
        origin = headers.get("origin")
        allowed = self.origins.allows(origin)
        started = False

        async def send_with_context(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                out[REQUEST_ID_HEADER] = rid
                if "cache-control" not in out:  # Frappe's default on every response
                    out["Cache-Control"] = CACHE_CONTROL
                if allowed and origin is not None:
                    out["Access-Control-Allow-Origin"] = origin
                    out["Access-Control-Allow-Credentials"] = "true"
                    out.append("Vary", "Origin")
                    if scope["method"] == "OPTIONS":
                        if "access-control-request-method" in headers:
                            out["Access-Control-Allow-Methods"] = headers["access-control-request-method"]
                        if "access-control-request-headers" in headers:
                            out["Access-Control-Allow-Headers"] = headers["access-control-request-headers"]
                        out["Access-Control-Max-Age"] = "86400"
            await send(message)

        if self.hosts is not None and host_name(headers.get("host")) not in self.hosts:
            await self.refuse(self.misdirected(), scope, receive, send_with_context)
            return
        if scope["method"] == "OPTIONS":
            await Response(status_code=200)(scope, receive, send_with_context)
            return
        if scope["method"] in _UNSAFE and provenance(headers, self.origins) is Provenance.FOREIGN:
            await self.refuse(cross_site_refusal(), scope, receive, send_with_context)
            return
        limit = self.max_body_bytes
        declared = headers.get("content-length", "")
        if (declared.isdigit() and int(declared) > limit) or len(scope.get("query_string", b"")) > limit:
            await frappe.error(self.too_large(), version=frappe.api_version(scope["path"]))(
                scope, receive, send_with_context
            )
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

        try:
            await self.app(scope, limited_receive, send_with_context)
        except ClientDisconnect:
            return  # the client went away (or was cut off for sending too slowly): there is no one to answer
        except Exception:
            log.exception("unhandled error")
            if started:  # too late to answer: the server closes the connection
                raise
            failure = ServiceError("Something went wrong. The error was logged on the server.")
            version = frappe.api_version(scope["path"])
            await frappe.error(failure, {REQUEST_ID_HEADER: rid}, version)(scope, receive, send_with_context)

    async def refuse(self, refusal: ServiceError, scope: Scope, receive: Receive, send: Send) -> None:
        if self.count_refusals:
            count_refusal(refusal)
        await frappe.error(refusal, version=frappe.api_version(scope["path"]))(scope, receive, send)

    @staticmethod
    def misdirected() -> MisdirectedRequestError:
        return MisdirectedRequestError(
            "This service does not answer for that host name (ERPNEXT_MEDUSA_ALLOWED_HOSTS).", reason="host"
        )

    def too_large(self) -> RequestTooLargeError:
        return RequestTooLargeError(f"The request is too large: at most {self.max_body_bytes} bytes are accepted.")
