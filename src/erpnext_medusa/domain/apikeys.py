"""API keys: Frappe-style ``key:secret`` pairs bound to a user. Secrets are stored as SHA-256 digests and
compared in constant time; the secret itself is shown once, when the key is created."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import AuthenticationError, ValidationFailedError
from erpnext_medusa.domain.ports import ApiKeyRecord, ApiKeyStore

#: How often last_used_at is written for a key in use (a write per request would be wasteful).
LAST_USED_GRANULARITY = timedelta(minutes=1)
_USER_MAX = NAME_LENGTH  # a user's name, as ERPNext's tabUser.name


@dataclass(frozen=True)
class NewApiKey:
    user: str
    api_key: str
    api_secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(keys: ApiKeyStore, user: str, now: datetime, expires_at: datetime | None = None) -> NewApiKey:
    """A new key for ``user``; with ``expires_at`` it is refused from that moment on."""
    user = user.strip()
    if not user or len(user) > _USER_MAX:
        raise ValidationFailedError(f"User must be 1 to {_USER_MAX} characters.")
    if expires_at is not None and expires_at <= now:
        raise ValidationFailedError("The expiry must be in the future.")
    api_key = secrets.token_hex(8)
    api_secret = secrets.token_urlsafe(32)  # 256 bits; never contains ":"
    keys.add_api_key(ApiKeyRecord(api_key, user, hash_secret(api_secret), now, None, None, expires_at))
    return NewApiKey(user, api_key, api_secret)


def authenticate(
    keys: ApiKeyStore,
    api_key: str,
    api_secret: str,
    now: datetime,
    other: Callable[[str, str], str | None] | None = None,
) -> str:
    """The user of a valid, unrevoked, unexpired key; AuthenticationError otherwise (the same answer for
    every failure). A key the service does not hold is tried with ``other`` (ERPNext's own keys)."""
    record = keys.get_api_key(api_key) if api_key else None
    if record is None and other is not None and api_key:
        user = other(api_key, api_secret)
        if user is None:
            raise AuthenticationError()
        return user
    # Compare against a dummy digest when the key is unknown, so both paths take the same time.
    expected = record.secret_sha256 if record else hash_secret(secrets.token_hex(16))
    if not hmac.compare_digest(expected, hash_secret(api_secret)) or record is None or record.revoked_at:
        raise AuthenticationError()
    if record.expires_at is not None and now >= record.expires_at:
        raise AuthenticationError()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_GRANULARITY:
        keys.touch_api_key(api_key, now)
    return record.user
