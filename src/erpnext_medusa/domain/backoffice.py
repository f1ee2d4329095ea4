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
from erpnext_medusa.domain.models import Address, Customer, CustomerSummary, DuplicateGroup, Lead, MedusaLead
from erpnext_medusa.domain.ports import AuditLog, Store, Transaction
from erpnext_medusa.domain.text import check_length, fold, required_name, storable

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


@dataclass(frozen=True)
class LinkPreview:
    """What a link would join, for the confirmation: the Customer, the Lead (None when there is none by that
    name) and, when the Lead carries a medusa_id, its details as the Leads list shows them."""

    customer: Customer
    lead: Lead | None
    details: MedusaLead | None


def preview_link(store: Store, customer: str, lead: str) -> LinkPreview:
    """The checks themselves are :func:`~erpnext_medusa.domain.leads.link_medusa_lead`'s."""
    customer = required_name("Customer", customer)
    lead = required_name("Lead", lead)

    def work(tx: Transaction) -> tuple[Customer, Lead | None]:
        found = tx.get_customer(customer)
        if found is None:
            raise DoesNotExistError(f"Customer {customer} not found")
        return found, tx.get_lead(lead)

    found, chosen = store.read(work)
    return LinkPreview(found, chosen, medusa_lead(store, lead) if chosen and chosen.medusa_id else None)


def medusa_lead(store: Store, name: str) -> MedusaLead | None:
    """One Lead carrying a medusa_id, as the Leads list shows it (None: no such Lead, or it carries none)."""
    name = required_name("Lead", name)
    found = store.search_medusa_leads("", unlinked_only=False, limit=1, offset=0, name=name)
    return found[0] if found else None


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
    log: AuditLog,
    *,
    customer: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    customer_part: str | None = None,
) -> list[AuditRecord]:
    """The newest entries first, of one Customer (or of those whose name contains ``customer_part``) and from
    ``since`` on when given; at most :data:`MAX_AUDIT_ROWS`."""
    part = check_length("customer", storable("customer", customer_part or "").strip(), NAME_LENGTH) or None
    records = log.list_audit(
        customer=customer or None, since=since, limit=max(1, min(limit, MAX_AUDIT_ROWS)), customer_part=part
    )
    return sorted(records, key=lambda r: r.id, reverse=True)


# --- suggested Leads -----------------------------------------------------------------------------------------

#: Unlinked Medusa Leads (newest first) and unlinked Customers a suggestion looks through, at most.
SUGGESTION_POOL = 5000
#: Name similarity (shared character pairs, 0..1) from which a name counts as a reason.
SIMILAR_NAME = 0.5
#: Digits of a phone number compared: the national number without its country prefix or trunk 0.
PHONE_DIGITS = 9
EMAIL, PHONE, NAME = "same e-mail", "same phone", "similar name"


def email_key(value: str | None) -> str | None:
    return fold(value.strip()) if value and value.strip() else None


def phone_key(value: str | None) -> str | None:
    """A phone number's digits after its prefix: ``+966 50 123 4567``, ``00966501234567`` and ``050 123 4567``
    all give ``501234567`` (the last :data:`PHONE_DIGITS` digits once a leading ``00`` or trunk ``0`` is gone).
    None for fewer than 7 digits."""
    digits = "".join(ch for ch in value or "" if ch.isdigit()).lstrip("0")
    return digits[-PHONE_DIGITS:] if len(digits) >= 7 else None


def _pairs(value: str | None) -> set[str]:
    """The character pairs of a folded name, spaces squeezed (the search's own fold)."""
    folded = " ".join(fold(value or "").split())
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


def name_similarity(a: str | None, b: str | None) -> float:
    """The share of character pairs two names have in common (Dice's coefficient, 0..1)."""
    first, second = _pairs(a), _pairs(b)
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


@dataclass(frozen=True)
class Suggestion:
    lead: MedusaLead
    #: Why, strongest first: "same e-mail", "same phone", "similar name (NN%)".
    reasons: list[str]
    score: float

    @property
    def strong(self) -> bool:
        """An identical e-mail or phone, not only a likeness of names."""
        return self.score >= 1


