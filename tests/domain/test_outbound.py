"""The outbound rules alone: the snapshot of a Customer, what counts as an echo, and how an answer is judged."""

from __future__ import annotations

import pytest

from erpnext_medusa.config import MEDUSA_FIELDS, Settings, SettingsError
from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.domain.models import Address, Customer


def _address(**fields: object) -> Address:
    values: dict[str, object] = dict(name="ADDR-1", address_title="A", address_type="Billing", address_line1="1 St",
                                     address_line2=None, city="Paris", state=None, country="France", pincode="75001",
                                     is_primary_address=True, is_shipping_address=False, disabled=False, modified=None,
                                     shared=False, extra={})  # fmt: skip
    values.update(fields)
    return Address(**values)  # type: ignore[arg-type]


def test_the_settings_know_the_same_fields_as_the_mapping():
    assert MEDUSA_FIELDS == o.FIELDS


def test_unknown_owned_fields_are_refused_by_name():
    with pytest.raises((SettingsError, ValueError), match=r"unknown field\(s\) fax"):
        Settings(medusa_erpnext_fields="email,fax")


@pytest.mark.parametrize(
    ("name", "parts"),
    [("Ada Lovelace", ("Ada", "Lovelace")), ("Ada", ("Ada", "")), ("Jean  Paul Sartre", ("Jean Paul", "Sartre")),
     ("", ("", ""))],
)  # fmt: skip
def test_a_customer_name_becomes_first_and_last_name(name, parts):
    assert o.split_name(name) == parts


def test_the_snapshot_keeps_only_the_fields_erpnext_owns():
    customer = Customer(
        name="C",
        customer_name="Ada Lovelace",
        medusa_id="cus_1",
        lead_name=None,
        customer_primary_address=None,
        email_id="a@x.org",
        mobile_no="+331",
    )
    snap = o.snapshot(customer, _address(), frozenset(o.FIELDS), default_countries())
    assert snap["first_name"] == "Ada" and snap["phone"] == "+331"
    assert snap["billing_address"]["country_code"] == "fr" and snap["billing_address"]["postal_code"] == "75001"
    only = o.snapshot(customer, _address(), frozenset({"email"}), default_countries())
    assert only == {"email": "a@x.org"}


def test_a_customer_without_e_mail_leaves_the_medusa_login_alone():
    customer = Customer(name="C", customer_name="Ada", medusa_id="cus_1", lead_name=None,
                        customer_primary_address=None, email_id=None, mobile_no=None)  # fmt: skip
    snap = o.snapshot(customer, None, frozenset(o.FIELDS), default_countries())
    assert "email" not in snap and snap["phone"] is None and snap["first_name"] == "Ada"


def test_changed_fields_and_echoes():
    assert o.changed_fields({"email": "a", "phone": "1"}, {"email": "b", "phone": "1"}) == ["email"]
    sent = {"first_name": "Ada", "last_name": "King", "email": "a@x.org", "phone": None}
    assert o.is_echo([sent], {"first_name": "Ada", "last_name": "King", "email": "a@x.org", "phone": ""})
    assert not o.is_echo([sent], {"first_name": "Augusta", "last_name": "King", "email": "a@x.org"})
    assert not o.is_echo([], {"first_name": "Ada"})
    # Medusa's event for an earlier delivery, arriving after a newer one was made, is an echo too.
    newer = {**sent, "last_name": "Byron"}
    assert o.is_echo([newer, sent], {"first_name": "Ada", "last_name": "King", "email": "a@x.org"})


@pytest.mark.parametrize(
    ("answer", "attempts", "expected"),
    [
        (o.Answer(200, ""), 1, (o.DELIVERED, 0.0)),
        (o.Answer(404, "gone"), 1, (o.DEAD, 0.0)),
        (o.Answer(400, "bad"), 1, (o.DEAD, 0.0)),
        (o.Answer(500, ""), 1, (o.FAILED, 1.0)),
        (o.Answer(None, "down"), 3, (o.FAILED, 4.0)),
        (o.Answer(429, "", retry_after=7), 2, (o.FAILED, 7.0)),
        (o.Answer(429, "", retry_after=10_000), 2, (o.FAILED, 300.0)),
        (o.Answer(401, ""), 8, (o.FAILED, 128.0)),  # a rejected key never makes an event dead
        (o.Answer(403, "", retry_after=1), 20, (o.FAILED, 300.0)),
        (o.Answer(500, ""), 20, (o.DEAD, 0.0)),
    ],
)
def test_each_answer_leads_to_its_state(answer, attempts, expected):
    assert o.verdict(answer, attempts, o.Policy()) == expected


def test_a_rejected_key_says_what_to_fix_and_other_answers_are_kept_as_they_are():
    assert o.explained(o.Answer(401, "Unauthorized")) == o.KEY_REJECTED + "Unauthorized"
    assert o.explained(o.Answer(409, "conflict")) == "conflict"


def test_retry_after_is_read_in_seconds():
    assert o.parse_retry_after("3") == 3.0
    assert o.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert o.parse_retry_after(None) is None
