"""What the Medusa admin shows of a Medusa customer: the ERPNext Customer it is linked to, that Customer's
billing address (the one ``update_address`` changes, chosen by the same rule) and the last change sent to
Medusa for it (the erpnext shape's outbox; the standalone shape sends nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.backoffice import view_customer
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import DoesNotExistError
from erpnext_medusa.domain.models import Address, Customer
from erpnext_medusa.domain.ports import Store
from erpnext_medusa.domain.text import check_length, required_name

#: The address fields shown, with the Address's name.
BILLING_FIELDS = ("name", "address_line1", "address_line2", "city", "state", "country", "pincode")

#: The states shown: an event a worker holds is still waiting for Medusa's answer.
SHOWN_STATES = {o.SENDING: o.PENDING, **{state: state for state in (o.PENDING, o.FAILED, o.DELIVERED, o.DEAD)}}


@dataclass(frozen=True)
class LastSync:
    """The latest outbox event of a Customer: its state (:data:`SHOWN_STATES`), when it last moved (naive, in the
    site's zone, as the outbox keeps it), how many deliveries were tried, and Medusa's last refusal."""

    state: str
    at: datetime
    attempts: int
    error: str | None


class SyncHistory(Protocol):
    def last_sync(self, customer: str) -> LastSync | None:
        """The Customer's latest event that no newer one superseded, if any."""


@dataclass(frozen=True)
class MedusaCustomerStatus:
    customer: Customer | None
    billing_address: Address | None = None
    last_sync: LastSync | None = None


def check_medusa_id(medusa_id: str | None) -> str:
    """The Medusa customer id asked about, or a ValidationError: required, storable, at most 140 characters."""
    return check_length("medusa_id", required_name("medusa_id", medusa_id or ""), NAME_LENGTH)


def medusa_customer_status(store: Store, medusa_id: str | None, history: SyncHistory | None) -> MedusaCustomerStatus:
    """The Customer linked to ``medusa_id`` (found by :meth:`Store.linked_customer`), its billing address (as
    :func:`~erpnext_medusa.domain.addresses.choose_address` picks it) and, with ``history``, its last sync; an
    unlinked status (no customer) when no Customer carries the id."""
    wanted = check_medusa_id(medusa_id)
    name = store.linked_customer(wanted)
    if name is None:
        return MedusaCustomerStatus(None)
    try:
        view = view_customer(store, name)  # the Customer and its billing address, as the admin pages show them
    except DoesNotExistError:  # removed since it was looked up
        return MedusaCustomerStatus(None)
    if view.customer.medusa_id != wanted:  # unlinked since it was looked up
        return MedusaCustomerStatus(None)
    billing = next((a for a in view.addresses if a.name == view.billing), None)
    return MedusaCustomerStatus(
        view.customer, billing, None if history is None else history.last_sync(view.customer.name)
    )
