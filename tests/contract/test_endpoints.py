"""The contract of the three endpoints, written once and run in both shapes (standalone and a live ERPNext
site through the double), on SQLite, PostgreSQL and MariaDB: the same calls give the same answers, and the
documents end up the same wherever they live."""

from __future__ import annotations

from typing import Any

from tests.contract.shapes import Shape, auth_header
from tests.helpers import assert_frappe_error

SEARCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"


def search(shape: Shape, **params: Any) -> Any:
    r = shape.client.get(SEARCH, params=params)
    assert r.status_code == 200, r.text
    return r.json()["message"]


def names(shape: Shape, **params: Any) -> list[str]:
    found = search(shape, **params)
    return [row["name"] for row in found] if isinstance(found, list) else []


def update(shape: Shape, **body: Any) -> Any:
    r = shape.client.post(UPDATE, json=body)
    assert r.status_code == 200, r.text
    return r.json()["message"]


def link(shape: Shape, customer: str, lead: str) -> Any:
    return shape.client.get(LINK, params={"customer": customer, "lead": lead}, headers=auth_header(shape))


# --- fetch_all_customers -------------------------------------------------------------------------------------


def test_every_word_is_a_case_insensitive_substring_of_enabled_unlinked_customers(shape: Shape):
    shape.add_customer("Ali Hassan", email_id="ali@example.com", mobile_no="+962 79 555 0123")
    shape.add_customer("Alina Petrova")
    shape.add_customer("Hassan Ali Trading")
    shape.add_customer("Bob Ali", disabled=1)
    shape.add_customer("Ali Linked", medusa_id="cus_linked")
    shape.ready()
    assert names(shape, name="ali") == ["Ali Hassan", "Alina Petrova", "Hassan Ali Trading"]
    assert names(shape, name="HASSAN ali") == ["Ali Hassan", "Hassan Ali Trading"]
    assert search(shape, name="hassan")[0] == {
        "name": "Ali Hassan",
        "customer_name": "Ali Hassan",
        "email_id": "ali@example.com",
        "mobile_no": "+962 79 555 0123",
    }
    assert search(shape, name="nobody") == "No relevant customers found"


def test_wildcards_are_literal_and_paging_is_stable(shape: Shape):
    for name in ("100% Cotton", "100 Cotton", "A_B Foods", "AxB Foods", "C1", "C2", "C3"):
        shape.add_customer(name)
    shape.ready()
    assert names(shape, name="100%") == ["100% Cotton"]
    assert names(shape, name="a_b") == ["A_B Foods"]
    assert names(shape, name="c", limit=2) == ["100 Cotton", "100% Cotton"]
    assert names(shape, name="c", limit=2, limit_start=2) == ["C1", "C2"]


# --- update_address --------------------------------------------------------------------------------------------


def test_only_the_fields_sent_change_on_the_billing_address(shape: Shape):
    shape.add_customer("Acme Trading LLC")
    shape.add_address("Acme Trading LLC", "Acme Trading LLC", address_line1="1 Old St", city="Dubai", pincode="111")
    assert update(shape, customer_id="Acme Trading LLC", city="Sharjah", country="ae") == "Address updated successfully"
    (stored,) = shape.addresses_of("Acme Trading LLC")
    assert (stored["address_line1"], stored["city"], stored["country"], stored["pincode"]) == (
        "1 Old St", "Sharjah", "United Arab Emirates", "111",
    )  # fmt: skip


def test_a_customer_without_an_address_gets_one_when_the_required_fields_come(shape: Shape):
    shape.add_customer("Fresh Co")
    partial = update(shape, customer_id="Fresh Co", city="Amman")
    assert partial == {"error": "Customer Fresh Co has no address; to create one, send Address Line 1, Country."}
    assert shape.addresses_of("Fresh Co") == []
    done = update(shape, customer_id="Fresh Co", address_line1="2 New St", city="Amman", country="Jordan")
    assert done == "Address updated successfully"
    (created,) = shape.addresses_of("Fresh Co")
    assert (created["address_type"], created["address_line1"], created["country"]) == ("Billing", "2 New St", "Jordan")
    assert shape.customer("Fresh Co")["customer_primary_address"] == created["name"]


def test_refusals_are_answered_in_the_contracts_shape_and_change_nothing(shape: Shape):
    shape.add_customer("Careful")
    shape.add_address("Careful", "Careful", city="Dubai")
    assert update(shape, customer_id="Nope", city="X") == {"error": "Customer Nope not found"}
    assert update(shape, customer_id="Careful", country="Atlantis") == {
        "error": "Country Atlantis is not a known country name or ISO code."
    }
    assert update(shape, customer_id="Careful", city="<b>x</b>") == {"error": "City cannot contain angle brackets."}
    assert [a["city"] for a in shape.addresses_of("Careful")] == ["Dubai"]


# --- link_medusa_lead --------------------------------------------------------------------------------------------


def test_link_copies_the_leads_medusa_id_and_is_idempotent(shape: Shape):
    shape.add_customer("Victim Co")
    lead = shape.add_lead(lead_name="Shopper", medusa_id="cus_01")
    shape.ready()
    for _ in range(2):
        r = link(shape, "Victim Co", lead)
        assert r.status_code == 200 and r.json() == {"message": {"status": "success"}}, r.text
    stored = shape.customer("Victim Co")
    assert (stored["medusa_id"], stored["lead_name"]) == ("cus_01", lead)
    assert names(shape, name="victim") == []


def test_link_refusals(shape: Shape):
    shape.add_customer("Holder", medusa_id="cus_02")
    shape.add_customer("Other")
    shape.add_customer("Taken", medusa_id="cus_03")
    held = shape.add_lead(lead_name="Held", medusa_id="cus_02")
    plain = shape.add_lead(lead_name="No Id")
    free = shape.add_lead(lead_name="Free", medusa_id="cus_04")
    msg = assert_frappe_error(link(shape, "Nobody", held), 404, "DoesNotExistError")
    assert msg["message"] == "Customer Nobody not found"
    msg = assert_frappe_error(link(shape, "Other", "CRM-LEAD-1999-99999"), 404, "DoesNotExistError")
    assert msg["message"] == "Lead CRM-LEAD-1999-99999 not found"
    msg = assert_frappe_error(link(shape, "Other", plain), 417, "ValidationError")
    assert msg["message"] == "Selected Lead does not have a Medusa ID"
    msg = assert_frappe_error(link(shape, "Other", held), 417, "ValidationError")
    assert msg["message"] == "This Medusa Lead is already linked to another Customer: Holder"
    msg = assert_frappe_error(link(shape, "Taken", free), 417, "ValidationError")
    assert msg["message"] == "Customer Taken is already linked to a different Medusa ID: cus_03"
    assert not shape.customer("Other").get("medusa_id")
    r = shape.client.get(LINK, params={"customer": "Other", "lead": free})
    assert r.status_code == 403  # a guest may not link
