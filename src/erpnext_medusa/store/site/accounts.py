"""ERPNext's own people and keys on a live site, decided by the site itself (never by a copy of its tables).

* An ERPNext API key (``token key:secret`` or Basic) is shown to the site (``frappe.auth.get_logged_user``
  with the caller's own header); a login's password is checked by the site's ``/api/method/login``, whose
  session is closed at once. The service then keeps its own session, as for any login.
* A user's roles are read from the site (the User's ``roles`` rows), for the link permission.
* What the site said about a key or a user's roles is believed for ``cache_seconds`` (``ERPNEXT_MEDUSA_ERPNEXT_
  AUTH_CACHE_SECONDS``): disabling a user or regenerating a secret on the site takes effect within that time.
  Only a SHA-256 digest of a key and secret is kept as the cache's key, and only in this process's memory.
* The service's own users (``erpnext-medusa user``) still log in, checked against the service's own database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from erpnext_medusa.domain.accounts import Account
from erpnext_medusa.domain.errors import DoesNotExistError, NotPermittedError
from erpnext_medusa.store.site.client import FrappeClient
from erpnext_medusa.store.sql.accounts import SqlAccounts


class _Cache:
    """Answers kept for a while, by key; thread-safe; bounded (the oldest answers go first)."""

    def __init__(self, seconds: float, clock: Callable[[], float], most: int = 10_000) -> None:
        self._seconds = seconds
        self._clock = clock
        self._most = most
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = load()
        if self._seconds > 0:
            with self._lock:
                if len(self._items) >= self._most:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = (now + self._seconds, value)
        return value


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class SiteAccounts:
    """The Accounts port on a live site: ERPNext's users through the site, the service's own users locally."""

    #: The service's own users may be added beside the site's (``erpnext-medusa user``).
    erpnext = False
    accepts_erpnext_keys = True

    def __init__(
        self,
        client: FrappeClient,
        own: SqlAccounts,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._own = own
        self._cache = _Cache(cache_seconds, clock)

    # The service's own users, as on a standalone database.
    def add_user(self, name: str, full_name: str, password: str, now: datetime) -> None:
        self._own.add_user(name, full_name, password, now)

    def list_users(self) -> list[tuple[str, str, bool]]:
        return self._own.list_users()

    def disable_user(self, name: str) -> bool:
        return self._own.disable_user(name)

    def find_account(self, login: str) -> Account | None:
        own = self._own.find_account(login)
        if own is not None:
            return own
        try:  # the site's User by its name (an e-mail address): its own spelling, full name and state
            doc = self._client.get_doc("User", login)
        except (DoesNotExistError, NotPermittedError):
            # A user name or mobile number the site may still know: the password check asks the site itself.
            return Account(name=login, full_name=login, enabled=True)
        return Account(
            name=str(doc["name"]),
            full_name=str(doc.get("full_name") or doc["name"]),
            enabled=bool(int(doc.get("enabled", 1) or 0)),
            system_user=doc.get("user_type") != "Website User",
        )

    def check_password(self, name: str, password: str) -> bool:
        if self._own.find_account(name) is not None:
            return self._own.check_password(name, password)
        return self._client.login(name, password) is not None

    def check_no_password(self, password: str) -> None:
        self._own.check_no_password(password)

    def user_for_api_key(self, api_key: str, api_secret: str) -> str | None:
        if not api_key or not api_secret:
            return None
        key = _digest("key", api_key, api_secret)
        user: str | None = self._cache.get(key, lambda: self._client.logged_user(f"token {api_key}:{api_secret}"))
        return user

    def roles(self, user: str) -> frozenset[str] | None:
        if self._own.find_account(user) is not None:
            return None  # the service's own user: not held to ERPNext's roles
        result: frozenset[str] | None = self._cache.get(_digest("roles", user), lambda: self._site_roles(user))
        return result

    def _site_roles(self, user: str) -> frozenset[str] | None:
        """The roles the site gives ``user`` (none while the user is disabled); None when the site has no such
        user (an API key or user of the service's own)."""
        try:
            doc = self._client.get_doc("User", user)
        except DoesNotExistError:
            return None
        if not int(doc.get("enabled", 1) or 0):
            return frozenset()
        return frozenset(str(row["role"]) for row in doc.get("roles") or [] if row.get("role"))
