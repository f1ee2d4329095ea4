"""erpnext_medusa.api.medusa_customer in the standalone shape: linked or not, the billing address by
update_address's rule, no last sync (nothing is sent to Medusa here), argument checks, guests and sessions."""

from __future__ import annotations

import pytest

from tests.helpers import address, assert_frappe_error, customer, execute, rows, seed

URL = "/api/method/erpnext_medusa.api.medusa_customer"
UPDATE = "/api/method/medusa_integration.api.update_address"
MEDUSA_ID = "cus_01ADA"


def status(client, header, **params):
    r = client.get(URL, params=params, headers=header)
    assert r.status_code == 200, r.text
    return r.json()["message"]


def address_names(services) -> list[str]:
    return [r["name"] for r in rows(services, 'SELECT name FROM "tabAddress" ORDER BY name')]


def test_an_unlinked_id_answers_linked_false(client, services, auth_header):
    seed(services, customer("Ada Lovelace", medusa_id="cus_other"))
    assert status(client, auth_header, medusa_id=MEDUSA_ID) == {"linked": False}


def test_a_linked_customer_without_address(client, services, auth_header):
    seed(services, customer("ADA-1", customer_name="Ada Lovelace", medusa_id=MEDUSA_ID))
    assert status(client, auth_header, medusa_id=MEDUSA_ID) == {
        "linked": True,
        "customer": "ADA-1",
        "customer_name": "Ada Lovelace",
        "billing_address": None,
        "last_sync": None,
    }


def test_the_billing_address_is_the_one_update_address_changes(client, services, auth_header):
    seed(
        services,
        customer("Ada Lovelace", medusa_id=MEDUSA_ID),
        address("Home", "Ada Lovelace", address_type="Shipping", address_line1="9 Ship St"),
        address("Office", "Ada Lovelace", address_line1="1 Bill St", address_line2="Floor 2", state="Dubai",
                pincode="00001"),
        address("Old", "Ada Lovelace", address_line1="5 Old St"),
    )  # fmt: skip
    office, old = (n for n in address_names(services) if n.startswith(("Office", "Old")))
    execute(services, 'UPDATE "tabAddress" SET is_primary_address = 1 WHERE name = :n', n=office)
    found = status(client, auth_header, medusa_id=MEDUSA_ID)["billing_address"]
    assert found == {
        "name": office,
        "address_line1": "1 Bill St",
        "address_line2": "Floor 2",
        "city": "Dubai",
        "state": "Dubai",
        "country": "United Arab Emirates",
        "pincode": "00001",
    }
    # the Customer's primary address comes first, as for update_address
    execute(services, 'UPDATE "tabCustomer" SET customer_primary_address = :a WHERE name = :n', a=old, n="Ada Lovelace")
    assert status(client, auth_header, medusa_id=MEDUSA_ID)["billing_address"]["name"] == old
    r = client.post(UPDATE, json={"customer_id": "Ada Lovelace", "city": "Sharjah"}, headers=auth_header)
    assert r.json() == {"message": "Address updated successfully"}, r.text
    shown = status(client, auth_header, medusa_id=MEDUSA_ID)["billing_address"]
    assert (shown["name"], shown["city"]) == (old, "Sharjah")


def test_the_id_is_compared_exactly_and_may_come_in_a_json_body(client, services, auth_header):
    seed(services, customer("Ada Lovelace", medusa_id=MEDUSA_ID))
    assert status(client, auth_header, medusa_id=" " + MEDUSA_ID) == {"linked": False}
    r = client.post(URL, json={"medusa_id": MEDUSA_ID}, headers=auth_header)
    assert r.json()["message"]["customer"] == "Ada Lovelace", r.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "medusa_id is required."),
        ({"medusa_id": ""}, "medusa_id is required."),
        ({"medusa_id": "   "}, "medusa_id is required."),
        ({"medusa_id": "c" * 141}, "medusa_id is too long: at most 140 characters are allowed."),
        ({"medusa_id": "cus\x00"}, "medusa_id contains a character that is not allowed."),
    ],
)
def test_a_bad_medusa_id_is_a_validation_error(client, services, auth_header, params, message):
    r = client.get(URL, params=params, headers=auth_header)
    assert assert_frappe_error(r, 417, "ValidationError")["message"] == message


def test_guests_are_refused(client, services):
    seed(services, customer("Ada Lovelace", medusa_id=MEDUSA_ID))
    r = client.get(URL, params={"medusa_id": MEDUSA_ID})
    message = assert_frappe_error(r, 403, "PermissionError")["message"]
    assert "erpnext_medusa.api.medusa_customer" in message


def test_a_wrong_key_is_refused(client, services):
    r = client.get(URL, params={"medusa_id": MEDUSA_ID}, headers={"Authorization": "token nokey:nosecret"})
    assert r.status_code == 401, r.text


def test_a_session_may_ask(client, services):
    seed(services, customer("Ada Lovelace", medusa_id=MEDUSA_ID))
    services.accounts.add_user("clerk@example.com", "Clerk", "a long enough password", services.now())
    r = client.post("/api/method/login", data={"usr": "clerk@example.com", "pwd": "a long enough password"})
    assert r.status_code == 200, r.text
    assert status(client, {}, medusa_id=MEDUSA_ID)["customer"] == "Ada Lovelace"


def test_the_method_is_in_the_openapi_document(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/method/erpnext_medusa.api.medusa_customer"]["get"]
    (parameter,) = operation["parameters"]
    assert parameter["name"] == "medusa_id" and parameter["required"] is True
    assert parameter["schema"]["maxLength"] == 140
