"""domain/intake.py: the mapping from a Medusa customer to an ERPNext Lead's fields, alone (a pure function), the
checks of an event, and ERPNext's Lead naming rules the intake shares with the import."""

from __future__ import annotations

import pytest

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.intake import CONTACT_FIELDS, CustomerEvent, MedusaCustomer, check_event, lead_contact
from erpnext_medusa.domain.leads import lead_titles


def test_a_full_customer_maps_onto_the_lead_fields():
    customer = MedusaCustomer(
        id="cus_01",
        email="ali@example.com",
        first_name="Ali",
        last_name="Hassan",
        phone="+971 50 123 4567",
        company_name="Hassan Trading",
    )
    assert lead_contact(customer) == {
        "first_name": "Ali",
        "last_name": "Hassan",
        "lead_name": "Ali Hassan",
        "title": "Hassan Trading",
        "email_id": "ali@example.com",
        "mobile_no": "+971 50 123 4567",
        "company_name": "Hassan Trading",
    }


def test_every_contact_field_is_always_present_so_an_update_can_clear_one():
    mapped = lead_contact(MedusaCustomer(id="cus_01", email="x@example.com"))
    assert list(mapped) == list(CONTACT_FIELDS)
    assert mapped == {
        "first_name": None,
        "last_name": None,
        "lead_name": "x",
        "title": "x",
        "email_id": "x@example.com",
        "mobile_no": None,
        "company_name": None,
    }


@pytest.mark.parametrize(
    ("customer", "lead_name", "title"),
    [
        (MedusaCustomer(id="c", first_name="Ali", email="a@x.io"), "Ali", "Ali"),
        (MedusaCustomer(id="c", first_name="Ali", last_name="Hassan", company_name="Co"), "Ali Hassan", "Co"),
        (MedusaCustomer(id="c", last_name="Hassan", email="ali.h@x.io"), "ali.h", "ali.h"),  # ERPNext: no first name
        (MedusaCustomer(id="c", company_name="Noor LLC", email="n@x.io"), "Noor LLC", "Noor LLC"),
        (MedusaCustomer(id="c", email="سارة@example.com"), "سارة", "سارة"),
    ],
)
def test_lead_name_is_the_full_name_else_the_company_else_the_email(customer, lead_name, title):
    mapped = lead_contact(customer)
    assert (mapped["lead_name"], mapped["title"]) == (lead_name, title)


def test_text_is_stripped_and_blank_is_none():
    mapped = lead_contact(MedusaCustomer(id="c", first_name="  Ali ", last_name=" ", email=" a@x.io ", phone=""))
    assert (mapped["first_name"], mapped["last_name"], mapped["email_id"], mapped["mobile_no"]) == (
        "Ali",
        None,
        "a@x.io",
        None,
    )


def test_a_customer_with_nothing_to_name_the_lead_by_is_refused():
    with pytest.raises(ValidationFailedError, match="no first name, company name or e-mail"):
        lead_contact(MedusaCustomer(id="c", last_name="Hassan", phone="123"))


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@x.io", "a@x.io,b@x.io", "@x.io"])
def test_an_email_that_is_not_one_is_refused(email):
    with pytest.raises(ValidationFailedError, match="is not a valid e-mail address"):
        lead_contact(MedusaCustomer(id="c", first_name="Ali", email=email))


@pytest.mark.parametrize("field", ["first_name", "last_name", "company_name", "phone"])
def test_values_longer_than_their_columns_are_refused_naming_the_medusa_field(field):
    assert lead_contact(MedusaCustomer(id="c", email="a@x.io", **{field: "x" * 140}))
    with pytest.raises(ValidationFailedError) as err:
        lead_contact(MedusaCustomer(id="c", email="a@x.io", **{field: "x" * 141}))
    assert err.value.message == f"{field} is too long: at most 140 characters are allowed."


def test_a_shorter_column_in_the_database_is_the_limit():
    with pytest.raises(ValidationFailedError, match="first_name is too long: at most 20"):
        lead_contact(MedusaCustomer(id="c", first_name="x" * 21), {"first_name": 20})


def test_a_long_full_name_is_cut_to_the_column_as_erpnext_does():
    mapped = lead_contact(MedusaCustomer(id="c", first_name="a" * 100, last_name="b" * 100))
    assert mapped["lead_name"] == ("a" * 100 + " " + "b" * 100)[:140]


def test_nul_is_refused():
    with pytest.raises(ValidationFailedError, match="first_name contains a character that is not allowed"):
        lead_contact(MedusaCustomer(id="c", first_name="A\x00li"))


def test_the_mapping_is_pure():
    customer = MedusaCustomer(id="c", first_name="Ali", email="a@x.io")
    assert lead_contact(customer) == lead_contact(customer)
    assert customer == MedusaCustomer(id="c", first_name="Ali", email="a@x.io")


# --- the event ------------------------------------------------------------------------------------------------


def event(event_id: str = "evt_1", kind: str = "customer.created", medusa_id: str = "cus_1") -> CustomerEvent:
    return CustomerEvent(id=event_id, type=kind, customer=MedusaCustomer(id=medusa_id, email="a@x.io"))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (event(kind="customer.deleted"), "type must be one of customer.created, customer.updated."),
        (event(event_id=""), "id is required."),
        (event(medusa_id="  "), "data.id is required."),
        (event(medusa_id="x" * 141), "data.id is too long: at most 140 characters are allowed."),
        (event(event_id="e" * 141), "id is too long: at most 140 characters are allowed."),
        (event(medusa_id=" cus_1"), "data.id must not begin or end with spaces."),
    ],
)
def test_bad_events_are_refused(bad, message):
    with pytest.raises(ValidationFailedError) as err:
        check_event(bad)
    assert err.value.message == message


# --- ERPNext's Lead naming rules (shared with the import) ------------------------------------------------------


def test_lead_titles_follow_erpnext():
    assert lead_titles({"salutation": "Mr", "first_name": "Ali", "middle_name": "M", "last_name": "H"}) == (
        "Mr Ali M H",
        "Mr Ali M H",
    )
    assert lead_titles({"lead_name": "Given", "first_name": "Ali"}) == ("Given", "Given")
    assert lead_titles({"company_name": "Co", "email_id": "a@x.io"}) == ("Co", "Co")
    assert lead_titles({"first_name": "x" * 200}, 140) == ("x" * 140, "x" * 140)
    assert lead_titles({"last_name": "Only"}) is None
