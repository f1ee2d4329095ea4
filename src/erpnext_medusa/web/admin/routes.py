"""The admin pages under ``/admin``: sign in and out, unlinked customers, one customer, Medusa Leads, linking a
Lead to a Customer, and the audit trail.

They are thin like the API: the sessions, logins, lock-outs, login rate limits, CSRF tokens and link roles are
the API's own, and each page calls the domain operation the API calls (``fetch_unlinked_customers``,
``link_medusa_lead``) or a read of :mod:`erpnext_medusa.domain.backoffice`. Every POST carries the session's
CSRF token; every page but the sign-in takes its visitor as a dependency (``SignedIn``), which sends a browser
without a session to the sign-in page before the page runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from erpnext_medusa.domain.accounts import log_in, log_out
from erpnext_medusa.domain.backoffice import (
    MAX_AUDIT_ROWS,
    audit_trail,
    find_duplicates,
    find_medusa_leads,
    medusa_lead,
    preview_link,
    rank_suggestions,
    require_link_role,
    suggest_leads,
    suggested_links,
    unique_strong,
    view_customer,
)
from erpnext_medusa.domain.customers import fetch_unlinked_customers
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import DoesNotExistError, ServiceError, ValidationFailedError
from erpnext_medusa.domain.leads import link_medusa_lead, unlink_medusa_lead
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.web import limits
from erpnext_medusa.web.admin import intake, outbox
from erpnext_medusa.web.admin.pages import (
    LOGIN,
    PAGE_SIZE,
    PREFIX,
    STATIC,
    FormText,
    SignedIn,
    Visitor,
    check_form_token,
    redirect,
    render,
    send_to_login,
    services_of,
    set_flash,
    stamp,
    to_login,
    visitor,
    whole,
)
from erpnext_medusa.web.client import client_of, over_https
from erpnext_medusa.web.ratelimit import login_counter
from erpnext_medusa.web.sessions import expired_cookies, login_cookies

#: Entries of a customer's own history shown on its page.
CUSTOMER_HISTORY = 50
#: Entries the audit page shows.
AUDIT_PAGE = 200
#: Leads reachable by paging (a bound on what one page may cost).
MAX_LEAD_OFFSET = 10_000

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def customer_path(name: str) -> str:
    return f"{PREFIX}/customers/{quote(name, safe='')}"


# --- signing in and out ------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    if visitor(request) is not None:
        return redirect(PREFIX)
    return render(request, "login.html", None, usr="")


@router.post("/login")
def login_submit(request: Request, usr: FormText = "", pwd: FormText = "") -> Response:
    """The API's login: the same checks, lock-out, rate limits, session and cookies; its refusals verbatim.
    (Without a session there is no token to check: as with Frappe's login, a cross-site POST is refused by the
    request middleware, and the cookies are SameSite=Lax.)"""
    services = services_of(request)
    try:
        if usr:
            login_counter(request.app.state.guard.logins, client_of(request))(usr[:NAME_LENGTH])
        opened = log_in(
            services.accounts, services.sessions, services.locks, usr, pwd, services.now(), services.login_rules()
        )
    except ServiceError as exc:
        return render(request, "login.html", None, exc.http_status, usr=usr[:NAME_LENGTH], flash=("error", exc.message))
    if not opened.account.system_user:
        log_out(services.sessions, opened.sid)
        refusal = "Only system users may use these pages."
        return render(request, "login.html", None, 403, usr=usr[:NAME_LENGTH], flash=("error", refusal))
    response = redirect(PREFIX)
    for cookie in login_cookies(opened, services.settings.session_lifetime, over_https(request)):
        response.headers.append("set-cookie", cookie)
    return response


@router.post("/logout")
def logout_submit(request: Request, who: SignedIn, csrf_token: FormText = "") -> Response:
    try:
        check_form_token(who, csrf_token)
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    log_out(services_of(request).sessions, who.sid)
    response = to_login()
    for cookie in expired_cookies(over_https(request)):
        response.headers.append("set-cookie", cookie)
    return response


# --- customers -----------------------------------------------------------------------------------------------


@router.get("")
def customers_page(request: Request, who: SignedIn, q: str = "", start: str = "") -> Response:
    """Enabled Customers not linked to Medusa, by the typeahead of ``fetch_all_customers`` (same meaning, same
    index, same cap), a page at a time."""
    services = services_of(request)
    bounds = limits.search_limits(services.settings)
    cap = bounds.cap
    try:
        offset = whole(start, "start")
        if offset >= cap:
            raise ValidationFailedError(f"A search reaches only its first {cap} customers; type more of the name.")
        wanted = min(PAGE_SIZE + 1, cap - offset)  # one more than shown tells whether there is a next page
        rows = fetch_unlinked_customers(services.store, q, limit=wanted, offset=offset, limits=bounds)
    except ServiceError as exc:
        return render(request, "customers.html", who, 200, q=q, rows=[], page=None, flash=("error", exc.message))
    more = len(rows) > PAGE_SIZE
    page = {
        "first": offset + 1,
        "last": offset + min(len(rows), PAGE_SIZE),
        "previous": max(0, offset - PAGE_SIZE) if offset else None,
        "next": offset + PAGE_SIZE if more else None,
        "capped": not more and offset + len(rows) >= cap,
    }
    return render(request, "customers.html", who, q=q, rows=rows[:PAGE_SIZE], page=page, cap=cap)


@router.get("/customers/{name:path}/link")
def link_confirm_page(request: Request, who: SignedIn, name: str, lead: str = "") -> Response:
    """The confirmation: the Lead's name, e-mail, phone, Medusa id and signup date, and why it was suggested."""
    try:
        preview = preview_link(services_of(request).store, name, lead[:NAME_LENGTH])
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    c, details = preview.customer, preview.details
    ranked = [] if details is None else rank_suggestions(c.customer_name, c.email_id, c.mobile_no, [details])
    return render(
        request, "confirm.html", who, customer=c, lead=lead, found=preview.lead, details=details,
        reasons=ranked[0].reasons if ranked else [],
    )  # fmt: skip


