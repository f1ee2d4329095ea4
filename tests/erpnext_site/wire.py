"""How the double writes Frappe v15's answers: message dicts, error bodies and cookies.

Follows frappe/__init__.py ``msgprint`` / ``throw`` (a raising message has ``indicator: "red"``,
``raise_exception: 1`` and a 56-hex ``__frappe_exc_id``; a plain one has ``message`` and ``title`` only, plus
the indicator it was given), frappe/utils/response.py ``report_error`` / ``_make_logs_v1`` (key order:
keys set before the failure, ``exception``, ``exc_type``, ``exc``, ``_server_messages`` double-encoded,
``_error_message``) and frappe/app.py (404 answers carry no traceback).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any


def message(text: str, *, title: str = "Message", indicator: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``frappe.msgprint`` that does not raise."""
    entry: dict[str, Any] = {"message": text, "title": title}
    if indicator:
        entry["indicator"] = indicator
    entry.update(extra)
    return entry


def raising(text: str, *, title: str = "Message") -> dict[str, Any]:
    """The message of ``frappe.throw`` / ``msgprint(raise_exception=...)``."""
    return {
        "message": text,
        "title": title,
        "indicator": "red",
        "raise_exception": 1,
        "__frappe_exc_id": secrets.token_hex(28),
    }


@dataclass
class Thrown(Exception):
    """A Frappe exception on its way to the wire."""

    status: int
    exc_type: str
    #: ``str(exc)``: what follows the class name on the ``exception`` line (empty for a bare raise).
    text: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    error_message: str | None = None
    #: Keys the handler had put in the response before it failed (e.g. ``message`` on a failed login).
    before: dict[str, Any] = field(default_factory=dict)
    module: str = "frappe.exceptions"


def throw(text: str, exc_type: str = "ValidationError", status: int = 417, *, title: str = "Message") -> Thrown:
    return Thrown(status, exc_type, text, [raising(text, title=title)])


def error_body(error: Thrown, log: list[dict[str, Any]], *, tracebacks: bool) -> dict[str, Any]:
    """The v1 JSON body of a failed request; ``log`` holds the messages printed before the failure."""
    body: dict[str, Any] = dict(error.before)
    line = f"{error.module}.{error.exc_type}" + (f": {error.text}" if error.text else "")
    show = tracebacks and error.status != 404
    if show:
        body["exception"] = line
    body["exc_type"] = error.exc_type
    if show:
        trace = (
            "Traceback (most recent call last):\n"
            '  File "apps/frappe/frappe/app.py", line 114, in application\n'
            "    response = frappe.api.handle(request)\n"
            f"{line}\n"
        )
        body["exc"] = json.dumps([trace])
    messages = [*log, *error.messages]
    if messages:
        body["_server_messages"] = json.dumps([json.dumps(m) for m in messages])
    if error.error_message:
        body["_error_message"] = error.error_message
    return body


def success_body(key: str, value: Any, log: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"data": ...}`` or ``{"message": ...}`` (nothing when the value is None), with any printed messages."""
    body: dict[str, Any] = {} if value is None else {key: value}
    if log:
        body["_server_messages"] = json.dumps([json.dumps(m) for m in log])
    return body


def dumps(body: Any) -> bytes:
    """Frappe's compact JSON (``separators=(",", ":")``, datetimes as ``str()``)."""
    return json.dumps(body, separators=(",", ":"), default=str).encode()
