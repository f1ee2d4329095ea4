"""Between a live site's documents (Frappe's ``as_dict`` JSON) and the records the domain and the mirror keep:
pure mappings, one function per direction, testable alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from erpnext_medusa.domain.audit import INCOMPLETE_WRITE, AuditEntry
from erpnext_medusa.domain.errors import ServiceError
from erpnext_medusa.domain.intake import CONTACT_FIELDS
from erpnext_medusa.domain.models import ADDRESS_FIELDS, Address, Customer, Lead, Link, Stamp
from erpnext_medusa.store.sql.mirror import Mirror, MirrorCustomer, MirrorLead

#: The fields the mirror keeps, as a list read asks the site for them.
CUSTOMER_FIELDS = (
    "name", "customer_name", "email_id", "mobile_no", "medusa_id", "lead_name", "disabled", "modified",
    "modified_by", "customer_primary_address",
)  # fmt: skip
LEAD_FIELDS = (
    "name", "lead_name", "company_name", "email_id", "mobile_no", "phone", "medusa_id", "creation", "modified",
)  # fmt: skip
#: What Frappe calls a refusal of a value a unique field already holds.
_UNIQUE_REFUSALS = {"UniqueValidationError", "DuplicateEntryError"}


@dataclass(frozen=True)
class Written:
    """One write the site confirmed: the document as it answered, and the fields that were sent."""

    doctype: str
    doc: Mapping[str, Any]
    sent: Mapping[str, Any]


def _text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return None if value in (None, "") else str(value)


def site_datetime(value: Any) -> datetime | None:
    """Frappe's ``"2026-12-07 10:00:00.123456"`` (naive, in the site's time zone)."""
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def customer(doc: Mapping[str, Any]) -> Customer:
    return Customer(
        name=str(doc["name"]),
        customer_name=str(doc.get("customer_name") or doc["name"]),
        medusa_id=_text(doc, "medusa_id"),
        lead_name=_text(doc, "lead_name"),
        customer_primary_address=_text(doc, "customer_primary_address"),
        primary_address=_text(doc, "primary_address"),
        email_id=_text(doc, "email_id"),
        mobile_no=_text(doc, "mobile_no"),
    )


def lead(doc: Mapping[str, Any]) -> Lead:
    return Lead(
        name=str(doc["name"]),
        medusa_id=_text(doc, "medusa_id"),
        contact={field: _text(doc, field) for field in CONTACT_FIELDS if field in doc} or {},
    )


def same_link(row: Mapping[str, Any], link: Link) -> bool:
    return row.get("link_doctype") == link.link_doctype and row.get("link_name") == link.link_name


def link_row(link: Link) -> dict[str, Any]:
    """A Dynamic Link child row as an Address insert takes it."""
    return {"link_doctype": link.link_doctype, "link_name": link.link_name, "link_title": link.link_title}


def address(doc: Mapping[str, Any], customer_name: str) -> Address:
    """An Address as the domain chooses and changes it; ``shared`` when it is linked to another party too."""
    me = Link("Customer", customer_name)
    links = doc.get("links") or []
    standard = {"name", "links", *ADDRESS_FIELDS, "address_title", "address_type", "is_primary_address",
                "is_shipping_address", "disabled", "modified", "doctype"}  # fmt: skip
    return Address(
        name=str(doc["name"]),
        address_title=_text(doc, "address_title"),
        address_type=_text(doc, "address_type"),
        **{field: _text(doc, field) for field in ADDRESS_FIELDS},
        is_primary_address=bool(doc.get("is_primary_address")),
        is_shipping_address=bool(doc.get("is_shipping_address")),
        disabled=bool(doc.get("disabled")),
        modified=site_datetime(doc.get("modified")),
        shared=any(not same_link(row, me) for row in links),
        # Only the site's own fields are copied to a fork; the standard ones the site sets itself.
        extra={k: v for k, v in doc.items() if k not in standard and not isinstance(v, list)},
    )


def mirror_customer(doc: Mapping[str, Any]) -> MirrorCustomer:
    return MirrorCustomer(
        name=str(doc["name"]),
        customer_name=str(doc.get("customer_name") or doc["name"]),
        email_id=_text(doc, "email_id"),
        mobile_no=_text(doc, "mobile_no"),
        medusa_id=_text(doc, "medusa_id"),
        lead_name=_text(doc, "lead_name"),
        disabled=bool(int(doc.get("disabled") or 0)),
        modified=site_datetime(doc.get("modified")) or datetime.min,
    )


def mirror_lead(doc: Mapping[str, Any]) -> MirrorLead:
    return MirrorLead(
        name=str(doc["name"]),
        lead_name=_text(doc, "lead_name"),
        company_name=_text(doc, "company_name"),
        email_id=_text(doc, "email_id"),
        mobile_no=_text(doc, "mobile_no"),
        phone=_text(doc, "phone"),
        medusa_id=_text(doc, "medusa_id"),
        creation=site_datetime(doc.get("creation")),
        modified=site_datetime(doc.get("modified")) or datetime.min,
    )


def is_unique_refusal(exc: ServiceError) -> bool:
    return getattr(exc, "exc_type", None) in _UNIQUE_REFUSALS


def partial_audit(recorded: Sequence[AuditEntry], written: Sequence[Written], stamp: Stamp | None) -> list[AuditEntry]:
    """The audit rows of an operation that stopped after the site had confirmed some of its writes: what it had
    recorded, else one entry naming each confirmed document with the fields sent to it."""
    if recorded or stamp is None or not written:
        return list(recorded)
    customer = next((w.doc["name"] for w in written if w.doctype == "Customer"), None)
    entry = AuditEntry.start(INCOMPLETE_WRITE, stamp, None if customer is None else str(customer))
    for w in written:
        entry.touch(w.doctype, str(w.doc["name"]), {}, {k: v for k, v in w.sent.items() if k != "modified"})
    return [entry]


def mirror_written(mirror: Mirror, written: Sequence[Written]) -> None:
    """Bring the mirror's copies of the Customers and Leads the site returned up to date."""
    customers = [mirror_customer(w.doc) for w in written if w.doctype == "Customer"]
    leads = [mirror_lead(w.doc) for w in written if w.doctype == "Lead" and w.doc.get("medusa_id")]
    if customers:
        mirror.upsert_customers(customers)
    if leads:
        mirror.upsert_leads(leads)
