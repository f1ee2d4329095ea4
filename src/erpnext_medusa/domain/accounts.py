"""Users, logins and sessions, as Frappe has them.

Who may log in comes from ERPNext's own users when the database has them (``tabUser`` and ``__Auth``), and
otherwise from the service's own users. A login checks the password, counts failures toward a lock that every
process shares, and opens a server-side session whose id (``sid``) is given to the client once: only a digest of
it is stored. A session expires after a period of inactivity (Frappe's ``session_expiry``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import AccountLockedError, CSRFTokenError, LoginFailedError, ValidationFailedError

GUEST = "Guest"
ADMINISTRATOR = "Administrator"
#: Frappe refuses longer passwords before hashing them.
MAX_PASSWORD_LENGTH = 512
#: A user's name is a varchar(140) in Frappe: a longer one names nobody, and is refused before any lookup.
MAX_USER_LENGTH = NAME_LENGTH
#: A session's expiry is pushed back on use at most this often (a write per request would be wasteful).
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Account:
    """A user who may log in."""

    name: str
    full_name: str
    enabled: bool
    system_user: bool = True
    user_image: str = ""


@dataclass(frozen=True)
class SessionRecord:
    user: str
    full_name: str
    system_user: bool
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_token: str | None = None


class Accounts(Protocol):
    """Where users, their passwords, roles and API keys are kept (ERPNext's tables or the service's own)."""

    @property
    def erpnext(self) -> bool:
        """True when the users are ERPNext's (``tabUser``, ``__Auth``, ``tabHas Role``)."""

    def find_account(self, login: str) -> Account | None:
        """The user whose name is ``login`` (any case)."""

    def check_password(self, name: str, password: str) -> bool:
        """Whether ``password`` is the user's; a stored hash that passlib says is outdated is replaced."""

    def check_no_password(self, password: str) -> None:
        """Check ``password`` against a dummy hash of the kind ERPNext writes: a login for a user who does not
        exist costs what one with a wrong password costs, so the time does not tell them apart."""

    def user_for_api_key(self, api_key: str, api_secret: str) -> str | None:
        """The enabled ERPNext user holding this key and secret (None when it does not check out)."""

    def roles(self, user: str) -> frozenset[str] | None:
        """The ERPNext user's roles; None when ``user`` is not an ERPNext user."""


class SessionStore(Protocol):
    def add_session(self, sid_sha256: str, record: SessionRecord) -> None: ...

    def get_session(self, sid_sha256: str) -> SessionRecord | None: ...

    def update_session(self, sid_sha256: str, record: SessionRecord) -> None: ...

    def delete_session(self, sid_sha256: str) -> None: ...


class LoginLocks(Protocol):
    """Failed logins per user, shared by every process. ``key`` is :func:`login_key` of the user name: a
    fixed-length digest, so nothing a client typed is stored."""

    def locked_until(self, key: str) -> datetime | None: ...

    def record_failure(self, key: str, now: datetime, limit: int, lock: timedelta) -> None:
        """Count a failure; the ``limit``-th within ``lock`` of the previous one locks the user for ``lock``.
        Failures (and locks) older than ``lock`` are forgotten."""

    def clear(self, key: str) -> None: ...


@dataclass(frozen=True)
class LoginRules:
    expiry: timedelta
    max_failures: int  # 0: never lock
    lock_for: timedelta


def sid_digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def login_key(usr: str) -> str:
    """The key failed logins and login rate limits are counted under: a SHA-256 of the name as it is matched
    (any case, surrounding blanks ignored), 64 hex digits whatever was typed."""
    return hashlib.sha256(usr.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def check_user_name(usr: str) -> None:
    if len(usr.strip()) > MAX_USER_LENGTH:
        raise ValidationFailedError(f"User name is too long: at most {MAX_USER_LENGTH} characters.")


@dataclass(frozen=True)
class OpenedSession:
    sid: str
    account: Account
    record: SessionRecord


def log_in(
    accounts: Accounts, sessions: SessionStore, locks: LoginLocks, usr: str | None, pwd: str | None, now: datetime,
    rules: LoginRules,
) -> OpenedSession:  # fmt: skip
    """Check the credentials and open a session; the refusals are Frappe's (and a name no user can have is a
    417 before anything is looked up). A user who does not exist costs a password check all the same."""
    if usr:
        check_user_name(usr)
    if not usr or not pwd:
        raise LoginFailedError("Incomplete login details")
    if len(pwd) > MAX_PASSWORD_LENGTH:
        raise LoginFailedError("Password size exceeded the maximum allowed size")
    key = login_key(usr)
    until = locks.locked_until(key) if rules.max_failures else None
    if until is not None and until > now:
        raise AccountLockedError(max(1, math.ceil((until - now).total_seconds())))
    account = accounts.find_account(usr.strip()) if usr.strip() != GUEST else None
    if account is None:
        accounts.check_no_password(pwd)
    if account is None or not accounts.check_password(account.name, pwd):
        if rules.max_failures:
            locks.record_failure(key, now, rules.max_failures, rules.lock_for)
        raise LoginFailedError("Invalid login credentials")
    if not account.enabled and account.name != ADMINISTRATOR:
        raise LoginFailedError("User disabled or missing")
    if rules.max_failures:
        locks.clear(key)
    sid = secrets.token_hex(28)  # Frappe's sids are 56 hex digits too
    record = SessionRecord(account.name, account.full_name, account.system_user, now, now, now + rules.expiry)
    sessions.add_session(sid_digest(sid), record)
    return OpenedSession(sid, account, record)


def resume(sessions: SessionStore, sid: str, now: datetime, expiry: timedelta) -> SessionRecord | None:
    """The live session of ``sid`` (its expiry pushed back now and then); None when there is none."""
    digest = sid_digest(sid)
    record = sessions.get_session(digest)
    if record is None:
        return None
    if record.expires_at <= now:
        sessions.delete_session(digest)
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record = replace(record, last_seen_at=now, expires_at=now + expiry)
        sessions.update_session(digest, record)
    return record


def log_out(sessions: SessionStore, sid: str) -> None:
    sessions.delete_session(sid_digest(sid))


def issue_csrf_token(sessions: SessionStore, sid: str) -> str:
    """The session's CSRF token, made on first use (Frappe gives one when a page that needs it is rendered);
    from then on every unsafe request of the session must send it."""
    digest = sid_digest(sid)
    record = sessions.get_session(digest)
    if record is None:
        raise LoginFailedError("Session expired")
    if record.csrf_token:
        return record.csrf_token
    token = secrets.token_hex(32)
    sessions.update_session(digest, replace(record, csrf_token=token))
    return token


def csrf_token_matches(record: SessionRecord, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (a session without one matches nothing)."""
    if not sent or not record.csrf_token:
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), record.csrf_token.encode())


def check_csrf(record: SessionRecord, unsafe: bool, sent: str | None) -> None:
    """Frappe's rule: only a session that holds a token, only for unsafe verbs."""
    if not unsafe or not record.csrf_token:
        return
    if not csrf_token_matches(record, sent):
        raise CSRFTokenError()
