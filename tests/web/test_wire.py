"""Frappe v15 wire compatibility of ``/api/method/...`` (frappe-wire.md sections 0-3), through the real ASGI app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from erpnext_medusa.web.app import create_app
from tests.helpers import BARE_DOESNOTEXISTERROR, assert_frappe_error, assert_json, customer, seed, wire_messages

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"


def names(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    message = r.json()["message"]
    assert isinstance(message, list), message
    return [row["name"] for row in message]


@pytest.fixture
def two_customers(services: Any) -> None:
    seed(services, customer("Ali Hassan"), customer("Bob Stone"))


# --- success envelope and routing ---------------------------------------------------------------------


def test_success_envelope_is_message_only(client):
    r = client.get("/api/method/ping")
    assert r.status_code == 200
    assert_json(r)
    assert r.json() == {"message": "pong"}


@pytest.mark.parametrize("path", ["/api/method/ping/", "/api/method/ping/anything", "/api/method/ping/a/b/c"])
def test_trailing_slash_and_extra_segments_still_call_the_method(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "pong"}


def test_trailing_slash_on_fetch_all_customers(client, two_customers):
    assert names(client.get(FETCH + "/", params={"name": "ali"})) == ["Ali Hassan"]
    assert names(client.get(FETCH + "/extra/segment", params={"name": "bob"})) == ["Bob Stone"]


@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_get_and_post_both_work(client, two_customers, verb):
    r = client.request(verb, "/api/method/ping")
    assert r.status_code == 200 and r.json() == {"message": "pong"}
    assert names(client.request(verb, FETCH, params={"name": "ali"})) == ["Ali Hassan"]


@pytest.mark.parametrize("verb", ["PUT", "DELETE"])
def test_other_default_whitelisted_verbs_work(client, verb):
    # Frappe's default allowed methods for a whitelisted function are GET, POST, PUT and DELETE.
    r = client.request(verb, "/api/method/ping")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "pong"}


# --- argument parsing ---------------------------------------------------------------------------------------


def test_arguments_from_query_string(client, two_customers):
    assert names(client.get(FETCH, params={"name": "ALI"})) == ["Ali Hassan"]


def test_json_body_arguments_ignore_the_query_string(client, two_customers):
    r = client.post(FETCH, params={"name": "ali"}, json={"name": "bob"})
    assert names(r) == ["Bob Stone"]


def test_json_body_on_get_is_used(client, two_customers):
    r = client.request("GET", FETCH + "?name=ali", json={"name": "bob"})
    assert names(r) == ["Bob Stone"]


def test_empty_json_object_body_drops_query_arguments(client, two_customers):
    # Only the body is used: the query string's name filter is ignored, so everyone comes back.
    r = client.post(FETCH, params={"name": "ali"}, json={})
    assert names(r) == ["Ali Hassan", "Bob Stone"]


def test_json_body_keeps_its_types(client, two_customers):
    r = client.post(FETCH, json={"limit": 1})
    assert names(r) == ["Ali Hassan"]


def test_form_body_arguments(client, two_customers):
    r = client.post(FETCH, data={"name": "bob"})
    assert names(r) == ["Bob Stone"]


def test_form_fields_override_query_fields(client, two_customers):
    r = client.post(FETCH, params={"name": "ali"}, data={"name": "bob"})
    assert names(r) == ["Bob Stone"]


def test_form_and_query_fields_are_merged(client, two_customers):
    r = client.post(FETCH, params={"limit_start": "1"}, data={"limit": "1"})
    assert names(r) == ["Bob Stone"]


def test_multipart_form_fields_are_arguments(client, two_customers):
    r = client.post(FETCH, params={"name": "ali"}, data={"name": "bob"}, files={"upload": ("f.txt", b"x")})
    assert names(r) == ["Bob Stone"]


@pytest.mark.parametrize("body", ["42", '"ali"', "true", "null", "1.5"])
def test_json_scalar_body_is_invalid_request_arguments(client, two_customers, body):
    r = client.post(FETCH, content=body, headers={"Content-Type": "application/json"})
    assert_frappe_error(r, 417, "ValidationError", "Invalid request arguments")


@pytest.mark.parametrize("body", ['["ali"]', '[{"name": "bob"}]'])
def test_json_list_body_becomes_data_argument(client, two_customers, body):
    # Frappe v15 make_form_dict: a JSON list becomes form_dict {"data": [...]}; fetch_all_customers takes no
    # ``data`` argument (get_newargs drops it), so the call runs unfiltered. (v14 threw "Invalid request
    # arguments" here; the service targets v15, frappe-wire.md section 1.)
    r = client.post(FETCH, params={"name": "ali"}, content=body, headers={"Content-Type": "application/json"})
    assert names(r) == ["Ali Hassan", "Bob Stone"]


# --- errors -------------------------------------------------------------------------------------------------


def test_unknown_method_is_417_validation_error(client):
    r = client.get("/api/method/medusa_integration.api.no_such_method")
    msg = assert_frappe_error(r, 417, "ValidationError")
    assert msg["message"].startswith("Failed to get method for command medusa_integration.api.no_such_method")


def test_unknown_method_with_post_and_extra_segment(client):
    r = client.post("/api/method/nope.nothing/extra")
    msg = assert_frappe_error(r, 417, "ValidationError")
    assert "nope.nothing" in msg["message"]
    assert "extra" not in msg["message"]


def test_html_in_unknown_method_name_is_escaped(client):
    evil = "<img src=x onerror=alert(1)>"
    r = client.get("/api/method/" + evil)
    msg = assert_frappe_error(r, 417, "ValidationError")
    assert "<img" not in msg["message"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in msg["message"]
    assert "<img" not in r.text


@pytest.mark.parametrize("path", ["/api/resource/Customer", "/api/resource/Customer/Ali", "/api/nothing"])
def test_unknown_api_path_is_404_does_not_exist(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert_json(r)
    assert r.json() == BARE_DOESNOTEXISTERROR


@pytest.mark.parametrize("path", ["/api/v2/document/Customer", "/api/v2/method/ping/extra", "/api/v2/nothing"])
def test_unknown_v2_path_is_404_in_v2_shape(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert_json(r)
    assert r.json() == {"errors": [{"type": "DoesNotExistError", "exception": "frappe.exceptions.DoesNotExistError"}]}


@pytest.mark.parametrize("path", ["/api/method/ping", FETCH, "/api/method/medusa_integration.api.update_address"])
def test_patch_on_a_method_is_403_not_permitted(client, path):
    r = client.patch(path)
    msg = assert_frappe_error(r, 403, "PermissionError", "Not permitted")
    assert msg["title"] == "Message"


def test_error_messages_have_fresh_exception_ids(client):
    first = assert_frappe_error(client.get("/api/method/x.y"), 417, "ValidationError")
    second = assert_frappe_error(client.get("/api/method/x.y"), 417, "ValidationError")
    assert first["__frappe_exc_id"] != second["__frappe_exc_id"]


def test_error_body_keys_are_frappe_keys_only(client):
    r = client.get(FETCH, params={"limit": "abc"})
    assert r.status_code == 417
    assert set(r.json()) == {"exception", "exc_type", "exc", "_server_messages"}
    assert_frappe_error(r, 417, "ValidationError")


def test_guest_not_whitelisted_error_shape(client):
    r = client.get("/api/method/frappe.auth.get_logged_user")
    msg = assert_frappe_error(r, 403, "PermissionError")
    assert msg["title"] == "Method Not Allowed"
    assert "<strong>frappe.auth.get_logged_user</strong> is not whitelisted" in msg["message"]


def test_deeply_nested_json_body_is_invalid_arguments_not_500(client):
    r = client.post(FETCH, content=b"[" * 60_000, headers={"Content-Type": "application/json"})
    assert_frappe_error(r, 417, "ValidationError", "Invalid request arguments")


def test_user_input_in_error_messages_is_html_escaped(client, auth_header):
    r = client.get(
        "/api/method/medusa_integration.utils.link_medusa_lead",
        params={"customer": "<img src=x onerror=alert(1)>", "lead": "L"},
        headers=auth_header,
    )
    (msg,) = wire_messages(r.json())
    assert "<img" not in msg["message"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in msg["message"]


def test_an_unexpected_failure_is_a_500_without_internals(services, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("erpnext_medusa.web.methods.fetch_unlinked_customers", broken)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        r = client.get(FETCH)
    assert r.status_code == 500
    assert "secret internal detail" not in r.text
    assert "Traceback" not in r.text and "RuntimeError" not in r.text
    (msg,) = wire_messages(r.json())
    assert "logged on the server" in msg["message"]
