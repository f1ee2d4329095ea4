"""The whitelisted methods: Frappe's dotted paths mapped to domain operations, and the one registry of them.

Each handler reads its call once into typed arguments, makes one domain call and returns the value that goes
into ``{"message": ...}``. The wire's strings live here, and so does the one documented quirk of the contract:
``update_address`` answers its failures with HTTP 200 and ``{"message": {"error": "..."}}``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from erpnext_medusa.domain.accounts import check_user_name, log_in, log_out
from erpnext_medusa.domain.addresses import REQUIRED_FIELDS, named_customer, update_billing_address
from erpnext_medusa.domain.backoffice import require_link_role
from erpnext_medusa.domain.customers import fetch_unlinked_customers
from erpnext_medusa.domain.doctypes import NAME_LENGTH, field_length
from erpnext_medusa.domain.errors import (
    AuthenticationError,
    NotPermittedError,
    ServiceError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from erpnext_medusa.domain.leads import link_medusa_lead
from erpnext_medusa.domain.models import ADDRESS_FIELDS, ADDRESS_LABELS
from erpnext_medusa.web import limits
from erpnext_medusa.web.frappe import NOT_JSON, Call, arguments, text_arg
from erpnext_medusa.web.medusa_status import MEDUSA_CUSTOMER
from erpnext_medusa.web.registry import Context, Method, Registry, Reply, query_parameter
from erpnext_medusa.web.sessions import expired_cookies, login_cookies

NO_MATCH_MESSAGE = "No relevant customers found"
SUCCESS_MESSAGE = "Address updated successfully"
NOT_AN_OBJECT = "Request body must be a JSON object."

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
#: Larger paging numbers are refused rather than passed to the database (they overflow its integers).
_LARGEST = 2**31 - 1


# --- reading arguments ---------------------------------------------------------------------------------------


def _int_arg(args: dict[str, Any], *keys: str) -> int | None:
    """The first of ``keys`` present, as a whole number (blank means absent). One rule for every encoding: a
    JSON number or a string of digits, in a query, a form or a JSON body alike; true, false and 1.5 are not."""
    for key in keys:
        value = args.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise ValidationFailedError(f"{key} must be a whole number")
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            digits = value.strip().lstrip("+-")
            if len(digits.lstrip("0")) > len(str(_LARGEST)):  # before int(): Python refuses 4,300+ digits
                raise ValidationFailedError(f"{key} is too large")
            value = int(value.strip())
        if not isinstance(value, int):
            raise ValidationFailedError(f"{key} must be a whole number")
        if abs(value) > _LARGEST:
            raise ValidationFailedError(f"{key} is too large")
        return value
    return None


@dataclass(frozen=True)
class AddressUpdate:
    """An update_address body: the Customer (None when the body names none), and the address fields it sends
    (None clears one)."""

    customer_id: str | None
    changes: dict[str, str | None]


def _address_text(field: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # postal codes often arrive as numbers
        return str(value)
    raise ValidationFailedError(f"{ADDRESS_LABELS[field]} must be text.")


def read_address_update(call: Call, *, customer_optional: bool = False) -> AddressUpdate:
    """The body of update_address, which is JSON whatever its content type. ``customer_optional``: the caller is
    a Medusa customer, whose token names their Customer, so the body may leave customer_id out (absent, null or
    blank)."""
    body = call.json_body
    if body is NOT_JSON or not isinstance(body, dict):
        raise ValidationFailedError(NOT_AN_OBJECT)
    customer_id = body.get("customer_id")
    if isinstance(customer_id, int) and not isinstance(customer_id, bool):
        customer_id = str(customer_id)
    if not isinstance(customer_id, str):
        customer_id = ""
    named = named_customer(customer_id, optional=customer_optional)  # its errors come before the fields'
    return AddressUpdate(named, {f: _address_text(f, body[f]) for f in ADDRESS_FIELDS if f in body})


# --- handlers ------------------------------------------------------------------------------------------------


def ping(ctx: Context) -> str:
    return "pong"


def get_logged_user(ctx: Context) -> str:
    return ctx.user


def fetch_all_customers(ctx: Context) -> list[dict[str, Any]] | str:
    args = arguments(ctx.call)
    rows = fetch_unlinked_customers(
        ctx.services.store,
        text_arg(args, "name"),
        limit=_int_arg(args, "limit", "limit_page_length"),
        offset=_int_arg(args, "limit_start"),
        limits=limits.search_limits(ctx.services.settings),
    )
    return [asdict(row) for row in rows] or NO_MATCH_MESSAGE


def update_address(ctx: Context) -> dict[str, str] | str:
    try:
        update = read_address_update(ctx.call, customer_optional=ctx.owner_medusa_id is not None)
        update_billing_address(
            ctx.services.store, update.customer_id, update.changes, ctx.stamp(), owner_medusa_id=ctx.owner_medusa_id
        )
    except (NotPermittedError, AuthenticationError, ServiceUnavailableError):
        raise  # a refusal, or a database that cannot serve now, keeps its status (and Retry-After), as elsewhere
    except ServiceError as exc:  # the contract: failures are HTTP 200 with an error object (plain text)
        return {"error": exc.message}
    return SUCCESS_MESSAGE


#: Where a login's credentials may not be: in the URL, proxies, browsers' histories and logs keep them.
CREDENTIALS_IN_URL = "Send usr and pwd in the request body (a form or JSON), not in the URL."


def login(ctx: Context) -> Reply:
    """Frappe's ``login``, by POST only: ``usr`` and ``pwd`` in the body (form or JSON); a session and its
    cookies on success."""
    if ctx.call.query_keys & {"usr", "pwd"}:
        raise ValidationFailedError(CREDENTIALS_IN_URL)
    args = ctx.call.args or {}
    usr, pwd = args.get("usr"), args.get("pwd")
    usr = usr if isinstance(usr, str) else None
    pwd = pwd if isinstance(pwd, str) else None
    if usr:
        check_user_name(usr)
        ctx.count_login(usr)
    services = ctx.services
    opened = log_in(
        services.accounts, services.sessions, services.locks, usr, pwd, services.now(), services.login_rules()
    )
    account = opened.account
    answer = "Logged In" if account.system_user else "No App"
    return Reply(
        answer,
        extra={"home_page": "/app" if account.system_user else "/me", "full_name": account.full_name},
        cookies=tuple(login_cookies(opened, services.settings.session_lifetime, ctx.secure)),
    )


def logout(ctx: Context) -> Reply:
    """Frappe's ``logout``: ends the session and expires its cookies (a guest's call does nothing)."""
    if ctx.sid is not None:
        log_out(ctx.services.sessions, ctx.sid)
    return Reply(None, cookies=tuple(expired_cookies(ctx.secure)))


def link_lead(ctx: Context) -> dict[str, str]:
    require_link_role(ctx.services.accounts, ctx.user, ctx.services.settings.link_role_set)
    args = arguments(ctx.call)
    link_medusa_lead(
        ctx.services.store,
        limits.check_name("Customer", text_arg(args, "customer")) or "",
        limits.check_name("Lead", text_arg(args, "lead")) or "",
        ctx.stamp(),
    )
    return {"status": "success"}


# --- the registry --------------------------------------------------------------------------------------------


_NAME = {"type": "string", "maxLength": NAME_LENGTH}
_CUSTOMER = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "customer_name": {"type": "string"},
        "email_id": {"type": ["string", "null"]},
        "mobile_no": {"type": ["string", "null"]},
    },
    "required": ["name", "customer_name", "email_id", "mobile_no"],
}
_PAGING = {"type": "integer", "minimum": 0, "maximum": _LARGEST}
_ADDRESS_BODY = {
    "type": "object",
    "properties": {
        "customer_id": _NAME,
        **{f: {"type": ["string", "null"], "maxLength": field_length("Address", f)} for f in ADDRESS_FIELDS},
    },
}
_LINK_ARGS = {"type": "object", "properties": {"customer": _NAME, "lead": _NAME}}

METHODS = Registry(
    Method(
        "ping",
        ping,
        "Health check: answers pong.",
        allow_guest=True,
        result={"type": "string", "const": "pong"},
        aliases=("frappe.ping",),
    ),
    Method(
        "login",
        login,
        "Log in with a user name and password: a session, in Frappe's cookies.",
        description=(
            "`usr` and `pwd`, as a form or JSON. Answers `Logged In` (or `No App` for an ERPNext Website User) with "
            "`home_page` and `full_name`, and sets the `sid` cookie (HttpOnly) and `system_user`, `full_name`, "
            "`user_id`, `user_image`. POST only, the credentials in the body (never in the URL: 417). Refusals are "
            "401 with the reason in `message`; a user name over 140 characters is 417; repeated failures lock the "
            "account for a while (429, SecurityException). A browser page on another site may not log in "
            "(403) unless its origin is allowed (ERPNEXT_MEDUSA_ALLOW_CORS)."
        ),
        allow_guest=True,
        verbs=("POST",),
        post_only=True,
        request_body={
            "required": True,
            "content": {
                media: {
                    "schema": {"type": "object", "properties": {"usr": {"type": "string"}, "pwd": {"type": "string"}}}
                }
                for media in ("application/json", "application/x-www-form-urlencoded")
            },
        },
        result={"type": "string"},
        errors=(401, 429),
    ),
    Method(
        "logout",
        logout,
        "End the session and expire its cookies.",
        description=(
            "By POST; by GET only from the service's own pages or with the session's CSRF token. A call from "
            "a page on another site changes nothing (403)."
        ),
        allow_guest=True,
        writes=True,
        result={},
    ),
    Method(
        "frappe.auth.get_logged_user",
        get_logged_user,
        "The user of the session or API key.",
        result={"type": "string"},
        errors=(403,),
    ),
    Method(
        "medusa_integration.api.fetch_all_customers",
        fetch_all_customers,
        "Enabled Customers not yet linked to Medusa, filtered by a typeahead name.",
        description=(
            "Every whitespace-separated word of `name` must occur in customer_name (case-insensitive, literal "
            "substring). At most {max_search_words} words and {name_length} characters. Ordered by "
            "customer_name, then name; at most {fetch_max_results} rows per call, paged with `limit` and "
            f'`limit_start`. No match answers the text "{NO_MATCH_MESSAGE}".'
        ),
        allow_guest=True,
        guest_endpoint=True,
        costly=True,
        parameters=(
            query_parameter("name", "Typeahead words.", {"type": "string", "maxLength": NAME_LENGTH}),
            query_parameter("limit", "Page size (alias limit_page_length); 0 or absent: all, up to the cap.", _PAGING),
            query_parameter("limit_page_length", "Alias of limit.", _PAGING),
            query_parameter("limit_start", "Rows to skip.", _PAGING),
        ),
        result={"oneOf": [{"type": "array", "items": _CUSTOMER}, {"type": "string", "const": NO_MATCH_MESSAGE}]},
        errors=(403, 417, 429),
    ),
    Method(
        "medusa_integration.api.update_address",
        update_address,
        "Change fields of a Customer's billing address (JSON body).",
        description=(
            "A Medusa customer's token (medusa-token mode) may leave customer_id out: the Customer linked to "
            "that Medusa customer is meant, and one not linked yet is answered with an error object. "
            "Only the fields sent change; null or blank clears an optional one, and "
            f"{', '.join(REQUIRED_FIELDS)} cannot be cleared. The address changed is the Customer's primary "
            "address, else its preferred Billing address, else its most recently modified one; with none, one "
            "is created when address_line1, city and country are sent. Country is a name or ISO code. Fields "
            'may not contain < or >. Failures answer HTTP 200 with {"message": {"error": "..."}}; refusals '
            "(guest policy, rate limit) and an unavailable database (503) keep their status."
        ),
        allow_guest=True,
        guest_endpoint=True,
        medusa_token=True,
        verbs=("POST",),
        writes=True,
        request_body={"required": True, "content": {"application/json": {"schema": _ADDRESS_BODY}}},
        result={
            "oneOf": [
                {"type": "string", "const": SUCCESS_MESSAGE},
                {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            ]
        },
        errors=(403, 429),
    ),
    Method(
        "medusa_integration.utils.link_medusa_lead",
        link_lead,
        "Link a Medusa Lead to an existing Customer.",
        description=(
            "Copies the Lead's medusa_id onto the Customer and sets the Lead as its lead_name. Refused when the "
            "Customer or the Lead does not exist (404), the Lead has no medusa_id, the id is on another "
            "Customer, or the Customer carries another id (417). Linking the same pair again changes nothing. "
            "API keys may call it by GET; a session calls it by POST (a GET in a session must come from the "
            "service's own pages or carry the session's CSRF token, else 403)."
        ),
        writes=True,
        parameters=(query_parameter("customer", "Customer name", _NAME), query_parameter("lead", "Lead name", _NAME)),
        request_body={
            "required": False,
            "content": {
                "application/json": {"schema": _LINK_ARGS},
                "application/x-www-form-urlencoded": {"schema": _LINK_ARGS},
            },
        },
        result={"type": "object", "properties": {"status": {"type": "string", "const": "success"}}},
        errors=(403, 404, 417),
    ),
    MEDUSA_CUSTOMER,
)
