"""The SQL adapter of the storage port: ERPNext's tables on SQLite, PostgreSQL or MariaDB."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from erpnext_medusa.domain.errors import ValidationError
from erpnext_medusa.domain.models import Address, Customer, CustomerSummary, Lead, Link, Stamp
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.engine import SQLITE_IMMEDIATE

log = logging.getLogger(__name__)
T = TypeVar("T")

_DOCTYPE_TABLES = {
    "Customer": t.customer.name,
    "Lead": t.lead.name,
    "Address": t.address.name,
    "Country": t.country.name,
    "Dynamic Link": t.dynamic_link.name,
}
_CHUNK = 500
_MAX_ATTEMPTS = 5
# Deadlock / serialisation failure / lock wait timeout: the transaction may simply be run again.
_RETRY_PG_CODES = {"40P01", "40001"}
_RETRY_MARIADB_CODES = {1213, 1205}


def linked_elsewhere_message(holder: str) -> str:
    return f"This Medusa Lead is already linked to another Customer: {holder}"


class _MedusaIdTaken(Exception):
    """The unique index refused a medusa_id: resolved by :meth:`SqlStore.write` after the rollback."""

    def __init__(self, medusa_id: str) -> None:
        super().__init__(medusa_id)
        self.medusa_id = medusa_id


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    if code in _RETRY_PG_CODES:
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return len(args) > 0 and args[0] in _RETRY_MARIADB_CODES


class SqlTransaction:
    """One unit of work on one connection. Never commits: :class:`SqlStore` does, once."""

    def __init__(self, store: SqlStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn

    # --- reads -------------------------------------------------------------------------------------------
    def get_customer(self, name: str, *, lock: bool = False) -> Customer | None:
        c = t.customer.c
        query = select(c.name, c.customer_name, c.medusa_id, c.lead_name, c.customer_primary_address, c.disabled).where(
            c.name == name
        )
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
            disabled=bool(row.disabled),
        )

    def get_lead(self, name: str) -> Lead | None:
        c = t.lead.c
        row = self._conn.execute(select(c.name, c.medusa_id).where(c.name == name)).first()
        return None if row is None else Lead(name=row.name, medusa_id=row.medusa_id or None)

    def customer_with_medusa_id(self, medusa_id: str) -> str | None:
        c = t.customer.c
        exact_id = self._store.exact(c.medusa_id)
        return self._conn.execute(select(c.name).where(exact_id == medusa_id).order_by(c.name).limit(1)).scalar()

    def customer_addresses(self, customer: str) -> list[Address]:
        addr = self._store.table("Address")
        dl = t.dynamic_link.c
        linked = select(dl.parent).where(
            dl.parenttype == "Address",
            dl.link_doctype == "Customer",
            dl.link_name == customer,
        )
        rows = (
            self._conn.execute(select(addr).where(addr.c.name.in_(linked), addr.c.disabled == 0).order_by(addr.c.name))
            .mappings()
            .all()
        )
        if not rows:
            return []
        names = [r["name"] for r in rows]
        links: dict[str, list[Link]] = {n: [] for n in names}
        for link in self._conn.execute(
            select(dl.parent, dl.link_doctype, dl.link_name, dl.link_title)
            .where(dl.parenttype == "Address", dl.parent.in_(names))
            .order_by(dl.parent, dl.idx, dl.name)
        ):
            links[link.parent].append(Link(link.link_doctype, link.link_name, link.link_title))
        return [_address_from_row(r, tuple(links[r["name"]])) for r in rows]

    def find_country(self, value: str) -> str | None:
        c = t.country.c
        wanted = value.lower()
        rows = self._conn.execute(
            select(c.name, c.code).where(or_(func.lower(c.name) == wanted, func.lower(c.code) == wanted))
        ).all()
        for row in rows:  # exact spelling first, then any case, then the ISO code
            if row.name == value:
                return str(row.name)
        for row in rows:
            if row.name.lower() == wanted:
                return str(row.name)
        for row in rows:
            if (row.code or "").lower() == wanted:
                return str(row.name)
        return None

    def existing_names(self, doctype: str, names: Iterable[str]) -> set[str]:
        table = self._store.table(doctype)
        wanted = list(dict.fromkeys(names))
        found: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            found.update(self._conn.execute(select(table.c.name).where(table.c.name.in_(chunk))).scalars())
        if self._store.case_insensitive_names:
            folded = {n.lower() for n in found}
            return {n for n in wanted if n.lower() in folded}
        return {n for n in wanted if n in found}

    def names_with_prefix(self, doctype: str, prefix: str) -> list[str]:
        table = self._store.table(doctype)
        return list(
            self._conn.execute(select(table.c.name).where(table.c.name.startswith(prefix, autoescape=True))).scalars()
        )

    # --- writes ------------------------------------------------------------------------------------------
    def link_customer(self, customer: str, medusa_id: str, lead: str, stamp: Stamp) -> None:
        c = t.customer.c
        statement = (
            update(t.customer)
            .where(
                c.name == customer,
                or_(c.medusa_id.is_(None), c.medusa_id == "", c.medusa_id == medusa_id),
            )
            .values(medusa_id=medusa_id, lead_name=lead, modified=stamp.at, modified_by=stamp.user)
        )
        try:
            result = self._conn.execute(statement)
        except IntegrityError as exc:
            raise _MedusaIdTaken(medusa_id) from exc
        if result.rowcount == 0:
            raise ValidationError(f"Customer {customer} is already linked to a different Medusa ID")

    def update_address(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None:
        self._conn.execute(
            update(t.address)
            .where(t.address.c.name == name)
            .values(**changes, modified=stamp.at, modified_by=stamp.user)
        )

    def insert_document(self, doctype: str, row: Mapping[str, Any], stamp: Stamp) -> None:
        values = {
            "creation": stamp.at,
            "modified": stamp.at,
            "owner": stamp.user,
            "modified_by": stamp.user,
            "docstatus": 0,
            "idx": 0,
            **row,
        }
        self._conn.execute(insert(self._store.table(doctype)).values(**values))

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

    def remove_link(self, parent: str, link: Link) -> None:
        dl = t.dynamic_link.c
        self._conn.execute(
            delete(t.dynamic_link).where(
                dl.parent == parent,
                dl.parenttype == "Address",
                dl.link_doctype == link.link_doctype,
                dl.link_name == link.link_name,
            )
        )

    def clear_preferred_flag(self, flag: str, link: Link, except_address: str, stamp: Stamp) -> None:
        a, dl = t.address.c, t.dynamic_link.c
        linked = select(dl.parent).where(
            dl.parenttype == "Address", dl.link_doctype == link.link_doctype, dl.link_name == link.link_name
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
                customer_primary_address=address,
                primary_address=display,
                modified=stamp.at,
                modified_by=stamp.user,
            )
        )

    def refresh_primary_address_display(self, address: str, display: str, stamp: Stamp) -> None:
        self._conn.execute(
            update(t.customer)
            .where(t.customer.c.customer_primary_address == address)
            .values(primary_address=display, modified=stamp.at, modified_by=stamp.user)
        )

    def next_series_value(self, key: str) -> int:
        s = t.series
        dialect = self._conn.dialect.name
        if dialect in t.MARIADB:
            stmt = mysql_insert(s).values(name=key, current=1)
            self._conn.execute(stmt.on_duplicate_key_update(current=s.c.current + 1))
        else:
            builder = pg_insert if dialect == "postgresql" else sqlite_insert
            ins = builder(s).values(name=key, current=1)
            self._conn.execute(ins.on_conflict_do_update(index_elements=[s.c.name], set_={"current": s.c.current + 1}))
        return int(self._conn.execute(select(s.c.current).where(s.c.name == key)).scalar_one())


def _address_from_row(row: Mapping[Any, Any], links: tuple[Link, ...]) -> Address:
    known = {
        "name", "address_title", "address_type", "address_line1", "address_line2", "city", "state",
        "country", "pincode", "is_primary_address", "is_shipping_address", "disabled", "modified",
    }  # fmt: skip
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
        links=links,
        extra={k: v for k, v in row.items() if k not in known},
    )


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: MariaDB compares names with a case-insensitive collation, as ERPNext relies on.
        self.case_insensitive_names = self.dialect in t.MARIADB
        self._reflected: dict[str, Table] = {}
        self._lock = threading.Lock()

    def exact(self, expression: Any) -> Any:
        """``expression`` compared character for character: MariaDB's default collation ignores case and
        accents, which would make ``cafe`` match ``Café`` and ``cus_a`` match ``CUS_A``."""
        return expression.collate("utf8mb4_bin") if self.case_insensitive_names else expression

    def table(self, doctype: str) -> Table:
        """The DocType's table as it exists in the database (custom fields included)."""
        name = _DOCTYPE_TABLES[doctype]
        with self._lock:
            if name not in self._reflected:
                self._reflected[name] = Table(name, MetaData(), autoload_with=self.engine)
            return self._reflected[name]

    def column_lengths(self, doctype: str) -> Mapping[str, int]:
        return {
            col.name: int(col.type.length)
            for col in self.table(doctype).columns
            if isinstance(col.type, String) and col.type.length
        }

    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        c = t.customer.c
        lowered = self.exact(func.lower(c.customer_name))
        query = (
            select(c.name, c.customer_name, c.email_id, c.mobile_no)
            .where(
                or_(c.medusa_id.is_(None), c.medusa_id == ""),
                c.disabled == 0,
                *(lowered.contains(word.lower(), autoescape=True) for word in words),
            )
            .order_by(c.customer_name, c.name)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [CustomerSummary(r.name, r.customer_name, r.email_id, r.mobile_no) for r in rows]

    def read(self, work: Callable[[SqlTransaction], T]) -> T:
        with self.engine.connect() as conn:
            try:
                return work(SqlTransaction(self, conn))
            finally:
                conn.rollback()

    def _holder(self, medusa_id: str) -> str | None:
        return self.read(lambda tx: tx.customer_with_medusa_id(medusa_id))

    def write(self, work: Callable[[SqlTransaction], T]) -> T:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
                    with conn.begin():
                        return work(SqlTransaction(self, conn))
            except _MedusaIdTaken as taken:
                # The transaction is rolled back; the holder is read afresh, outside any old snapshot.
                holder = self._holder(taken.medusa_id)
                if holder is not None:
                    raise ValidationError(linked_elsewhere_message(holder)) from None
                if attempt == _MAX_ATTEMPTS:
                    raise ValidationError("This Medusa ID is being linked by another request; try again") from None
                # The other writer rolled back: the id is free again, so try once more.
            except DBAPIError as exc:
                if not _is_retryable(exc) or attempt == _MAX_ATTEMPTS:
                    raise
                log.info("retrying a transaction after a transient conflict (attempt %d)", attempt)
        raise RuntimeError("unreachable: the last attempt either returned or raised")
