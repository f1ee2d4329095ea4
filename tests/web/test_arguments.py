"""Pure tests of the argument models (erpnext_medusa.web.arguments and the models of methods.py and
webhooks.py): Frappe's coercions, the alias of ``limit``, and the OpenAPI fragments generated from them."""

from __future__ import annotations

import pytest

from erpnext_medusa.domain.doctypes import NAME_LENGTH, field_length
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.intake import EVENT_TYPES
from erpnext_medusa.domain.models import ADDRESS_FIELDS
from erpnext_medusa.web.arguments import LARGEST, Arguments, parse, query_parameters, request_body
from erpnext_medusa.web.methods import METHODS, AddressArguments, FetchArguments
from erpnext_medusa.web.webhooks import OPENAPI


@pytest.mark.parametrize(
    ("args", "size"),
    [
        ({"limit": "5", "limit_page_length": "not a number"}, 5),  # the alias is not read when limit is given
        ({"limit": "", "limit_page_length": "7"}, 7),  # a blank limit is an absent one
        ({"limit_page_length": 3}, 3),
        ({}, None),
    ],
)
def test_limit_page_length_is_read_only_without_limit(args, size):
    assert parse(FetchArguments, args).page_size == size


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"limit": ""  , "limit_page_length": "x"}, "limit_page_length must be a whole number"),
        ({"limit_start": "9" * 11}, "limit_start is too large"),
        ({"name": ["a"], "limit": "x"}, "name must be text"),  # the first argument declared is reported
    ],
)  # fmt: skip
def test_refusals_name_the_argument_sent(args, message):
    with pytest.raises(ValidationFailedError) as err:
        parse(FetchArguments, args)
    assert err.value.message == message


def test_a_value_no_validator_judges_is_still_a_validation_error():
    class Counted(Arguments):
        count: int

    with pytest.raises(ValidationFailedError) as err:
        parse(Counted, {"count": "many"})
    assert err.value.message == "count is not valid."


def test_the_search_parameters_come_from_the_model():
    parameters = {p["name"]: p for p in query_parameters(FetchArguments)}
    assert list(parameters) == ["name", "limit", "limit_page_length", "limit_start"]
    assert parameters["name"]["schema"] == {"type": "string", "maxLength": NAME_LENGTH}
    assert parameters["limit_start"]["schema"] == {"type": "integer", "minimum": 0, "maximum": LARGEST}
    assert parameters["limit_page_length"]["description"] == "Alias of limit."
    assert all(p["in"] == "query" and p["required"] is False for p in parameters.values())
    search = METHODS.get("medusa_integration.api.fetch_all_customers")
    assert search is not None and search.parameters == query_parameters(FetchArguments)


def test_the_address_body_declares_the_customer_and_the_address_fields():
    body = request_body(AddressArguments, "application/json")
    properties = body["content"]["application/json"]["schema"]["properties"]
    assert list(properties) == ["customer_id", *ADDRESS_FIELDS]
    assert properties["customer_id"]["maxLength"] == NAME_LENGTH
    for field in ADDRESS_FIELDS:
        assert properties[field]["maxLength"] == field_length("Address", field)
        assert {"type": "null"} in properties[field]["anyOf"]


def test_the_webhook_body_schema_is_self_contained_and_says_what_is_required():
    schema = OPENAPI["requestBody"]["content"]["application/json"]["schema"]
    assert "$defs" not in str(schema) and "$ref" not in str(schema)
    assert schema["required"] == ["id", "type", "data"]
    assert schema["properties"]["type"]["enum"] == list(EVENT_TYPES)
    assert schema["properties"]["data"]["required"] == ["id"]
    assert schema["properties"]["data"]["properties"]["id"] == {"type": "string", "maxLength": NAME_LENGTH}
