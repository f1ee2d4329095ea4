"""The HTTP server's protocol: uvicorn's httptools protocol with bounds on what a request head may hold, and
on how long a request may take to arrive.

uvicorn reads a request line and headers of any size (a 64 MiB header is buffered whole before the app sees
the request). This protocol refuses, before the app is called and without reading further:

- a request target (path and query string) longer than ``max_url_bytes``: 414 URI Too Long. That is the body
  limit plus 4 KiB, but never more than 65,535 bytes: httptools cannot parse a longer target (uvicorn would
  answer it with a plain-text 400);
- more than ``max_headers`` header fields, or header fields of more than ``max_header_bytes`` (each counted as
  sent: name, ``": "``, value and CRLF): 431 Request Header Fields Too Large.

The answer is a Frappe-shaped JSON error and the connection is closed. The bounds are counted as bytes arrive,
so at most one network read past a bound is ever held, and each field is counted once parsed, so a head that
arrives in one read is held to the same bounds as one that trickles in.

uvicorn also waits for ever for a head that never ends (or never starts), and for a body sent a byte at a
time: enough such connections use up the process's file descriptors and every other client is refused. Here a
head must arrive within ``request_head_timeout`` seconds of the connection's start (or, on a kept-alive
connection, of the next request's first byte), and a body must arrive at ``request_body_min_rate`` bytes a
second or more over each span of that length (not counting time the service itself paused reading); else the
answer is 408 Request Timeout and the connection is closed. The number of connections a process holds is
bounded by uvicorn's ``limit_concurrency`` (``max_connections``; 503 beyond it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from erpnext_medusa.config import get_settings
from erpnext_medusa.domain.errors import RequestTimeoutError, ServiceError
from erpnext_medusa.web import frappe

_REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_EXC_TYPES = {414: "URITooLong", 431: "RequestHeaderFieldsTooLarge"}
#: The longest request target httptools parses (its URL parser keeps offsets in 16 bits).
PARSER_MAX_URL_BYTES = 65_535
#: What a head holds besides its target and header fields: the method, the spaces and version of the request
#: line, and the CRLFs that end it and the head. Counted while a head arrives, allowed on top of the fields.
_HEAD_FRAMING = 32


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        # The query string is bounded by the body limit; the target by what the parser can read.
        self.max_url_bytes = min(settings.max_body_bytes + 4096, PARSER_MAX_URL_BYTES)
        self.max_header_bytes = settings.max_header_bytes
        self.max_headers = settings.max_headers
        self._head_open = True  # reading a request head (the first, or the next one on a kept-alive connection)
        self._head_bytes = 0
        self._fields = 0
        self._field_bytes = 0
        self._refused = False
        self.head_timeout = settings.request_head_timeout
        self.body_min_bytes = settings.request_body_min_rate * settings.request_head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_bytes = 0  # body bytes received since the body timer was last armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._refused or not self._head_open:
            return
        # Still in the head after this read: every byte counted so far belongs to it.
        if len(self.url) > self.max_url_bytes:
            self._refuse(414, f"The request target is longer than {self.max_url_bytes} bytes.")
        elif self._head_bytes - len(self.url) > self.max_header_bytes + _HEAD_FRAMING:
            self._refuse_header_bytes()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open, self._fields, self._field_bytes = True, 0, 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        self._field_bytes += len(name) + len(value) + 4
        if self._fields > self.max_headers:
            self._refuse(431, f"The request has more than {self.max_headers} header fields.")
        elif self._field_bytes > self.max_header_bytes:
            self._refuse_header_bytes()
        elif not self._refused:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._head_open, self._head_bytes = False, 0
        self._cancel_head_timer()
        if len(self.url) > self.max_url_bytes:
            self._refuse(414, f"The request target is longer than {self.max_url_bytes} bytes.")
            return
        super().on_headers_complete()
        self._arm_body_timer()  # cancelled at once when the message has no body

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            self._body_bytes += len(body)
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._cancel_body_timer()
        super().on_message_complete()
        self._head_open, self._head_bytes = True, 0

    # --- deadlines ---------------------------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and not self._refused:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _arm_body_timer(self) -> None:
        self._cancel_body_timer()
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.head_timeout, self._body_checked)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _stop_timers(self) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._time_out(f"The request head did not arrive within {self.head_timeout:g} seconds.")

    def _body_checked(self) -> None:
        self._body_timer = None
        if self.flow.read_paused or self._body_bytes >= self.body_min_bytes:
            self._arm_body_timer()  # the service is not reading, or the client keeps up: look again later
            return
        self._time_out("The request body is arriving too slowly.")

    def _time_out(self, message: str) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:  # too late to answer: just close
            self._refused = True
            self.transport.close()
            return
        self._refuse(408, message)

    def _refuse_header_bytes(self) -> None:
        self._refuse(431, f"The request headers are larger than {self.max_header_bytes} bytes.")

    def _refuse(self, status: int, message: str) -> None:
        if self._refused:
            return
        self._refused = True
        self._stop_timers()
        error = RequestTimeoutError(message) if status == 408 else ServiceError(message)
        if status in _EXC_TYPES:
            error.exc_type = _EXC_TYPES[status]
        body = json.dumps(frappe.error_body(error)).encode()  # the body every other error has
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
