"""Update a customer's billing address: which address, what may change, and how a change is written.

Which address (the rule, in order):
1. the Customer's ``customer_primary_address``, if it is one of its enabled linked Addresses;
2. else its enabled Addresses of type Billing: the preferred one (``is_primary_address``) first, then the
   most recently modified, then by name;
3. else any of its enabled Addresses, in that same order.
With no enabled Address, one is created (type Billing, preferred billing) when address_line1, city and
country are given. An Address that is also linked to another party is never edited in place: the Customer
gets its own copy (with the change applied and the same flags), its link moves to the copy, and the
original stays as the other party knows it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from erpnext_medusa.domain.audit import CREATE_ADDRESS, FORK_ADDRESS, UPDATE_ADDRESS, AuditEntry
from erpnext_medusa.domain.doctypes import NAME_LENGTH, field_length
from erpnext_medusa.domain.errors import DoesNotExistError, NotPermittedError, ValidationFailedError
from erpnext_medusa.domain.models import ADDRESS_FIELDS, ADDRESS_LABELS, Address, Customer, Link, Stamp
from erpnext_medusa.domain.ports import Store, Transaction
from erpnext_medusa.domain.text import check_length, storable

REQUIRED_FIELDS = ("address_line1", "city", "country")
# Columns a copy of an Address must not inherit from the original.
_NOT_COPIED = {"creation", "owner", "modified_by", "docstatus", "idx", "_user_tags", "_comments", "_assign",
               "_liked_by", "_seen"}  # fmt: skip


def check_changes(changes: Mapping[str, str | None], lengths: Mapping[str, int]) -> dict[str, str | None]:
    """The address fields to change, cleaned and checked (fields not in ``changes`` are left alone).

    Text is stripped; None or blank clears an optional field. Required fields cannot be cleared; lengths follow
    the database columns (``lengths``), never more than the DocType allows; markup is refused, since a guest may
    call this and ERPNext renders addresses as HTML.
    """
    checked: dict[str, str | None] = {}
    for field in ADDRESS_FIELDS:
        if field not in changes:
            continue
        label = ADDRESS_LABELS[field]
        text = (changes[field] or "").strip() or None
        if text is None and field in REQUIRED_FIELDS:
            raise ValidationFailedError(f"{label} cannot be empty.")
        if text is not None:
            storable(label, text)
            if "<" in text or ">" in text:
                raise ValidationFailedError(f"{label} cannot contain angle brackets.")
            allowed = field_length("Address", field)
            check_length(label, text, min(allowed, lengths.get(field, allowed)))
        checked[field] = text
    return checked


def choose_address(customer: Customer, addresses: Sequence[Address]) -> Address | None:
    """The address update_address changes (see the module docstring for the rule)."""
    for address in addresses:
        if address.name == customer.customer_primary_address:
            return address
    billing = [a for a in addresses if a.address_type == "Billing"]
    pool = billing or list(addresses)
    if not pool:
        return None

    # Stable sorts, last key first: by name, then newest modified (never-modified last), then preferred first.
    ordered = sorted(pool, key=lambda a: a.name)
    ordered.sort(key=lambda a: (a.modified is not None, a.modified or datetime.min), reverse=True)
    ordered.sort(key=lambda a: not a.is_primary_address)
    return ordered[0]


def render_address(fields: Mapping[str, Any]) -> str:
    """The text ERPNext's default address template renders into ``tabCustomer.primary_address``."""
    parts = [fields.get(name) for name in ("address_line1", "address_line2", "city", "state", "pincode")]
    parts.append(fields.get("country"))
    return "".join(f"{html.escape(str(part), quote=False)}<br>" for part in parts if part)


def _fields(address: Address) -> dict[str, Any]:
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


def _resolve_country(tx: Transaction, changes: dict[str, str | None]) -> None:
    value = changes.get("country")
    if value is None:
        return
    canonical = tx.find_country(value)
    if canonical is None:
        raise ValidationFailedError(f"Country {value} is not a known country name or ISO code.")
    changes["country"] = canonical


def _create(tx: Transaction, customer: Customer, changes: dict[str, str | None], stamp: Stamp) -> None:
    missing = [ADDRESS_LABELS[f] for f in REQUIRED_FIELDS if not changes.get(f)]
    if missing:
        raise ValidationFailedError(
            f"Customer {customer.name} has no address; to create one, send {', '.join(missing)}."
        )
    row = {
        "address_title": customer.customer_name,
        "address_type": "Billing",
        **changes,
        "is_primary_address": 1,
    }
    name = tx.insert_address(row, [Link("Customer", customer.name, customer.customer_name)], stamp)
    # The Customer had no enabled address, so any primary pointer it holds is stale: point it here.
    tx.set_primary_address(customer.name, name, render_address(row), stamp)
    entry = AuditEntry.start(CREATE_ADDRESS, stamp, customer.name)
    entry.touch("Address", name, {}, {k: row[k] for k in ("address_title", "address_type", *changes)})
    entry.touch("Customer", customer.name, _primary(customer), _primary_fields(name, render_address(row)))
    tx.record_audit(entry)


