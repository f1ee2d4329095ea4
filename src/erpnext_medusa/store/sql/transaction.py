"""One unit of work on ERPNext's tables: the reads and writes the domain asks for, on one connection.

Nothing here commits; the store does, once. Names are compared as
the database compares them (MariaDB's ``utf8mb4_unicode_ci`` ignores case and accents, as ERPNext relies
on), so every "does this exist / is this the same party" question is answered in SQL, not in Python.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import (
    Connection,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from erpnext_medusa.domain import naming
from erpnext_medusa.domain.audit import AuditEntry
from erpnext_medusa.domain.countries import Country, match_country
from erpnext_medusa.domain.intake import CONTACT_FIELDS
from erpnext_medusa.domain.models import Address, Customer, Lead, Link, Stamp
from erpnext_medusa.store.sql import search_queue
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.audit import insert_audit
from erpnext_medusa.store.sql.catalog import Catalog

_CHUNK = 500
_ADDRESS_FIELDS = {
    "name", "address_title", "address_type", "address_line1", "address_line2", "city", "state", "country",
    "pincode", "is_primary_address", "is_shipping_address", "disabled", "modified",
}  # fmt: skip


class TakenConcurrently(Exception):
    """A unique key (a Lead's medusa_id, a webhook event's id) was taken by a concurrent writer after this unit of
    work checked it: the store runs the work again, which then finds the winner's row."""


class MedusaIdTaken(Exception):
    """The unique index refused a medusa_id; the store names the holder after the rollback."""

    def __init__(self, medusa_id: str) -> None:
        super().__init__(medusa_id)
        self.medusa_id = medusa_id


def _address_links() -> Any:
    # parenttype alone, as ERPNext's own queries do: a link row with an unusual parentfield still counts.
    return t.dynamic_link.c.parenttype == "Address"


