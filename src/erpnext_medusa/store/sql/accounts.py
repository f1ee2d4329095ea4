"""Users, sessions and login locks in SQL.

On an ERPNext database (``tabUser`` and ``__Auth`` exist) the users are ERPNext's: passwords are checked against
``__Auth`` with the hash formats ERPNext writes (passlib's pbkdf2_sha256 and argon2), API secrets are decrypted
from ``__Auth`` with the site's Fernet ``encryption_key``, and roles come from ``tabHas Role``. The only write to
ERPNext's tables is the one ERPNext itself makes: a password hash that passlib says is outdated is replaced.
Elsewhere the users are the service's own (``erpnext_medusa_user``, the same hash formats).
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from passlib.context import CryptContext
from sqlalchemy import Engine, and_, delete, func, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.domain.accounts import Account, SessionRecord
from erpnext_medusa.store.sql.errors import translated, unavailable_as_503
from erpnext_medusa.store.sql.tables import erp_auth, erp_has_role, erp_user, login_failure, session, user

#: ERPNext's own context: new hashes are pbkdf2_sha256, argon2 hashes verify too.
PASSWORDS = CryptContext(schemes=["pbkdf2_sha256", "argon2"])


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def has_erpnext_users(engine: Engine) -> bool:
    """Whether the database is an ERPNext site's, with its users and their credentials."""
    names = set(inspect(engine).get_table_names())
    return {erp_user.name, erp_auth.name} <= names


