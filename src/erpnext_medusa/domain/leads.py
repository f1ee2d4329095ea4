"""ERPNext's rules for a Lead's names, and linking a Medusa Lead to an existing Customer (and undoing it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from erpnext_medusa.domain.audit import LINK_LEAD, UNLINK_LEAD, AuditEntry
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import DoesNotExistError, MedusaIdLinkedElsewhereError, ValidationFailedError
from erpnext_medusa.domain.models import Customer, Stamp
from erpnext_medusa.domain.ports import Store, Transaction
from erpnext_medusa.domain.text import check_length, required_name

#: ERPNext's message for a Lead with nothing to call it by.
LEAD_NAME_REQUIRED = "a Lead requires either a person's name or an organization's name"
_FULL_NAME_PARTS = ("salutation", "first_name", "middle_name", "last_name")


def lead_titles(fields: Mapping[str, Any], limit: int = NAME_LENGTH) -> tuple[str, str] | None:
    """ERPNext's Lead.validate: ``(lead_name, title)`` for a Lead with these fields, or None when it has nothing
    to be called by.

    ``lead_name`` is the one given, else the person's full name (when there is a first name), else the company
    name, else the part of the e-mail address before the ``@``; it is cut to ``limit`` characters. ``title`` is
    the company name, else the lead_name.
    """
    name = fields.get("lead_name")
    if not name:
        if fields.get("first_name"):
            name = " ".join(str(fields[p]) for p in _FULL_NAME_PARTS if fields.get(p))
        elif fields.get("company_name"):
            name = str(fields["company_name"])
        elif fields.get("email_id"):
            name = str(fields["email_id"]).split("@")[0]
        else:
            return None
    name = str(name)[:limit]
    return name, str(fields.get("company_name") or name)


def link_name(label: str, value: str) -> str:
    """A name a link (or an unlink) is given: Customer and Lead names are varchar(140) in ERPNext, so a longer
    one cannot exist (a ValidationError naming the argument, before any query)."""
    return check_length(label, value, NAME_LENGTH)


def _linked_to_another_id(customer: Customer) -> ValidationFailedError:
    return ValidationFailedError(
        f"Customer {customer.name} is already linked to a different Medusa ID: {customer.medusa_id}"
    )


def link_medusa_lead(store: Store, customer: str, lead: str, stamp: Stamp) -> None:
    """Copy the Lead's medusa_id onto the Customer and set the Lead as its lead_name.

    Checks, in order: neither name is too long; neither is blank; the Customer exists; the Lead exists; the
    Lead has a medusa_id; no other Customer carries that id; the Customer carries no other id. Linking the same
    pair again changes nothing. The database's unique index on medusa_id decides between concurrent requests:
    exactly one wins.
    """
    customer, lead = link_name("Customer", customer), link_name("Lead", lead)
    customer = required_name("Customer", customer)
    lead = required_name("Lead", lead)

    def work(tx: Transaction) -> None:
        current = tx.get_customer(customer, lock=True)
        if current is None:
            raise DoesNotExistError(f"Customer {customer} not found")
        found = tx.get_lead(lead)
        if found is None:
            raise DoesNotExistError(f"Lead {lead} not found")
        if not found.medusa_id:
            raise ValidationFailedError("Selected Lead does not have a Medusa ID")
        holder = tx.customer_with_medusa_id(found.medusa_id)
        if holder is not None and holder != current.name:
            raise MedusaIdLinkedElsewhereError(holder)
        if current.medusa_id and current.medusa_id != found.medusa_id:
            raise _linked_to_another_id(current)
        if current.medusa_id == found.medusa_id and current.lead_name == found.name:
            return  # already linked to this Lead: nothing to change
        if not tx.link_customer(current.name, found.medusa_id, found.name, stamp):
            raise _linked_to_another_id(tx.get_customer(current.name) or current)  # linked since it was read
        tx.record_audit(
            AuditEntry.start(LINK_LEAD, stamp, current.name).touch(
                "Customer",
                current.name,
                {"medusa_id": current.medusa_id, "lead_name": current.lead_name},
                {"medusa_id": found.medusa_id, "lead_name": found.name},
            )
        )

    store.write(work)


def unlink_medusa_lead(store: Store, customer: str, medusa_id: str, stamp: Stamp) -> str | None:
    """Undo a link: clear the Customer's medusa_id and lead_name, so that the Lead may be linked again (to this
    Customer or another). ``medusa_id`` is the id the user saw and confirmed: a Customer that carries none, or
    another one by now, is refused and left as it is. Returns the Lead the Customer named."""
    customer, medusa_id = link_name("Customer", customer), link_name("Medusa ID", medusa_id)
    customer = required_name("Customer", customer)
    medusa_id = required_name("Medusa ID", medusa_id)

    def work(tx: Transaction) -> str | None:
        current = tx.get_customer(customer, lock=True)
        if current is None:
            raise DoesNotExistError(f"Customer {customer} not found")
        if not current.medusa_id:
            raise ValidationFailedError(f"Customer {current.name} is not linked to a Medusa ID")
        if current.medusa_id != medusa_id or not tx.unlink_customer(current.name, medusa_id, stamp):
            now = tx.get_customer(current.name) or current
            raise ValidationFailedError(
                f"Customer {current.name} is now linked to {now.medusa_id or 'no Medusa ID'}, not {medusa_id}"
            )
        tx.record_audit(
            AuditEntry.start(UNLINK_LEAD, stamp, current.name).touch(
                "Customer",
                current.name,
                {"medusa_id": current.medusa_id, "lead_name": current.lead_name},
                {"medusa_id": None, "lead_name": None},
            )
        )
        return current.lead_name

    return store.write(work)