def _change_link(
    request: Request, who: Visitor, name: str, csrf_token: str, change: Callable[[Services, Stamp], str]
) -> Response:
    """A link or an unlink from the customer's page: the session's token, then the API's role rule, then
    ``change`` (its message on success); the outcome (a refusal's exact message) is shown on the customer's
    page."""
    services = services_of(request)
    try:
        check_form_token(who, csrf_token)
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    back = redirect(customer_path(name))
    try:
        require_link_role(services.accounts, who.user, services.settings.link_role_set)
        done = change(services, stamp(request, who))
    except ServiceError as exc:
        return set_flash(back, "error", exc.message, request)
    return set_flash(back, "success", done, request)


@router.post("/customers/{name:path}/link")
def link_submit(request: Request, who: SignedIn, name: str, lead: FormText = "", csrf_token: FormText = "") -> Response:
    def change(services: Services, at: Stamp) -> str:
        link_medusa_lead(services.store, name, lead, at)
        return f"Linked Lead {lead} to Customer {name}."

    return _change_link(request, who, name, csrf_token, change)


@router.get("/customers/{name:path}/unlink")
def unlink_confirm_page(request: Request, who: SignedIn, name: str) -> Response:
    services = services_of(request)
    try:
        view = view_customer(services.store, name[: NAME_LENGTH + 1])
        customer = view.customer
        if not customer.medusa_id:
            raise ValidationFailedError(f"Customer {customer.name} is not linked to a Medusa ID")
        details = medusa_lead(services.store, customer.lead_name) if customer.lead_name else None
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    return render(request, "unlink.html", who, customer=customer, details=details)


@router.post("/customers/{name:path}/unlink")
def unlink_submit(
    request: Request, who: SignedIn, name: str, medusa_id: FormText = "", csrf_token: FormText = ""
) -> Response:
    def change(services: Services, at: Stamp) -> str:
        lead = unlink_medusa_lead(services.store, name, medusa_id, at)
        freed = f"; Lead {lead} may be linked again" if lead else ""
        return f"Unlinked Medusa ID {medusa_id} from Customer {name}{freed}."

    return _change_link(request, who, name, csrf_token, change)


