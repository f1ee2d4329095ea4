"""The site's mirror: its Customers and Medusa Leads as the typeahead and the back office search them, in the
service's own database (tables built by the site track, see site_tables.py).

The service is the mirror's only writer, so no triggers keep it: each write computes the folded search keys
with the domain's one :func:`fold`, and the searches fold the typed words with it too, so both sides are folded
the same way on every database. The database then checks each word as an exact substring of the folded key
(``instr`` / ``strpos`` / ``LOCATE`` over a binary collation): no LIKE pattern, so no character is a wildcard.

Each write also keeps the typeahead's gram index and gram ranges of the Customers it changes (revision s0004),
in its own transaction: the searches then run through the shared planner (store/sql/search.py), which picks an
ordered walk or the gram index per query.

The last write wins by the site's ``modified``: a row is replaced only by one whose ``modified`` is the same or
newer, in the same statement that writes it (so two writers racing on one Customer keep the newer version). A
batch first reads what is stored and writes only the rows that change something, so reconciling an unchanged
page writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Executable,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.domain.models import CustomerSummary, DuplicateGroup, MedusaLead
from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import intake_failures
from erpnext_medusa.store.sql import site_tables as s
from erpnext_medusa.store.sql.duplicates import duplicate_groups
from erpnext_medusa.store.sql.engine import write_retrying
from erpnext_medusa.store.sql.errors import translated
from erpnext_medusa.store.sql.intake_failures import IntakeFailure
from erpnext_medusa.store.sql.leads import medusa_lead, medusa_leads_page
from erpnext_medusa.store.sql.mirror_grams import MirrorGrams, Widening, searched_rows
from erpnext_medusa.store.sql.search import CustomerSearch
from erpnext_medusa.store.sql.tables import MARIADB
from erpnext_medusa.store.sql.time_limit import statement_time_limit

T = TypeVar("T")

#: Rows per statement: well within every database's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class MirrorCustomer:
    """A site Customer, as far as the mirror keeps it."""

    name: str
    customer_name: str | None
    email_id: str | None
    mobile_no: str | None
    medusa_id: str | None
    lead_name: str | None
    disabled: bool
    modified: datetime  # the site's, naive, with microseconds


@dataclass(frozen=True)
class MirrorLead:
    """A site Lead that carries a medusa_id."""

    name: str
    lead_name: str | None
    company_name: str | None
    email_id: str | None
    mobile_no: str | None
    phone: str | None
    medusa_id: str | None
    creation: datetime | None
    modified: datetime


@dataclass(frozen=True)
class SyncState:
    """Where the reconciliation of one DocType stands."""

    #: The last document seen, by (modified, name): the next page starts after it.
    watermark_modified: datetime | None = None
    watermark_name: str | None = None
    #: The last Deleted Document seen, by (creation, name).
    deleted_creation: datetime | None = None
    deleted_name: str | None = None
    #: When the mirror's names were last compared with the site's in full.
    compared_at: datetime | None = None
    #: The last failure, if the last run failed.
    error: str | None = None
    error_at: datetime | None = None


_DOCTYPES = {"Customer": s.customer, "Lead": s.lead}


def _customer_row(row: MirrorCustomer, synced_at: datetime, grams: Callable[[str], Any]) -> dict[str, Any]:
    customer_name = row.customer_name or ""
    folded = fold(customer_name)
    return {
        **asdict(row),
        "disabled": int(row.disabled),
        "folded": folded,
        "searchable": int(not row.disabled and not row.medusa_id),
        "sort_name": customer_name[: s.SORT_NAME_LENGTH],
        "synced_at": synced_at,
        "grams": grams(folded),
    }


def _lead_row(row: MirrorLead, synced_at: datetime) -> dict[str, Any]:
    return {
        **asdict(row),
        "folded_lead_name": fold(row.lead_name or ""),
        "folded_email_id": fold(row.email_id or ""),
        "folded_medusa_id": fold(row.medusa_id or ""),
        "synced_at": synced_at,
    }


def _contains(dialect: str, folded: Any, word: Any) -> Any:
    """``word`` (already folded) is a substring of ``folded``, compared exactly."""
    if dialect == "postgresql":
        return func.strpos(folded, word) > 0
    if dialect in MARIADB:
        return func.locate(word.collate("utf8mb4_bin"), folded) > 0
    return func.instr(folded, word) > 0


def _newest(rows: Sequence[Any]) -> list[Any]:
    """One row per name, the newest by modified (the later in the batch when equal), in name order (so that
    concurrent batches lock rows in the same order)."""
    kept: dict[str, Any] = {}
    for row in rows:
        if row.name not in kept or row.modified >= kept[row.name].modified:
            kept[row.name] = row
    return [kept[name] for name in sorted(kept)]


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class Mirror:
    """Reads and writes of the mirror tables. ``read_engine``: where searches read (a replica), if not
    ``engine``; ``clock``: the time recorded as ``synced_at`` (the service's, naive)."""

    def __init__(
        self,
        engine: Engine,
        *,
        statement_timeout_ms: int = 5000,
        read_engine: Engine | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.timeout = statement_timeout_ms / 1000
        self.dialect = engine.dialect.name
        self._clock = clock
        self._upserts: dict[str, Executable] = {}
        self.grams = MirrorGrams(self.dialect)
        #: The typeahead over the mirror's Customers (its plans and sampled statistics).
        self.search = CustomerSearch(self.read_engine, searched_rows(self.dialect), statement_timeout_ms)

    # -- transactions --------------------------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; again from the start when it loses a deadlock."""
        return write_retrying(self.engine, work)

    @contextmanager
    def _searching(self) -> Iterator[Connection]:
        """A read connection whose statements stop at the time limit (QueryTimeoutError)."""
        with self.read_engine.connect() as conn, statement_time_limit(conn, self.timeout):
            yield conn

    # -- writes --------------------------------------------------------------------------------------------

    def _upsert(self, table: Table) -> Executable:
        """The statement that inserts a row, or replaces the stored one whose ``modified`` is not newer: built
        once per table and run with a page of rows at a time (executemany), so it is compiled once."""
        if table.name in self._upserts:
            return self._upserts[table.name]
        columns = [c.name for c in table.columns if c.name != "name"]
        stmt: Executable
        if self.dialect in MARIADB:
            upsert = mysql.insert(table)
            newer = upsert.inserted.modified >= table.c.modified
            # MariaDB assigns left to right and a later assignment sees the earlier ones: `modified` goes last,
            # so that every condition reads the stored value.
            order = [c for c in columns if c != "modified"] + ["modified"]
            assignments = [(c, case((newer, upsert.inserted[c]), else_=table.c[c])) for c in order]
            stmt = upsert.on_duplicate_key_update(assignments)
        else:
            insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            ins = insert(table)
            stmt = ins.on_conflict_do_update(
                index_elements=[table.c.name],
                set_={c: ins.excluded[c] for c in columns},
                where=table.c.modified <= ins.excluded.modified,
            )
        self._upserts[table.name] = stmt
        return stmt

    def _changing(self, conn: Connection, table: Table, rows: list[dict[str, Any]], fields: list[str]) -> list[Any]:
        """The rows that would change what is stored: new ones, and those at least as new that differ."""
        stored: dict[str, Any] = {}
        columns = [table.c[f] for f in fields]
        for chunk in _chunks([r["name"] for r in rows]):
            for found in conn.execute(select(*columns).where(table.c.name.in_(chunk))).mappings():
                stored[found["name"]] = found
        changing = []
        for row in rows:
            old = stored.get(row["name"])
            if old is None or (row["modified"] >= old["modified"] and any(row[f] != old[f] for f in fields)):
                changing.append(row)
        return changing

    def _put(self, table: Table, rows: list[dict[str, Any]], also: Callable[[Connection], None] | None = None) -> int:
        # synced_at alone changes nothing; the grams follow from the folded name
        fields = [c.name for c in table.columns if c.name not in ("synced_at", "grams")]
        indexed = table is s.customer

        def work(conn: Connection) -> int:
            changing = self._changing(conn, table, rows, fields)
            widening = Widening()
            for chunk in _chunks(changing):
                names = [r["name"] for r in chunk]
                if indexed:
                    self.grams.forget(conn, names)
                conn.execute(self._upsert(table), list(chunk))
                if indexed:
                    self.grams.written(conn, names, widening)
            self.grams.widen(conn, widening)
            if also is not None:
                also(conn)
            return len(changing)

        return self._write(work) if rows else 0

    @translated
    def upsert_customers(
        self, rows: Sequence[MirrorCustomer], *, also: Callable[[Connection], None] | None = None
    ) -> int:
        """Store the Customers (last write wins by modified); the number of rows inserted or changed. ``also``
        runs in the same transaction (the outbox records the change with it)."""
        now = self._clock()
        return self._put(s.customer, [_customer_row(r, now, self.grams.column) for r in _newest(rows)], also)

    @translated
    def upsert_leads(self, rows: Sequence[MirrorLead]) -> int:
        """Store the Leads (last write wins by modified); the number of rows inserted or changed."""
        now = self._clock()
        return self._put(s.lead, [_lead_row(r, now) for r in _newest(rows)])

    def _remove(self, table: Table, names: Sequence[str]) -> int:
        def work(conn: Connection) -> int:
            removed = 0
            for chunk in _chunks(sorted(set(names))):
                if table is s.customer:
                    self.grams.forget(conn, chunk)
                removed += conn.execute(delete(table).where(table.c.name.in_(chunk))).rowcount
            return removed

        return self._write(work) if names else 0

    @translated
    def delete_customers(self, names: Sequence[str]) -> int:
        """Forget the Customers (deleted on the site); the number that were there."""
        return self._remove(s.customer, names)

    @translated
    def delete_leads(self, names: Sequence[str]) -> int:
        return self._remove(s.lead, names)

    @translated
    def analyze(self) -> None:
        """Have the database refresh the planner's statistics of the mirror's tables, and the typeahead its
        sampled statistics (after a sync filled them, so that the searches are planned for the rows that are
        there); PostgreSQL's visibility map too, so that walking an index need not visit the table."""
        quote = self.engine.dialect.identifier_preparer.format_table
        verb = {"postgresql": "VACUUM (ANALYZE)", "sqlite": "ANALYZE"}.get(self.dialect, "ANALYZE TABLE")
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM cannot run in a transaction
            for table in (*_DOCTYPES.values(), s.gram_range):
                conn.execute(text(f"{verb} {quote(table)}")).close()  # MariaDB answers with a result set
            if self.dialect != "postgresql":
                conn.commit()
        self.search.refresh_statistics()

    # -- the names, for comparing with the site's ----------------------------------------------------------

    def _names(self, table: Table, after: str | None, limit: int) -> list[str]:
        query = select(table.c.name).order_by(table.c.name).limit(limit)
        if after is not None:
            query = query.where(table.c.name > after)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    @translated
    def customer_names(self, *, after: str | None, limit: int) -> list[str]:
        """A page of the Customers' names after ``after``, in code point order (Python's order of strings)."""
        return self._names(s.customer, after, limit)

    @translated
    def lead_names(self, *, after: str | None, limit: int) -> list[str]:
        return self._names(s.lead, after, limit)

    # -- reads the ports need ------------------------------------------------------------------------------

    @translated
    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        """Enabled Customers without a medusa_id whose folded customer_name contains every folded word,
        ordered by customer_name (its first SORT_NAME_LENGTH characters) then name."""
        return self.search.search(words, limit=limit, offset=offset)

    @translated
    def search_medusa_leads(
        self, text: str, *, unlinked_only: bool, limit: int, offset: int, name: str | None = None
    ) -> list[MedusaLead]:
        """As ``Store.search_medusa_leads``, over the mirror: the holder is the mirrored Customer with the
        Lead's medusa_id."""
        lead, customer = s.lead.c, s.customer.c
        holder = (
            select(customer.name)
            .where(customer.medusa_id == lead.medusa_id)
            .order_by(customer.name)
            .limit(1)
            .correlate(s.lead)
            .scalar_subquery()
        )
        match = None
        if text:
            word: BindParameter[str] = bindparam("text", fold(text), type_=String)
            columns = (lead.folded_lead_name, lead.folded_email_id, lead.folded_medusa_id)
            match = or_(*(_contains(self.dialect, col, word) for col in columns))
        if name is not None:
            match = lead.name == name if match is None else and_(match, lead.name == name)
        query = medusa_leads_page(s.lead, holder, match, unlinked_only=unlinked_only, limit=limit, offset=offset)
        with self._searching() as conn:
            return [medusa_lead(r) for r in conn.execute(query).mappings()]

    @translated
    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        with self._searching() as conn:
            return duplicate_groups(conn, self.dialect, s.customer, s.lead, limit)

    @translated
    def customer_with_medusa_id(self, medusa_id: str) -> str | None:
        """The mirrored Customer carrying ``medusa_id`` (the first by name, should the site hold several)."""
        if not medusa_id:
            return None
        c = s.customer.c
        query = select(c.name).where(c.medusa_id == medusa_id).order_by(c.name).limit(1)
        with self.read_engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    @translated
    def get_customer(self, name: str) -> MirrorCustomer | None:
        c = s.customer.c
        fields = [c[f] for f in MirrorCustomer.__dataclass_fields__]
        with self.engine.connect() as conn:
            row = conn.execute(select(*fields).where(c.name == name)).mappings().one_or_none()
        return None if row is None else MirrorCustomer(**{**row, "disabled": bool(row["disabled"])})

    @translated
    def count(self, doctype: str) -> int:
        """How many documents of ``doctype`` (Customer, Lead) the mirror holds."""
        if doctype not in _DOCTYPES:
            raise ValueError(f"the mirror keeps no {doctype!r}")
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_DOCTYPES[doctype])).scalar_one())

    # -- sync state ----------------------------------------------------------------------------------------

    @translated
    def sync_state(self, doctype: str) -> SyncState | None:
        st = s.sync_state.c
        fields = [st[f] for f in SyncState.__dataclass_fields__]
        with self.engine.connect() as conn:
            row = conn.execute(select(*fields).where(st.doctype == doctype)).mappings().one_or_none()
        return None if row is None else SyncState(**row)

    @translated
    def save_sync_state(self, doctype: str, state: SyncState) -> None:
        values = asdict(state)

        def work(conn: Connection) -> None:
            update = s.sync_state.update().where(s.sync_state.c.doctype == doctype).values(values)
            if conn.execute(update).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(s.sync_state.insert().values(doctype=doctype, **values))
            except IntegrityError:  # another process saved the first state of this DocType meanwhile
                conn.execute(update)

        self._write(work)

    # -- intake failures -----------------------------------------------------------------------------------

    @translated
    def record_intake_failure(
        self, event_id: str, medusa_id: str, payload: dict[str, Any], message: str, exc_type: str | None
    ) -> IntakeFailure:
        """Note that the site refused a Medusa customer event (again: one more attempt); what is kept."""
        at = self._clock()
        return self._write(
            lambda conn: intake_failures.record(conn, event_id, medusa_id, payload, message, exc_type, at)
        )

    @translated
    def intake_failures(self, states: Sequence[str], *, limit: int, offset: int = 0) -> list[IntakeFailure]:
        """The failures in ``states``, the most recently attempted first."""
        with self.engine.connect() as conn:
            return intake_failures.listed(conn, states, limit=limit, offset=offset)

    @translated
    def intake_failure(self, event_id: str) -> IntakeFailure | None:
        with self.engine.connect() as conn:
            return intake_failures.get(conn, event_id)

    @translated
    def claim_intake_retry(self, event_id: str, *, stale_before: datetime) -> bool:
        """Mark a failure as being retried, if it is failed (or a retry of it began before ``stale_before`` and
        never finished); False when someone else holds it or it is settled."""
        at = self._clock()
        return self._write(lambda conn: intake_failures.claim(conn, event_id, at, stale_before))

    @translated
    def settle_intake_failure(self, event_id: str, state: str) -> bool:
        """Close a failure as ``done`` (a retry succeeded) or ``dismissed``; its contact data is dropped. False
        when there was no open failure of that event."""
        return self._write(lambda conn: intake_failures.settle(conn, event_id, state))
