"""Frappe's other routes to the same methods: ``/api/v1/method``, ``/api/v2/method`` (``{"data": ...}`` and
``{"errors": [...]}``), ``frappe.ping`` and the legacy ``cmd`` form; ``OPTIONS`` and CORS on every path; the
``exception`` / ``exc`` lines of error bodies."""

from __future__ import annotations

import json

import pytest

from tests.helpers import address, assert_exception_line, assert_frappe_error, customer, seed

FETCH = "medusa_integration.api.fetch_all_customers"
UPDATE = "medusa_integration.api.update_address"
LINK = "medusa_integration.utils.link_medusa_lead"


@pytest.mark.parametrize("prefix", ["/api/method", "/api/v1/method"])
@pytest.mark.parametrize("name", ["ping", "frappe.ping"])
def test_ping_on_v1_routes(client, prefix, name):
    r = client.get(f"{prefix}/{name}")
    assert r.status_code == 200 and r.json() == {"message": "pong"}


@pytest.mark.parametrize("name", ["ping", "frappe.ping"])
def test_ping_on_v2_is_data(client, name):
    r = client.post(f"/api/v2/method/{name}")
    assert r.status_code == 200 and r.json() == {"data": "pong"}


def test_v1_and_v2_answer_the_same_customers(client, services):
    seed(services, customer("Ali Hassan"), customer("Bob Stone"))
    v1 = client.get(f"/api/v1/method/{FETCH}", params={"name": "ali"}).json()
    v2 = client.get(f"/api/v2/method/{FETCH}", params={"name": "ali"}).json()
    assert v1["message"] == v2["data"] == [client.get(f"/api/method/{FETCH}?name=ali").json()["message"][0]]
    assert v1["message"][0]["name"] == "Ali Hassan"


def test_v2_error_shape(client):
    r = client.get(f"/api/v2/method/{FETCH}", params={"limit": "x"})
    assert r.status_code == 417
    (entry,) = r.json()["errors"]
    assert set(r.json()) == {"errors"}
    assert entry == {
        "type": "ValidationError",
        "exception": "frappe.exceptions.ValidationError: limit must be a whole number",
        "message": "limit must be a whole number",
        "title": "Message",
        "indicator": "red",
    }


def test_v2_not_whitelisted_is_403_with_its_title(client):
    r = client.get(f"/api/v2/method/{LINK}")
    assert r.status_code == 403
    (entry,) = r.json()["errors"]
    assert entry["type"] == "PermissionError" and entry["title"] == "Method Not Allowed"
    assert "<" not in entry["exception"] and "is not whitelisted" in entry["exception"]


def test_v2_unknown_method_is_417(client):
    r = client.get("/api/v2/method/no.such.method")
    assert r.status_code == 417
    assert r.json()["errors"][0]["type"] == "ValidationError"


def test_v2_bare_401(client):
    r = client.get(f"/api/v2/method/{LINK}", headers={"Authorization": "token nope:nope"})
    assert r.status_code == 401
    assert r.json() == {
        "errors": [{"type": "AuthenticationError", "exception": "frappe.exceptions.AuthenticationError"}]
    }


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        (f"/api/method/{UPDATE}", "message"),
        (f"/api/v1/method/{UPDATE}", "message"),
        (f"/api/v2/method/{UPDATE}", "data"),
    ],
)
def test_update_address_keeps_its_contract_on_every_route(client, services, path, envelope):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    ok = client.post(path, json={"customer_id": "Acme", "city": "Sharjah"})
    assert ok.status_code == 200 and ok.json() == {envelope: "Address updated successfully"}
    failed = client.post(path, json={"customer_id": "Nope", "city": "Sharjah"})
    assert failed.status_code == 200 and failed.json() == {envelope: {"error": "Customer Nope not found"}}


def test_update_address_through_cmd_keeps_its_contract(client, services):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    r = client.post("/", json={"cmd": UPDATE, "customer_id": "Nope", "city": "Sharjah"})
    assert r.status_code == 200 and r.json() == {"message": {"error": "Customer Nope not found"}}
    r = client.post("/", json={"cmd": UPDATE, "customer_id": "Acme", "city": "Sharjah"})
    assert r.json() == {"message": "Address updated successfully"}


