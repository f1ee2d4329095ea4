"""What the change feed tells the outbox: a linked Customer (one with a medusa_id) or an Address of one changed
on the site. The snapshot (domain/outbound.py) is built from the site's documents as they are now and recorded
in the outbox, which sends it when it is a new change.

A change the service itself wrote on the site (``modified_by`` is the service's API user: a shopper's address
through ``update_address``, a link from the intake) came from Medusa, so it is recorded without being sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.addresses import choose_address
from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.domain.errors import DoesNotExistError
from erpnext_medusa.store.site import documents
from erpnext_medusa.store.site.client import FrappeClient
from erpnext_medusa.store.site.store import SiteTransaction
from erpnext_medusa.store.sql.mirror import Mirror
from erpnext_medusa.store.sql.outbox import Outbox

log = logging.getLogger(__name__)

Recording = Callable[[Connection], None]


class OutboundChanges:
    """Turns the feed's documents into outbox records. ``owned``: the snapshot fields ERPNext owns."""

    def __init__(self, client: FrappeClient, mirror: Mirror, outbox: Outbox, owned: frozenset[str]) -> None:
        self.client = client
        self.mirror = mirror
        self.outbox = outbox
        self.owned = owned
        self._service_user: str | None = None

    def service_user(self) -> str:
        """The site's name of the API user the service writes as (asked once)."""
        if self._service_user is None:
            self._service_user = str(self.client.call("frappe.auth.get_logged_user") or "")
        return self._service_user

    def _snapshot(
        self, doc: Mapping[str, Any], changed: tuple[datetime, str | None] | None = None
    ) -> tuple[dict[str, Any], datetime, bool]:
        """The snapshot of a Customer document, its ``modified`` (the newest of the Customer's, its billing
        Address's and ``changed``'s: when and by whom an Address of the Customer changed, say one deleted or
        disabled, which the snapshot no longer holds) and whether the service itself made that latest change."""
        customer = documents.customer(doc)
        tx = SiteTransaction(self.client, self.outbox.engine)
        address = (
            choose_address(customer, tx.customer_addresses(customer.name)) if "billing_address" in self.owned else None
        )
        modified = documents.site_datetime(doc.get("modified")) or datetime.min
        changed_by = doc.get("modified_by")
        if address is not None and address.modified is not None and address.modified > modified:
            modified = address.modified
            changed_by = (self._get("Address", address.name) or {}).get("modified_by")
        if changed is not None and changed[0] > modified:
            modified, changed_by = changed
        snap = o.snapshot(customer, address, self.owned, default_countries())
        return snap, modified, changed_by == self.service_user()

    def customers_changed(self, docs: Sequence[Mapping[str, Any]]) -> Recording | None:
        """For the feed's page of Customers: the recording to run in the mirror's transaction (None when no
        linked Customer changed among them). Documents of a list read lack fields the snapshot needs; those are read
        whole."""
        linked = [d for d in docs if d.get("medusa_id") and not int(d.get("disabled") or 0) and self._changed(d)]
        if not linked:
            return None
        records = []
        for doc in linked:
            full = doc if "customer_primary_address" in doc else self._get("Customer", str(doc["name"]))
            if full is None:
                continue
            snap, modified, ours = self._snapshot(full)
            records.append((str(full["name"]), str(full["medusa_id"]), snap, modified, ours))

        def record(conn: Connection) -> None:
            for name, medusa_id, snap, modified, ours in records:
                self.outbox.record(conn, name, medusa_id, snap, modified, from_medusa=ours)

        return record

    def _changed(self, doc: Mapping[str, Any]) -> bool:
        """Whether the site's Customer is not the one the mirror holds (a full pass reads every Customer: the
        unchanged ones cost no further call)."""
        stored = self.mirror.get_customer(str(doc["name"]))
        modified = documents.site_datetime(doc.get("modified"))
        return stored is None or stored.modified != modified or stored.medusa_id != doc.get("medusa_id")

    def address_changed(self, name: str) -> str:
        """An Address changed, was disabled or was deleted: record each linked Customer it belongs to (a deleted
        one's links are read from its Deleted Document record). The Customer's snapshot is built afresh, so an
        Address that is no longer usable leaves it with its next billing address, or none."""
        doc = self._get("Address", name)
        if doc is None:
            doc = self._deleted_address(name)
        if doc is None:
            return "ignored"
        customers = [str(r["link_name"]) for r in doc.get("links") or [] if r.get("link_doctype") == "Customer"]
        changed = (documents.site_datetime(doc.get("modified")) or datetime.min, doc.get("modified_by"))
        recorded = 0
        for customer in dict.fromkeys(customers):
            mirrored = self.mirror.get_customer(customer)
            if mirrored is None or not mirrored.medusa_id:
                continue
            full = self._get("Customer", customer)
            if full is None or not full.get("medusa_id") or int(full.get("disabled") or 0):
                continue
            snap, modified, ours = self._snapshot(full, changed)
            self.outbox.record_alone(customer, str(full["medusa_id"]), snap, modified, from_medusa=ours)
            recorded += 1
        return "updated" if recorded else "ignored"

    def address_differs(self, row: Mapping[str, Any], recorded: Sequence[Mapping[str, Any]]) -> bool:
        """Whether an Address (a list row with its fields) is not the billing address ``recorded`` with the
        snapshots that name it (or is disabled now)."""
        if int(row.get("disabled") or 0):
            return True
        now = o.address_fields(documents.address(row, ""), default_countries())
        return any(dict(r) != now for r in recorded)

    def _deleted_address(self, name: str) -> dict[str, Any] | None:
        """A deleted Address as its newest Deleted Document record keeps it, ``modified`` and ``modified_by``
        being the deletion's (when and by whom)."""
        rows = self.client.get_list(
            "Deleted Document",
            fields=["data", "creation", "owner"],
            filters=[["deleted_doctype", "=", "Address"], ["deleted_name", "=", name]],
            order_by="creation desc",
            page_length=1,
        )
        if not rows:
            return None
        try:
            data = json.loads(rows[0].get("data") or "{}")
        except ValueError:
            log.warning("the Deleted Document record of Address %s holds no readable document", name)
            return None
        if not isinstance(data, dict):
            return None
        return {**data, "modified": rows[0]["creation"], "modified_by": rows[0].get("owner")}

    def _get(self, doctype: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.get_doc(doctype, name)
        except DoesNotExistError:
            return None
