"""The objects one process shares: settings, engine, store and API keys, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.store.sql.apikeys import SqlApiKeys
from erpnext_medusa.store.sql.audit import SqlAuditLog
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.store import SqlStore


@dataclass
class Services:
    settings: Settings
    store: SqlStore
    keys: SqlApiKeys
    audit: SqlAuditLog

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(settings.url, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout)
        read_engine = None
        if settings.read_url is not None:  # searches read from the replica; everything else from the primary
            read_engine = make_engine(
                settings.read_url, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout
            )
        return cls(
            settings=settings,
            store=SqlStore(engine, statement_timeout_ms=settings.statement_timeout_ms, read_engine=read_engine),
            keys=SqlApiKeys(engine),
            audit=SqlAuditLog(engine),
        )

    def now(self) -> datetime:
        """The current time as ERPNext stores it: naive, in the site's time zone."""
        return datetime.now(self.settings.zone).replace(tzinfo=None)

    def stamp(self, user: str, origin: Origin | None = None) -> Stamp:
        return Stamp(user=user, at=self.now(), origin=origin or Origin())

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
