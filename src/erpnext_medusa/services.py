"""The objects one process shares: settings, engine, store and API keys, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.accounts import LoginLocks, LoginRules, SessionStore
from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.store.redis_state import RedisLoginLocks, RedisSessions
from erpnext_medusa.store.sql.accounts import SqlAccounts, SqlLoginLocks, SqlSessions
from erpnext_medusa.store.sql.apikeys import SqlApiKeys
from erpnext_medusa.store.sql.audit import SqlAuditLog
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.store import SqlStore

#: How long the ids of handled Medusa webhook events are kept (a re-delivery within it changes nothing; Medusa's
#: retries are minutes apart at most).
INTAKE_EVENT_DAYS = 30


@dataclass
class Services:
    settings: Settings
    store: SqlStore
    keys: SqlApiKeys
    audit: SqlAuditLog
    accounts: SqlAccounts
    sessions: SessionStore
    locks: LoginLocks

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(settings.url, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout)
        read_engine = None
        if settings.read_url is not None:  # searches read from the replica; everything else from the primary
            read_engine = make_engine(
                settings.read_url, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout
            )
        sessions: SessionStore = SqlSessions(engine)
        locks: LoginLocks = SqlLoginLocks(engine)
        if settings.redis_url:
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
            sessions = RedisSessions(client, settings.redis_prefix)
            locks = RedisLoginLocks(client, settings.redis_prefix, datetime(2000, 1, 1))
        return cls(
            settings=settings,
            store=SqlStore(engine, statement_timeout_ms=settings.statement_timeout_ms, read_engine=read_engine),
            keys=SqlApiKeys(engine),
            audit=SqlAuditLog(engine),
            accounts=SqlAccounts(engine, settings.encryption_key),
            sessions=sessions,
            locks=locks,
        )

    def login_rules(self) -> LoginRules:
        s = self.settings
        return LoginRules(s.session_lifetime, s.login_max_failures, timedelta(seconds=s.login_lock_seconds))

    def now(self) -> datetime:
        """The current time as ERPNext stores it: naive, in the site's time zone."""
        return datetime.now(self.settings.zone).replace(tzinfo=None)

    def stamp(self, user: str, origin: Origin | None = None) -> Stamp:
        return Stamp(user=user, at=self.now(), origin=origin or Origin())

    def prune_intake_events(self) -> int:
        """Forget Medusa webhook events older than :data:`INTAKE_EVENT_DAYS`; the number deleted."""
        return self.audit.prune_intake_events(self.now() - timedelta(days=INTAKE_EVENT_DAYS))

    def prune_audit(self) -> int:
        """Delete audit rows older than the retention setting (none when it is unset); the number deleted."""
        days = self.settings.audit_retention_days
        if days is None:
            return 0
        return self.audit.prune_audit(self.now() - timedelta(days=days))

    def readiness(self) -> str | None:
        """Why this process cannot serve requests now, or None when it can."""
        return self.store.readiness()

    def close(self) -> None:
        for engine in self.store.engines:
            engine.dispose()
