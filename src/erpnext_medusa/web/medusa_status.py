"""``erpnext_medusa.api.medusa_customer``: what the Medusa admin's customer widget shows of a Medusa customer
(the ERPNext Customer linked to it, its billing address, the last change sent to Medusa)."""

from __future__ import annotations

from typing import Any

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.medusa_status import BILLING_FIELDS, SHOWN_STATES, LastSync, medusa_customer_status
from erpnext_medusa.domain.moments import utc
from erpnext_medusa.web.frappe import arguments, text_arg
from erpnext_medusa.web.registry import Context, Method, query_parameter


def _last_sync(ctx: Context, last: LastSync) -> dict[str, Any]:
    at = utc(last.at, ctx.services.settings.zone)
    return {"state": last.state, "at": at.isoformat(), "attempts": last.attempts, "error": last.error}


def medusa_customer(ctx: Context) -> dict[str, Any]:
    # The standalone shape sends nothing to Medusa: its outbox stays empty, so no last sync is shown there.
    history = ctx.services.outbox if ctx.services.site is not None else None
    status = medusa_customer_status(ctx.services.store, text_arg(arguments(ctx.call), "medusa_id"), history)
    if status.customer is None:
        return {"linked": False}
    address = status.billing_address
    return {
        "linked": True,
        "customer": status.customer.name,
        "customer_name": status.customer.customer_name,
        "billing_address": None if address is None else {f: getattr(address, f) for f in BILLING_FIELDS},
        "last_sync": None if status.last_sync is None else _last_sync(ctx, status.last_sync),
    }


_TEXT = {"type": ["string", "null"]}
_ADDRESS = {
    "type": ["object", "null"],
    "properties": {f: {"type": "string"} if f == "name" else _TEXT for f in BILLING_FIELDS},
    "required": list(BILLING_FIELDS),
}
_LAST_SYNC = {
    "type": ["object", "null"],
    "properties": {
        "state": {"type": "string", "enum": sorted(set(SHOWN_STATES.values()))},
        "at": {"type": "string", "format": "date-time"},
        "attempts": {"type": "integer", "minimum": 0},
        "error": _TEXT,
    },
    "required": ["state", "at", "attempts", "error"],
}

MEDUSA_CUSTOMER = Method(
    "erpnext_medusa.api.medusa_customer",
    medusa_customer,
    "The ERPNext Customer linked to a Medusa customer, its billing address and the last sync to Medusa.",
    description=(
        'Answers {"linked": false} when no Customer carries `medusa_id`. Otherwise the Customer\'s name and '
        "customer_name, its billing address (the one update_address changes, by the same rule; null when it has "
        "none) and `last_sync`: the latest change sent to Medusa for it (pending, delivered, failed or dead, "
        "when in UTC, the deliveries tried and Medusa's last refusal), null when none was sent (always so in "
        "the standalone shape). On a live site the Customer is found in the service's mirror of it. A missing "
        "or blank `medusa_id`, or one over {name_length} characters, is 417. An API key or a session; guests "
        "are refused (403)."
    ),
    parameters=(
        query_parameter(
            "medusa_id", "The Medusa customer's id (cus_...).", {"type": "string", "maxLength": NAME_LENGTH}, True
        ),
    ),
    result={
        "oneOf": [
            {"type": "object", "properties": {"linked": {"const": False}}, "required": ["linked"]},
            {
                "type": "object",
                "properties": {
                    "linked": {"const": True},
                    "customer": {"type": "string"},
                    "customer_name": {"type": "string"},
                    "billing_address": _ADDRESS,
                    "last_sync": _LAST_SYNC,
                },
                "required": ["linked", "customer", "customer_name", "billing_address", "last_sync"],
            },
        ]
    },
    errors=(403, 417),
)
