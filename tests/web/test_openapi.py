"""web/openapi.py: the OpenAPI document the app serves, built from the registry: every entry with its verbs,
errors and who may call it, the settings' values in the descriptions, the authentication schemes."""

from __future__ import annotations

import re

import pytest

from erpnext_medusa.config import Settings
from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.openapi import describe
from tests.helpers import assert_json

ENTRIES = list(METHODS)
IDS = [m.path for m in ENTRIES]
METHOD_PATHS = {
    "/api/method/ping",
    "/api/method/frappe.auth.get_logged_user",
    "/api/method/medusa_integration.api.fetch_all_customers",
    "/api/method/medusa_integration.api.update_address",
    "/api/method/medusa_integration.utils.link_medusa_lead",
}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").json()


def test_openapi_lists_the_five_method_paths(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert_json(r)
    paths = set(r.json()["paths"])
    assert paths >= METHOD_PATHS
    assert not any("{rest" in p for p in paths)


def test_docs_page_answers(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "openapi.json" in r.text


def test_openapi_operation_ids_are_unique(client):
    # OpenAPI 3: "The operationId MUST be unique among all operations described in the API."
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op]
    assert ids
    assert len(ids) == len(set(ids)), sorted(ids)


def test_openapi_describes_success_and_errors_per_status_code(client):
    spec = client.get("/openapi.json").json()
    for item in spec["paths"].values():
        for op in item.values():
            codes = set(op["responses"])
            assert "200" in codes
            assert codes <= {
                "200",
                "400",
                "401",
                "403",
                "404",
                "405",
                "413",
                "414",
                "417",
                "422",
                "429",
                "431",
                "503",
            }, codes
            assert {"413", "414", "431", "503"} <= codes  # any request may be too large, or meet a busy database
            for code in ("429", "503"):
                if code in codes:
                    assert "Retry-After" in op["responses"][code]["headers"]
    fetch = spec["paths"]["/api/method/medusa_integration.api.fetch_all_customers"]["get"]
    schema = fetch["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["message"]


def test_openapi_declares_the_authentication_schemes_it_uses(client):
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["token"]["description"],
    }
    assert schemes["basic"]["scheme"] == "basic"
    link = spec["paths"]["/api/method/medusa_integration.utils.link_medusa_lead"]["get"]
    assert {name for req in link["security"] for name in req} <= set(schemes)


def test_the_document_lists_every_entry_with_its_verbs_and_nothing_else(spec):
    listed = {p for p in spec["paths"] if p.startswith("/api/method/")}
    assert listed == {f"/api/method/{m.path}" for m in ENTRIES}
    for method in ENTRIES:
        item = spec["paths"][f"/api/method/{method.path}"]
        assert set(item) == {verb.lower() for verb in method.verbs}, method.path
        for verb, operation in item.items():
            assert operation["summary"] == method.summary
            assert operation["operationId"] == f"{method.path.replace('.', '_')}_{verb}"


@pytest.mark.parametrize("method", ENTRIES, ids=IDS)
def test_each_operation_states_the_entrys_errors_and_who_may_call(spec, method):
    for operation in spec["paths"][f"/api/method/{method.path}"].values():
        codes = {int(code) for code in operation["responses"]}
        assert set(method.errors) <= codes
        if method.guest_endpoint:
            assert {403, 429} <= codes
        schemes = [set(requirement) for requirement in operation["security"]]
        assert {"token"} in schemes and {"basic"} in schemes
        assert (set() in schemes) == method.allow_guest  # an empty requirement: no credentials at all
        assert ({"storefrontKey"} in schemes) == method.guest_endpoint
        assert ({"medusaToken"} in schemes) == method.medusa_token
        if method.parameters:
            assert operation["parameters"] == list(method.parameters)
        if method.request_body:
            assert operation["requestBody"] == method.request_body


def test_descriptions_name_the_settings_values_not_their_placeholders(spec, services):
    placeholders = {"name_length", *Settings.model_fields}
    described = 0
    for method in ENTRIES:
        for operation in spec["paths"][f"/api/method/{method.path}"].values():
            if method.description:
                described += 1
                left = set(re.findall(r"\{(\w+)\}", operation["description"]))
                assert not left & placeholders, (method.path, left)
    assert described
    fetch = spec["paths"]["/api/method/medusa_integration.api.fetch_all_customers"]["get"]
    assert f"at most {services.settings.fetch_max_results} rows per call" in fetch["description"]


def test_describe_puts_in_the_settings_values_and_the_longest_name():
    settings = Settings(max_search_words=7)
    assert describe("{max_search_words} words, {name_length} characters, {unknown}", settings) == (
        "7 words, 140 characters, {unknown}"
    )
