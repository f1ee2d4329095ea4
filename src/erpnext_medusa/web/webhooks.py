"""``POST /webhooks/medusa/customer``: the Medusa server's signed customer events, which become ERPNext Leads.

The route exists only when ``ERPNEXT_MEDUSA_WEBHOOK_SECRET`` is set. Every request must carry
``X-ERPNext-Medusa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` made with that
secret, within :data:`TOLERANCE_SECONDS` of the server's clock; anything else is a bare 401
``AuthenticationError`` before the body is even parsed. The body is then read into a typed event (a
ValidationError for anything malformed) and handed to the domain (:mod:`erpnext_medusa.domain.intake`). The
answer is ``{"message": {"lead": "<name>", "created": true|false}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from erpnext_medusa import metrics
from erpnext_medusa.domain.errors import AuthenticationError, ServiceError, ValidationFailedError
from erpnext_medusa.domain.intake import (
    EVENT_TYPES,
    CustomerEvent,
    IntakeResult,
    Kept,
    MedusaCustomer,
    receive_customer_event,
    receive_or_keep,
)
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe
from erpnext_medusa.web.auth import GUEST
from erpnext_medusa.web.client import client_of, write_origin

PATH = "/webhooks/medusa/customer"
SIGNATURE_HEADER = "X-ERPNext-Medusa-Signature"
#: A signature's timestamp may be this far from the server's clock, either way.
TOLERANCE_SECONDS = 300
#: More v1 values than this in one header are not looked at (a sender rotating secrets sends two).
_MAX_SIGNATURES = 4
_CUSTOMER_TEXT = ("email", "first_name", "last_name", "phone", "company_name")


# --- the signature -------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp`` (what the Medusa project's subscriber sends)."""
    return f"t={timestamp},v1={_mac(secret, str(timestamp), body)}"


def _mac(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Return when ``header`` signs ``body`` with ``secret`` at a time within the tolerance of ``now``; raise
    AuthenticationError (its reason says which check failed, for the metrics) otherwise."""
    if not header:
        raise AuthenticationError(reason="webhook_unsigned")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and timestamp is None:
            timestamp = value.strip()
        elif key == "v1":
            signatures.append(value.strip())
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12 or not signatures:
        raise AuthenticationError(reason="webhook_signature_malformed")
    expected = _mac(secret, timestamp, body).encode("ascii")
    matched = False
    for candidate in signatures[:_MAX_SIGNATURES]:  # every one compared, in constant time
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "surrogateescape"))
    if not matched:
        raise AuthenticationError(reason="webhook_signature_wrong")
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise AuthenticationError(reason="webhook_signature_stale")


# --- the body --------------------------------------------------------------------------------------------------


def _text(obj: dict[str, Any], key: str, label: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationFailedError(f"{label} is required.")
        return None
    if not isinstance(value, str):
        raise ValidationFailedError(f"{label} must be text{'' if required else ' or null'}.")
    return value


def read_event(body: bytes) -> CustomerEvent:
    """The event a webhook body holds, its types checked (values are the domain's to judge)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationFailedError("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ValidationFailedError("The body must be a JSON object.")
    event_id = _text(data, "id", "id", required=True) or ""
    kind = _text(data, "type", "type", required=True) or ""
    if kind not in EVENT_TYPES:
        raise ValidationFailedError(f"type must be one of {', '.join(EVENT_TYPES)}.")
    customer = data.get("data")
    if not isinstance(customer, dict):
        raise ValidationFailedError("data must be an object: the Medusa customer.")
    metadata = customer.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailedError("data.metadata must be an object or null.")
    fields = {key: _text(customer, key, f"data.{key}") for key in _CUSTOMER_TEXT}
    medusa_id = _text(customer, "id", "data.id", required=True) or ""
    return CustomerEvent(id=event_id, type=kind, customer=MedusaCustomer(id=medusa_id, **fields))


# --- the route -------------------------------------------------------------------------------------------------


def _count(enabled: bool, outcome: str) -> None:
    if enabled:
        metrics.INTAKE_EVENTS.labels(outcome=outcome).inc()


async def customer_webhook(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    counting = settings.metrics_on
    body = await request.body()
    try:
        verify_signature(
            settings.webhook_secret.get_secret_value(), request.headers.get(SIGNATURE_HEADER), body, time.time()
        )
        event = read_event(body)
        stamp = services.stamp(GUEST, write_origin(client_of(request), medusa_actor=event.customer.id))
        source = settings.lead_source or None
        if services.site is None:
            result: IntakeResult | Kept = await run_in_threadpool(
                receive_customer_event, services.store, event, stamp, source=source
            )
        else:  # a live site may refuse the Lead by rules of its own: the event is then kept, to be retried
            result = await run_in_threadpool(
                receive_or_keep,
                services.store,
                services.site.mirror,
                event,
                stamp,
                source=source,
                echo=services.is_echo,
            )
    except ServiceError as exc:
        if exc.http_status < 500:  # refused; a database that is unavailable is not the event's fault
            _count(counting, "refused")
        raise
    if isinstance(result, Kept):
        _count(counting, "kept")
        kept = {"lead": None, "created": False, "kept": True, "reason": result.message, "exc_type": result.exc_type}
        return JSONResponse(frappe.envelope(kept, frappe.V1), status_code=202)
    _count(counting, result.outcome)
    return frappe.message({"lead": result.lead, "created": result.created})


#: The route's OpenAPI operation (it is not a Frappe method, so the registry does not describe it).
OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": f't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, within {TOLERANCE_SECONDS} s',
            "schema": {"type": "string"},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "maxLength": 140},
                        "type": {"type": "string", "enum": list(EVENT_TYPES)},
                        "data": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string", "maxLength": 140},
                                **{key: {"type": ["string", "null"]} for key in _CUSTOMER_TEXT},
                                "metadata": {"type": ["object", "null"]},
                            },
                            "required": ["id"],
                        },
                    },
                    "required": ["id", "type", "data"],
                }
            }
        },
    },
    "responses": {
        "200": {"description": '{"message": {"lead": "<Lead name>", "created": true|false}}'},
        "401": {"description": "AuthenticationError: unsigned, badly signed, or signed too long ago or ahead"},
        "417": {"description": "ValidationError: a body that is not a Medusa customer event"},
    },
}
