"""Frappe's HTTP wire format: how arguments are read, and how answers and errors are written.

Errors are rendered as Frappe v15 renders them with tracebacks turned off: ``exc_type`` plus the
double-encoded ``_server_messages``. Tracebacks and internal exception text never reach the client.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from erpnext_medusa.domain.errors import AuthenticationError, NotPermittedError, ServiceError, ValidationFailedError

#: Verbs a whitelisted method accepts by default in Frappe.
ALLOWED_VERBS = frozenset({"GET", "POST", "PUT", "DELETE"})
#: Keys Frappe consumes before a method sees its arguments.
_CONSUMED = ("_", "sid", "csrf_token", "cmd")


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


async def read_call(request: Request, method: str) -> Call:
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
    return Call(
        method=method,
        verb=request.method.upper(),
        json_body=parsed,
        args=_form_dict(is_json, body, parsed, query, form_fields),
    )


def message(value: Any) -> JSONResponse:
    """A successful answer: ``{"message": value}`` (``{}`` when the method returns nothing)."""
    return JSONResponse({} if value is None else {"message": value})


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


def error_body(exc: ServiceError) -> dict[str, Any]:
    body: dict[str, Any] = {"exc_type": exc.exc_type}
    # Frappe sends a bare AuthenticationError (401) without messages.
    if exc.message and not isinstance(exc, AuthenticationError):
        body["_server_messages"] = _server_messages(message_html(exc), exc.title)
    return body


def error(exc: ServiceError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(exc), status_code=exc.http_status, headers=dict(headers or {}))


def not_whitelisted(method: str) -> ServiceError:
    exc = NotPermittedError(
        "<details><summary>You are not permitted to access this resource. Login to access</summary>"
        f"Function <strong>{html.escape(method)}</strong> is not whitelisted.</details>"
    )
    exc.title = "Method Not Allowed"
    exc.message_is_html = True
    return exc
