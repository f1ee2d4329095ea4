"""The live-site adapter of the storage ports: the documents are a live ERPNext site's, read and written only
through its REST API (:mod:`.client`); searches read the service's own mirror (:mod:`..sql.mirror`); the
service's own records (audit trail, handled intake events) are kept in its own database.

A unit of work here is not one database transaction: each write is one Frappe document save, which the site
validates, names, hooks and versions as it does a desk user's, and commits on its own. So:

* the writes of one operation are few and ordered so that every prefix leaves the site consistent (an Address
  is created together with its links, in one insert; a forked Address gets its copy before the shared one
  loses the Customer's link), and running the operation again completes it;
* a write is never sent twice (the client never repeats an insert that may have reached the site; an insert
  whose answer was lost is looked up before anything else is done);
* the audit rows and intake events of an operation are written to the service's database once the site has
  confirmed its writes; when a later write fails, what the site did confirm is still recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, insert, select

from erpnext_medusa.domain.audit import AuditEntry
from erpnext_medusa.domain.countries import default_countries, match_country
from erpnext_medusa.domain.errors import (
    DoesNotExistError,
    MedusaIdLinkedElsewhereError,
    ServiceError,
    StaleDocumentError,
    UncertainWriteError,
    ValidationFailedError,
)
from erpnext_medusa.domain.intake import CONTACT_FIELDS
from erpnext_medusa.domain.models import (
    Address,
    Customer,
    CustomerSummary,
    DuplicateGroup,
    Lead,
    Link,
    MedusaLead,
    Stamp,
)
from erpnext_medusa.store.site import documents
from erpnext_medusa.store.site.client import FrappeClient
from erpnext_medusa.store.sql.audit import insert_audit
from erpnext_medusa.store.sql.errors import translated
from erpnext_medusa.store.sql.mirror import Mirror
from erpnext_medusa.store.sql.store import Observer, observe_pools, readiness
from erpnext_medusa.store.sql.tables import intake_event

log = logging.getLogger(__name__)
T = TypeVar("T")

#: An ERPNext party has a handful of Addresses; more than this many linked to one Customer is read no further.
_MOST_ADDRESSES = 100
_STANDALONE_ONLY = "Importing documents works on the standalone shape only; on a live site, use ERPNext's Data Import."


class SiteTransaction:
    """One operation's calls to the site, and what it wrote (for the mirror and the audit trail)."""

    def __init__(self, client: FrappeClient, engine: Engine) -> None:
        self._client = client
        self._engine = engine
        #: The ``modified`` of each document as this operation read it (sent back with its updates, so that a
        #: desk edit made in between is not overwritten).
        self._read_modified: dict[tuple[str, str], str] = {}
        self.audit: list[AuditEntry] = []
        self.intake: list[dict[str, Any]] = []
        #: The documents the site returned from each write, in order, with the fields that write sent.
        self.written: list[documents.Written] = []
        self.stamp: Stamp | None = None

    # --- reads -------------------------------------------------------------------------------------------
    def _get(self, doctype: str, name: str) -> dict[str, Any] | None:
        try:
            doc = self._client.get_doc(doctype, name)
        except DoesNotExistError:
            return None
        self._read_modified[(doctype, str(doc["name"]))] = str(doc.get("modified", ""))
        return doc

    def get_customer(self, name: str, *, lock: bool = False) -> Customer | None:
        doc = self._get("Customer", name)
        return None if doc is None else documents.customer(doc)

    def get_lead(self, name: str) -> Lead | None:
        doc = self._get("Lead", name)
        return None if doc is None else documents.lead(doc)

    def customer_with_medusa_id(self, medusa_id: str) -> str | None:
        rows = self._client.get_list(
            "Customer", fields=["name"], filters=[["medusa_id", "=", medusa_id]], order_by="name asc", page_length=1
        )
        return str(rows[0]["name"]) if rows else None

    def lead_with_medusa_id(self, medusa_id: str) -> Lead | None:
        rows = self._client.get_list(
            "Lead",
            fields=["name", "medusa_id", "modified", *CONTACT_FIELDS],
            filters=[["medusa_id", "=", medusa_id]],
            order_by="name asc",
            page_length=1,
        )
        if not rows:
            return None
        self._read_modified[("Lead", str(rows[0]["name"]))] = str(rows[0].get("modified", ""))
        return documents.lead(rows[0])

    def intake_event(self, event_id: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(intake_event.c.lead).where(intake_event.c.name == event_id)).scalar()

    def customer_addresses(self, customer: str) -> list[Address]:
        rows = self._client.get_list(
            "Address",
            fields=["name"],
            filters=[
                ["Dynamic Link", "link_doctype", "=", "Customer"],
                ["Dynamic Link", "link_name", "=", customer],
                ["disabled", "=", 0],
            ],
            order_by="name asc",
            page_length=_MOST_ADDRESSES,
        )
        found = (self._get("Address", str(row["name"])) for row in rows)
        return [documents.address(doc, customer) for doc in found if doc is not None and not doc.get("disabled")]

    def find_country(self, value: str) -> str | None:
        # ERPNext's Country list is fixed data, the same on every site: no call to the site.
        return match_country(value, default_countries())

    def title_of(self, doctype: str, name: str) -> str | None:
        doc = self._get(doctype, name) if doctype == "Customer" else None
        return None if doc is None else str(doc.get("customer_name") or name)

    # --- writes ------------------------------------------------------------------------------------------
    def _with_read_modified(self, doctype: str, name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        modified = self._read_modified.get((doctype, name))
        return {**changes, "modified": modified} if modified else dict(changes)

    def _update(self, doctype: str, name: str, changes: Mapping[str, Any], stamp: Stamp) -> dict[str, Any]:
        self.stamp = stamp
        doc = self._client.update(doctype, name, self._with_read_modified(doctype, name, changes))
        self._read_modified[(doctype, name)] = str(doc.get("modified", ""))
        self.written.append(documents.Written(doctype, doc, dict(changes)))
        return doc

    def _insert(self, doctype: str, row: Mapping[str, Any], stamp: Stamp) -> dict[str, Any]:
        self.stamp = stamp
        doc = self._client.insert(doctype, row)
        self.written.append(documents.Written(doctype, doc, dict(row)))
        return doc

    def link_customer(self, customer: str, medusa_id: str, lead: str, stamp: Stamp) -> bool:
        try:
            self._update("Customer", customer, {"medusa_id": medusa_id, "lead_name": lead}, stamp)
        except StaleDocumentError:
            current = self._client.get_doc("Customer", customer)  # changed since it was read: look again
            if (current.get("medusa_id") or medusa_id) != medusa_id:
                return False
            self._read_modified[("Customer", customer)] = str(current.get("modified", ""))
            self._update("Customer", customer, {"medusa_id": medusa_id, "lead_name": lead}, stamp)
        except ValidationFailedError as exc:
            holder = self.customer_with_medusa_id(medusa_id) if documents.is_unique_refusal(exc) else None
            if holder is not None and holder != customer:  # the site's unique field decided a race
                raise MedusaIdLinkedElsewhereError(holder) from None
            raise
        return True

    def unlink_customer(self, customer: str, medusa_id: str, stamp: Stamp) -> bool:
        cleared = {"medusa_id": None, "lead_name": None}
        try:
            self._update("Customer", customer, cleared, stamp)
        except StaleDocumentError:
            current = self._client.get_doc("Customer", customer)  # changed since it was read: look again
            if current.get("medusa_id") != medusa_id:
                return False
            self._read_modified[("Customer", customer)] = str(current.get("modified", ""))
            self._update("Customer", customer, cleared, stamp)
        return True

    def update_address(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None:
        self._update("Address", name, changes, stamp)

    def insert_address(self, row: Mapping[str, Any], links: Sequence[Link], stamp: Stamp) -> str:
        doc = self._insert("Address", {**row, "links": [documents.link_row(link) for link in links]}, stamp)
        return str(doc["name"])

    def remove_link(self, parent: str, link: Link, stamp: Stamp) -> None:
        doc = self._get("Address", parent)
        if doc is None:
            return
        kept = [row for row in doc.get("links", []) if not documents.same_link(row, link)]
        self._update("Address", parent, {"links": kept}, stamp)

    def set_primary_address(self, customer: str, address: str | None, display: str | None, stamp: Stamp) -> None:
        self._update("Customer", customer, {"customer_primary_address": address, "primary_address": display}, stamp)

    def refresh_primary_address_display(self, customer: str, address: str, display: str, stamp: Stamp) -> None:
        """Nothing to do: ERPNext's own Address hook renders the text onto every Customer whose primary Address
        was saved."""

    def insert_lead(self, row: Mapping[str, Any], stamp: Stamp) -> str:
        try:
            doc = self._insert("Lead", row, stamp)
        except UncertainWriteError:
            # The answer may have been lost after the site created the Lead: look before anyone sends it again.
            existing = self._lookup_after_lost_answer(str(row.get("medusa_id") or ""))
            if existing is None:
                raise
            return existing
        return str(doc["name"])

    def _lookup_after_lost_answer(self, medusa_id: str) -> str | None:
        if not medusa_id:
            return None
        try:
            found = self.lead_with_medusa_id(medusa_id)
        except ServiceError:
            return None
        return None if found is None else found.name

    def update_lead(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None:
        self._update("Lead", name, changes, stamp)

    def record_intake_event(self, event_id: str, medusa_id: str, lead: str, outcome: str, stamp: Stamp) -> None:
        self.intake.append(
            {"name": event_id, "received_at": stamp.at, "medusa_id": medusa_id, "lead": lead, "outcome": outcome}
        )

    def record_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    # --- what only the standalone shape does (the importer) -------------------------------------------------
    def stored_names(self, doctype: str, names: Iterable[str]) -> dict[str, str]:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def names_with_prefix(self, doctype: str, prefix: str) -> list[str]:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def next_series_value(self, key: str) -> int:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def insert_document(self, doctype: str, row: Mapping[str, Any], stamp: Stamp) -> None:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def insert_batch(self, doctype: str, rows: Sequence[Mapping[str, Any]], stamp: Stamp) -> bool:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def insert_links(self, parent_doctype: str, parent: str, links: Sequence[Link], stamp: Stamp) -> None:
        raise ValidationFailedError(_STANDALONE_ONLY)

    def clear_preferred_flag(self, flag: str, link: Link, except_address: str, stamp: Stamp) -> None:
        raise ValidationFailedError(_STANDALONE_ONLY)


class SiteStore:
    """The storage ports over a live site (``client``), the mirror, and the service's database (``engine``)."""

    def __init__(self, client: FrappeClient, mirror: Mirror, engine: Engine) -> None:
        self.client = client
        self.mirror = mirror
        self.engine = engine

    @property
    def engines(self) -> list[Engine]:
        """The service's own database, then the replica searches read from, if there is one."""
        replica = self.mirror.read_engine
        return [self.engine] if replica is self.engine else [self.engine, replica]

    def observe(self, observer: Observer) -> None:
        """Report connections checked out of the service's database pools to ``observer``."""
        observe_pools(self.engines, observer)

    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        return self.mirror.search_unlinked_customers(words, limit=limit, offset=offset)

    def take_search_statistics(self) -> None:
        """Sample the mirror's names the typeahead's planner estimates by (a server does it as it starts)."""
        self.mirror.search.take_statistics()

    def search_medusa_leads(
        self, text: str, *, unlinked_only: bool, limit: int, offset: int, name: str | None = None
    ) -> list[MedusaLead]:
        return self.mirror.search_medusa_leads(text, unlinked_only=unlinked_only, limit=limit, offset=offset, name=name)

    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        return self.mirror.duplicate_groups(limit)

    def linked_customer(self, medusa_id: str) -> str | None:
        # The mirror answers without a call to the site (a link made on the desk reaches it with the next pass).
        return self.mirror.customer_with_medusa_id(medusa_id)

    def column_lengths(self, doctype: str) -> Mapping[str, int]:
        # The site checks its own columns (Customize Form may have changed them) and says so in its refusal;
        # the DocType's standard lengths, which the domain applies without this, are the only bound needed here.
        return {}

    def read(self, work: Callable[[SiteTransaction], T]) -> T:
        return work(SiteTransaction(self.client, self.engine))

    def write(self, work: Callable[[SiteTransaction], T]) -> T:
        tx = SiteTransaction(self.client, self.engine)
        try:
            result = work(tx)
        except Exception:
            if tx.written:  # the site confirmed part of the operation: keep the record of that part
                log.error("an operation stopped after %d confirmed write(s) to the site", len(tx.written))
                self._record(tx, complete=False)
            raise
        self._record(tx, complete=True)
        return result

    @translated
    def _record(self, tx: SiteTransaction, *, complete: bool) -> None:
        """The operation's audit rows and intake events (one transaction of the service's database), then the
        mirror's copies of what the site returned."""
        with self.engine.begin() as conn:
            for entry in tx.audit if complete else documents.partial_audit(tx.audit, tx.written, tx.stamp):
                insert_audit(conn, entry)
            if complete and tx.intake:
                conn.execute(insert(intake_event), tx.intake)
        documents.mirror_written(self.mirror, tx.written)

    def readiness(self) -> str | None:
        """Why the service cannot serve now: its own database does not answer or is behind its migrations. The
        site's own state is reported by ``erpnext check`` and by the sync metrics: searches and sign-ins work
        while the site is away."""
        return readiness(self.engines, track="site")