@router.get("/customers/{name:path}")
def customer_page(request: Request, who: SignedIn, name: str, lead_q: str = "") -> Response:
    services = services_of(request)
    try:
        view = view_customer(services.store, name[: NAME_LENGTH + 1])
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    leads, suggestions, problem = [], [], None
    if view.customer.medusa_id is None:
        suggestions = suggest_leads(services.store, view.customer)
        try:
            leads = find_medusa_leads(services.store, lead_q, unlinked_only=True, limit=PAGE_SIZE)
        except ServiceError as exc:
            problem = ("error", exc.message)
    history = audit_trail(services.audit, customer=view.customer.name, limit=CUSTOMER_HISTORY)
    return render(
        request, "customer.html", who, view=view, leads=leads, lead_q=lead_q, history=history, flash=problem,
        suggestions=suggestions, best=unique_strong(suggestions),
    )  # fmt: skip


@router.get("/duplicates")
def duplicates_page(request: Request, who: SignedIn) -> Response:
    return render(request, "duplicates.html", who, groups=find_duplicates(services_of(request).store))


@router.get("/suggestions")
def suggestions_page(request: Request, who: SignedIn) -> Response:
    """Customers with exactly one strong match among the unlinked Medusa Leads, to review one by one."""
    return render(request, "suggestions.html", who, rows=suggested_links(services_of(request).store))


# --- Leads and the audit trail -------------------------------------------------------------------------------


@router.get("/leads")
def leads_page(request: Request, who: SignedIn, q: str = "", start: str = "") -> Response:
    try:
        offset = whole(start, "start")
        if offset > MAX_LEAD_OFFSET:
            raise ValidationFailedError(f"start must be at most {MAX_LEAD_OFFSET}; search to narrow the list.")
        rows = find_medusa_leads(services_of(request).store, q, limit=PAGE_SIZE + 1, offset=offset)
    except ServiceError as exc:
        return render(request, "leads.html", who, q=q, rows=[], page=None, flash=("error", exc.message))
    page = {
        "first": offset + 1,
        "last": offset + min(len(rows), PAGE_SIZE),
        "previous": max(0, offset - PAGE_SIZE) if offset else None,
        "next": offset + PAGE_SIZE if len(rows) > PAGE_SIZE and offset + PAGE_SIZE <= MAX_LEAD_OFFSET else None,
    }
    return render(request, "leads.html", who, q=q, rows=rows[:PAGE_SIZE], page=page)


@router.get("/leads/{name:path}")
def lead_page(request: Request, who: SignedIn, name: str) -> Response:
    try:
        found = medusa_lead(services_of(request).store, name[: NAME_LENGTH + 1])
        if found is None:
            raise DoesNotExistError(f"Lead {name} not found (or it carries no Medusa ID)")
    except ServiceError as exc:
        return render(request, "error.html", who, exc.http_status, message=exc.message)
    return render(request, "lead.html", who, l=found)


def parse_since(value: str) -> datetime | None:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` (a browser's date-time field), in the site's time zone."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()[:19]).replace(tzinfo=None)
    except ValueError:
        raise ValidationFailedError("Since must be a date (YYYY-MM-DD) or a date and time") from None


@router.get("/audit")
def audit_page(request: Request, who: SignedIn, customer: str = "", since: str = "") -> Response:
    try:
        after = parse_since(since)
        rows = audit_trail(services_of(request).audit, customer_part=customer, since=after, limit=AUDIT_PAGE)
    except ServiceError as exc:
        return render(request, "audit.html", who, customer=customer, since=since, rows=[], flash=("error", exc.message))
    return render(request, "audit.html", who, customer=customer, since=since, rows=rows, limit=AUDIT_PAGE)


def install(app: FastAPI) -> None:
    """Add the pages and their stylesheet to ``app`` (before any catch-all route)."""
    assert AUDIT_PAGE <= MAX_AUDIT_ROWS
    send_to_login(app)
    app.include_router(router)
    app.include_router(intake.router)
    app.include_router(outbox.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="admin-static")


__all__ = ["LOGIN", "install"]
