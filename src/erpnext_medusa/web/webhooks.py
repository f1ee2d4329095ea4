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
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from erpnext_medusa import metrics
from erpnext_medusa.domain.doctypes import NAME_LENGTH
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
from erpnext_medusa.web.arguments import Complete, parse, request_body
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


def _text(value: Any, info: ValidationInfo) -> str | None:
    """Text or null (a required field's null is its absence)."""
    label = _label(info)
    if value is None:
        if info.field_name == "id":
            raise ValidationFailedError(f"{label} is required.")
        return None
    if not isinstance(value, str):
        raise ValidationFailedError(f"{label} must be text{'' if info.field_name == 'id' else ' or null'}.")
    return value


def _label(info: ValidationInfo) -> str:
    return f"{(info.context or {}).get('prefix', '')}{info.field_name}"


Text = Annotated[str | None, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_text), Field(json_schema_extra={"maxLength": NAME_LENGTH})]


class CustomerBody(Complete):
    """The Medusa customer the event is about."""

    # Checked in this order: the metadata, the contact fields, then the id.
    metadata: dict[str, Any] | None = None
    email: Text = None
    first_name: Text = None
    last_name: Text = None
    phone: Text = None
    company_name: Text = None
    id: Name

    @field_validator("metadata", mode="before")
    @classmethod
    def _object_or_null(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValidationFailedError("data.metadata must be an object or null.")
        return value


class EventBody(Complete):
    """A Medusa customer event, as the Medusa project's subscriber sends it."""

    id: Name
    type: str = Field(json_schema_extra={"enum": list(EVENT_TYPES)})
    data: CustomerBody

    @field_validator("type", mode="before")
    @classmethod
    def _event_type(cls, value: Any) -> Any:
        if value is None:
            raise ValidationFailedError("type is required.")
        if not isinstance(value, str):
            raise ValidationFailedError("type must be text.")
        if value not in EVENT_TYPES:
            raise ValidationFailedError(f"type must be one of {', '.join(EVENT_TYPES)}.")
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _customer(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationFailedError("data must be an object: the Medusa customer.")
        return parse(CustomerBody, value, prefix="data.")


def read_event(body: bytes) -> CustomerEvent:
    """The event a webhook body holds, its types checked (values are the domain's to judge)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationFailedError("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ValidationFailedError("The body must be a JSON object.")
    event = parse(EventBody, data)
    customer = event.data
    fields = {key: getattr(customer, key) for key in _CUSTOMER_TEXT}
    return CustomerEvent(id=event.id, type=event.type, customer=MedusaCustomer(id=customer.id, **fields))


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
    "requestBody": request_body(EventBody, "application/json"),
    "responses": {
        "200": {"description": '{"message": {"lead": "<Lead name>", "created": true|false}}'},
        "401": {"description": "AuthenticationError: unsigned, badly signed, or signed too long ago or ahead"},
        "417": {"description": "ValidationError: a body that is not a Medusa customer event"},
    },
}
