"""What the back office reads and who there may link: a Customer with its addresses, the Medusa Leads, the audit
trail, and the rule that decides who may link a Lead to a Customer (the API's ``link_medusa_lead`` and the admin
pages apply the same one)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime

from erpnext_medusa.domain.accounts import ADMINISTRATOR, Accounts
from erpnext_medusa.domain.addresses import choose_address
from erpnext_medusa.domain.audit import AuditRecord
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import DoesNotExistError, NotPermittedError, ValidationFailedError
from erpnext_medusa.domain.models import Address, Customer, Lead, MedusaLead
from erpnext_medusa.domain.ports import AuditLog, Store, Transaction
from erpnext_medusa.domain.text import check_length, required_name, storable

#: The message of a refused link (Frappe's, for a user without permission on Customer).
LINK_REFUSED = "Insufficient Permission for Customer"
#: Leads listed per page, at most.
MAX_LEADS_PAGE = 50
#: Audit entries listed at once, at most.
MAX_AUDIT_ROWS = 500


def may_link(accounts: Accounts, user: str, link_roles: Set[str]) -> bool:
    """Administrator always may; an ERPNext user needs one of ``link_roles``; a user ERPNext does not know (the
    service's own user, or an API key of the service's own) is not held to ERPNext's roles."""
    if user == ADMINISTRATOR:
        return True
    roles = accounts.roles(user)
    return roles is None or bool(roles & link_roles)


def require_link_role(accounts: Accounts, user: str, link_roles: Set[str]) -> None:
    if not may_link(accounts, user, link_roles):
        raise NotPermittedError(LINK_REFUSED, reason="missing_role")


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    addresses: list[Address]
    #: The address update_address would change (None: it would create one).
    billing: str | None


def view_customer(store: Store, name: str) -> CustomerView:
    """The Customer with its enabled addresses, the billing one (as update_address chooses it) named."""
    name = required_name("Customer", name)

    def work(tx: Transaction) -> CustomerView:
        customer = tx.get_customer(name)
        if customer is None:
            raise DoesNotExistError(f"Customer {name} not found")
        addresses = tx.customer_addresses(customer.name)
        chosen = choose_address(customer, addresses)
        return CustomerView(customer, addresses, chosen.name if chosen else None)

    return store.read(work)


def preview_link(store: Store, customer: str, lead: str) -> tuple[Customer, Lead | None]:
    """The Customer and the Lead a link would join (the Lead None when there is none by that name); the checks
    themselves are :func:`~erpnext_medusa.domain.leads.link_medusa_lead`'s."""
    customer = required_name("Customer", customer)
    lead = required_name("Lead", lead)

    def work(tx: Transaction) -> tuple[Customer, Lead | None]:
        found = tx.get_customer(customer)
        if found is None:
            raise DoesNotExistError(f"Customer {customer} not found")
        return found, tx.get_lead(lead)

    return store.read(work)


def find_medusa_leads(
    store: Store, text: str | None, *, unlinked_only: bool = False, limit: int = 20, offset: int = 0
) -> list[MedusaLead]:
    """Leads carrying a medusa_id whose name, e-mail or medusa_id contains ``text`` (case-insensitive, literal),
    unlinked ones first; ``limit`` is held to :data:`MAX_LEADS_PAGE`."""
    wanted = check_length("search", storable("search", text or "").strip(), NAME_LENGTH)
    if offset < 0 or limit < 1:
        raise ValidationFailedError("The page must be a whole number, 0 or more")
    return store.search_medusa_leads(
        wanted, unlinked_only=unlinked_only, limit=min(limit, MAX_LEADS_PAGE), offset=offset
    )


def audit_trail(
    log: AuditLog, *, customer: str | None = None, since: datetime | None = None, limit: int = 100
) -> list[AuditRecord]:
    """The newest entries first, of one Customer and from ``since`` on when given; at most
    :data:`MAX_AUDIT_ROWS`."""
    records = log.list_audit(customer=customer or None, since=since, limit=max(1, min(limit, MAX_AUDIT_ROWS)))
    return sorted(records, key=lambda r: r.id, reverse=True)