class SqlAccounts:
    def __init__(self, engine: Engine, encryption_key: str = "") -> None:
        self.engine = engine
        self._erpnext: bool | None = None  # looked up on first use (the database may not be reachable yet)
        self._fernet = Fernet(encryption_key.encode()) if encryption_key else None

    @property
    def erpnext(self) -> bool:
        """Whether the users are ERPNext's (``tabUser`` and ``__Auth`` exist); looked up once."""
        if self._erpnext is None:
            with unavailable_as_503():
                self._erpnext = has_erpnext_users(self.engine)
        return self._erpnext

    @property
    def accepts_erpnext_keys(self) -> bool:
        return self._fernet is not None and self.erpnext

    @translated
    def find_account(self, login: str) -> Account | None:
        with self.engine.connect() as conn:
            if self.erpnext:
                u = erp_user.c
                row = conn.execute(
                    select(u.name, u.full_name, u.enabled, u.user_type, u.user_image)
                    .where(func.lower(u.name) == login.lower())
                    .order_by(u.name)
                ).first()
                if row is None:
                    return None
                return Account(
                    row.name, row.full_name or row.name, bool(row.enabled), row.user_type != "Website User",
                    row.user_image or "",
                )  # fmt: skip
            own = conn.execute(
                select(user.c.name, user.c.full_name, user.c.enabled)
                .where(func.lower(user.c.name) == login.lower())
                .order_by(user.c.name)
            ).first()
        return None if own is None else Account(own.name, own.full_name or own.name, bool(own.enabled))

    @translated
    def check_password(self, name: str, password: str) -> bool:
        with self.engine.begin() as conn:
            if self.erpnext:
                where = and_(
                    erp_auth.c.doctype == "User",
                    erp_auth.c.name == name,
                    erp_auth.c.fieldname == "password",
                    erp_auth.c.encrypted == 0,
                )
                stored = conn.execute(select(erp_auth.c.password).where(where)).scalar()
            else:
                where = user.c.name == name
                stored = conn.execute(select(user.c.password).where(where)).scalar()
            if not stored:
                PASSWORDS.dummy_verify()  # as long as a check, so the time does not say there is no password
                return False
            try:
                valid, new_hash = PASSWORDS.verify_and_update(password, stored)
            except ValueError:  # not a hash passlib knows
                return False
            if valid and new_hash:  # as ERPNext does: keep hashes current
                table = erp_auth if self.erpnext else user
                conn.execute(update(table).where(where).values(password=new_hash))
        return bool(valid)

    def check_no_password(self, password: str) -> None:
        # passlib's dummy hash is one of its default scheme (pbkdf2_sha256, ERPNext's rounds): a check costs the same.
        PASSWORDS.dummy_verify()

    @translated
    def user_for_api_key(self, api_key: str, api_secret: str) -> str | None:
        if not self.accepts_erpnext_keys or not api_key:
            return None
        assert self._fernet is not None
        with self.engine.connect() as conn:
            name = conn.execute(
                select(erp_user.c.name).where(erp_user.c.api_key == api_key, erp_user.c.enabled == 1).limit(2)
            ).scalars().all()  # fmt: skip
            if len(name) != 1:
                return None
            encrypted = conn.execute(
                select(erp_auth.c.password).where(
                    erp_auth.c.doctype == "User",
                    erp_auth.c.name == name[0],
                    erp_auth.c.fieldname == "api_secret",
                    erp_auth.c.encrypted == 1,
                )
            ).scalar()
        if not encrypted:
            return None
        try:
            secret = self._fernet.decrypt(encrypted.encode()).decode()
        except (InvalidToken, UnicodeDecodeError):
            return None
        return name[0] if hmac.compare_digest(secret.encode(), api_secret.encode("utf-8", "surrogatepass")) else None

    @translated
    def roles(self, name: str) -> frozenset[str] | None:
        if not self.erpnext:
            return None
        with self.engine.connect() as conn:
            if conn.execute(select(erp_user.c.name).where(erp_user.c.name == name)).first() is None:
                return None
            if not inspect(conn).has_table(erp_has_role.name):
                return frozenset()
            found = conn.execute(
                select(erp_has_role.c.role).where(erp_has_role.c.parent == name, erp_has_role.c.parenttype == "User")
            ).scalars()
            return frozenset(role for role in found if role)

    # --- the service's own users ------------------------------------------------------------------------------

    @translated
    def add_user(self, name: str, full_name: str, password: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(user).values(name=name, full_name=full_name, password=hash_password(password), created_at=now)
            )

    @translated
    def list_users(self) -> list[tuple[str, str, bool]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(user.c.name, user.c.full_name, user.c.enabled).order_by(user.c.name)).all()
        return [(r.name, r.full_name or "", bool(r.enabled)) for r in rows]

    @translated
    def disable_user(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(update(user).where(user.c.name == name, user.c.enabled == 1).values(enabled=0))
            conn.execute(delete(session).where(session.c.user == name))  # their sessions end too
        return result.rowcount == 1


class SqlSessions:
    """Sessions in ``erpnext_medusa_session``, keyed by a SHA-256 of the sid."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def add_session(self, sid_sha256: str, record: SessionRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(session).where(session.c.expires_at <= record.created_at))  # expired ones
            conn.execute(insert(session).values(sid_sha256=sid_sha256, **_values(record)))

    @translated
    def get_session(self, sid_sha256: str) -> SessionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(session).where(session.c.sid_sha256 == sid_sha256)).first()
        if row is None:
            return None
        return SessionRecord(
            row.user, row.full_name or row.user, bool(row.system_user), row.created_at, row.last_seen_at,
            row.expires_at, row.csrf_token,
        )  # fmt: skip

    @translated
    def update_session(self, sid_sha256: str, record: SessionRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(session).where(session.c.sid_sha256 == sid_sha256).values(**_values(record)))

    @translated
    def delete_session(self, sid_sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(session).where(session.c.sid_sha256 == sid_sha256))


def _values(record: SessionRecord) -> dict[str, object]:
    return {
        "user": record.user,
        "full_name": record.full_name,
        "system_user": int(record.system_user),
        "csrf_token": record.csrf_token,
        "created_at": record.created_at,
        "last_seen_at": record.last_seen_at,
        "expires_at": record.expires_at,
    }


class SqlLoginLocks:
    """Failed logins in ``erpnext_medusa_login_failure``: one row per user (keyed by the digest of the name,
    :func:`erpnext_medusa.domain.accounts.login_key`), shared by every process. Each failure first deletes the rows
    whose last failure and lock are over, so the table holds only the failures of the last lock period."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def locked_until(self, name: str) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(select(login_failure.c.locked_until).where(login_failure.c.user == name)).scalar()

    @translated
    def record_failure(self, name: str, now: datetime, limit: int, lock: timedelta) -> None:
        for _ in range(3):  # two processes may insert the first failure at once: the loser counts again
            try:
                self._record_failure(name, now, limit, lock)
                return
            except IntegrityError:
                continue

    def _record_failure(self, name: str, now: datetime, limit: int, lock: timedelta) -> None:
        table = login_failure
        with self.engine.begin() as conn:
            over = or_(table.c.locked_until.is_(None), table.c.locked_until <= now)
            conn.execute(delete(table).where(table.c.last_failure_at <= now - lock, over, table.c.user != name))
            row = conn.execute(select(table).where(table.c.user == name).with_for_update()).first()
            if row is None:
                locked = now + lock if limit <= 1 else None
                conn.execute(insert(table).values(user=name, failures=1, last_failure_at=now, locked_until=locked))
                return
            # Failures count toward the lock while each follows the previous one within the lock period.
            failures = 1 if now - row.last_failure_at > lock else row.failures + 1
            locked = now + lock if failures >= limit else None
            conn.execute(
                update(table)
                .where(table.c.user == name)
                .values(failures=0 if locked else failures, last_failure_at=now, locked_until=locked)
            )

    @translated
    def clear(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_failure).where(login_failure.c.user == name))