class SqlTransaction:
    def __init__(self, catalog: Catalog, conn: Connection) -> None:
        self._catalog = catalog
        self._conn = conn
        #: Audit rows recorded so far (committed with the rest, or not at all).
        self.audit_rows = 0
        #: MariaDB: the newest search key row's id before the first Customers inserted unqueued.
        self._unqueued_after: int | None = None

    # --- reads -------------------------------------------------------------------------------------------
    def get_customer(self, name: str, *, lock: bool = False) -> Customer | None:
        c = t.customer.c
        query = select(
            c.name, c.customer_name, c.medusa_id, c.lead_name, c.customer_primary_address, c.primary_address,
            c.email_id, c.mobile_no,
        ).where(c.name == name)  # fmt: skip
        if lock:
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            return None
        return Customer(
            name=row.name,
            customer_name=row.customer_name or row.name,
            medusa_id=row.medusa_id or None,
            lead_name=row.lead_name or None,
            customer_primary_address=row.customer_primary_address or None,
            primary_address=row.primary_address or None,
            email_id=row.email_id or None,
            mobile_no=row.mobile_no or None,
        )

    def get_lead(self, name: str) -> Lead | None:
        c = t.lead.c
        row = self._conn.execute(select(c.name, c.medusa_id).where(c.name == name)).first()
        return None if row is None else Lead(name=row.name, medusa_id=row.medusa_id or None)

    def customer_with_medusa_id(self, medusa_id: str) -> str | None:
        c = t.customer.c
        query = select(c.name).select_from(t.customer).where(*self._medusa_id_in([medusa_id]))
        return self._conn.execute(query.order_by(c.name).limit(1)).scalar()

    def lead_with_medusa_id(self, medusa_id: str) -> Lead | None:
        c = t.lead.c
        conditions = [self._catalog.lead_medusa_id_key() == medusa_id]
        if not self._catalog.mariadb:  # the partial unique index's predicate, so the planner can use it
            conditions += [c.medusa_id.is_not(None), c.medusa_id != ""]
        query = select(c.name, c.medusa_id, *(c[f] for f in CONTACT_FIELDS)).select_from(t.lead).where(*conditions)
        row = self._conn.execute(query.order_by(c.name).limit(1)).mappings().first()
        if row is None:
            return None
        contact = {f: row[f] or None for f in CONTACT_FIELDS}
        return Lead(name=row["name"], medusa_id=row["medusa_id"] or None, contact=contact)

    def intake_event(self, event_id: str) -> str | None:
        c = t.intake_event.c
        return self._conn.execute(select(c.lead).where(c.name == event_id)).scalar()

    def _medusa_id_in(self, medusa_ids: Sequence[str]) -> list[Any]:
        c = t.customer.c
        conditions = [self._catalog.medusa_id_key().in_(medusa_ids)]
        if not self._catalog.mariadb:  # repeat the partial unique index's predicate so the planner can use it
            conditions += [c.medusa_id.is_not(None), c.medusa_id != ""]
        return conditions

    def _medusa_ids_taken(self, medusa_ids: Sequence[str]) -> bool:
        c = t.customer.c
        return any(
            self._conn.execute(select(c.name).select_from(t.customer).where(*self._medusa_id_in(chunk))).first()
            for chunk in _chunks(medusa_ids)
        )

    def customer_addresses(self, customer: str) -> list[Address]:
        addr = self._catalog.table("Address")
        dl = t.dynamic_link.c
        mine = and_(dl.link_doctype == "Customer", dl.link_name == customer)
        linked = select(dl.parent).where(_address_links(), mine)
        others = exists().where(_address_links(), dl.parent == addr.c.name, not_(mine))
        rows = self._conn.execute(
            select(addr, others.label("_shared"))
            .where(addr.c.name.in_(linked), addr.c.disabled == 0)
            .order_by(addr.c.name)
        ).mappings()
        return [_address_from_row(r) for r in rows]

    def find_country(self, value: str) -> str | None:
        c = t.country.c
        wanted = value.lower()
        rows = self._conn.execute(
            select(c.name, c.code).where(or_(func.lower(c.name) == wanted, func.lower(c.code) == wanted))
        ).all()
        return match_country(value, (Country(row.name, row.code or "") for row in rows))

    def stored_names(self, doctype: str, names: Iterable[str]) -> dict[str, str]:
        """For each of ``names`` that exists, the name as stored (the database decides what is equal)."""
        table = self._catalog.table(doctype)
        wanted = list(dict.fromkeys(names))
        found: dict[str, str] = {}
        for i in range(0, len(wanted), _CHUNK):
            probes = union_all(*(select(literal(n, String).label("probe")) for n in wanted[i : i + _CHUNK]))
            probe = probes.subquery("probes").c.probe
            for asked, stored in self._conn.execute(
                select(probe, table.c.name).join_from(probe.table, table, table.c.name == probe)
            ):
                found.setdefault(asked, stored)
        return found

    def _any_stored(self, doctype: str, names: Sequence[str]) -> bool:
        table = self._catalog.table(doctype)
        # No LIMIT: with one, PostgreSQL may expect an early hit and scan the table instead of the key index.
        return any(
            self._conn.execute(select(table.c.name).where(table.c.name.in_(chunk))).first() for chunk in _chunks(names)
        )

    def names_with_prefix(self, doctype: str, prefix: str) -> list[str]:
        table = self._catalog.table(doctype)
        query = select(table.c.name).where(table.c.name.startswith(prefix, autoescape=True))
        return list(self._conn.execute(query).scalars())

    def title_of(self, doctype: str, name: str) -> str | None:
        """A document's title as ERPNext shows it in links (Customer: customer_name; Lead: title)."""
        if doctype == "Customer":
            query = select(t.customer.c.customer_name).where(t.customer.c.name == name)
        elif doctype == "Lead":
            query = select(func.coalesce(t.lead.c.title, t.lead.c.lead_name)).where(t.lead.c.name == name)
        else:
            return None
        return self._conn.execute(query).scalar()

    # --- writes ------------------------------------------------------------------------------------------
    def link_customer(self, customer: str, medusa_id: str, lead: str, stamp: Stamp) -> bool:
        c = t.customer.c
        statement = (
            update(t.customer)
            .where(c.name == customer, or_(c.medusa_id.is_(None), c.medusa_id == "", c.medusa_id == medusa_id))
            .values(medusa_id=medusa_id, lead_name=lead, modified=stamp.at, modified_by=stamp.user)
        )
        try:
            result = self._conn.execute(statement)
        except IntegrityError as exc:
            raise MedusaIdTaken(medusa_id) from exc
        return bool(result.rowcount)

    def unlink_customer(self, customer: str, medusa_id: str, stamp: Stamp) -> bool:
        c = t.customer.c
        statement = (
            update(t.customer)
            .where(c.name == customer, c.medusa_id == medusa_id)
            .values(medusa_id=None, lead_name=None, modified=stamp.at, modified_by=stamp.user)
        )
        return bool(self._conn.execute(statement).rowcount)

    def update_address(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None:
        self._conn.execute(
            update(t.address)
            .where(t.address.c.name == name)
            .values(**changes, modified=stamp.at, modified_by=stamp.user)
        )

    def insert_lead(self, row: Mapping[str, Any], stamp: Stamp) -> str:
        name = naming.lead_name(self, stamp.at)
        try:
            self.insert_document("Lead", {"name": name, **row}, stamp)
        except IntegrityError as exc:  # its name or medusa_id, taken since they were checked
            raise TakenConcurrently() from exc
        return name

    def insert_address(self, row: Mapping[str, Any], links: Sequence[Link], stamp: Stamp) -> str:
        name = naming.address_name(self, row["address_title"], row["address_type"])
        self.insert_document("Address", {"name": name, **row}, stamp)
        self.insert_links("Address", name, links, stamp)
        return name

    def update_lead(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None:
        self._conn.execute(
            update(t.lead).where(t.lead.c.name == name).values(**changes, modified=stamp.at, modified_by=stamp.user)
        )

    def record_intake_event(self, event_id: str, medusa_id: str, lead: str, outcome: str, stamp: Stamp) -> None:
        values = {"name": event_id, "received_at": stamp.at, "medusa_id": medusa_id, "lead": lead, "outcome": outcome}
        try:
            self._conn.execute(insert(t.intake_event).values(**values))
        except IntegrityError as exc:
            raise TakenConcurrently() from exc

    def insert_document(self, doctype: str, row: Mapping[str, Any], stamp: Stamp) -> None:
        self._conn.execute(insert(self._catalog.table(doctype)).values(**_with_standard_fields(row, stamp)))

    def insert_batch(self, doctype: str, rows: Sequence[Mapping[str, Any]], stamp: Stamp) -> bool:
        names = [row["name"] for row in rows]
        medusa_ids = [row["medusa_id"] for row in rows if doctype == "Customer" and row.get("medusa_id")]
        if len(set(names)) < len(names) or len(set(medusa_ids)) < len(medusa_ids):
            return False
        if self._any_stored(doctype, names) or (medusa_ids and self._medusa_ids_taken(medusa_ids)):
            return False
        # One statement per set of columns present: a missing column keeps its database default.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            values = _with_standard_fields(row, stamp)
            by_columns.setdefault(tuple(sorted(values)), []).append(values)
        table = self._catalog.table(doctype)
        # MariaDB: the Customers' key rows written here, their ranges widened once before the commit.
        unqueued = doctype == "Customer" and self._conn.dialect.name in t.MARIADB
        savepoint = self._conn.begin_nested()
        try:
            if unqueued and self._unqueued_after is None:
                self._unqueued_after = search_queue.last_key_id(self._conn)
            with search_queue.unqueued(self._conn) if unqueued else nullcontext():
                for values_list in by_columns.values():
                    if self._conn.dialect.name == "postgresql":
                        self._copy(table, values_list)
                    else:
                        self._conn.execute(insert(table), values_list)
            if unqueued:
                search_queue.insert_keys(self._conn, rows)
        except IntegrityError:
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def index_search(self) -> None:
        """Before the commit: SQLite indexes the Customers queued (this transaction's and any other's); MariaDB
        widens the gram ranges of the Customers this transaction inserted unqueued (what its triggers queued
        waits for the next search, which reads the Customers as last committed)."""
        if self._conn.dialect.name == "sqlite":
            search_queue.catch_up(self._conn)
        elif self._unqueued_after is not None:
            search_queue.widen_since(self._conn, self._unqueued_after)

    def _copy(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """PostgreSQL: many rows with one COPY, much faster than INSERTs, and per-statement triggers (the gram
        ranges') run once for all of them."""
        columns = list(rows[0])
        copy_sql = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table.name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
        )
        driver: Any = self._conn.connection.driver_connection
        try:
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row([row[column] for column in columns])
        except psycopg.Error as exc:
            # As SQLAlchemy reports a driver's error, so that the store handles it as any other statement's
            # (a taken name, a deadlock to retry, a lost connection to discard and answer 503).
            if driver.closed:
                self._conn.invalidate(exc)
            raise DBAPIError.instance(
                copy_sql.as_string(driver), None, exc, psycopg.Error, connection_invalidated=bool(driver.closed)
            ) from exc

    def insert_links(self, parent_doctype: str, parent: str, links: Sequence[Link], stamp: Stamp) -> None:
        if not links:
            return
        dl = t.dynamic_link.c
        start = self._conn.execute(
            select(func.coalesce(func.max(dl.idx), 0)).where(dl.parent == parent, dl.parenttype == parent_doctype)
        ).scalar_one()
        rows = [
            {
                "name": secrets.token_hex(5),
                "creation": stamp.at,
                "modified": stamp.at,
                "owner": stamp.user,
                "modified_by": stamp.user,
                "docstatus": 0,
                "idx": int(start) + i,
                "parent": parent,
                "parenttype": parent_doctype,
                "parentfield": "links",
                "link_doctype": link.link_doctype,
                "link_name": link.link_name,
                "link_title": link.link_title or link.link_name,
            }
            for i, link in enumerate(links, start=1)
        ]
        self._conn.execute(insert(t.dynamic_link), rows)

    def remove_link(self, parent: str, link: Link, stamp: Stamp) -> None:
        """Remove an Address's link rows to ``link``, renumber the rest and mark the Address modified, so
        that a desk user holding an older copy cannot save the link back."""
        dl = t.dynamic_link.c
        self._conn.execute(
            delete(t.dynamic_link).where(
                _address_links(),
                dl.parent == parent,
                dl.link_doctype == link.link_doctype,
                dl.link_name == link.link_name,
            )
        )
        remaining = self._conn.execute(
            select(dl.name).where(_address_links(), dl.parent == parent).order_by(dl.idx, dl.name)
        ).scalars()
        for idx, row_name in enumerate(list(remaining), start=1):
            self._conn.execute(update(t.dynamic_link).where(dl.name == row_name).values(idx=idx))
        self._conn.execute(
            update(t.address).where(t.address.c.name == parent).values(modified=stamp.at, modified_by=stamp.user)
        )

    def clear_preferred_flag(self, flag: str, link: Link, except_address: str, stamp: Stamp) -> None:
        a, dl = t.address.c, t.dynamic_link.c
        linked = select(dl.parent).where(
            _address_links(), dl.link_doctype == link.link_doctype, dl.link_name == link.link_name
        )
        self._conn.execute(
            update(t.address)
            .where(a[flag] == 1, a.disabled == 0, a.name != except_address, a.name.in_(linked))
            .values({flag: 0, "modified": stamp.at, "modified_by": stamp.user})
        )

    def set_primary_address(self, customer: str, address: str | None, display: str | None, stamp: Stamp) -> None:
        self._conn.execute(
            update(t.customer)
            .where(t.customer.c.name == customer)
            .values(
                customer_primary_address=address, primary_address=display, modified=stamp.at, modified_by=stamp.user
            )
        )

    def refresh_primary_address_display(self, customer: str, address: str, display: str, stamp: Stamp) -> None:
        c = t.customer.c
        # By primary key: a condition on customer_primary_address alone would scan (and, on MariaDB, lock)
        # the whole table.
        self._conn.execute(
            update(t.customer)
            .where(c.name == customer, c.customer_primary_address == address)
            .values(primary_address=display, modified=stamp.at, modified_by=stamp.user)
        )

    def next_series_value(self, key: str) -> int:
        s = t.series
        dialect = self._catalog.dialect
        if self._catalog.mariadb:
            stmt = mysql_insert(s).values(name=key, current=1)
            self._conn.execute(stmt.on_duplicate_key_update(current=s.c.current + 1))
        else:
            builder = pg_insert if dialect == "postgresql" else sqlite_insert
            ins = builder(s).values(name=key, current=1)
            self._conn.execute(ins.on_conflict_do_update(index_elements=[s.c.name], set_={"current": s.c.current + 1}))
        return int(self._conn.execute(select(s.c.current).where(s.c.name == key)).scalar_one())

    def record_audit(self, entry: AuditEntry) -> None:
        self.audit_rows += 1
        insert_audit(self._conn, entry)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    unique = list(dict.fromkeys(values))
    return (unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK))


def _with_standard_fields(row: Mapping[str, Any], stamp: Stamp) -> dict[str, Any]:
    return {
        "creation": stamp.at,
        "modified": stamp.at,
        "owner": stamp.user,
        "modified_by": stamp.user,
        "docstatus": 0,
        "idx": 0,
        **row,
    }


def _address_from_row(row: Mapping[Any, Any]) -> Address:
    return Address(
        name=row["name"],
        address_title=row["address_title"],
        address_type=row["address_type"],
        address_line1=row["address_line1"],
        address_line2=row["address_line2"],
        city=row["city"],
        state=row["state"],
        country=row["country"],
        pincode=row["pincode"],
        is_primary_address=bool(row["is_primary_address"]),
        is_shipping_address=bool(row["is_shipping_address"]),
        disabled=bool(row["disabled"]),
        modified=row["modified"],
        shared=bool(row["_shared"]),
        extra={k: v for k, v in row.items() if k not in _ADDRESS_FIELDS and k != "_shared"},
    )
