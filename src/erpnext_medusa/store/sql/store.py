"""The SQL adapter of the storage port: ERPNext's tables on SQLite, PostgreSQL or MariaDB."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from erpnext_medusa.domain.errors import (
    DuplicateEntryError,
    MedusaIdLinkedElsewhereError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from erpnext_medusa.domain.models import CustomerSummary, DuplicateGroup, MedusaLead
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.catalog import Catalog
from erpnext_medusa.store.sql.duplicates import duplicate_groups
from erpnext_medusa.store.sql.engine import SQLITE_IMMEDIATE
from erpnext_medusa.store.sql.errors import is_retryable, translated
from erpnext_medusa.store.sql.leads import search_medusa_leads
from erpnext_medusa.store.sql.migrate import Track, pending
from erpnext_medusa.store.sql.search import standalone_search
from erpnext_medusa.store.sql.site import ERPNEXT_SITE_REFUSAL, is_erpnext_site
from erpnext_medusa.store.sql.transaction import MedusaIdTaken, SqlTransaction, TakenConcurrently

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_ATTEMPTS = 5


def _is_name_taken(exc: IntegrityError) -> bool:
    """A document's primary key (its name) was taken: the one race a unit of work can lose after checking."""
    orig = exc.orig
    message = str(orig)
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL: the primary key constraint is <table>_pkey
        diag = getattr(orig, "diag", None)
        return str(getattr(diag, "constraint_name", "")).endswith("_pkey")
    args: tuple[Any, ...] = getattr(orig, "args", ())
    if len(args) > 0 and args[0] == 1062:  # MariaDB
        return "for key 'PRIMARY'" in message
    return message.startswith("UNIQUE constraint failed:") and message.endswith(".name")  # SQLite


class Observer(Protocol):
    """Who wants to know what the store does (the service's metrics); every call must be cheap."""

    def search_plan(self, plan: str) -> None: ...

    def connections_in_use(self, delta: int) -> None: ...

    def audit_rows(self, count: int) -> None: ...


def observe_pools(engines: Sequence[Engine], observer: Observer) -> None:
    """Report connections checked out of the engines' pools to ``observer``."""
    for engine in engines:
        event.listen(engine.pool, "checkout", lambda *_: observer.connections_in_use(1))
        event.listen(engine.pool, "checkin", lambda *_: observer.connections_in_use(-1))


def readiness(engines: Sequence[Engine], *, track: Track) -> str | None:
    """Why these databases (the primary, then its read replica) cannot serve now: one does not answer, or its
    schema is behind the migrations of ``track``; None when they can."""
    for engine in engines:
        replica = engine is not engines[0]
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if pending(engine, track):
                if replica:
                    return "the read replica's schema is behind the migrations' head: it has not caught up"
                return "the schema is behind the migrations' head: run `erpnext-medusa db upgrade`"
        except SQLAlchemyError as exc:
            which = "read replica" if replica else "database"
            return f"the {which} does not answer ({type(getattr(exc, 'orig', None) or exc).__name__})"
    return None


