"""The objects one process shares: settings, engine, store and API keys, built once from the settings.

In the ``standalone`` shape the store is the SQL adapter over the service's own database; in the ``erpnext``
shape it is the live-site adapter (REST client, mirror, change feed) and the service's database holds only its
own tables."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import httpx
import redis

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.accounts import LoginLocks, LoginRules, SessionStore
from erpnext_medusa.domain.intake import MedusaCustomer
from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.domain.outbound import Policy, is_echo
from erpnext_medusa.store.medusa import MedusaAdmin
from erpnext_medusa.store.redis_state import RedisLoginLocks, RedisSessions
from erpnext_medusa.store.site import signature
from erpnext_medusa.store.site.accounts import SiteAccounts
from erpnext_medusa.store.site.client import FrappeClient
from erpnext_medusa.store.site.feed import CUSTOMER, Feed, PassReport
from erpnext_medusa.store.site.fields import FieldNames
from erpnext_medusa.store.site.outbound import OutboundChanges
from erpnext_medusa.store.site.store import SiteStore
from erpnext_medusa.store.sql.accounts import SqlAccounts, SqlLoginLocks, SqlSessions
from erpnext_medusa.store.sql.apikeys import SqlApiKeys
from erpnext_medusa.store.sql.audit import SqlAuditLog
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.mirror import Mirror
from erpnext_medusa.store.sql.outbox import Outbox
from erpnext_medusa.store.sql.store import SqlStore

#: How long the ids of handled Medusa webhook events are kept (a re-delivery within it changes nothing; Medusa's
#: retries are minutes apart at most).
INTAKE_EVENT_DAYS = 30
#: How long after a delivery to Medusa a customer event carrying the delivered values counts as its echo.
ECHO_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Site:
    """The live site and what keeps the mirror of it (the ``erpnext`` shape)."""

    client: FrappeClient
    mirror: Mirror
    feed: Feed
    webhook_secret: str
    full_sync_every: timedelta

    def verify_webhook(self, body: bytes, signature_header: str | None) -> bool:
        """Whether a webhook delivery carries the site's signature of its body."""
        return signature.verify(self.webhook_secret, body, signature_header)

    def reconcile(self, now: datetime) -> list[PassReport]:
        """One reconciliation pass; a full one when the last full pass is older than ``full_sync_every``."""
        state = self.mirror.sync_state(CUSTOMER)
        full = state is None or state.compared_at is None or now - state.compared_at >= self.full_sync_every
        return self.feed.reconcile(full=full)


def webhook_secret(settings: Settings) -> str:
    """The secret the site's Webhooks sign with: the one set, else one derived from the API secret (so that
    there is no further secret to keep; ``erpnext setup`` writes the same value into the Webhooks)."""
    if settings.erpnext_webhook_secret.get_secret_value():
        return settings.erpnext_webhook_secret.get_secret_value()
    key = settings.erpnext_api_secret.get_secret_value().encode()
    return hmac.new(key, b"erpnext-medusa webhook " + settings.erpnext_api_key.encode(), hashlib.sha256).hexdigest()


@dataclass
class Services:
    settings: Settings
    store: SqlStore | SiteStore
    keys: SqlApiKeys
    audit: SqlAuditLog
    accounts: SqlAccounts | SiteAccounts
    sessions: SessionStore
    locks: LoginLocks
    site: Site | None = None
    #: ERPNext -> Medusa: the events (every shape can list them) and, when ERPNEXT_MEDUSA_MEDUSA_URL is set in
    #: the erpnext shape, the admin API they are sent to.
    outbox: Outbox | None = None
    medusa: MedusaAdmin | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        site_transport: httpx.BaseTransport | None = None,
        medusa_transport: httpx.BaseTransport | None = None,
    ) -> Services:
        """``site_transport``, ``medusa_transport``: how the REST clients reach the site and Medusa (tests give
        them their doubles)."""
        engine = make_engine(settings.url, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout)
        outbox = Outbox(engine, clock=lambda: datetime.now(settings.zone).replace(tzinfo=None))
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
        own_accounts = SqlAccounts(engine, settings.encryption_key.get_secret_value())
        if settings.backend == "erpnext":
            site_client = FrappeClient(
                settings.erpnext_url,
                settings.erpnext_api_key,
                settings.erpnext_api_secret.get_secret_value(),
                host=settings.erpnext_host or None,
                timeout=settings.erpnext_timeout,
                transport=site_transport,
                field_names=FieldNames({"medusa_id": settings.erpnext_medusa_id_field}),
            )
            now = lambda: datetime.now(settings.zone).replace(tzinfo=None)  # noqa: E731
            mirror = Mirror(
                engine, statement_timeout_ms=settings.statement_timeout_ms, read_engine=read_engine, clock=now
            )
            medusa = outbound = None
            if settings.medusa_url:
                medusa = MedusaAdmin(
                    settings.medusa_url,
                    settings.medusa_api_key.get_secret_value(),
                    timeout=settings.medusa_timeout,
                    transport=medusa_transport,
                )
                outbound = OutboundChanges(site_client, mirror, outbox, settings.medusa_fields)
            site = Site(
                site_client,
                mirror,
                Feed(site_client, mirror, now=now, outbound=outbound),
                webhook_secret(settings),
                timedelta(seconds=settings.erpnext_full_sync_interval),
            )
            return cls(
                settings=settings,
                store=SiteStore(site_client, mirror, engine),
                keys=SqlApiKeys(engine),
                audit=SqlAuditLog(engine),
                accounts=SiteAccounts(site_client, own_accounts, cache_seconds=settings.erpnext_auth_cache_seconds),
                sessions=sessions,
                locks=locks,
                site=site,
                outbox=outbox,
                medusa=medusa,
            )
        return cls(
            settings=settings,
            store=SqlStore(engine, statement_timeout_ms=settings.statement_timeout_ms, read_engine=read_engine),
            keys=SqlApiKeys(engine),
            audit=SqlAuditLog(engine),
            accounts=own_accounts,
            sessions=sessions,
            locks=locks,
            outbox=outbox,
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

    def take_search_statistics(self) -> None:
        """Sample the names the typeahead plans by before the first search (a server does it as it starts)."""
        self.store.take_search_statistics()

    def readiness(self) -> str | None:
        """Why this process cannot serve requests now, or None when it can."""
        return self.store.readiness()

    def close(self) -> None:
        for engine in self.store.engines:
            engine.dispose()
        if self.site is not None:
            self.site.client.close()
        if self.medusa is not None:
            self.medusa.close()

    def is_echo(self, customer: MedusaCustomer) -> bool:
        """Whether a Medusa customer event only carries what the outbox delivered to it (any delivery of the last
        :data:`ECHO_WINDOW`: Medusa's event for the service's own update)."""
        if self.medusa is None or self.outbox is None:
            return False
        delivered = self.outbox.delivered_since(customer.id, since=self.now() - ECHO_WINDOW)
        return is_echo(delivered, asdict(customer))

    def delivery_policy(self) -> Policy:
        return Policy(max_attempts=self.settings.outbox_max_attempts)