@pytest.mark.parametrize("path", ["/", "/anything/else", "/app"])
def test_cmd_on_any_path_reaches_the_method(client, path):
    assert client.get(path, params={"cmd": "ping"}).json() == {"message": "pong"}
    assert client.post(path, data={"cmd": "frappe.ping"}).json() == {"message": "pong"}


def test_cmd_form_passes_arguments(client, services):
    seed(services, customer("Ali Hassan"))
    r = client.post("/", data={"cmd": FETCH, "name": "ali"})
    assert r.json()["message"][0]["name"] == "Ali Hassan"


def test_cmd_form_errors_are_v1(client):
    assert_frappe_error(client.post("/", data={"cmd": LINK}), 403, "PermissionError")
    assert_frappe_error(client.get("/?cmd=no.such"), 417, "ValidationError")


def test_index_and_unknown_paths_without_cmd(client):
    assert client.get("/").json()["service"] == "erpnext-medusa"
    assert client.get("/nothing").status_code == 404
    assert client.post("/").status_code == 404


def test_every_error_carries_exception_and_exc(client):
    r = client.get(f"/api/method/{FETCH}", params={"limit": "x"})
    line = assert_exception_line(r.json())
    assert line == "frappe.exceptions.ValidationError: limit must be a whole number"
    assert list(r.json()) == ["exception", "exc_type", "exc", "_server_messages"]
    assert json.loads(r.json()["exc"]) == [line]


def test_exception_line_escapes_what_the_caller_sent(client):
    r = client.get("/api/method/<b>x")
    assert "<b>" not in r.text
    assert r.json()["exception"].startswith(
        "frappe.exceptions.ValidationError: Failed to get method for command &lt;b&gt;x"
    )


# --- OPTIONS and CORS ------------------------------------------------------------------------------------------

PATHS = [
    "/",
    "/api/method/ping",
    f"/api/method/{LINK}",
    f"/api/v1/method/{UPDATE}",
    f"/api/v2/method/{FETCH}",
    "/api/resource/Customer",
    "/nothing/here",
    "/docs",
    "/openapi.json",
    "/healthz",
]


@pytest.mark.parametrize("path", PATHS)
def test_options_is_an_empty_200_everywhere(client, path):
    r = client.options(path, headers={"Authorization": "token wrong:wrong"})
    assert r.status_code == 200 and r.content == b""
    assert "access-control-allow-origin" not in r.headers  # CORS is off by default
    assert r.headers["cache-control"] == "no-store,no-cache,must-revalidate,max-age=0"


@pytest.mark.parametrize("path", PATHS)
def test_preflight_for_an_allowed_origin(client_with, path):
    c = client_with(allow_cors="https://shop.example, https://other.example")
    r = c.options(
        path,
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-storefront-key",
        },
    )
    assert r.status_code == 200 and r.content == b""
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-allow-methods"] == "POST"
    assert r.headers["access-control-allow-headers"] == "content-type,x-storefront-key"
    assert r.headers["access-control-max-age"] == "86400"
    assert "Origin" in r.headers["vary"]


def test_preflight_from_an_unlisted_origin_gets_no_cors_headers(client_with):
    c = client_with(allow_cors="https://shop.example")
    r = c.options(
        "/api/method/ping", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 200
    assert not any(h.startswith("access-control-") for h in r.headers)


@pytest.mark.parametrize("setting", ["*", "https://shop.example"])
def test_cors_headers_on_answers_and_errors(client_with, setting):
    c = client_with(allow_cors=setting)
    origin = {"Origin": "https://shop.example"}
    for r in (
        c.get("/api/method/ping", headers=origin),
        c.get(f"/api/method/{LINK}", headers=origin),  # 403
        c.get(f"/api/v2/method/{LINK}", headers={**origin, "Authorization": "token a:b"}),  # 401
        c.get("/api/nothing", headers=origin),  # 404
    ):
        assert r.headers["access-control-allow-origin"] == "https://shop.example"  # echoed, never *
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "access-control-allow-methods" not in r.headers  # preflights only


def test_cors_headers_on_429(client_with):
    c = client_with(allow_cors="*", rate_limit=1)
    origin = {"Origin": "https://shop.example"}
    c.get(f"/api/method/{FETCH}", headers=origin)
    r = c.get(f"/api/method/{FETCH}", headers=origin)
    assert r.status_code == 429
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
