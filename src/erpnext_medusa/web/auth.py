"""Frappe's header authentication: ``Authorization: token KEY:SECRET`` or ``Basic base64(KEY:SECRET)``.

As in Frappe v15: the header is split on one space and used only when that gives exactly two parts; a
header that names credentials which do not check out (or a scheme we do not know) is a 401; no header is
simply the Guest user.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime

from erpnext_medusa.domain.apikeys import authenticate
from erpnext_medusa.domain.errors import AuthenticationError, InvalidAuthorizationToken
from erpnext_medusa.domain.ports import ApiKeyStore

GUEST = "Guest"


def _pair(credentials: str) -> tuple[str, str] | None:
    parts = credentials.split(":")
    if len(parts) != 2 or any("\x00" in part for part in parts):  # NUL: no key has one, and PostgreSQL balks
        return None
    return (parts[0], parts[1])


def user_for(
    header: str | None, keys: ApiKeyStore, now: datetime, other: Callable[[str, str], str | None] | None = None
) -> str:
    """The user a request acts as: an API key's user, or Guest when no usable header was sent."""
    if not header:
        return GUEST
    parts = header.split(" ")
    if len(parts) != 2:
        return GUEST
    scheme, credentials = parts[0].lower(), parts[1]
    pair: tuple[str, str] | None = None
    if scheme == "token":
        pair = _pair(credentials)
    elif scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidAuthorizationToken(
                "Failed to decode token, please provide a valid base64-encoded token."
            ) from None
        pair = _pair(decoded)
    if pair is None:
        raise AuthenticationError()
    return authenticate(keys, pair[0], pair[1], now, other)
