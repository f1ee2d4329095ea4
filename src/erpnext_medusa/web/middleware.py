"""Per-request context, before any route runs: the request id and the size limits.

Every response carries ``X-Request-Id``: the client's own when it is sane (1-64 of ``A-Z a-z 0-9 . _ -``),
otherwise a new one. The id is what log lines and audit rows are tagged with.

A body larger than ``ERPNEXT_MEDUSA_MAX_BODY_BYTES`` is refused with 413 before it is read: at once when
``Content-Length`` says so, or as soon as the bytes received pass the limit (chunked uploads). The query
string is held to the same limit.
"""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erpnext_medusa.domain.errors import RequestTooLargeError
from erpnext_medusa.logs import REQUEST_ID
from erpnext_medusa.web import frappe

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(sent: str | None) -> str:
    return sent if sent and _SANE_ID.fullmatch(sent) else secrets.token_hex(16)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = request_id(headers.get("x-request-id"))
        # Each request runs in its own task, so the id stays with it (and reaches the threads it uses).
        REQUEST_ID.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        limit = self.max_body_bytes
        declared = headers.get("content-length", "")
        if (declared.isdigit() and int(declared) > limit) or len(scope.get("query_string", b"")) > limit:
            response = frappe.error(self.too_large())
            await response(scope, receive, send_with_id)
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

        await self.app(scope, limited_receive, send_with_id)

    def too_large(self) -> RequestTooLargeError:
        return RequestTooLargeError(f"The request is too large: at most {self.max_body_bytes} bytes are accepted.")
