"""The ports: what the domain needs from a place that holds ERPNext documents and the service's own records.

An adapter (SQL today, ERPNext's REST API later) implements them; the domain knows nothing else of it. Every
write runs inside :meth:`Store.write`, one unit of work that is committed once at the end or rolled back
whole; nothing in a :class:`Transaction` commits on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from erpnext_medusa.domain.audit import AuditEntry, AuditRecord
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

T = TypeVar("T")

#: A document to insert: column name -> value (the adapter adds the standard columns from the stamp).
Row = Mapping[str, Any]


class NameSource(Protocol):
    """What naming a new document needs: which names are taken, and ERPNext's series counters."""

    def stored_names(self, doctype: str, names: Iterable[str]) -> dict[str, str]:
        """For each of ``names`` that exists as a ``doctype`` document, its name as stored (the database
        decides what counts as the same name: on MariaDB, ``acme`` is ``Acme``)."""

    def names_with_prefix(self, doctype: str, prefix: str) -> list[str]:
        """Names of ``doctype`` that start with ``prefix`` (a literal prefix, not a pattern)."""

    def next_series_value(self, key: str) -> int:
        """Increment and return the naming-series counter ``key`` (tabSeries), as ERPNext does."""


class Transaction(NameSource, Protocol):
    # --- reads -------------------------------------------------------------------------------------------
    def get_customer(self, name: str, *, lock: bool = False) -> Customer | None:
        """The Customer called ``name``; ``lock`` holds it against concurrent writers until the end."""

    def get_lead(self, name: str) -> Lead | None: ...

    def customer_with_medusa_id(self, medusa_id: str) -> str | None:
        """The name of the Customer that carries ``medusa_id``, if any."""

    def lead_with_medusa_id(self, medusa_id: str) -> Lead | None:
        """The Lead that carries ``medusa_id`` (compared exactly, as its unique index does), with its contact
        fields loaded."""

    def intake_event(self, event_id: str) -> str | None:
        """The Lead a webhook event already handled concerned (None: the event is new)."""

    def customer_addresses(self, customer: str) -> list[Address]:
        """Enabled Addresses linked to the Customer; ``shared`` tells which are linked to another party too."""

    def find_country(self, value: str) -> str | None:
        """The canonical tabCountry name for a name (any case) or an ISO-2 code."""

    def title_of(self, doctype: str, name: str) -> str | None:
        """The title ERPNext shows for a linked document (a Customer's customer_name)."""

    # --- writes ------------------------------------------------------------------------------------------
    def link_customer(self, customer: str, medusa_id: str, lead: str, stamp: Stamp) -> bool:
        """Set medusa_id and lead_name on the Customer unless it holds a different id (then False, nothing
        changed). If the database's unique index refuses the id, :meth:`Store.write` rolls back and raises
        MedusaIdLinkedElsewhereError naming the Customer that holds it."""

    def unlink_customer(self, customer: str, medusa_id: str, stamp: Stamp) -> bool:
        """Clear medusa_id and lead_name on the Customer if it still holds ``medusa_id`` (else False, nothing
        changed)."""

    def update_address(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None: ...

    def insert_lead(self, row: Row, stamp: Stamp) -> str:
        """Insert a Lead named as ERPNext names it (its ``naming_series``), and return that name. When the
        database's unique index refuses its medusa_id (a concurrent writer created that Lead first),
        :meth:`Store.write` rolls back and runs the work again, which then finds that Lead."""

    def update_lead(self, name: str, changes: Mapping[str, str | None], stamp: Stamp) -> None: ...

    def record_intake_event(self, event_id: str, medusa_id: str, lead: str, outcome: str, stamp: Stamp) -> None:
        """Remember a handled webhook event. Should a concurrent delivery of the same event record it first,
        :meth:`Store.write` rolls back and runs the work again, which then finds it handled."""

    def insert_address(self, row: Row, links: Sequence[Link], stamp: Stamp) -> str:
        """Insert an Address with its Dynamic Links, named as ERPNext names it (``{address_title}-{address_type}``,
        with a number when taken), and return that name."""

    def insert_document(self, doctype: str, row: Row, stamp: Stamp) -> None: ...

    def insert_batch(self, doctype: str, rows: Sequence[Row], stamp: Stamp) -> bool:
        """Insert many named documents at once, if none of them collides with a stored document or with
        another of the batch (by name, or by a unique key such as a Customer's medusa_id). False, with none
        of them inserted, otherwise: the caller then goes one by one to name the culprit."""

    def insert_links(self, parent_doctype: str, parent: str, links: Sequence[Link], stamp: Stamp) -> None:
        """Append Dynamic Link child rows to a document."""

    def remove_link(self, parent: str, link: Link, stamp: Stamp) -> None:
        """Remove an Address's Dynamic Link rows to ``link`` (the Address counts as modified)."""

    def clear_preferred_flag(self, flag: str, link: Link, except_address: str, stamp: Stamp) -> None:
        """Unset ``flag`` (is_primary_address / is_shipping_address) on the party's other Addresses."""

    def set_primary_address(self, customer: str, address: str | None, display: str | None, stamp: Stamp) -> None:
        """Point the Customer at its primary Address and store the rendered text."""

    def refresh_primary_address_display(self, customer: str, address: str, display: str, stamp: Stamp) -> None:
        """Store the rendered text on the Customer if its primary Address is ``address``."""

    def record_audit(self, entry: AuditEntry) -> None:
        """Add an audit row in this transaction: it is committed with the write it describes, or not at all."""


class Store(Protocol):
    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        """Enabled Customers without a medusa_id whose customer_name contains every word (lower-cased,
        literal substring), ordered by customer_name then name."""

    def search_medusa_leads(
        self, text: str, *, unlinked_only: bool, limit: int, offset: int, name: str | None = None
    ) -> list[MedusaLead]:
        """Leads that carry a medusa_id whose lead_name, email_id or medusa_id contains ``text`` (both
        case-folded, literal substring; blank: all), those on no Customer first, then newest first, then by name.
        ``unlinked_only`` leaves out those a Customer already carries; ``name`` keeps only the Lead of that
        name."""

    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        """Customers sharing an e-mail (case-folded) or a phone (its last digits), and Leads sharing an e-mail:
        at most ``limit`` groups of each, the largest first."""

    def linked_customer(self, medusa_id: str) -> str | None:
        """The name of the Customer that carries ``medusa_id``, if any, from the quickest place that knows it
        (on a live site, the service's mirror of it)."""

    def write(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one transaction: commit once at the end, roll back whole on any error, and run it
        again from the start when the database reports a deadlock, a serialisation failure, or a unique key
        (a document's name, a Lead's medusa_id, a webhook event's id) taken by a concurrent writer since
        ``work`` checked it."""

    def read(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a read-only transaction."""

    def column_lengths(self, doctype: str) -> Mapping[str, int]:
        """Maximum length of each varchar column of the DocType's table, as the database defines it."""


class AuditLog(Protocol):
    def list_audit(
        self, *, customer: str | None, since: datetime | None, limit: int, customer_part: str | None = None
    ) -> list[AuditRecord]:
        """The newest ``limit`` entries (of one Customer, at or after ``since``, of the Customers whose name
        contains ``customer_part`` case-insensitively), oldest of them first."""


@dataclass(frozen=True)
class ApiKeyRecord:
    api_key: str
    user: str
    secret_sha256: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None


class ApiKeyStore(Protocol):
    def add_api_key(self, record: ApiKeyRecord) -> None: ...

    def get_api_key(self, api_key: str) -> ApiKeyRecord | None: ...

    def list_api_keys(self) -> list[ApiKeyRecord]: ...

    def revoke_api_key(self, api_key: str, at: datetime) -> bool:
        """Revoke a key; False when there is no such active key."""

    def touch_api_key(self, api_key: str, at: datetime) -> None:
        """Record that the key was used at ``at``."""
