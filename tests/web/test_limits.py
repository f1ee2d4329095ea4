"""Input limits (web/limits.py, and the body limit of web/middleware.py): request size, argument lengths, words
in a typeahead. Each breach is a clear Frappe-shaped error, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.customers import SearchLimits
from erpnext_medusa.web.limits import search_limits
from tests.helpers import address, assert_frappe_error, customer, lead, rows, seed

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"


@pytest.fixture
def small(client_with):
    return client_with(max_body_bytes=2048, max_search_words=3)


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(services, small):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    body = b'{"customer_id": "Acme", "city": "Sharjah", "pad": "' + b"x" * 4096 + b'"}'
    r = small.post(UPDATE, content=body, headers={"Content-Type": "application/json"})
    assert_frappe_error(r, 413, "RequestEntityTooLarge", "The request is too large: at most 2048 bytes are accepted.")
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": "Dubai"}]


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(services, small):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    received = []

    def chunks():
        yield b'{"customer_id": "Acme", "city": "Sharjah", "pad": "'
        for _ in range(100):
            received.append(1)
            yield b"x" * 1024
        yield b'"}'

    r = small.post(UPDATE, content=chunks(), headers={"Content-Type": "application/json"})
    assert_frappe_error(r, 413, "RequestEntityTooLarge")
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": "Dubai"}]


def test_a_query_string_over_the_limit_is_413(small):
    assert_frappe_error(small.get(FETCH, params={"name": "a" * 3000}), 413, "RequestEntityTooLarge")


def test_a_body_within_the_limit_is_served(services, small):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    assert small.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"}).json() == {
        "message": "Address updated successfully"
    }


def test_a_typeahead_with_too_many_words_is_417(small):
    assert small.get(FETCH, params={"name": "a b c"}).status_code == 200
    r = small.get(FETCH, params={"name": "a b c d"})
    assert_frappe_error(r, 417, "ValidationError", "name has too many words: at most 3 are allowed.")


def test_a_typeahead_longer_than_a_customer_name_is_417(client):
    assert client.get(FETCH, params={"name": "a" * 140}).status_code == 200
    r = client.get(FETCH, params={"name": "a" * 141})
    assert_frappe_error(r, 417, "ValidationError", "name is too long: at most 140 characters are allowed.")


def test_link_names_longer_than_any_document_name_are_417(services, client, auth_header):
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    r = client.get(LINK, params={"customer": "A" * 141, "lead": "L1"}, headers=auth_header)
    assert_frappe_error(r, 417, "ValidationError", "Customer is too long: at most 140 characters are allowed.")
    r = client.get(LINK, params={"customer": "Acme", "lead": "L" * 141}, headers=auth_header)
    assert_frappe_error(r, 417, "ValidationError", "Lead is too long: at most 140 characters are allowed.")
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": None}]


def test_update_address_answers_an_overlong_customer_id_with_its_error_object(client):
    r = client.post(UPDATE, json={"customer_id": "C" * 141, "city": "X"})
    assert r.json() == {"message": {"error": "Customer ID is too long: at most 140 characters are allowed."}}


@pytest.mark.parametrize(
    "settings", [{"max_body_bytes": 10}, {"max_search_words": 0}, {"max_text_length": 5}, {"rate_limit": -1}]
)
def test_limits_that_make_no_sense_refuse_to_start(settings):
    with pytest.raises(ValueError):
        Settings(**settings)


def test_the_search_limits_come_from_the_settings_of_those_names():
    settings = Settings(max_search_words=4, max_text_length=1000, fetch_max_results=70)
    assert search_limits(settings) == SearchLimits(words=4, length=140, cap=70)  # no name is longer than 140