def _primary(customer: Customer) -> dict[str, Any]:
    return _primary_fields(customer.customer_primary_address, customer.primary_address)


def _primary_fields(address: str | None, display: str | None) -> dict[str, Any]:
    return {"customer_primary_address": address, "primary_address": display}


def _fork(tx: Transaction, customer: Customer, shared: Address, diff: dict[str, str | None], stamp: Stamp) -> None:
    """Give the Customer its own copy of an Address it shares with another party, with ``diff`` applied."""
    row = {
        **{k: v for k, v in shared.extra.items() if k not in _NOT_COPIED and k != "name"},
        "address_title": shared.address_title or customer.customer_name,
        "address_type": shared.address_type or "Billing",
        **_fields(shared),
        **diff,
        "is_primary_address": int(shared.is_primary_address),
        "is_shipping_address": int(shared.is_shipping_address),
        "disabled": 0,
    }
    me = Link("Customer", customer.name, customer.customer_name)
    name = tx.insert_address(row, [me], stamp)
    tx.remove_link(shared.name, me, stamp)
    entry = AuditEntry.start(FORK_ADDRESS, stamp, customer.name)
    # The copy's changed fields, from the shared original's values; the original loses this Customer's link.
    entry.touch("Address", name, {"copy_of": None, **_fields(shared)}, {"copy_of": shared.name, **diff})
    entry.touch("Address", shared.name, {"link": f"Customer/{customer.name}"}, {"link": None})
    if customer.customer_primary_address == shared.name:
        tx.set_primary_address(customer.name, name, render_address(row), stamp)
        entry.touch("Customer", customer.name, _primary(customer), _primary_fields(name, render_address(row)))
    tx.record_audit(entry)


#: The answer for a Medusa customer whose token names no Customer yet.
NOT_LINKED_MESSAGE = (
    "Your account is not linked to an ERPNext customer yet; please try again later or contact the shop."
)


def named_customer(customer_id: str | None, *, optional: bool = False) -> str | None:
    """The Customer an update names (its ID, stripped), or None when it names none and ``optional`` (a Medusa
    customer's token names it); a ValidationError when it is required and blank, too long or not storable."""
    named = check_length("Customer ID", customer_id.strip(), NAME_LENGTH) if customer_id else ""
    if not named:
        if not optional:
            raise ValidationFailedError("Customer ID is required.")
        return None
    return storable("Customer ID", named)


def update_billing_address(
    store: Store,
    customer_id: str | None,
    changes: Mapping[str, str | None],
    stamp: Stamp,
    *,
    owner_medusa_id: str | None = None,
) -> None:
    """Change the given fields (None clears one) of the Customer's billing address, all or nothing.

    With ``owner_medusa_id`` (a Medusa customer's own token), only the Customer carrying that medusa_id may be
    changed: any other, or one that does not exist, is a PermissionError (which does not tell them apart).
    Without ``customer_id``, that Customer is the one meant; when no Customer carries the id yet, a
    ValidationError says the account is not linked yet.
    """
    wanted = named_customer(customer_id, optional=owner_medusa_id is not None)
    changes = check_changes(changes, store.column_lengths("Address"))

    def work(tx: Transaction) -> None:
        target = wanted
        if target is None:
            target = tx.customer_with_medusa_id(str(owner_medusa_id))
            if target is None:
                raise ValidationFailedError(NOT_LINKED_MESSAGE)
        customer = tx.get_customer(target, lock=True)
        if owner_medusa_id is not None and (customer is None or customer.medusa_id != owner_medusa_id):
            raise NotPermittedError("You may change only your own customer's address.")
        if customer is None:
            raise DoesNotExistError(f"Customer {target} not found")
        _resolve_country(tx, changes)
        chosen = choose_address(customer, tx.customer_addresses(customer.name))
        if chosen is None:
            _create(tx, customer, changes, stamp)
            return
        diff = {k: v for k, v in changes.items() if getattr(chosen, k) != v}
        if not diff:
            return
        if chosen.shared:
            _fork(tx, customer, chosen, diff, stamp)
            return
        tx.update_address(chosen.name, diff, stamp)
        display = render_address({**_fields(chosen), **diff})
        tx.refresh_primary_address_display(customer.name, chosen.name, display, stamp)
        entry = AuditEntry.start(UPDATE_ADDRESS, stamp, customer.name).touch(
            "Address", chosen.name, _fields(chosen), diff
        )
        if customer.customer_primary_address == chosen.name:  # the Customer's copy of the text changed too
            entry.touch(
                "Customer", customer.name, {"primary_address": customer.primary_address}, {"primary_address": display}
            )
        tx.record_audit(entry)

    store.write(work)
