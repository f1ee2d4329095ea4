"""The HTTP server's protocol: uvicorn's httptools protocol with bounds on what a request head may hold.

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
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from erpnext_medusa.config import get_settings
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.web import frappe

_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
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
        if len(self.url) > self.max_url_bytes:
            self._refuse(414, f"The request target is longer than {self.max_url_bytes} bytes.")
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._head_open, self._head_bytes = True, 0

    def _refuse_header_bytes(self) -> None:
        self._refuse(431, f"The request headers are larger than {self.max_header_bytes} bytes.")

    def _refuse(self, status: int, message: str) -> None:
        if self._refused:
            return
        self._refused = True
        error = ServiceError(message)
        error.exc_type = "URITooLong" if status == 414 else "RequestHeaderFieldsTooLarge"
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
