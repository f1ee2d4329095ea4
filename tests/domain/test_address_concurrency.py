"""update_address under concurrent requests: per-customer writes are serialised by a row lock (BEGIN
IMMEDIATE on SQLite), so racing requests never create two addresses or mix fields of two requests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from erpnext_medusa.domain.addresses import update_billing_address
from erpnext_medusa.domain.errors import ValidationFailedError
from tests.helpers import address, customer, rows, seed, stamp

WORKERS = 8


def _race(services, bodies):
    barrier = threading.Barrier(len(bodies))

    def one(body):
        barrier.wait(timeout=30)
        try:
            changes = {k: v for k, v in body.items() if k != "customer_id"}
            update_billing_address(services.store, body["customer_id"], changes, stamp("Guest"))
        except ValidationFailedError as exc:
            return exc.message
        return None

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_racing_creates_make_exactly_one_address(services):
    seed(services, customer("Acme"))
    bodies = [
        {"customer_id": "Acme", "address_line1": f"{i} Main Street", "city": f"City {i}", "country": "ae"}
        for i in range(WORKERS)
    ]
    assert _race(services, bodies) == [None] * WORKERS
    linked = rows(
        services,
        'SELECT a.name, a.address_line1, a.city FROM "tabAddress" a JOIN "tabDynamic Link" dl '
        "ON dl.parent = a.name AND dl.parenttype = 'Address' WHERE dl.link_name = 'Acme'",
    )
    assert [r["name"] for r in linked] == ["Acme-Billing"]
    # The surviving row is one request's values, never a mix of two.
    number = linked[0]["address_line1"].split()[0]
    assert linked[0]["city"] == f"City {number}"
    assert rows(services, 'SELECT customer_primary_address FROM "tabCustomer"') == [
        {"customer_primary_address": "Acme-Billing"}
    ]


def test_racing_updates_leave_one_requests_values_whole(services):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    bodies = [
        {"customer_id": "Acme", "address_line1": f"{i} Side Road", "city": f"Town {i}", "pincode": f"P{i}"}
        for i in range(WORKERS)
    ]
    assert _race(services, bodies) == [None] * WORKERS
    (row,) = rows(services, "SELECT address_line1, city, pincode FROM \"tabAddress\" WHERE name = 'Acme-Billing'")
    number = row["address_line1"].split()[0]
    assert row == {"address_line1": f"{number} Side Road", "city": f"Town {number}", "pincode": f"P{number}"}


def test_racing_creates_for_customers_with_the_same_title_all_succeed(services):
    # Every new address wants the name "Same Name-Billing": losers of the race retry and take the next one.
    seed(services, *(customer(f"C{i}", customer_name="Same Name") for i in range(WORKERS)))
    bodies = [
        {"customer_id": f"C{i}", "address_line1": "1 Road", "city": "Muscat", "country": "om"} for i in range(WORKERS)
    ]
    assert _race(services, bodies) == [None] * WORKERS
    names = sorted(r["name"] for r in rows(services, 'SELECT name FROM "tabAddress"'))
    assert len(names) == WORKERS
    assert names[0] == "Same Name-Billing"
    assert len(rows(services, 'SELECT DISTINCT link_name FROM "tabDynamic Link"')) == WORKERS
