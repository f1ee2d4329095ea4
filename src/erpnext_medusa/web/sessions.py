"""Frappe's session cookies, and the CSRF token of a session.

After a login Frappe sets ``sid`` (HttpOnly, for as long as the session may last) and four cookies scripts may
read (``system_user``, ``full_name``, ``user_id``, ``user_image``), all ``Path=/`` and ``SameSite=Lax``, plus
``Secure`` when the request came over https. A logout, or a sid that no longer names a session, expires them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote

from erpnext_medusa.domain import accounts
from erpnext_medusa.services import Services

SID_COOKIE = "sid"
CSRF_HEADER = "X-Frappe-CSRF-Token"
_PUBLIC_COOKIES = ("system_user", "full_name", "user_id", "user_image")


def _cookie(name: str, value: str, secure: bool, *, http_only: bool = False, max_age: int | None = None) -> str:
    parts = [f"{name}={quote(value, safe='')}"]
    if max_age is not None:
        expires = datetime.now(UTC) + timedelta(seconds=max_age)
        parts += [f"Expires={format_datetime(expires, usegmt=True)}", f"Max-Age={max_age}"]
    if http_only:
        parts.append("HttpOnly")
    parts += ["Path=/", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def login_cookies(opened: accounts.OpenedSession, lifetime: timedelta, secure: bool) -> list[str]:
    account = opened.account
    seconds = int(lifetime.total_seconds())
    return [
        _cookie(SID_COOKIE, opened.sid, secure, http_only=True, max_age=seconds),
        _cookie("system_user", "yes" if account.system_user else "no", secure),
        _cookie("full_name", account.full_name, secure),
        _cookie("user_id", account.name, secure),
        _cookie("user_image", account.user_image, secure),
    ]


def expired_cookies(secure: bool) -> list[str]:
    """Set-Cookie values that remove the session's cookies."""
    return [
        _cookie(name, "", secure, http_only=name == SID_COOKIE, max_age=0) for name in (SID_COOKIE, *_PUBLIC_COOKIES)
    ]


def issue_csrf_token(services: Services, sid: str) -> str:
    """Give the session of ``sid`` its CSRF token (or the one it already has), for a page that embeds it: from
    then on every POST, PUT, DELETE or PATCH of that session must send it in ``X-Frappe-CSRF-Token`` or as
    the ``csrf_token`` field, as with Frappe's desk."""
    return accounts.issue_csrf_token(services.sessions, sid)
