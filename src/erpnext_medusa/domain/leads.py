"""Link a Medusa Lead to an existing Customer."""

from __future__ import annotations

from erpnext_medusa.domain.audit import LINK_LEAD, AuditEntry
from erpnext_medusa.domain.errors import DoesNotExistError, MedusaIdLinkedElsewhereError, ValidationError
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.domain.text import storable
from erpnext_medusa.store.base import Store, Transaction


def link_medusa_lead(store: Store, customer: str, lead: str, stamp: Stamp) -> None:
    """Copy the Lead's medusa_id onto the Customer and set the Lead as its lead_name.

    Checks, in order: the Customer exists; the Lead exists; the Lead has a medusa_id; no other Customer
    carries that id; the Customer carries no other id. Linking the same pair again changes nothing. The
    database's unique index on medusa_id decides between concurrent requests: exactly one wins.
    """
    if not customer or not customer.strip():
        raise ValidationError("Customer is required.")
    if not lead or not lead.strip():
        raise ValidationError("Lead is required.")
    storable("Customer", customer)
    storable("Lead", lead)

    def work(tx: Transaction) -> None:
        current = tx.get_customer(customer, lock=True)
        if current is None:
            raise DoesNotExistError(f"Customer {customer} not found")
        found = tx.get_lead(lead)
        if found is None:
            raise ValidationError("Lead does not exist")
        if not found.medusa_id:
            raise ValidationError("Selected Lead does not have a Medusa ID")
        holder = tx.customer_with_medusa_id(found.medusa_id)
        if holder is not None and holder != current.name:
            raise MedusaIdLinkedElsewhereError(holder)
        if current.medusa_id and current.medusa_id != found.medusa_id:
            raise ValidationError(
                f"Customer {current.name} is already linked to a different Medusa ID: {current.medusa_id}"
            )
        if current.medusa_id == found.medusa_id and current.lead_name == found.name:
            return  # already linked to this Lead: nothing to change
        tx.link_customer(current.name, found.medusa_id, found.name, stamp)
        tx.record_audit(
            AuditEntry.start(LINK_LEAD, stamp, current.name).touch(
                "Customer",
                current.name,
                {"medusa_id": current.medusa_id, "lead_name": current.lead_name},
                {"medusa_id": found.medusa_id, "lead_name": found.name},
            )
        )

    store.write(work)
