"""The whitelisted methods: Frappe's dotted paths mapped to domain operations, and the one registry of them.

Each handler reads its call once into typed arguments, makes one domain call and returns the value that goes
into ``{"message": ...}``. The wire's strings live here, and so does the one documented quirk of the contract:
``update_address`` answers its failures with HTTP 200 and ``{"message": {"error": "..."}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

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
from erpnext_medusa.domain.leads import link_medusa_lead, link_name
from erpnext_medusa.domain.models import ADDRESS_FIELDS, ADDRESS_LABELS, CustomerSummary
from erpnext_medusa.web import limits
from erpnext_medusa.web.arguments import (
    LARGEST,
    Arguments,
    Text,
    TextOnly,
    WholeNumber,
    name_field,
    parse,
    query_parameters,
    request_body,
)
from erpnext_medusa.web.frappe import NOT_JSON, Call, arguments
from erpnext_medusa.web.medusa_status import MEDUSA_CUSTOMER
from erpnext_medusa.web.registry import Context, Method, Registry, Reply
from erpnext_medusa.web.sessions import expired_cookies, login_cookies

NO_MATCH_MESSAGE = "No relevant customers found"
SUCCESS_MESSAGE = "Address updated successfully"
NOT_AN_OBJECT = "Request body must be a JSON object."

# --- the arguments -------------------------------------------------------------------------------------------


def _paging(description: str) -> Any:
    return Field(default=None, description=description, json_schema_extra={"minimum": 0, "maximum": LARGEST})


class FetchArguments(Arguments):
    name: Text = Field(default=None, description="Typeahead words.", json_schema_extra={"maxLength": NAME_LENGTH})
    limit: WholeNumber = _paging("Page size (alias limit_page_length); 0 or absent: all, up to the cap.")
    limit_page_length: WholeNumber = _paging("Alias of limit.")
    limit_start: WholeNumber = _paging("Rows to skip.")

    @field_validator("limit_page_length", mode="before")
    @classmethod
    def _only_without_limit(cls, value: Any, info: ValidationInfo) -> Any:
        """The alias is read (and judged) only when ``limit`` is absent or blank."""
        return None if info.data.get("limit") is not None else value

    @property
    def page_size(self) -> int | None:
        return self.limit if self.limit is not None else self.limit_page_length


class LinkArguments(Arguments):
    customer: Text = name_field("Customer name")
    lead: Text = name_field("Lead name")

    @field_validator("customer", "lead")
    @classmethod
    def _a_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The domain's rule, judged as each argument is read: the first bad argument is the one reported."""
        return None if value is None else link_name(str(info.field_name).capitalize(), value)


class LoginArguments(Arguments):
    usr: TextOnly = None
    pwd: TextOnly = None


def _customer_id(value: Any, info: ValidationInfo) -> str | None:
    """The Customer named (numbers taken as text, other types as none), its errors before the fields'."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return named_customer(value if isinstance(value, str) else "", optional=bool((info.context or {}).get("optional")))


def _address_text(value: Any, info: ValidationInfo) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # postal codes often arrive as numbers
        return str(value)
    raise ValidationFailedError(f"{ADDRESS_LABELS[str(info.field_name)]} must be text.")


AddressText = Annotated[str | None, BeforeValidator(_address_text)]


def _address_field(name: str) -> Any:
    return Field(default=None, json_schema_extra={"maxLength": field_length("Address", name)})


class AddressArguments(Arguments):
    """update_address's body: only the fields sent change (null clears one)."""

    customer_id: Annotated[str | None, BeforeValidator(_customer_id)] = Field(
        default=None, validate_default=True, json_schema_extra={"maxLength": NAME_LENGTH}
    )
    address_line1: AddressText = _address_field("address_line1")
    address_line2: AddressText = _address_field("address_line2")
    city: AddressText = _address_field("city")
    state: AddressText = _address_field("state")
    country: AddressText = _address_field("country")
    pincode: AddressText = _address_field("pincode")


@dataclass(frozen=True)
class AddressUpdate:
    """An update_address body: the Customer (None when the body names none), and the address fields it sends
    (None clears one)."""

    customer_id: str | None
    changes: dict[str, str | None]


def read_address_update(call: Call, *, customer_optional: bool = False) -> AddressUpdate:
    """The body of update_address, which is JSON whatever its content type. ``customer_optional``: the caller is
    a Medusa customer, whose token names their Customer, so the body may leave customer_id out (absent, null or
    blank)."""
    body = call.json_body
    if body is NOT_JSON or not isinstance(body, dict):
        raise ValidationFailedError(NOT_AN_OBJECT)
    read = parse(AddressArguments, body, optional=customer_optional)
    sent = read.model_fields_set
    return AddressUpdate(read.customer_id, {f: getattr(read, f) for f in ADDRESS_FIELDS if f in sent})


# --- handlers ------------------------------------------------------------------------------------------------


def ping(ctx: Context) -> str:
    return "pong"


def get_logged_user(ctx: Context) -> str:
    return ctx.user


#: A row of the typeahead's answer, in this order (read field by field: ``dataclasses.asdict`` copies deeply and
#: cost about 10 µs a row).
_SUMMARY_KEYS = tuple(f.name for f in fields(CustomerSummary))


def fetch_all_customers(ctx: Context) -> list[dict[str, Any]] | str:
    args = parse(FetchArguments, arguments(ctx.call))
    rows = fetch_unlinked_customers(
        ctx.services.store,
        args.name,
        limit=args.page_size,
        offset=args.limit_start,
        limits=limits.search_limits(ctx.services.settings),
    )
    return [{key: getattr(row, key) for key in _SUMMARY_KEYS} for row in rows] or NO_MATCH_MESSAGE


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
    credentials = parse(LoginArguments, ctx.call.args or {})
    usr, pwd = credentials.usr, credentials.pwd
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
    args = parse(LinkArguments, arguments(ctx.call))
    link_medusa_lead(
        ctx.services.store,
        args.customer or "",
        args.lead or "",
        ctx.stamp(),
    )
    return {"status": "success"}


# --- the registry --------------------------------------------------------------------------------------------


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
_FORM_OR_JSON = ("application/json", "application/x-www-form-urlencoded")

METHODS = Registry(
    Method(
        "ping",
        ping,
        "Health check: answers pong.",
        allow_guest=True,
        result={"type": "string", "const": "pong"},
        aliases=("frappe.ping",),
        blocking=False,
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
        request_body=request_body(LoginArguments, *_FORM_OR_JSON),
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
        blocking=False,
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
        parameters=query_parameters(FetchArguments),
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
        request_body=request_body(AddressArguments, "application/json"),
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
        parameters=query_parameters(LinkArguments),
        request_body=request_body(LinkArguments, *_FORM_OR_JSON, required=False),
        result={"type": "object", "properties": {"status": {"type": "string", "const": "success"}}},
        errors=(403, 404, 417),
    ),
    MEDUSA_CUSTOMER,
)
