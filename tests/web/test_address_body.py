"""Pure tests of how update_address reads its body (erpnext_medusa.web.methods): JSON whatever the content
type, the customer id and the address fields as text. The address rules themselves are tested in
tests/domain/test_addresses.py, the reading of the call in test_frappe.py."""

from __future__ import annotations

import json

import pytest

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.web.frappe import NOT_JSON, Call
from erpnext_medusa.web.methods import AddressUpdate, read_address_update


def call(body: object) -> Call:
    return Call(method="medusa_integration.api.update_address", verb="POST", json_body=body, args={})


def read(body: object) -> AddressUpdate:
    return read_address_update(call(body))


@pytest.mark.parametrize("body", [NOT_JSON, [], "text", 42, None])
def test_a_body_that_is_not_a_json_object_is_refused(body):
    with pytest.raises(ValidationFailedError) as err:
        read(body)
    assert err.value.message == "Request body must be a JSON object."


@pytest.mark.parametrize("body", [{}, {"customer_id": None}, {"customer_id": ""}, {"customer_id": "  \t "},
                                  {"customer_id": ["Acme"]}, {"customer_id": {"name": "Acme"}},
                                  {"customer_id": True}, {"customer": "Acme"}])  # fmt: skip
def test_the_customer_id_is_required(body):
    with pytest.raises(ValidationFailedError) as err:
        read(body)
    assert err.value.message == "Customer ID is required."


def test_the_customer_id_is_stripped_and_numbers_are_taken_as_text():
    assert read({"customer_id": "  Acme Ltd  "}).customer_id == "Acme Ltd"
    assert read({"customer_id": 42}).customer_id == "42"


def test_a_customer_id_longer_than_a_name_is_refused():
    with pytest.raises(ValidationFailedError) as err:
        read({"customer_id": "x" * 141})
    assert err.value.message == "Customer ID is too long: at most 140 characters are allowed."


def test_only_the_address_fields_sent_are_changes():
    body = {"customer_id": "Acme", "city": "Abu Dhabi", "address_title": "X", "phone": "1", "pincode": None}
    assert read(body) == AddressUpdate("Acme", {"city": "Abu Dhabi", "pincode": None})
    assert read({"customer_id": "Acme"}).changes == {}


def test_whole_numbers_are_taken_as_text():
    body = {"customer_id": "Acme", "pincode": 12345, "address_line2": 0}
    assert read(body).changes == {"pincode": "12345", "address_line2": "0"}


@pytest.mark.parametrize("value", [True, False, ["Dubai"], {"name": "Dubai"}, 1.5])
@pytest.mark.parametrize(("field", "label"), [("city", "City"), ("pincode", "Postal Code")])
def test_other_json_types_are_refused(field, label, value):
    with pytest.raises(ValidationFailedError) as err:
        read({"customer_id": "Acme", field: value})
    assert err.value.message == f"{label} must be text."


def test_the_customer_id_is_checked_before_the_fields():
    with pytest.raises(ValidationFailedError) as err:
        read({"city": 1.5})
    assert err.value.message == "Customer ID is required."


def test_the_body_is_parsed_once_into_the_call():
    body = json.loads('{"customer_id": "Acme", "city": "Dubai"}')
    assert read(body) == AddressUpdate("Acme", {"city": "Dubai"})


@pytest.mark.parametrize("body", [{}, {"customer_id": None}, {"customer_id": ""}, {"customer_id": "  "}])
def test_a_medusa_customer_may_leave_the_customer_id_out(body):
    # Their token names their Customer (the domain finds it); a customer_id they do send is still read.
    assert read_address_update(call({**body, "city": "Dubai"}), customer_optional=True) == AddressUpdate(
        None, {"city": "Dubai"}
    )
    assert read_address_update(call({"customer_id": " Acme "}), customer_optional=True).customer_id == "Acme"
