"""Pure tests of the address rules in erpnext_medusa.domain.addresses (no database, no HTTP)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime
from typing import Any

import pytest

from erpnext_medusa.domain.addresses import check_changes, choose_address, render_address
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.models import ADDRESS_FIELDS, ADDRESS_LABELS, Address, Customer, Link

LENGTHS = {"address_line1": 240, "address_line2": 240, "city": 140, "state": 140, "country": 140, "pincode": 140}
OLD = datetime(2025, 1, 1, 9, 0, 0)
NEW = datetime(2025, 6, 1, 9, 0, 0)


def addr(name: str, address_type: str = "Billing", **fields: Any) -> Address:
    values: dict[str, Any] = {
        "name": name,
        "address_title": name,
        "address_type": address_type,
        "address_line1": "1 Main Street",
        "address_line2": None,
        "city": "Dubai",
        "state": None,
        "country": "United Arab Emirates",
        "pincode": None,
        "modified": OLD,
    }
    values.update(fields)
    return Address(**values)


def cust(primary: str | None = None) -> Customer:
    return Customer(name="Acme", customer_name="Acme", medusa_id=None, lead_name=None, customer_primary_address=primary)


def chosen(customer: Customer, addresses: list[Address]) -> str | None:
    """The chosen name, checked to be the same for every input order (no "first row wins")."""
    results = {
        (choice.name if (choice := choose_address(customer, list(order))) else None)
        for order in itertools.permutations(addresses)
    }
    assert len(results) == 1, f"choice depends on input order: {results}"
    return results.pop()


# --- choose_address ---------------------------------------------------------------------------------------


def test_no_addresses_means_none():
    assert choose_address(cust(), []) is None
    assert choose_address(cust("Acme-Billing"), []) is None


def test_primary_pointer_wins_over_everything():
    addresses = [
        addr("A-Billing", is_primary_address=True, modified=NEW),
        addr("B-Shipping", "Shipping", modified=OLD),
        addr("C-Billing", modified=NEW),
    ]
    assert chosen(cust("B-Shipping"), addresses) == "B-Shipping"


def test_primary_pointer_to_an_address_not_in_the_list_is_ignored():
    addresses = [addr("A-Billing", modified=OLD), addr("B-Billing", is_primary_address=True, modified=OLD)]
    assert chosen(cust("Gone-Billing"), addresses) == "B-Billing"


def test_billing_preferred_over_other_types():
    addresses = [
        addr("A-Shipping", "Shipping", is_primary_address=True, modified=NEW),
        addr("B-Office", "Office", is_primary_address=True, modified=NEW),
        addr("Z-Billing", modified=OLD),
    ]
    assert chosen(cust(), addresses) == "Z-Billing"


def test_preferred_billing_first_even_if_older():
    addresses = [addr("A-Billing", modified=NEW), addr("Z-Billing", is_primary_address=True, modified=OLD)]
    assert chosen(cust(), addresses) == "Z-Billing"


def test_newer_modified_first():
    assert chosen(cust(), [addr("A-Billing", modified=OLD), addr("Z-Billing", modified=NEW)]) == "Z-Billing"
    assert chosen(cust(), [addr("A-Billing", modified=NEW), addr("Z-Billing", modified=OLD)]) == "A-Billing"


def test_among_preferred_newer_first():
    addresses = [
        addr("A-Billing", is_primary_address=True, modified=OLD),
        addr("B-Billing", is_primary_address=True, modified=NEW),
        addr("C-Billing", modified=datetime(2026, 1, 1)),
    ]
    assert chosen(cust(), addresses) == "B-Billing"


def test_missing_modified_sorts_after_dated():
    assert chosen(cust(), [addr("A-Billing", modified=None), addr("Z-Billing", modified=OLD)]) == "Z-Billing"


def test_name_breaks_ties():
    addresses = [addr("C-Billing"), addr("A-Billing"), addr("B-Billing")]
    assert chosen(cust(), addresses) == "A-Billing"


def test_microseconds_count_in_modified_order():
    later = OLD.replace(microsecond=1)
    assert chosen(cust(), [addr("A-Billing", modified=OLD), addr("B-Billing", modified=later)]) == "B-Billing"


def test_without_billing_any_type_in_the_same_order():
    addresses = [
        addr("A-Shipping", "Shipping", modified=NEW),
        addr("B-Office", "Office", is_primary_address=True, modified=OLD),
        addr("C-Personal", "Personal", modified=datetime(2026, 1, 1)),
    ]
    assert chosen(cust(), addresses) == "B-Office"
    without_preferred = [dataclasses.replace(a, is_primary_address=False) for a in addresses]
    assert chosen(cust(), without_preferred) == "C-Personal"


# --- check_changes ------------------------------------------------------------------------------------------


def test_check_changes_keeps_only_address_fields():
    changes = {"city": "Abu Dhabi", "address_title": "X", "phone": "1", "pincode": "0042"}
    assert check_changes(changes, LENGTHS) == {"city": "Abu Dhabi", "pincode": "0042"}
    assert check_changes({}, LENGTHS) == {}


def test_check_changes_all_fields():
    changes: dict[str, str | None] = {f: f"value of {f}" for f in ADDRESS_FIELDS}
    assert check_changes(changes, LENGTHS) == changes


def test_check_changes_strips():
    changes = {"address_line1": "  12 Palm Road\t", "city": "\nDubai ", "pincode": " 00000 "}
    assert check_changes(changes, LENGTHS) == {"address_line1": "12 Palm Road", "city": "Dubai", "pincode": "00000"}


@pytest.mark.parametrize("field", ["address_line2", "state", "pincode"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_check_changes_blank_optional_clears(field, value):
    assert check_changes({field: value}, LENGTHS) == {field: None}


@pytest.mark.parametrize("field", ["address_line1", "city", "country"])
@pytest.mark.parametrize("value", [None, "", "  \n "])
def test_check_changes_required_cannot_be_blanked(field, value):
    with pytest.raises(ValidationFailedError) as err:
        check_changes({field: value}, LENGTHS)
    assert err.value.message == f"{ADDRESS_LABELS[field]} cannot be empty."


def test_check_changes_lengths_come_from_the_columns():
    lengths = {**LENGTHS, "city": 5, "address_line1": 3}
    assert check_changes({"city": "abcde", "address_line1": "abc"}, lengths) == {
        "city": "abcde",
        "address_line1": "abc",
    }
    with pytest.raises(ValidationFailedError) as err:
        check_changes({"city": "abcdef"}, lengths)
    assert err.value.message == "City is too long: at most 5 characters are allowed."
    with pytest.raises(ValidationFailedError):
        check_changes({"address_line1": "abcd"}, lengths)


def test_check_changes_length_is_counted_after_strip_and_in_characters():
    lengths = {**LENGTHS, "city": 3}
    assert check_changes({"city": "  دبي  "}, lengths) == {"city": "دبي"}
    assert check_changes({"city": "🏠🏠🏠"}, lengths) == {"city": "🏠🏠🏠"}


def test_check_changes_without_a_column_length_the_doctype_limit_holds():
    assert check_changes({"state": "s" * 140}, {}) == {"state": "s" * 140}
    with pytest.raises(ValidationFailedError):
        check_changes({"state": "s" * 141}, {})
    wide = dict.fromkeys(ADDRESS_FIELDS, 1000)  # a wider column never lifts the DocType's own limit
    with pytest.raises(ValidationFailedError):
        check_changes({"address_line1": "x" * 241}, wide)


def test_check_changes_real_column_sizes():
    assert check_changes({"address_line1": "x" * 240}, LENGTHS) == {"address_line1": "x" * 240}
    for field, limit in LENGTHS.items():
        with pytest.raises(ValidationFailedError):
            check_changes({field: "x" * (limit + 1)}, LENGTHS)


@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_check_changes_nul_rejected(field):
    with pytest.raises(ValidationFailedError):
        check_changes({field: "a\x00b"}, LENGTHS)


@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_check_changes_markup_rejected(field):
    with pytest.raises(ValidationFailedError) as err:
        check_changes({field: "<b>x</b>"}, LENGTHS)
    assert err.value.message == f"{ADDRESS_LABELS[field]} cannot contain angle brackets."


def test_check_changes_one_bad_field_fails_the_whole_set():
    with pytest.raises(ValidationFailedError):
        check_changes({"city": "Dubai", "pincode": "1" * 141}, LENGTHS)


# --- render_address ----------------------------------------------------------------------------------------


def test_render_address_full():
    fields = {
        "address_line1": "1 Main Street",
        "address_line2": "Suite 4",
        "city": "Dubai",
        "state": "Dubai",
        "pincode": "00000",
        "country": "United Arab Emirates",
    }
    assert render_address(fields) == "1 Main Street<br>Suite 4<br>Dubai<br>Dubai<br>00000<br>United Arab Emirates<br>"


def test_render_address_skips_empty_parts():
    fields = {"address_line1": "1 Main Street", "address_line2": None, "city": "دبي", "state": "", "country": "India"}
    assert render_address(fields) == "1 Main Street<br>دبي<br>India<br>"
    assert render_address({}) == ""


# --- models ------------------------------------------------------------------------------------------------


def test_address_equality_ignores_extra_columns():
    a = addr("A-Billing", extra={"phone": "1"})
    b = addr("A-Billing", extra={"phone": "2"})
    assert a == b
    assert a != addr("A-Billing", city="Sharjah")


def test_link_identity_ignores_title():
    assert Link("Customer", "Acme", "Acme Ltd") == Link("Customer", "Acme")
    assert Link("Customer", "Acme") != Link("Lead", "Acme")
    assert Link("Customer", "Acme") != Link("Customer", "acme")


def test_render_address_escapes_markup():
    html = render_address({"address_line1": "A & B <b>", "city": "Dubai", "country": "United Arab Emirates"})
    assert html == "A &amp; B &lt;b&gt;<br>Dubai<br>United Arab Emirates<br>"
