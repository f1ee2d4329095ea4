"""What every admin page shares: the templates, the signed-in user (the API's own sessions, resumed from the
``sid`` cookie), the CSRF token of the session, one-shot messages carried across a redirect, and the headers
that keep the pages out of frames and away from other sites' scripts."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Form, Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from erpnext_medusa.domain.accounts import GUEST, SessionRecord, check_csrf, resume
from erpnext_medusa.domain.backoffice import may_link
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.web.client import client_of, over_https, write_origin
from erpnext_medusa.web.sessions import SID_COOKIE, issue_csrf_token

PREFIX = "/admin"
LOGIN = f"{PREFIX}/login"
STATIC = Path(__file__).parent / "static"
FLASH_COOKIE = "admin_flash"
#: Rows per page of the customer and Lead lists.
PAGE_SIZE = 20
#: The form field that carries the session's CSRF token (Frappe's name for it).
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _quoted(value: Any) -> str:
    return quote(str(value), safe="")


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _day(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


_BREAK = re.compile(r"<br\s*/?>|\n", re.IGNORECASE)


def _lines(value: Any) -> list[str]:
    """An address as ERPNext renders it (``primary_address``: lines joined by ``<br>``), as its lines."""
    return [line.strip() for line in _BREAK.split(str(value)) if line.strip()]


#: Languages written right to left (the primary subtag of an Accept-Language entry).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


def reading(accept_language: str | None) -> tuple[str, str]:
    """``(lang, dir)`` of a page: the browser's most preferred language when it is written right to left (the
    page is then laid out right to left), else English left to right."""
    best, best_q = "", 0.0
    for entry in (accept_language or "").split(",")[:20]:
        tag, _, params = entry.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > best_q:
            best, best_q = tag, q
    primary = best.split("-")[0].lower()
    return (primary, "rtl") if primary in RTL_LANGUAGES else ("en", "ltr")


templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["q"] = _quoted
templates.filters["when"] = _when
templates.filters["day"] = _day
templates.filters["lines"] = _lines


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@dataclass(frozen=True)
class Visitor:
    """The signed-in user of a page: their session, its CSRF token, and whether they may link."""

    sid: str
    record: SessionRecord
    csrf_token: str
    may_link: bool

    @property
    def user(self) -> str:
        return self.record.user


def visitor(request: Request) -> Visitor | None:
    """The user of the request's ``sid`` cookie, with the session's CSRF token (made now if it has none), or
    None without a live session of a system user (an ERPNext Website User has no business here, as in Frappe's
    desk)."""
    services = services_of(request)
    sid = request.cookies.get(SID_COOKIE)
    if not sid or sid == GUEST:
        return None
    record = resume(services.sessions, sid, services.now(), services.settings.session_lifetime)
    if record is None or not record.system_user:
        return None
    token = issue_csrf_token(services, sid)
    allowed = may_link(services.accounts, record.user, services.settings.link_role_set)
    return Visitor(sid, replace(record, csrf_token=token), token, allowed)


class SignInRequired(Exception):
    """A page was asked for without a live session of a system user: its answer is the sign-in page."""


def signed_in(request: Request) -> Visitor:
    """The page's visitor; without one the page does not run and the browser is sent to the sign-in page."""
    who = visitor(request)
    if who is None:
        raise SignInRequired
    return who


#: The signed-in visitor, as a page's parameter (``who: SignedIn``).
SignedIn = Annotated[Visitor, Depends(signed_in)]
#: A text field of a submitted form.
FormText = Annotated[str, Form()]


async def _to_login(_request: Request, _exc: Exception) -> Response:
    return to_login()


def send_to_login(app: FastAPI) -> None:
    """Answer :class:`SignInRequired` on any page of ``app`` with the redirect to the sign-in page."""
    app.add_exception_handler(SignInRequired, _to_login)


def check_form_token(who: Visitor, sent: str | None) -> None:
    """Every admin form is posted with the session's token: the API's own rule, applied to a session that is
    sure to hold one."""
    check_csrf(who.record, True, sent)


def stamp(request: Request, who: Visitor) -> Stamp:
    return services_of(request).stamp(who.user, write_origin(client_of(request)))


def whole(value: str | None, label: str) -> int:
    """A paging number from a query string: blank is 0."""
    if value is None or not value.strip():
        return 0
    text = value.strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationFailedError(f"{label} must be a whole number, 0 or more")
    return int(text)


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def redirect(to: str) -> Response:
    return with_headers(RedirectResponse(to, status_code=303))


def to_login() -> Response:
    return redirect(LOGIN)


def set_flash(response: Response, kind: str, text: str, request: Request) -> Response:
    """A message for the next page (``success`` or ``error``), shown once."""
    value = _quoted(f"{kind}:{text}")
    response.set_cookie(
        FLASH_COOKIE, value, max_age=120, path=PREFIX, httponly=True, samesite="lax", secure=over_https(request)
    )
    return response


def take_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition(":")
    return (kind, text) if kind in ("success", "error") and text else None


def render(
    request: Request, template: str, who: Visitor | None, status: int = 200, **values: Any
) -> Response:  # fmt: skip
    """A page; a message left by the previous request is shown on it and then forgotten."""
    flash = values.pop("flash", None) or take_flash(request)
    live_site = services_of(request).site is not None
    lang, direction = reading(request.headers.get("accept-language"))
    html = templates.get_template(template).render(
        who=who, flash=flash, csrf_field=CSRF_FIELD, live_site=live_site, lang=lang, dir=direction, **values
    )
    response = with_headers(HTMLResponse(html, status_code=status))
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path=PREFIX, httponly=True, samesite="lax", secure=over_https(request))
    return response
