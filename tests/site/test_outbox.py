"""ERPNext -> Medusa in the erpnext shape: desk-side changes of a linked Customer reach its Medusa customer
through the outbox and the serve process's delivery worker, against the ERPNext double and a double of Medusa's
admin API, with the service's own database on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from erpnext_medusa.domain import outbound as o
from tests.medusa_admin import KEY, MedusaAdmin
from tests.medusa_webhook import HEADER, SECRET, event_body, signature
from tests.site.linked import MEDUSA_ID, delivered, events, linked, outbox, wait_for
from tests.site.world import World, world

UPDATE = "/api/method/medusa_integration.api.update_address"


@pytest.fixture
def medusa() -> MedusaAdmin:
    return MedusaAdmin()


@pytest.fixture
def sync(site_engine: Engine, medusa: MedusaAdmin) -> Iterator[World]:
    with world(
        site_engine.url,
        medusa_transport=medusa.transport(),
        medusa_url="http://medusa.test",
        medusa_api_key=KEY,
        outbox_max_attempts=3,
        webhook_secret=SECRET,
    ) as w:
        yield w


def test_first_sight_of_a_linked_customer_is_recorded_and_nothing_is_sent(sync: World, medusa: MedusaAdmin):
    linked(sync, medusa)
    assert events(sync) == []
    assert medusa.writes() == []


def test_a_desk_change_of_the_billing_address_reaches_medusa_within_5_seconds(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    sync.desk("PUT", "Address", address, {"city": "Manchester", "pincode": "M1"})
    started = time.monotonic()
    answered = sync.deliver()
    assert answered and all(d.status == 200 for d in answered)
    wait_for(lambda: (medusa.billing(MEDUSA_ID) or {}).get("city") == "Manchester")
    assert time.monotonic() - started < 5
    billing = medusa.billing(MEDUSA_ID)
    assert billing is not None
    assert billing["postal_code"] == "M1" and billing["country_code"] == "gb" and billing["address_1"] == "1 Old St"
    (event,) = wait_for(lambda: delivered(sync))
    assert event.changed == ["billing_address"] and event.customer == "Ada Lovelace"
    # Sent again (a replay), it finds the address the first delivery made and changes nothing twice.
    assert outbox(sync).send_again([event.id], states=("delivered",)) == [event.id]
    wait_for(lambda: outbox(sync).get(event.id).state == o.DELIVERED and outbox(sync).get(event.id).attempts == 1)
    assert len(medusa.customers[MEDUSA_ID]["addresses"]) == 1


def test_a_desk_change_of_name_and_email_updates_the_medusa_customer(sync: World, medusa: MedusaAdmin):
    linked(sync, medusa)
    sync.desk("PUT", "Customer", "Ada Lovelace", {"customer_name": "Ada King", "email_id": "ada.king@example.com"})
    sync.deliver()
    wait_for(lambda: medusa.customers[MEDUSA_ID]["last_name"] == "King")
    assert medusa.customers[MEDUSA_ID]["first_name"] == "Ada"
    assert medusa.customers[MEDUSA_ID]["email"] == "ada.king@example.com"
    (event,) = wait_for(lambda: delivered(sync))
    assert set(event.changed) == {"last_name", "email"}


def test_a_change_reconciliation_finds_is_sent_too(sync: World, medusa: MedusaAdmin):
    linked(sync, medusa)
    sync.site.drop_webhooks(10)
    sync.desk("PUT", "Customer", "Ada Lovelace", {"customer_name": "Ada Byron"})
    sync.deliver()
    sync.reconcile()
    wait_for(lambda: medusa.customers[MEDUSA_ID]["last_name"] == "Byron")


def test_a_change_that_came_from_medusa_is_not_sent_back(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    r = sync.client.post(UPDATE, json={"customer_id": "Ada Lovelace", "city": "Bath"})
    assert r.json() == {"message": "Address updated successfully"}, r.text
    stored = sync.site.doc("Address", address)
    assert stored is not None and stored["city"] == "Bath"
    assert sync.deliver()
    time.sleep(1.0)  # a worker round or two
    assert events(sync) == [] and medusa.writes() == []


def test_medusas_event_for_our_own_update_is_no_new_erpnext_write(sync: World, medusa: MedusaAdmin):
    linked(sync, medusa)
    lead = sync.site.insert("Lead", {"lead_name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace",
                              "email_id": "ada@example.com", "medusa_id": MEDUSA_ID})  # fmt: skip
    sync.desk("PUT", "Customer", "Ada Lovelace", {"customer_name": "Ada King"})
    sync.deliver()
    wait_for(lambda: delivered(sync))
    lead_puts = sync.site.count("PUT", f"/api/resource/Lead/{lead['name']}")
    sent = medusa.customers[MEDUSA_ID]
    body = event_body("evt_echo", "customer.updated", id=MEDUSA_ID, email=sent["email"], first_name=sent["first_name"],
                      last_name=sent["last_name"], phone=sent["phone"])  # fmt: skip
    r = sync.client.post("/webhooks/medusa/customer", content=body, headers={HEADER: signature(body)})
    assert r.status_code == 200, r.text
    assert sync.site.count("PUT", f"/api/resource/Lead/{lead['name']}") == lead_puts
    # A shopper's own change afterwards is a change.
    body = event_body("evt_own", "customer.updated", id=MEDUSA_ID, email=sent["email"], first_name="Augusta",
                      last_name=sent["last_name"], phone=sent["phone"])  # fmt: skip
    r = sync.client.post("/webhooks/medusa/customer", content=body, headers={HEADER: signature(body)})
    assert r.status_code == 200, r.text
    assert sync.site.count("PUT", f"/api/resource/Lead/{lead['name']}") == lead_puts + 1


def test_medusa_down_then_back_gets_the_latest_change_once(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    medusa.down = True
    sync.desk("PUT", "Address", address, {"city": "York"})
    sync.deliver()
    (first,) = wait_for(lambda: events(sync, o.FAILED))
    assert first.last_status is None and "could not be reached" in (first.last_error or "")
    assert sync.names("") is not None  # the service keeps serving
    sync.desk("PUT", "Address", address, {"city": "Leeds"})
    sync.deliver()
    medusa.down = False
    wait_for(lambda: delivered(sync))
    assert medusa.billing(MEDUSA_ID)["city"] == "Leeds"  # type: ignore[index]
    # The first event may still be mid-attempt when the second is recorded; its next claim finds the newer one.
    wait_for(lambda: events(sync, o.SUPERSEDED), timeout=20.0)
    states = {e.id: e.state for e in events(sync)}
    assert states[first.id] == o.SUPERSEDED and list(states.values()).count(o.DELIVERED) == 1
    assert len([w for w in medusa.writes() if w[1].endswith("/addresses")]) == 1


def test_a_slow_medusa_is_a_failure_tried_again(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    medusa.slow = True
    sync.desk("PUT", "Address", address, {"city": "Hull"})
    sync.deliver()
    (failed,) = wait_for(lambda: events(sync, o.FAILED))
    assert "did not answer in time" in (failed.last_error or "")
    medusa.slow = False
    wait_for(lambda: delivered(sync))


def test_429_waits_as_long_as_retry_after_says(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    medusa.answer_next(429, headers={"Retry-After": "2"})
    sync.desk("PUT", "Address", address, {"city": "Derby"})
    sync.deliver()
    (failed,) = wait_for(lambda: events(sync, o.FAILED))
    assert failed.last_status == 429
    waited = (failed.next_attempt_at - failed.last_attempt_at).total_seconds()  # type: ignore[operator]
    assert 1.9 <= waited <= 2.1
    wait_for(lambda: delivered(sync))


def test_409_is_tried_again(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    medusa.answer_next(409)
    sync.desk("PUT", "Address", address, {"city": "Ely"})
    sync.deliver()
    (event,) = wait_for(lambda: delivered(sync))
    assert event.attempts == 2 and event.last_status == 200


def test_a_deleted_medusa_customer_is_a_dead_letter_with_medusas_answer_then_replayed(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    kept = medusa.customers.pop(MEDUSA_ID)
    sync.desk("PUT", "Address", address, {"city": "Wells"})
    sync.deliver()
    (dead,) = wait_for(lambda: events(sync, o.DEAD))
    assert dead.attempts == 1 and dead.last_status == 404
    assert f"Customer with id: {MEDUSA_ID} was not found" in json.loads(dead.last_error or "{}")["message"]
    medusa.customers[MEDUSA_ID] = kept
    assert outbox(sync).send_again([dead.id], states=("dead",)) == [dead.id]
    wait_for(lambda: delivered(sync))
    assert medusa.billing(MEDUSA_ID)["city"] == "Wells"  # type: ignore[index]


def test_a_wrong_key_keeps_the_event_failing_visibly_without_ever_going_dead(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    medusa.key = "sk_another"
    sync.desk("PUT", "Address", address, {"city": "Ripon"})
    sync.deliver()
    # Three attempts (the bounded number for other failures) and the event is still waiting for the key.
    (failed,) = wait_for(lambda: [e for e in events(sync, o.FAILED) if e.attempts >= 3], timeout=10)
    assert events(sync, o.DEAD) == []
    assert failed.last_status == 401 and failed.last_error.startswith(o.KEY_REJECTED)  # type: ignore[union-attr]
    medusa.key = KEY
    assert outbox(sync).send_again([failed.id], states=o.RETRYABLE) == [failed.id]
    wait_for(lambda: delivered(sync))
    assert medusa.billing(MEDUSA_ID)["city"] == "Ripon"  # type: ignore[index]


def sent_billing(w: World, medusa: MedusaAdmin, address: str) -> str:
    """Make the service send ``address`` as the Customer's billing address; the Medusa address's id."""
    w.desk("PUT", "Address", address, {"city": "Leeds"})
    w.deliver()
    wait_for(lambda: (medusa.billing(MEDUSA_ID) or {}).get("city") == "Leeds")
    billing = medusa.billing(MEDUSA_ID)
    assert billing is not None and billing["metadata"] == {"erpnext_address": address}
    return str(billing["id"])


def test_a_deleted_billing_address_is_removed_from_medusa(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa, primary=False)
    sent_billing(sync, medusa, address)
    sync.desk("DELETE", "Address", address)
    sync.deliver()
    wait_for(lambda: medusa.customers[MEDUSA_ID]["addresses"] == [])
    newest = wait_for(lambda: [e for e in delivered(sync) if e.payload["billing_address"] is None])
    assert newest[0].changed == ["billing_address"]
    assert ("DELETE", f"/admin/customers/{MEDUSA_ID}/addresses/cuaddr_1") in medusa.requests


def test_a_deleted_billing_address_gives_way_to_the_customers_next_one(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa, primary=False)
    other = sync.site.insert(
        "Address",
        {"address_title": "Ada work", "address_type": "Billing", "address_line1": "9 Work Rd", "city": "York",
         "country": "United Kingdom", "links": [{"link_doctype": "Customer", "link_name": "Ada Lovelace"}]},
    )  # fmt: skip
    sync.site.sql_update("Address", address, {"is_primary_address": 1})
    sent_billing(sync, medusa, address)
    sync.desk("DELETE", "Address", address)
    sync.deliver()
    wait_for(lambda: (medusa.billing(MEDUSA_ID) or {}).get("city") == "York")
    (billing,) = medusa.customers[MEDUSA_ID]["addresses"]
    assert billing["metadata"] == {"erpnext_address": other["name"]} and billing["address_1"] == "9 Work Rd"


def test_a_disabled_billing_address_is_removed_and_one_the_shopper_made_in_medusa_stays(
    sync: World, medusa: MedusaAdmin
):
    address = linked(sync, medusa, primary=False)
    medusa.customers[MEDUSA_ID]["addresses"].append(
        {"id": "cuaddr_shop", "is_default_billing": False, "is_default_shipping": True, "address_1": "Shop St"}
    )
    sent_billing(sync, medusa, address)
    sync.desk("PUT", "Address", address, {"disabled": 1})
    sync.deliver()
    wait_for(lambda: [a["id"] for a in medusa.customers[MEDUSA_ID]["addresses"]] == ["cuaddr_shop"])


def test_a_billing_address_made_in_medusa_is_left_when_the_site_has_none(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa, primary=False)
    medusa.customers[MEDUSA_ID]["addresses"].append(
        {"id": "cuaddr_shop", "is_default_billing": True, "address_1": "Shop St", "metadata": None}
    )
    sync.desk("DELETE", "Address", address)
    sync.deliver()
    wait_for(lambda: delivered(sync))
    assert medusa.customers[MEDUSA_ID]["addresses"][0]["id"] == "cuaddr_shop"
    assert not [r for r in medusa.requests if r[0] == "DELETE"]


def test_an_address_edit_whose_webhook_was_lost_is_found_by_the_changes_pass(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    sync.reconcile()  # the Addresses' watermark is set
    sync.site.drop_webhooks(10)
    sync.desk("PUT", "Address", address, {"city": "Durham"})
    sync.deliver()
    assert events(sync) == []
    reports = sync.reconcile()
    assert [(r.doctype, r.changed) for r in reports if r.doctype == "Address"] == [("Address", 1)]
    wait_for(lambda: (medusa.billing(MEDUSA_ID) or {}).get("city") == "Durham")
    sync.reconcile()  # nothing new: the watermark moved on
    assert len(events(sync)) == 1


def test_an_address_edited_by_sql_without_a_new_modified_is_found_by_the_full_pass(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    sync.site.sql_update("Address", address, {"city": "Hull"}, bump_modified=False)
    sync.reconcile()
    assert events(sync) == []  # the changes pass cannot see it
    (report,) = [r for r in sync.reconcile(full=True) if r.doctype == "Address"]
    assert report.changed == 1
    wait_for(lambda: (medusa.billing(MEDUSA_ID) or {}).get("city") == "Hull")
    sync.reconcile(full=True)
    assert len(events(sync)) == 1  # recorded: the next full pass finds nothing new


def test_an_address_deletion_whose_webhook_was_lost_is_found_by_the_pass(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa, primary=False)
    sent_billing(sync, medusa, address)
    sync.reconcile()
    sync.site.drop_webhooks(10)
    sync.desk("DELETE", "Address", address)
    sync.deliver()
    (report,) = [r for r in sync.reconcile() if r.doctype == "Address"]
    assert report.removed == 1
    wait_for(lambda: medusa.customers[MEDUSA_ID]["addresses"] == [])


def test_an_older_snapshot_never_replaces_a_newer_one(sync: World, medusa: MedusaAdmin):
    linked(sync, medusa)
    box = outbox(sync)
    stored = sync.site.doc("Customer", "Ada Lovelace")
    assert stored is not None
    from datetime import datetime, timedelta

    newer = datetime.fromisoformat(str(stored["modified"])) + timedelta(seconds=5)
    assert box.record_alone("Ada Lovelace", MEDUSA_ID, {"first_name": "New"}, newer, from_medusa=False) is not None
    older = newer - timedelta(seconds=1)
    assert box.record_alone("Ada Lovelace", MEDUSA_ID, {"first_name": "Old"}, older, from_medusa=False) is None
    wait_for(lambda: delivered(sync))
    assert medusa.customers[MEDUSA_ID]["first_name"] == "New"


def test_the_admin_page_lists_the_events_and_replays_a_dead_one(sync: World, medusa: MedusaAdmin):
    from tests.web.admin.pages import sign_in

    address = linked(sync, medusa)
    kept = medusa.customers.pop(MEDUSA_ID)
    sync.desk("PUT", "Address", address, {"city": "Bury"})
    sync.deliver()
    (dead,) = wait_for(lambda: events(sync, o.DEAD))
    token = sign_in(sync.client, sync.services)
    page = sync.client.get("/admin/outbox")
    assert page.status_code == 200 and "Sent to Medusa" in page.text
    assert "Ada Lovelace" in page.text and "404" in page.text and "was not found" in page.text
    assert f"/admin/outbox/{dead.id}/retry" in page.text
    refused = sync.client.post(f"/admin/outbox/{dead.id}/retry", data={}, follow_redirects=True)  # no form token
    assert "will be sent to Medusa now" not in refused.text
    assert outbox(sync).get(dead.id).state == o.DEAD  # type: ignore[union-attr]
    medusa.customers[MEDUSA_ID] = kept
    done = sync.client.post(f"/admin/outbox/{dead.id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "will be sent to Medusa now" in done.text, done.text
    wait_for(lambda: delivered(sync))
    assert f"<code>{dead.id}</code>" not in sync.client.get("/admin/outbox?state=dead").text


def test_the_gauges_count_each_state_and_the_oldest_waiting(sync: World, medusa: MedusaAdmin):
    from erpnext_medusa import metrics
    from erpnext_medusa.web.outbox_worker import update_gauges

    address = linked(sync, medusa)
    medusa.down = True
    sync.desk("PUT", "Address", address, {"city": "Poole"})
    sync.deliver()
    wait_for(lambda: events(sync, o.FAILED))
    update_gauges(sync.services)
    assert metrics.OUTBOX_EVENTS.labels(state="failed")._value.get() == 1
    assert metrics.OUTBOX_EVENTS.labels(state="delivered")._value.get() == 0
    assert metrics.OUTBOX_OLDEST_SECONDS._value.get() >= 0
    medusa.down = False
    wait_for(lambda: delivered(sync))
    update_gauges(sync.services)
    assert metrics.OUTBOX_EVENTS.labels(state="delivered")._value.get() == 1
    assert metrics.OUTBOX_OLDEST_SECONDS._value.get() == 0


def test_a_full_pass_over_unchanged_customers_reads_no_addresses(sync: World, medusa: MedusaAdmin):
    address = linked(sync, medusa)
    reads = sync.site.count("GET", f"/api/resource/Address/{address}")
    lists = sync.site.count("GET", "/api/resource/Address")
    sync.reconcile(full=True)
    assert sync.site.count("GET", f"/api/resource/Address/{address}") == reads
    # The Addresses beside the recorded billing addresses, and the Addresses' changes: one list read each.
    assert sync.site.count("GET", "/api/resource/Address") == lists + 2
    assert events(sync) == []