def _suggestion(customer_name: str | None, email: str | None, phone: str | None, lead: MedusaLead) -> Suggestion | None:
    reasons, score = [], 0.0
    if email and email_key(lead.email_id) == email:
        reasons.append(EMAIL)
        score += 2
    if phone and phone_key(lead.mobile_no) == phone:
        reasons.append(PHONE)
        score += 1
    similarity = name_similarity(customer_name, lead.lead_name)
    if similarity >= SIMILAR_NAME:
        reasons.append(f"{NAME} ({round(similarity * 100)}%)")
        score += similarity * 0.9
    return Suggestion(lead, reasons, score) if reasons else None


def rank_suggestions(
    customer_name: str | None, email_id: str | None, mobile_no: str | None, leads: list[MedusaLead]
) -> list[Suggestion]:
    """The Leads that match a Customer, best first: an identical e-mail (case-folded) outweighs an identical
    phone, which outweighs any likeness of names; ties keep the Leads' order (newest first)."""
    email, phone = email_key(email_id), phone_key(mobile_no)
    found = [s for lead in leads if (s := _suggestion(customer_name, email, phone, lead)) is not None]
    return sorted(found, key=lambda s: -s.score)


def _unlinked_leads(store: Store) -> list[MedusaLead]:
    return store.search_medusa_leads("", unlinked_only=True, limit=SUGGESTION_POOL, offset=0)


def suggest_leads(store: Store, customer: Customer, limit: int = 5) -> list[Suggestion]:
    """The unlinked Medusa Leads most likely to be this Customer's, best first."""
    leads = _unlinked_leads(store)
    return rank_suggestions(customer.customer_name, customer.email_id, customer.mobile_no, leads)[:limit]


def unique_strong(suggestions: list[Suggestion]) -> Suggestion | None:
    """The one suggestion with an identical e-mail or phone, when there is exactly one."""
    strong = [s for s in suggestions if s.strong]
    return strong[0] if len(strong) == 1 else None


def suggested_links(store: Store, limit: int = 100) -> list[tuple[CustomerSummary, Suggestion]]:
    """Unlinked Customers that have exactly one strong match among the unlinked Medusa Leads, each with it (a
    Lead that is the strong match of several Customers is left out: a person has to look at those)."""
    by_email: dict[str, list[MedusaLead]] = {}
    by_phone: dict[str, list[MedusaLead]] = {}
    for lead in _unlinked_leads(store):
        if (key := email_key(lead.email_id)) is not None:
            by_email.setdefault(key, []).append(lead)
        if (key := phone_key(lead.mobile_no)) is not None:
            by_phone.setdefault(key, []).append(lead)
    found: list[tuple[CustomerSummary, Suggestion]] = []
    for c in store.search_unlinked_customers([], limit=SUGGESTION_POOL, offset=0):
        email, phone = email_key(c.email_id), phone_key(c.mobile_no)
        leads = {lead.name: lead for lead in [*by_email.get(email or "", []), *by_phone.get(phone or "", [])]}
        if len(leads) == 1:
            (lead,) = leads.values()
            found.append((c, rank_suggestions(c.customer_name, c.email_id, c.mobile_no, [lead])[0]))
    claimed: dict[str, int] = {}
    for _, s in found:
        claimed[s.lead.name] = claimed.get(s.lead.name, 0) + 1
    return [(c, s) for c, s in found if claimed[s.lead.name] == 1][:limit]


#: Groups of each kind the Duplicates page lists.
DUPLICATE_GROUPS = 100


def find_duplicates(store: Store) -> dict[str, list[DuplicateGroup]]:
    """Customers sharing an e-mail or a phone, and Leads sharing an e-mail, by kind, the largest groups first."""
    found: dict[str, list[DuplicateGroup]] = {"customer-email": [], "customer-phone": [], "lead-email": []}
    for group in store.duplicate_groups(DUPLICATE_GROUPS):
        found[group.kind].append(group)
    return found
