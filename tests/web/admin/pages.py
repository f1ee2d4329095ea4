"""The admin pages as a browser reads them: signing in through the form, the CSRF token a page embeds, its
one-shot message and its text."""

from __future__ import annotations

import re
from typing import Any

USER = "boss@example.com"
PASSWORD = "a long enough password"
FLASH = re.compile(r'<p class="flash (success|error)"[^>]*>([^<]*)</p>')


def sign_in(client: Any, services: Any, user: str = USER) -> str:
    """Sign in through the form; the session's CSRF token as the pages embed it."""
    services.accounts.add_user(user, "The Boss", PASSWORD, services.now())
    r = client.post("/admin/login", data={"usr": user, "pwd": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin", r.text
    return token_of(client.get("/admin").text)


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, html
    return found.group(1)


def flash(html: str) -> tuple[str, str] | None:
    found = FLASH.search(html)
    return None if found is None else (found.group(1), found.group(2).replace("&#39;", "'").replace("&amp;", "&"))


def plain(html: str) -> str:
    """The page's text without its tags (the isolating ``<bdi>`` around each value)."""
    return re.sub(r"<[^>]+>", "", html)
