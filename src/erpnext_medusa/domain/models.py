"""Plain records the domain works with; the storage adapters fill them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: The address fields a storefront may change through update_address, in display order.
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "country", "pincode")
#: Their labels in ERPNext, as messages name them.
ADDRESS_LABELS = {
    "address_line1": "Address Line 1",
    "address_line2": "Address Line 2",
    "city": "City",
    "state": "State",
    "country": "Country",
    "pincode": "Postal Code",
}


@dataclass(frozen=True)
class Origin:
    """Where a write came from, for the audit trail (all optional: the CLI has none of it)."""

    #: The client's address (after trusted proxies).
    client: str | None = None
    #: The id (never the secret) of the storefront key a guest presented.
    storefront_key: str | None = None
    #: The Medusa customer (``actor_id``) whose token a guest presented.
    medusa_actor: str | None = None
    #: The id the server gave the request, and the one the client sent with it (if any).
    request_id: str | None = None
    client_request_id: str | None = None


@dataclass(frozen=True)
class Stamp:
    """Who writes, and when (naive timestamp in the site's time zone, as Frappe stores it)."""

    user: str
    at: datetime
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class CustomerSummary:
    name: str
    customer_name: str
    email_id: str | None
    mobile_no: str | None


@dataclass(frozen=True)
class Customer:
    name: str
    customer_name: str
    medusa_id: str | None
    lead_name: str | None
    customer_primary_address: str | None
    #: The rendered text of the primary address (ERPNext's read-only copy), for the audit trail.
    primary_address: str | None = None
    #: Contact details, as the Customer shows them.
    email_id: str | None = None
    mobile_no: str | None = None


@dataclass(frozen=True)
class Lead:
    name: str
    medusa_id: str | None
    #: The contact fields the signup intake keeps up to date (names, e-mail, mobile, company), when loaded.
    contact: dict[str, str | None] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MedusaLead:
    """A Lead that carries a medusa_id, as the back office lists them."""

    name: str
    lead_name: str | None
    email_id: str | None
    medusa_id: str
    #: The Customer that carries the same medusa_id, if any.
    customer: str | None
    mobile_no: str | None = None
    #: When the Lead was made: the Medusa signup's date.
    creation: datetime | None = None


@dataclass(frozen=True)
class DuplicateGroup:
    """Documents sharing a contact detail: ``kind`` is customer-email, customer-phone or lead-email; ``key`` the
    shared value as compared; ``members`` each (name, title, the value as typed)."""

    kind: str
    key: str
    members: list[tuple[str, str, str]]


@dataclass(frozen=True)
class Link:
    link_doctype: str
    link_name: str
    #: The linked document's title (a Customer's customer_name); not part of the link's identity.
    link_title: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Address:
    name: str
    address_title: str | None
    address_type: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    country: str | None
    pincode: str | None
    is_primary_address: bool = False
    is_shipping_address: bool = False
    disabled: bool = False
    modified: datetime | None = None
    #: Also linked to a party other than the Customer it was loaded for (as the database compares names).
    shared: bool = False
    #: Every other column of the row, copied verbatim when the address is forked.
    extra: dict[str, object] = field(default_factory=dict, compare=False)
