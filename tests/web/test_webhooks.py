"""POST /webhooks/medusa/customer through the real app, on every backend: signatures, Leads created and updated,
re-deliveries, bad bodies, the audit trail, concurrent deliveries through the real store, and the metrics."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from erpnext_medusa.domain.intake import CustomerEvent, MedusaCustomer, receive_customer_event
from erpnext_medusa.domain.models import Origin, Stamp
from tests.helpers import assert_frappe_error, lead, rows, seed
from tests.medusa_webhook import HEADER, SECRET, event_body, medusa_customer, signature

PATH = "/webhooks/medusa/customer"
YEAR = datetime.now().year


@pytest.fixture
def hook(client_with):
    return client_with(webhook_secret=SECRET)


def post(client, body: bytes, header: str | None = "sign", **headers: str):
    sent = {"Content-Type": "application/json", **headers}
    if header == "sign":
        sent[HEADER] = signature(body)
    elif header is not None:
        sent[HEADER] = header
    return client.post(PATH, content=body, headers=sent)


def leads(services) -> list[dict[str, Any]]:
    return rows(services, 'SELECT * FROM "tabLead" ORDER BY name')


def snapshot(services) -> dict[str, Any]:
    return {
        "leads": leads(services),
        "series": rows(services, 'SELECT * FROM "tabSeries" ORDER BY name'),
        "audit": rows(services, 'SELECT * FROM "erpnext_medusa_audit" ORDER BY id'),
        "events": rows(services, 'SELECT * FROM "erpnext_medusa_intake_event" ORDER BY name'),
    }


# --- the signature ---------------------------------------------------------------------------------------------


def test_without_the_secret_setting_the_route_does_not_exist(client, services):
    body = event_body()
    r = post(client, body)
    assert r.status_code == 404
    assert leads(services) == []


def bad_signatures() -> dict[str, Any]:
    now = time.time()
    return {
        "none": None,
        "empty": "",
        "wrong secret": lambda b: signature(b, secret="another-secret-0123456789abcdef-0123456789"),
        "other body": lambda b: signature(b + b" "),
        "stale": lambda b: signature(b, at=now - 400),
        "future": lambda b: signature(b, at=now + 400),
        "no timestamp": lambda b: signature(b).split(",", 1)[1],
        "no v1": lambda b: signature(b).split(",", 1)[0],
        "timestamp not a number": lambda b: "t=abc,v1=" + signature(b).split("v1=")[1],
        "timestamp changed": lambda b: signature(b).replace("t=", "t=1", 1),
        "v1 upper-case": lambda b: signature(b).upper().replace("T=", "t=").replace("V1=", "v1="),
        "v1 truncated": lambda b: signature(b)[:-1],
        "garbage": lambda b: "sha256=deadbeef",
    }


@pytest.mark.parametrize("kind", list(bad_signatures()))
def test_unsigned_badly_signed_or_stale_events_are_401_and_change_nothing(hook, services, kind):
    body = event_body()
    make = bad_signatures()[kind]
    header = make(body) if callable(make) else make
    before = snapshot(services)
    r = post(hook, body, header=header)
    assert r.status_code == 401, r.text
    assert r.json() == {
        "exception": "frappe.exceptions.AuthenticationError",
        "exc_type": "AuthenticationError",
        "exc": '["frappe.exceptions.AuthenticationError"]',
    }
    assert snapshot(services) == before


@pytest.mark.parametrize("offset", [-299, 0, 299])
def test_a_signature_within_300_seconds_either_way_is_accepted(hook, services, offset):
    body = event_body()
    r = post(hook, body, header=signature(body, at=time.time() + offset))
    assert r.status_code == 200, r.text
    assert r.json() == {"message": {"lead": f"CRM-LEAD-{YEAR}-00001", "created": True}}


def test_a_second_v1_value_may_carry_the_right_signature(hook):
    # A sender rotating secrets signs with both; any one matching is enough.
    body = event_body()
    good = signature(body)
    t, v1 = good.split(",")
    assert post(hook, body, header=f"{t},v1={'0' * 64},{v1}").status_code == 200


def test_the_signature_is_checked_before_the_body_is_read(hook, services):
    r = post(hook, b"not json", header="t=1,v1=00")
    assert r.status_code == 401


# --- created, updated, re-delivered -------------------------------------------------------------------------


def test_customer_created_makes_a_lead_as_erpnext_would(hook, services):
    r = post(hook, event_body())
    assert r.status_code == 200
    assert r.json() == {"message": {"lead": f"CRM-LEAD-{YEAR}-00001", "created": True}}
    (row,) = leads(services)
    assert {k: row[k] for k in ("name", "naming_series", "first_name", "last_name", "lead_name", "title")} == {
        "name": f"CRM-LEAD-{YEAR}-00001",
        "naming_series": "CRM-LEAD-.YYYY.-",
        "first_name": "Ali",
        "last_name": "Hassan",
        "lead_name": "Ali Hassan",
        "title": "Ali Hassan",
    }
    assert (row["email_id"], row["mobile_no"], row["company_name"]) == ("ali@example.com", "+971501234567", None)
    assert (row["status"], row["source"], row["medusa_id"]) == ("Lead", None, "cus_01ALI")
    assert (row["owner"], row["modified_by"], row["docstatus"]) == ("Guest", "Guest", 0)
    assert rows(services, 'SELECT name, current FROM "tabSeries"') == [{"name": f"CRM-LEAD-{YEAR}-", "current": 1}]


def test_leads_are_numbered_from_the_series_skipping_names_in_use(hook, services):
    seed(services, lead(f"CRM-LEAD-{YEAR}-00001"), lead(f"CRM-LEAD-{YEAR}-00002"))
    r = post(hook, event_body())
    assert r.json()["message"]["lead"] == f"CRM-LEAD-{YEAR}-00003"
    r = post(hook, event_body("evt_2", id="cus_02", email="b@example.com"))
    assert r.json()["message"]["lead"] == f"CRM-LEAD-{YEAR}-00004"


def test_the_lead_source_setting_fills_source(client_with, services):
    client = client_with(webhook_secret=SECRET, lead_source="Medusa Storefront")
    assert post(client, event_body()).status_code == 200
    assert [r["source"] for r in leads(services)] == ["Medusa Storefront"]


def test_a_redelivery_of_the_same_event_changes_nothing(hook, services):
    first = post(hook, event_body())
    after_first = snapshot(services)
    again = post(hook, event_body())
    assert again.status_code == 200
    assert again.json() == {"message": {"lead": first.json()["message"]["lead"], "created": False}}
    assert snapshot(services) == after_first


def test_a_late_redelivery_does_not_undo_a_later_update(hook, services):
    post(hook, event_body("evt_1", "customer.updated", email="old@example.com"))
    post(hook, event_body("evt_2", "customer.updated", email="new@example.com"))
    settled = snapshot(services)
    r = post(hook, event_body("evt_1", "customer.updated", email="old@example.com"))
    assert r.json()["message"]["created"] is False
    assert snapshot(services) == settled
    assert leads(services)[0]["email_id"] == "new@example.com"


def test_customer_created_for_a_customer_with_a_lead_changes_nothing(hook, services):
    post(hook, event_body("evt_1"))
    before = snapshot(services)["leads"]
    r = post(hook, event_body("evt_2", first_name="Other"))
    assert r.json() == {"message": {"lead": f"CRM-LEAD-{YEAR}-00001", "created": False}}
    assert snapshot(services)["leads"] == before


def test_customer_updated_changes_the_contact_fields_and_nothing_else(hook, services):
    post(hook, event_body())
    name = f"CRM-LEAD-{YEAR}-00001"
    # What the back office did to the Lead meanwhile stays.
    with services.store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE {} SET status = 'Replied', territory = 'UAE', city = 'Dubai'".format(
                "`tabLead`" if services.store.dialect in ("mysql", "mariadb") else '"tabLead"'
            )
        )
    before = leads(services)[0]
    body = event_body(
        "evt_2", "customer.updated", first_name="Alia", last_name=None, email="alia@example.com",
        phone="+97155000", company_name="Noor LLC",
    )  # fmt: skip
    r = post(hook, body)
    assert r.json() == {"message": {"lead": name, "created": False}}
    after = leads(services)[0]
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {
        "first_name", "last_name", "lead_name", "title", "email_id", "mobile_no", "company_name", "modified",
    }  # fmt: skip
    assert (after["first_name"], after["last_name"], after["lead_name"], after["title"]) == (
        "Alia",
        None,
        "Alia",
        "Noor LLC",
    )
    assert (after["email_id"], after["mobile_no"], after["company_name"]) == (
        "alia@example.com",
        "+97155000",
        "Noor LLC",
    )
    assert (after["status"], after["territory"], after["city"], after["medusa_id"]) == (
        "Replied",
        "UAE",
        "Dubai",
        "cus_01ALI",
    )


def test_customer_updated_with_nothing_new_changes_nothing_but_is_remembered(hook, services):
    post(hook, event_body())
    before = snapshot(services)
    r = post(hook, event_body("evt_2", "customer.updated"))
    assert r.json()["message"]["created"] is False
    after = snapshot(services)
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
    assert [e["outcome"] for e in after["events"]] == ["created", "unchanged"]


def test_customer_updated_before_created_makes_the_lead(hook, services):
    r = post(hook, event_body("evt_u", "customer.updated"))
    assert r.json() == {"message": {"lead": f"CRM-LEAD-{YEAR}-00001", "created": True}}
    late = post(hook, event_body("evt_c", "customer.created"))
    assert late.json() == {"message": {"lead": f"CRM-LEAD-{YEAR}-00001", "created": False}}
    assert len(leads(services)) == 1


def test_a_lead_made_elsewhere_with_the_medusa_id_is_the_one_updated(hook, services):
    seed(services, lead("LEAD-BY-HAND", medusa_id="cus_01ALI"))
    r = post(hook, event_body("evt_1", "customer.updated"))
    assert r.json() == {"message": {"lead": "LEAD-BY-HAND", "created": False}}
    assert [(r["name"], r["email_id"]) for r in leads(services)] == [("LEAD-BY-HAND", "ali@example.com")]


def test_ids_are_compared_exactly(hook, services):
    seed(services, lead("L-UPPER", medusa_id="CUS_01ALI"))
    assert post(hook, event_body()).json()["message"]["created"] is True
    assert sorted(r["medusa_id"] for r in leads(services)) == ["CUS_01ALI", "cus_01ALI"]


# --- the audit trail ------------------------------------------------------------------------------------------------


def test_every_write_is_in_the_audit_trail_with_the_medusa_customer_as_actor(hook, services):
    post(hook, event_body(), **{"X-Request-Id": "create-1"})
    post(hook, event_body("evt_2", "customer.updated", email="new@example.com"))
    post(hook, event_body("evt_2", "customer.updated", email="new@example.com"))  # re-delivered: no row
    name = f"CRM-LEAD-{YEAR}-00001"
    created, updated = services.audit.list_audit(customer=None, since=None, limit=10)
    assert (created.action, created.user, created.medusa_actor, created.customer) == (
        "create_lead",
        "Guest",
        "cus_01ALI",
        None,
    )
    assert created.client_request_id == "create-1" and created.request_id
    assert created.documents == [f"Lead/{name}"]
    assert created.changes[f"Lead/{name}"] == {
        "naming_series": [None, "CRM-LEAD-.YYYY.-"],
        "first_name": [None, "Ali"],
        "last_name": [None, "Hassan"],
        "lead_name": [None, "Ali Hassan"],
        "title": [None, "Ali Hassan"],
        "email_id": [None, "ali@example.com"],
        "mobile_no": [None, "+971501234567"],
        "status": [None, "Lead"],
        "medusa_id": [None, "cus_01ALI"],
    }
    assert (updated.action, updated.medusa_actor) == ("update_lead", "cus_01ALI")
    assert updated.changes == {f"Lead/{name}": {"email_id": ["ali@example.com", "new@example.com"]}}


# --- bad bodies -------------------------------------------------------------------------------------------------


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


GOOD = {"id": "evt_1", "type": "customer.created", "data": medusa_customer()}
BAD_BODIES = {
    "not json": (b"{not json", "The body must be a JSON object."),
    "empty": (b"", "The body must be a JSON object."),
    "a list": (body_of([GOOD]), "The body must be a JSON object."),
    "no id": (body_of({**GOOD, "id": None}), "id is required."),
    "id a number": (body_of({**GOOD, "id": 7}), "id must be text."),
    "blank id": (body_of({**GOOD, "id": " "}), "id is required."),
    "unknown type": (body_of({**GOOD, "type": "customer.deleted"}), None),
    "type missing": (body_of({"id": "e", "data": medusa_customer()}), "type is required."),
    "no data": (body_of({**GOOD, "data": None}), "data must be an object: the Medusa customer."),
    "data a string": (body_of({**GOOD, "data": "cus_1"}), "data must be an object: the Medusa customer."),
    "no customer id": (body_of({**GOOD, "data": medusa_customer(id=None)}), "data.id is required."),
    "customer id a number": (body_of({**GOOD, "data": medusa_customer(id=12)}), "data.id must be text."),
    "email a list": (body_of({**GOOD, "data": medusa_customer(email=["a@x.io"])}), "data.email must be text or null."),
    "phone a number": (body_of({**GOOD, "data": medusa_customer(phone=5551234)}), "data.phone must be text or null."),
    "metadata a string": (
        body_of({**GOOD, "data": medusa_customer(metadata="x")}),
        "data.metadata must be an object or null.",
    ),
    "email not an email": (body_of({**GOOD, "data": medusa_customer(email="ali at example")}), None),
    "first name too long": (
        body_of({**GOOD, "data": medusa_customer(first_name="x" * 141)}),
        "first_name is too long: at most 140 characters are allowed.",
    ),
    "customer id too long": (
        body_of({**GOOD, "data": medusa_customer(id="c" * 141)}),
        "data.id is too long: at most 140 characters are allowed.",
    ),
    "event id too long": (body_of({**GOOD, "id": "e" * 141}), "id is too long: at most 140 characters are allowed."),
    "nothing to name by": (
        body_of({**GOOD, "data": medusa_customer(first_name=None, email=None, company_name=None)}),
        "The customer has no first name, company name or e-mail to name a Lead by.",
    ),
    "NUL in a name": (
        body_of({**GOOD, "data": medusa_customer(last_name="Has\x00san")}),
        "last_name contains a character that is not allowed.",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_bad_bodies_are_417_in_frappes_shape_and_change_nothing(hook, services, kind):
    post(hook, event_body("evt_0", id="cus_other", email="o@example.com"))  # something there to stay unchanged
    before = snapshot(services)
    body, message = BAD_BODIES[kind]
    r = post(hook, body)
    msg = assert_frappe_error(r, 417, "ValidationError", message)
    assert msg["message"]
    assert snapshot(services) == before


def test_a_body_over_the_size_limit_is_413(hook, services):
    body = event_body(first_name="x" * 70_000)
    assert post(hook, body).status_code == 413
    assert leads(services) == []


@pytest.mark.parametrize("verb", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post_is_routed(hook, verb):
    assert hook.request(verb, PATH).status_code == 405


# --- concurrency through the real store ------------------------------------------------------------------------


def _event(event_id: str, medusa_id: str = "cus_race", kind: str = "customer.created") -> CustomerEvent:
    return CustomerEvent(event_id, kind, MedusaCustomer(id=medusa_id, email="race@example.com", first_name="R"))


def _stamp(medusa_id: str) -> Stamp:
    return Stamp(user="Guest", at=datetime.now().replace(microsecond=0), origin=Origin(medusa_actor=medusa_id))


@pytest.mark.parametrize("same_event", [True, False], ids=["one-event", "distinct-events"])
def test_concurrent_deliveries_for_one_customer_make_one_lead(services, same_event):
    attempts = 8
    barrier = threading.Barrier(attempts)

    def deliver(i: int):
        event = _event(
            "evt_race" if same_event else f"evt_race_{i}", kind=("customer.created", "customer.updated")[i % 2]
        )
        barrier.wait(timeout=30)
        return receive_customer_event(services.store, event, _stamp("cus_race"))

    with ThreadPoolExecutor(attempts) as pool:
        results = list(pool.map(deliver, range(attempts)))

    (row,) = leads(services)
    assert {r.lead for r in results} == {row["name"]}
    assert Counter(r.created for r in results) == {True: 1, False: attempts - 1}
    audit = services.audit.list_audit(customer=None, since=None, limit=100)
    assert [e.action for e in audit] == ["create_lead"]
    events = rows(services, 'SELECT name, lead FROM "erpnext_medusa_intake_event"')
    assert len(events) == (1 if same_event else attempts)
    assert {e["lead"] for e in events} == {row["name"]}


def test_concurrent_deliveries_for_different_customers_make_one_lead_each(services):
    attempts = 8
    barrier = threading.Barrier(attempts)

    def deliver(i: int):
        barrier.wait(timeout=30)
        return receive_customer_event(services.store, _event(f"evt_{i}", f"cus_{i}"), _stamp(f"cus_{i}"))

    with ThreadPoolExecutor(attempts) as pool:
        results = list(pool.map(deliver, range(attempts)))
    assert all(r.created for r in results)
    names = [r["name"] for r in leads(services)]
    assert sorted(names) == sorted(r.lead for r in results)
    assert sorted(names) == [f"CRM-LEAD-{results[0].lead[9:13]}-{n:05d}" for n in range(1, attempts + 1)]


# --- metrics --------------------------------------------------------------------------------------------------------


def _intake_counts(text: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "erpnext_medusa_intake_events_total":
                counts[sample.labels["outcome"]] = sample.value
    return counts


def test_intake_events_are_counted_by_outcome(client_with, services):
    client = client_with(webhook_secret=SECRET, metrics="open")
    before = _intake_counts(client.get("/metrics").text)
    post(client, event_body("evt_1"))
    post(client, event_body("evt_2", "customer.updated", email="new@example.com"))
    post(client, event_body("evt_2", "customer.updated", email="new@example.com"))
    post(client, event_body("evt_3"), header=None)
    post(client, b"[]")
    after = _intake_counts(client.get("/metrics").text)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("created", "updated", "unchanged", "refused")}
    assert delta == {"created": 1, "updated": 1, "unchanged": 1, "refused": 2}
