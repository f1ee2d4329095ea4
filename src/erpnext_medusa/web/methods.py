"""The whitelisted methods: Frappe's dotted paths mapped to domain operations.

Each handler turns Frappe-style arguments into one domain call and returns the value that goes into
``{"message": ...}``. The one documented quirk of the contract lives here: ``update_address`` answers its
failures with HTTP 200 and ``{"message": {"error": "..."}}`` instead of an error status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from erpnext_medusa.domain.addresses import SUCCESS_MESSAGE, update_billing_address
from erpnext_medusa.domain.customers import NO_MATCH_MESSAGE, fetch_unlinked_customers
from erpnext_medusa.domain.errors import AuthenticationError, PermissionError, ServiceError, ValidationError
from erpnext_medusa.domain.leads import link_medusa_lead
from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.web import limits
from erpnext_medusa.web.frappe import Call

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
#: Larger paging numbers are refused rather than passed to the database (they overflow its integers).
_LARGEST = 2**31 - 1


@dataclass(frozen=True)
class Context:
    services: Services
    user: str
    call: Call
    origin: Origin = field(default_factory=Origin)
    #: A Medusa customer token's actor_id: the only Customer whose address this call may change.
    owner_medusa_id: str | None = None

    def stamp(self) -> Stamp:
        return self.services.stamp(self.user, self.origin)


@dataclass(frozen=True)
class Method:
    path: str
    handler: Callable[[Context], Any]
    allow_guest: bool
    summary: str
    #: A guest endpoint: the guest access policy and the rate limits apply to guests calling it.
    guest_endpoint: bool = False
    #: Verbs shown in the OpenAPI document (every Frappe verb is accepted all the same).
    documented_verbs: tuple[str, ...] = ("GET", "POST")


def _text_arg(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(f"{key} must be text")


def _int_arg(args: dict[str, Any], *keys: str) -> int | None:
    """The first of ``keys`` present, as a whole number (blank means absent)."""
    for key in keys:
        value = args.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            break
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            digits = value.strip().lstrip("+-")
            if len(digits.lstrip("0")) > len(str(_LARGEST)):  # before int(): Python refuses 4,300+ digits
                raise ValidationError(f"{key} is too large")
            value = int(value.strip())
        if not isinstance(value, int):
            raise ValidationError(f"{key} must be a whole number")
        if abs(value) > _LARGEST:
            raise ValidationError(f"{key} is too large")
        return value
    return None


def ping(ctx: Context) -> str:
    return "pong"


def get_logged_user(ctx: Context) -> str:
    return ctx.user


def fetch_all_customers(ctx: Context) -> list[dict[str, Any]] | str:
    args = ctx.call.args()
    rows = fetch_unlinked_customers(
        ctx.services.store,
        limits.check_search(_text_arg(args, "name"), ctx.services.settings),
        limit=_int_arg(args, "limit", "limit_page_length"),
        offset=_int_arg(args, "limit_start"),
        cap=ctx.services.settings.fetch_max_results,
    )
    return [asdict(row) for row in rows] or NO_MATCH_MESSAGE


def _json_object_body(call: Call) -> dict[str, Any]:
    try:
        data = json.loads(call.body) if call.body.strip() else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise ValidationError("Request body must be a JSON object.")
    return data


def update_address(ctx: Context) -> dict[str, str] | str:
    try:
        body = _json_object_body(ctx.call)
        if isinstance(body.get("customer_id"), str):
            limits.check_name("Customer ID", body["customer_id"].strip())
        update_billing_address(ctx.services.store, body, ctx.stamp(), owner_medusa_id=ctx.owner_medusa_id)
    except (PermissionError, AuthenticationError):  # a refusal keeps Frappe's status, as on every endpoint
        raise
    except ServiceError as exc:  # the contract: failures are HTTP 200 with an error object (plain text)
        return {"error": exc.message}
    return SUCCESS_MESSAGE


def link_lead(ctx: Context) -> dict[str, str]:
    args = ctx.call.args()
    link_medusa_lead(
        ctx.services.store,
        limits.check_name("Customer", _text_arg(args, "customer")) or "",
        limits.check_name("Lead", _text_arg(args, "lead")) or "",
        ctx.stamp(),
    )
    return {"status": "success"}


METHODS: dict[str, Method] = {
    m.path: m
    for m in (
        Method("ping", ping, True, "Health check: answers pong."),
        Method("frappe.auth.get_logged_user", get_logged_user, False, "The user the API key belongs to."),
        Method(
            "medusa_integration.api.fetch_all_customers",
            fetch_all_customers,
            True,
            "Enabled Customers not yet linked to Medusa, filtered by a typeahead name.",
            guest_endpoint=True,
        ),
        Method(
            "medusa_integration.api.update_address",
            update_address,
            True,
            "Change fields of a Customer's billing address (JSON body).",
            guest_endpoint=True,
            documented_verbs=("POST",),
        ),
        Method(
            "medusa_integration.utils.link_medusa_lead",
            link_lead,
            False,
            "Link a Medusa Lead to an existing Customer.",
        ),
    )
}
