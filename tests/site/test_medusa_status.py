"""erpnext_medusa.api.medusa_customer in the erpnext shape: the Customer is found in the mirror (an id no
Customer carries costs the site nothing), the billing address comes from the site, and last_sync shows the
Customer's latest outbox event (pending, delivered, failed, dead) with its time in UTC; the service's database on
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.apikeys import create_api_key
from tests.medusa_admin import KEY, MedusaAdmin
from tests.site.linked import MEDUSA_ID, delivered, linked, outbox, wait_for
from tests.site.world import World, world

URL = "/api/method/erpnext_medusa.api.medusa_customer"


def status(w: World) -> dict:
    key = create_api_key(w.services.keys, "admin@example.com", w.services.now())
    r = w.client.get(
        URL, params={"medusa_id": MEDUSA_ID}, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"}
    )
    assert r.status_code == 200, r.text
    return r.json()["message"]


def shown_at(sync: dict) -> datetime:
    at = datetime.fromisoformat(sync["at"])
    assert at.utcoffset() == timedelta(0), sync
    return at


@pytest.fixture
def dubai(site_engine: Engine) -> Iterator[World]:
    """A site in UTC+4, sending nothing to Medusa by itself (its outbox events are moved by the test)."""
    with world(site_engine.url, time_zone="Asia/Dubai") as w:
        yield w


def test_an_id_no_customer_carries_is_answered_from_the_mirror(dubai: World):
    dubai.site.insert("Customer", {"customer_name": "Ada Lovelace", "medusa_id": "cus_other"})
    dubai.reconcile(full=True)
    asked = len(dubai.site.requests)
    assert status(dubai) == {"linked": False}
    assert len(dubai.site.requests) == asked


def test_a_linked_customer_shows_the_address_update_address_changes(dubai: World):
    address = linked(dubai, MedusaAdmin())
    dubai.desk("PUT", "Address", address, {"city": "Bath", "address_line2": "Flat 2"})
    asked = len(dubai.site.requests)
    shown = status(dubai)
    # found in the mirror; from the site: the Customer, the list of its Addresses, and its one Address
    assert [r.method for r in dubai.site.requests[asked:]] == ["GET"] * 3
    assert shown == {
        "linked": True,
        "customer": "Ada Lovelace",
        "customer_name": "Ada Lovelace",
        "billing_address": {"name": address, "address_line1": "1 Old St", "address_line2": "Flat 2", "city": "Bath",
                            "state": None, "country": "United Kingdom", "pincode": "N1"},
        "last_sync": None,
    }  # fmt: skip
    r = dubai.client.post(
        "/api/method/medusa_integration.api.update_address", json={"customer_id": "Ada Lovelace", "city": "York"}
    )
    assert r.json() == {"message": "Address updated successfully"}, r.text
    assert status(dubai)["billing_address"]["city"] == "York"


def test_last_sync_follows_the_latest_event_through_its_states(dubai: World):
    linked(dubai, MedusaAdmin())
    box, modified = outbox(dubai), dubai.services.now()
    assert (
        box.record_alone("Ada Lovelace", MEDUSA_ID, {"email": "ada@example.com"}, modified, from_medusa=False) is None
    )

    def change(email: str) -> int:
        event = box.record_alone("Ada Lovelace", MEDUSA_ID, {"email": email}, dubai.services.now(), from_medusa=False)
        assert event is not None
        return event

    first = change("ada@one.example")
    pending = status(dubai)["last_sync"]
    assert (pending["state"], pending["attempts"], pending["error"]) == ("pending", 0, None)
    assert abs(shown_at(pending) - datetime.now(UTC)) < timedelta(minutes=1)  # site time (UTC+4) shown in UTC

    assert box.claim(first) is not None
    assert status(dubai)["last_sync"]["state"] == "pending"  # being sent: not delivered yet
    assert box.settle(first, o.Answer(200, "{}"), o.Policy()) == o.DELIVERED
    done = status(dubai)["last_sync"]
    assert (done["state"], done["attempts"], done["error"]) == ("delivered", 1, None)
    assert shown_at(done) >= shown_at(pending)

    second = change("ada@two.example")
    assert box.claim(second) is not None
    assert box.settle(second, o.Answer(503, "Medusa is busy"), o.Policy(max_attempts=2)) == o.FAILED
    failed = status(dubai)["last_sync"]
    assert (failed["state"], failed["attempts"], failed["error"]) == ("failed", 1, "Medusa is busy")

    third = change("ada@three.example")  # supersedes the failed one: the newest event is shown
    assert status(dubai)["last_sync"]["state"] == "pending"
    assert box.claim(third) is not None
    assert box.settle(third, o.Answer(400, "Invalid email"), o.Policy(max_attempts=1)) == o.DEAD
    dead = status(dubai)["last_sync"]
    assert (dead["state"], dead["attempts"], dead["error"]) == ("dead", 1, "Invalid email")


def test_a_change_delivered_by_the_worker_is_shown_delivered(site_engine: Engine):
    medusa = MedusaAdmin()
    settings = {"medusa_url": "http://medusa.test", "medusa_api_key": KEY}
    with world(site_engine.url, medusa_transport=medusa.transport(), **settings) as w:
        address = linked(w, medusa)
        w.desk("PUT", "Address", address, {"city": "Manchester"})
        w.deliver()
        (event,) = wait_for(lambda: delivered(w))
        shown = status(w)
        assert shown["billing_address"]["city"] == "Manchester"
        assert shown["last_sync"] == {
            "state": "delivered",
            "at": event.delivered_at.replace(tzinfo=UTC).isoformat(),  # type: ignore[union-attr]
            "attempts": 1,
            "error": None,
        }
