"""The change feed that keeps the mirror current: the site's Webhooks, and reconciliation passes.

* A **webhook** names a document and an event; the document is then read from the site (a webhook's body is
  never trusted for the values, and Frappe signs no timestamp, so a replayed or reordered delivery can only
  make the mirror read the current document again).
* A **pass** reads, per DocType, what changed since its watermark (``modified``, then ``name``: keyset pages,
  so a write during the pass cannot make it skip a row) and the site's Deleted Document records since the last
  one seen. The watermark is saved after every page, so a pass that stopped goes on where it was.
* A **full pass**, less often, walks every name on the site beside the mirror's, in name order: what the mirror
  has and the site does not is removed (renames, deletions whose record was purged), and every document is
  written again (edits made by SQL on the site that left ``modified`` alone). It then leaves the watermark at
  the newest document the site held when it began (so the next pass reads only what changed since, edits made
  during the full pass included, behind or ahead of its cursor), and has the database refresh its statistics
  of the mirror once.
Leads are mirrored only while they carry a ``medusa_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from erpnext_medusa.domain.errors import DoesNotExistError
from erpnext_medusa.domain.models import ADDRESS_FIELDS
from erpnext_medusa.store.site import documents
from erpnext_medusa.store.site.client import FrappeClient
from erpnext_medusa.store.site.outbound import OutboundChanges
from erpnext_medusa.store.sql.mirror import Mirror, SyncState

log = logging.getLogger(__name__)

CUSTOMER = "Customer"
LEAD = "Lead"
#: Not mirrored: an Address's change matters only to the outbox (the billing address of a linked Customer).
ADDRESS = "Address"
MIRRORED = (CUSTOMER, LEAD)
#: Documents asked for per call (Frappe's default page is 20; a site may cap larger pages).
PAGE = 500
_FIELDS = {CUSTOMER: documents.CUSTOMER_FIELDS, LEAD: documents.LEAD_FIELDS, ADDRESS: ("name", "modified")}
#: A Lead is mirrored while it carries a Medusa ID; an Address matters while it is linked to a Customer (a filter
#: on its ``links`` rows, as Frappe reads a child DocType's field).
_SCOPE: dict[str, list[list[Any]]] = {
    CUSTOMER: [],
    LEAD: [["medusa_id", "is", "set"]],
    ADDRESS: [["Dynamic Link", "link_doctype", "=", "Customer"]],
}


@dataclass(frozen=True)
class PassReport:
    doctype: str
    changed: int = 0
    removed: int = 0
    read: int = 0


Progress = Callable[[str, int], None]


class Feed:
    def __init__(
        self,
        client: FrappeClient,
        mirror: Mirror,
        *,
        now: Callable[[], datetime],
        outbound: OutboundChanges | None = None,
    ) -> None:
        self.client = client
        self.mirror = mirror
        self.now = now
        #: Where the changes of linked Customers go to be sent to Medusa (None: they are not sent).
        self.outbound = outbound

    # --- webhooks -----------------------------------------------------------------------------------------
    def document_changed(self, doctype: str, name: str) -> str:
        """Bring the mirror's copy of one document in line with the site; what was done (for the log)."""
        if doctype == ADDRESS and self.outbound is not None:
            return self.outbound.address_changed(name)
        if doctype not in MIRRORED:
            return "ignored"
        try:
            doc = self.client.get_doc(doctype, name)
        except DoesNotExistError:
            self._remove(doctype, [name])
            return "removed"
        self._store(doctype, [doc])
        return "updated"

    # --- passes -------------------------------------------------------------------------------------------
    def reconcile(self, *, full: bool = False, progress: Progress | None = None) -> list[PassReport]:
        """One pass over every mirrored DocType (a full one when asked, or when the last full pass is older than
        the caller decided); the watermarks advance as pages are stored."""
        reports = []
        for doctype in MIRRORED:
            report = self._full_pass(doctype, progress) if full else self._changes_pass(doctype, progress)
            reports.append(self._deletions(doctype, report))
        if self.outbound is not None:
            addresses = self._address_full_pass() if full else self._address_pass()
            reports.append(self._deletions(ADDRESS, addresses))
        if full:
            self.mirror.analyze()
        return reports

    def _address_pass(self) -> PassReport:
        """The Addresses linked to Customers changed since the watermark, each handed to the outbox (which
        records the linked Customers whose snapshot it changes). The first pass only sets the watermark at the
        site's newest Address and its newest Deleted Document record of one: a Customer's first sight records its
        address anyway."""
        state = self._state(ADDRESS)
        if state.watermark_modified is None:
            newest = self._newest(ADDRESS)
            deleted = self.client.get_list(
                "Deleted Document", fields=["creation"], filters=[["deleted_doctype", "=", ADDRESS]],
                order_by="creation desc", page_length=1,
            )  # fmt: skip
            if deleted:
                state = replace(state, deleted_creation=documents.site_datetime(deleted[0]["creation"]))
            if newest is not None:
                state = replace(state, watermark_modified=newest[0], watermark_name=newest[1])
            self.mirror.save_sync_state(ADDRESS, state)
            return PassReport(ADDRESS)
        return self._changes_pass(ADDRESS, None)

    def _address_full_pass(self) -> PassReport:
        """Every Address linked to a Customer, in name order, beside the billing addresses recorded with the
        linked Customers' snapshots: one that differs (an edit by SQL that left ``modified`` alone, say) is handed
        to the outbox; then the changes pass."""
        assert self.outbound is not None
        recorded = self.outbound.outbox.recorded_addresses()
        fields = ["name", "modified", "disabled", *ADDRESS_FIELDS]
        read = changed = 0
        after = ""
        while True:
            rows = self.client.get_list(
                ADDRESS, fields=fields, filters=[*_SCOPE[ADDRESS], ["name", ">", after]], order_by="name asc",
                page_length=PAGE,
            )  # fmt: skip
            names = [str(r["name"]) for r in rows]
            stale = [n for n, r in zip(names, rows, strict=True) if n in recorded
                     and self.outbound.address_differs(r, recorded[n])]  # fmt: skip
            read, changed = read + len(rows), changed + self._addresses_changed(stale)
            if len(rows) < PAGE:
                break
            after = names[-1]
        since = self._address_pass()
        return replace(since, read=since.read + read, changed=since.changed + changed)

    def _state(self, doctype: str) -> SyncState:
        return self.mirror.sync_state(doctype) or SyncState()

    def _changes_pass(self, doctype: str, progress: Progress | None) -> PassReport:
        state = self._state(doctype)
        report = PassReport(doctype)
        for page in self._pages_since(doctype, state.watermark_modified, state.watermark_name):
            report = replace(report, read=report.read + len(page), changed=report.changed + self._store(doctype, page))
            last = page[-1]
            state = replace(
                state, watermark_modified=documents.site_datetime(last["modified"]), watermark_name=str(last["name"])
            )
            self.mirror.save_sync_state(doctype, state)
            if progress is not None:
                progress(doctype, len(page))
        return report

    def _pages_since(self, doctype: str, modified: datetime | None, name: str | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of the documents changed after ``(modified, name)``, oldest first. Frappe's filters are ANDed, so
        the keyset condition is ``modified >= M`` with the rows already seen dropped; should a whole page share
        ``M`` (a bulk edit), the rest of that moment is walked by name, then the pages go on after it."""
        while True:
            rows = self._page(doctype, self._from(doctype, modified), "modified asc, name asc")
            fresh = [r for r in rows if modified is None or _key(r) > (modified, name or "")]
            exhausted = len(rows) < PAGE
            if not fresh and not exhausted:
                same = [*_SCOPE[doctype], ["modified", "=", str(modified)], ["name", ">", name or ""]]
                fresh = self._page(doctype, same, "name asc") or self._page(
                    doctype, [*_SCOPE[doctype], ["modified", ">", str(modified)]], "modified asc, name asc"
                )
            if not fresh:
                return
            yield fresh
            modified, name = _key(fresh[-1])
            if exhausted:
                return

    @staticmethod
    def _from(doctype: str, modified: datetime | None) -> list[list[Any]]:
        return [*_SCOPE[doctype], *([["modified", ">=", str(modified)]] if modified is not None else [])]

    def _page(self, doctype: str, filters: list[list[Any]], order_by: str) -> list[dict[str, Any]]:
        return self.client.get_list(
            doctype, fields=list(_FIELDS[doctype]), filters=filters, order_by=order_by, page_length=PAGE
        )

    def _deletions(self, doctype: str, report: PassReport) -> PassReport:
        """Remove what the site's Deleted Document records name since the last one seen."""
        state = self._state(doctype)
        filters: list[list[Any]] = [["deleted_doctype", "=", doctype]]
        if state.deleted_creation is not None:
            filters.append(["creation", ">", str(state.deleted_creation)])
        rows = self.client.get_list(
            "Deleted Document",
            fields=["deleted_name", "creation"],
            filters=filters,
            order_by="creation asc",
            page_length=PAGE,
        )
        if not rows:
            return report
        # A document deleted and created again under the same name is the site's again: keep those.
        gone = [str(r["deleted_name"]) for r in rows]
        present = {str(r["name"]) for r in self._existing(doctype, gone)}
        removed = self._remove(doctype, [n for n in gone if n not in present])
        newest = documents.site_datetime(rows[-1]["creation"])
        self.mirror.save_sync_state(doctype, replace(state, deleted_creation=newest))
        return replace(report, removed=report.removed + removed)

    def _existing(self, doctype: str, names: Sequence[str]) -> list[dict[str, Any]]:
        return self.client.get_list(doctype, fields=["name"], filters=[["name", "in", list(names)]], page_length=0)

    def _full_pass(self, doctype: str, progress: Progress | None) -> PassReport:
        """Every document of the site, page by page in name order, beside the mirror's names in the same order."""
        report = PassReport(doctype)
        began = self._newest(doctype)
        after = ""
        while True:
            filters = [*_SCOPE[doctype], ["name", ">", after]]
            rows = self.client.get_list(
                doctype, fields=list(_FIELDS[doctype]), filters=filters, order_by="name asc", page_length=PAGE
            )
            upto = str(rows[-1]["name"]) if len(rows) == PAGE else None
            site_names = {str(r["name"]) for r in rows}
            extra = [n for n in self._mirror_names(doctype, after, upto) if n not in site_names]
            removed = self._remove(doctype, extra)
            changed = self._store(doctype, rows)
            report = replace(
                report, read=report.read + len(rows), changed=report.changed + changed, removed=report.removed + removed
            )
            if progress is not None:
                progress(doctype, len(rows))
            if upto is None:
                break
            after = upto
        state = replace(self._state(doctype), compared_at=self.now())
        if began is not None and (
            state.watermark_modified is None or began > (state.watermark_modified, state.watermark_name or "")
        ):
            state = replace(state, watermark_modified=began[0], watermark_name=began[1])
        self.mirror.save_sync_state(doctype, state)
        return report

    def _newest(self, doctype: str) -> tuple[datetime, str] | None:
        """The site's newest document of ``doctype`` by (modified, name): where the changes stand now."""
        rows = self.client.get_list(
            doctype, fields=["name", "modified"], filters=_SCOPE[doctype], order_by="modified desc, name desc",
            page_length=1,
        )  # fmt: skip
        return _key(rows[0]) if rows else None

    def _mirror_names(self, doctype: str, after: str, upto: str | None) -> Iterator[str]:
        """The mirror's names after ``after`` up to ``upto`` (to the end when None)."""
        names = self.mirror.customer_names if doctype == CUSTOMER else self.mirror.lead_names
        cursor: str | None = after or None
        while True:
            page = names(after=cursor, limit=PAGE)
            for name in page:
                if upto is not None and name > upto:
                    return
                yield name
            if len(page) < PAGE:
                return
            cursor = page[-1]

    # --- the mirror ---------------------------------------------------------------------------------------
    def _store(self, doctype: str, docs: Sequence[dict[str, Any]]) -> int:
        if doctype == ADDRESS:
            return self._addresses_changed([str(d["name"]) for d in docs])
        if doctype == CUSTOMER:
            also = None if self.outbound is None else self.outbound.customers_changed(docs)
            return self.mirror.upsert_customers([documents.mirror_customer(d) for d in docs], also=also)
        keep = [documents.mirror_lead(d) for d in docs if d.get("medusa_id")]
        dropped = [str(d["name"]) for d in docs if not d.get("medusa_id")]
        return self.mirror.upsert_leads(keep) + (self.mirror.delete_leads(dropped) if dropped else 0)

    def _remove(self, doctype: str, names: Sequence[str]) -> int:
        if not names:
            return 0
        if doctype == ADDRESS:
            return self._addresses_changed(names)
        delete = self.mirror.delete_customers if doctype == CUSTOMER else self.mirror.delete_leads
        return delete(list(names))

    def _addresses_changed(self, names: Sequence[str]) -> int:
        """Addresses changed or deleted, to the outbox; how many changed a linked Customer's record."""
        assert self.outbound is not None
        return sum(self.outbound.address_changed(name) == "updated" for name in names)


def _key(row: dict[str, Any]) -> tuple[datetime, str]:
    return documents.site_datetime(row["modified"]) or datetime.min, str(row["name"])
