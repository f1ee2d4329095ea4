"""A linked Customer in the erpnext shape, and the outbox events that carry its changes to Medusa, as the
site tests watch them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.store.sql.outbox import Event, Outbox
from tests.medusa_admin import MedusaAdmin
from tests.site.world import World

MEDUSA_ID = "cus_01ADA"


def outbox(w: World) -> Outbox:
    """The service's outbox (the erpnext shape always has one)."""
    assert w.services.outbox is not None
    return w.services.outbox


def wait_for(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """``check()``'s first true value, asked every 50 ms; the test fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def linked(w: World, medusa: MedusaAdmin, *, primary: bool = True) -> str:
    """A linked Customer with its billing address (its primary address unless told), mirrored (its first sight:
    recorded, nothing sent)."""
    w.site.insert("Customer", {"customer_name": "Ada Lovelace", "medusa_id": MEDUSA_ID, "email_id": "ada@example.com"})
    address = w.site.insert(
        "Address",
        {"address_title": "Ada", "address_type": "Billing", "address_line1": "1 Old St", "city": "London",
         "country": "United Kingdom", "pincode": "N1",
         "links": [{"link_doctype": "Customer", "link_name": "Ada Lovelace"}]},
    )  # fmt: skip
    if primary:
        w.site.sql_update("Customer", "Ada Lovelace", {"customer_primary_address": address["name"]})
    medusa.add(MEDUSA_ID, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    w.reconcile(full=True)
    return str(address["name"])


def events(w: World, *states: str) -> list[Event]:
    """The outbox's events in those states (all of them when none is named)."""
    return outbox(w).events(states=states)


def delivered(w: World) -> list[Event]:
    return events(w, o.DELIVERED)
