"""Frappe's HTTP wire format: how arguments are read, and how answers and errors are written.

Two envelopes, as in Frappe v15: v1 (``/api/method``, ``/api/v1/method`` and the legacy ``cmd`` form) answers
``{"message": ...}``; v2 (``/api/v2/method``) answers ``{"data": ...}``.

A v1 error carries ``exception`` (the one line ``frappe.exceptions.<Type>: <message>``), ``exc_type``, ``exc``
(a JSON string of a list holding that same line, where Frappe puts tracebacks: clients such as
``frappe-client`` raise when it is not empty) and the double-encoded ``_server_messages``. A v2 error is
``{"errors": [{"type", "exception", "message", "title", "indicator"}]}``. The line is built from the error's
class and its plain message only: tracebacks, paths, SQL and internal exception text never reach the client.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from erpnext_medusa.domain.errors import (
    AuthenticationError,
    LoginFailedError,
    NotPermittedError,
    ServiceError,
    ValidationFailedError,
)

#: Verbs a whitelisted method accepts by default in Frappe.
ALLOWED_VERBS = frozenset({"GET", "POST", "PUT", "DELETE"})
#: Keys Frappe consumes before a method sees its arguments.
_CONSUMED = ("_", "sid", "csrf_token", "cmd")
V1, V2 = "v1", "v2"


def api_version(path: str) -> str:
    """Which envelope a path answers in."""
    return V2 if path.startswith("/api/v2/") else V1


class _NotJson:
    """The body of a call that is not JSON (or is empty)."""


NOT_JSON = _NotJson()


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return NOT_JSON


@dataclass(frozen=True)
class Call:
    """One request to ``/api/method/<method>``, read once into what Frappe would build from it."""

    method: str
    verb: str
    #: The body parsed as JSON whatever its content type (:data:`NOT_JSON` when it is not).
    json_body: Any
    #: Frappe's ``form_dict``: a JSON object body alone, else query string overlaid with form fields. None
    #: when a JSON body is neither an object nor a list (Frappe refuses such arguments).
    args: dict[str, Any] | None
    #: The keys Frappe takes out of ``form_dict`` before the method sees it (None when absent or not text). The
    #: sid is read from a form or JSON body only, never from the URL (where proxies and browsers log it).
    cmd: str | None = None
    sid: str | None = None
    csrf_token: str | None = None
    #: The envelope the answer goes in (``v1`` or ``v2``).
    version: str = V1
    #: The names of the query string's arguments (a login's credentials may not be among them).
    query_keys: frozenset[str] = frozenset()


def _consumed(is_json: bool, parsed: Any, query: dict[str, str], form: dict[str, str], key: str) -> str | None:
    """A consumed key's value, read from where Frappe's ``form_dict`` would hold it (pass an empty ``query`` to
    read the body alone)."""
    source: Any = parsed if is_json and isinstance(parsed, dict) else {**query, **form}
    value = source.get(key)
    return value if isinstance(value, str) and value else None


def _form_dict(is_json: bool, body: bytes, parsed: Any, query: dict[str, str], form: dict[str, str]) -> Any:
    if is_json and body.strip():
        if isinstance(parsed, dict):
            args = dict(parsed)
        elif isinstance(parsed, list):
            args = {"data": parsed}
        else:
            return None
    else:
        args = {**query, **form}
    for key in _CONSUMED:
        args.pop(key, None)
    return args


def arguments(call: Call) -> dict[str, Any]:
    """The call's arguments, or the ValidationError Frappe answers for a JSON body it cannot use."""
    if call.args is None:
        raise ValidationFailedError("Invalid request arguments")
    return call.args


async def read_call(request: Request, method: str, version: str = V1) -> Call:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = content_type == "application/json" or content_type.endswith("+json")
    body = await request.body()
    form_fields: dict[str, str] = {}
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key, value in form.multi_items():  # Frappe keeps the first of repeated fields
            if isinstance(value, str):
                form_fields.setdefault(key, value)
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, value)
    parsed = _parse_json(body)
    json_args = is_json and bool(body.strip())
    return Call(
        method=method,
        verb=request.method.upper(),
        json_body=parsed,
        args=_form_dict(is_json, body, parsed, query, form_fields),
        cmd=_consumed(json_args, parsed, query, form_fields, "cmd"),
        sid=_consumed(json_args, parsed, {}, form_fields, "sid"),
        csrf_token=_consumed(json_args, parsed, query, form_fields, "csrf_token"),
        version=version,
        query_keys=frozenset(query),
    )


def envelope(value: Any, version: str = V1) -> dict[str, Any]:
    """A successful answer's body: ``{"message": value}`` (v1) or ``{"data": value}`` (v2); ``{}`` when the
    method returns nothing."""
    if value is None:
        return {}
    return {"data" if version == V2 else "message": value}


def message(value: Any, version: str = V1) -> JSONResponse:
    return JSONResponse(envelope(value, version))


def _server_messages(text: str, title: str) -> str:
    entry = {
        "message": text,
        "title": title,
        "indicator": "red",
        "raise_exception": 1,
        "__frappe_exc_id": secrets.token_hex(28),
    }
    return json.dumps([json.dumps(entry)])


def message_html(exc: ServiceError) -> str:
    """The error's message as the HTML a Frappe client will render: user input inside it is escaped."""
    return exc.message if exc.message_is_html else html.escape(exc.message, quote=False)


_TAG = re.compile(r"<[^>]*>")


def plain_text(exc: ServiceError) -> str:
    """The message as one line of text that is also safe to show as HTML: markup of our own is dropped, and
    ``<``, ``>`` and ``&`` (only ever from input) stay escaped."""
    text = _TAG.sub(" ", exc.message) if exc.message_is_html else html.escape(exc.message, quote=False)
    return " ".join(text.split())


def exception_line(exc: ServiceError) -> str:
    """The last line of the traceback Frappe would show: ``frappe.exceptions.<Type>: <message>`` (the bare
    class when there is no message)."""
    name = exc.exc_type if exc.exc_type == "Exception" else f"{exc.exc_module}.{exc.exc_type}"
    return f"{name}: {plain_text(exc)}" if exc.message else name


def error_body(exc: ServiceError, version: str = V1) -> dict[str, Any]:
    line = exception_line(exc)
    # Frappe sends a bare AuthenticationError (401) without messages.
    with_messages = bool(exc.message) and not isinstance(exc, AuthenticationError)
    if version == V2:
        entry: dict[str, Any] = {"type": exc.exc_type, "exception": line}
        if exc.message:
            entry |= {"message": message_html(exc) if with_messages else plain_text(exc), "title": exc.title}
            entry["indicator"] = "red"
        return {"errors": [entry]}
    body: dict[str, Any] = {}
    if isinstance(exc, LoginFailedError):  # Frappe's LoginManager puts the text in ``message`` first
        body["message"] = plain_text(exc)
    body |= {"exception": line, "exc_type": exc.exc_type, "exc": json.dumps([line])}
    if with_messages:
        body["_server_messages"] = _server_messages(message_html(exc), exc.title)
    return body


def error(exc: ServiceError, headers: Mapping[str, str] | None = None, version: str = V1) -> JSONResponse:
    return JSONResponse(error_body(exc, version), status_code=exc.http_status, headers=dict(headers or {}))


def not_whitelisted(method: str) -> ServiceError:
    exc = NotPermittedError(
        "<details><summary>You are not permitted to access this resource. Login to access</summary>"
        f"Function <strong>{html.escape(method)}</strong> is not whitelisted.</details>"
    )
    exc.title = "Method Not Allowed"
    exc.message_is_html = True
    return exc