class SqlStore:
    """``read_engine``: a read replica of ``engine``'s database, which the typeahead searches (and their
    sampled statistics) read from. Everything else, every write and every read inside one, uses ``engine``."""

    def __init__(self, engine: Engine, *, statement_timeout_ms: int = 5_000, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine
        self.catalog = Catalog(engine)
        self.dialect = self.catalog.dialect
        self.search = standalone_search(self.catalog, statement_timeout_ms, engine=read_engine)
        self._observer: Observer | None = None
        self._erpnext_site: bool | None = None  # looked up on first use (the database may not be reachable yet)

    @property
    def erpnext_site(self) -> bool:
        """Whether the database is an ERPNext site's own, which this store must not serve (site.py); looked up
        once: a database does not turn into a site, or stop being one, under a running service."""
        if self._erpnext_site is None:
            self._erpnext_site = is_erpnext_site(self.engine)
        return self._erpnext_site

    @property
    def engines(self) -> list[Engine]:
        """The primary's engine, then the replica's if there is one."""
        return [self.engine] if self.read_engine is None else [self.engine, self.read_engine]

    def observe(self, observer: Observer) -> None:
        """Report search plans, connections checked out of the pool and committed audit rows to ``observer``."""
        self._observer = observer
        self.search.on_plan = observer.search_plan
        observe_pools(self.engines, observer)

    def take_search_statistics(self) -> None:
        """Sample the names the typeahead's planner estimates by (a server does it as it starts)."""
        self.search.take_statistics()

    def readiness(self) -> str | None:
        """Why this store cannot serve now (the database or its read replica does not answer, a schema is
        behind the migrations, or the database is an ERPNext site's own), or None when it can."""
        problem = readiness(self.engines, track="standalone")
        if problem is None and self.erpnext_site:
            return ERPNEXT_SITE_REFUSAL
        return problem

    @translated  # the first call reads the table's definition from the database
    def column_lengths(self, doctype: str) -> Mapping[str, int]:
        return self.catalog.column_lengths(doctype)

    @translated
    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        return self.search.search(words, limit=limit, offset=offset)

    @translated
    def search_medusa_leads(
        self, text: str, *, unlinked_only: bool, limit: int, offset: int, name: str | None = None
    ) -> list[MedusaLead]:
        with self.engine.connect() as conn:
            return search_medusa_leads(
                self.catalog, conn, text, unlinked_only=unlinked_only, limit=limit, offset=offset, name=name
            )

    @translated
    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        with self.engine.connect() as conn:
            return duplicate_groups(conn, self.dialect, t.customer, t.lead, limit)

    def analyze(self, doctypes: Sequence[str]) -> None:
        """Bring the planner's view of these DocTypes' tables up to date after a big load, as autovacuum or
        InnoDB would some time later: statistics (so a search on a table that was empty is not planned as
        a scan), and on PostgreSQL the visibility map too (so walking an index need not visit the table).
        SQLite's planner does without."""
        if self.dialect == "sqlite":
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM cannot run in a transaction
            for doctype in doctypes:
                table = conn.dialect.identifier_preparer.quote(self.catalog.table_name(doctype))
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
                else:
                    conn.exec_driver_sql(f"ANALYZE TABLE {table}")

    @translated
    def read(self, work: Callable[[SqlTransaction], T]) -> T:
        with self.engine.connect() as conn:
            try:
                return work(SqlTransaction(self.catalog, conn))
            finally:
                conn.rollback()

    def linked_customer(self, medusa_id: str) -> str | None:
        return self.read(lambda tx: tx.customer_with_medusa_id(medusa_id))

    @translated
    def write(self, work: Callable[[SqlTransaction], T]) -> T:
        if self.erpnext_site:  # never by SQL on a live site, however the service was started
            raise ServiceUnavailableError(ERPNEXT_SITE_REFUSAL, 3600, reason="erpnext_site")
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            last = attempt == _MAX_ATTEMPTS
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
                    tx = SqlTransaction(self.catalog, conn)
                    with conn.begin():
                        result = work(tx)
                        tx.index_search()
                    if tx.audit_rows and self._observer is not None:
                        self._observer.audit_rows(tx.audit_rows)
                    return result
            except MedusaIdTaken as taken:
                # The transaction is rolled back; the holder is read afresh, outside any old snapshot.
                holder = self.linked_customer(taken.medusa_id)
                if holder is not None:
                    raise MedusaIdLinkedElsewhereError(holder) from None
                if last:
                    raise ValidationFailedError(
                        "This Medusa ID is being linked by another request; try again."
                    ) from None
                # The other writer rolled back: the id is free again, so try once more.
            except TakenConcurrently:
                # Rolled back; run again, and the work finds the concurrent writer's Lead or event.
                if last:
                    raise DuplicateEntryError("A concurrent change took the same key; try again.") from None
                log.info("retrying a transaction after a unique-key race (attempt %d)", attempt)
            except IntegrityError as exc:
                # A concurrent writer took a name this unit of work had just checked was free: run it again,
                # and it will see that name taken and choose the next one.
                if not _is_name_taken(exc):
                    raise
                if last:
                    raise DuplicateEntryError("A concurrent change took the same name; try again.") from None
                log.info("retrying a transaction after a unique-key race (attempt %d)", attempt)
            except DBAPIError as exc:
                if not is_retryable(exc) or last:
                    raise
                log.info("retrying a transaction after a transient conflict (attempt %d)", attempt)
        raise RuntimeError("unreachable: the last attempt either returned or raised")
