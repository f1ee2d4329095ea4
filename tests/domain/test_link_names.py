"""A link's names are held by the domain: longer than ERPNext's names can be is refused before anything else
(both names' lengths before either's blankness), for every caller (the API, the admin pages)."""

from __future__ import annotations

import pytest

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.leads import link_medusa_lead, unlink_medusa_lead
from tests.helpers import stamp

LONG = "x" * 141


@pytest.mark.parametrize(
    ("customer", "lead", "message"),
    [
        (LONG, LONG, "Customer is too long: at most 140 characters are allowed."),
        ("", LONG, "Lead is too long: at most 140 characters are allowed."),
        ("", "L1", "Customer is required."),
        ("x" * 140, "", "Lead is required."),
    ],
)
def test_link_names_are_judged_by_length_then_blankness(services, customer, lead, message):
    with pytest.raises(ValidationFailedError) as refused:
        link_medusa_lead(services.store, customer, lead, stamp())
    assert refused.value.message == message


def test_an_unlink_holds_its_names_to_the_same_length(services):
    with pytest.raises(ValidationFailedError) as refused:
        unlink_medusa_lead(services.store, "", LONG, stamp())
    assert refused.value.message == "Medusa ID is too long: at most 140 characters are allowed."
