"""Frappe's header authentication (frappe-wire.md section 4) and guest restrictions (section 3)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from erpnext_medusa.domain.apikeys import create_api_key
from tests.helpers import BARE_AUTHENTICATIONERROR, assert_exception_line, rows, server_messages

USER = "admin@example.com"
LOGGED_USER = "/api/method/frappe.auth.get_logged_user"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"
PING = "/api/method/ping"


@pytest.fixture
def key(services: Any) -> Any:
    return create_api_key(services.keys, USER, services.now())


def basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def first_message(r: Any) -> dict[str, Any]:
    body = r.json()
    assert_exception_line(body)
    return server_messages(body)[0]


def assert_401(r: Any) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == BARE_AUTHENTICATIONERROR


def test_token_header_authenticates(client, key):
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": USER}


def test_basic_header_authenticates(client, key):
    r = client.get(LOGGED_USER, headers=basic(f"{key.api_key}:{key.api_secret}"))
    assert r.status_code == 200, r.text
    assert r.json() == {"message": USER}


@pytest.mark.parametrize("scheme", ["Token", "TOKEN"])
def test_token_scheme_is_case_insensitive(client, key, scheme):
    r = client.get(LOGGED_USER, headers={"Authorization": f"{scheme} {key.api_key}:{key.api_secret}"})
    assert r.json() == {"message": USER}


@pytest.mark.parametrize("scheme", ["basic", "BASIC"])
def test_basic_scheme_is_case_insensitive(client, key, scheme):
    encoded = base64.b64encode(f"{key.api_key}:{key.api_secret}".encode()).decode()
    r = client.get(LOGGED_USER, headers={"Authorization": f"{scheme} {encoded}"})
    assert r.json() == {"message": USER}


def test_each_key_maps_to_its_own_user(client, services, key):
    other = create_api_key(services.keys, "shop@example.com", services.now())
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {other.api_key}:{other.api_secret}"})
    assert r.json() == {"message": "shop@example.com"}
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"})
    assert r.json() == {"message": USER}


def test_wrong_secret_is_401(client, key):
    assert_401(client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:wrong-secret"}))
    assert_401(client.get(LOGGED_USER, headers=basic(f"{key.api_key}:wrong-secret")))


def test_secret_of_another_key_is_401(client, services, key):
    other = create_api_key(services.keys, "shop@example.com", services.now())
    assert_401(client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:{other.api_secret}"}))


def test_wrong_credentials_fail_even_on_guest_methods(client, key):
    # Frappe validates the header on every request, before the method runs.
    assert_401(client.get(PING, headers={"Authorization": f"token {key.api_key}:nope"}))


def test_unknown_key_is_401(client, key):
    assert_401(client.get(LOGGED_USER, headers={"Authorization": f"token deadbeefdeadbeef:{key.api_secret}"}))
    assert_401(client.get(LOGGED_USER, headers=basic(f"deadbeefdeadbeef:{key.api_secret}")))


def test_empty_key_or_secret_is_401(client, key):
    assert_401(client.get(LOGGED_USER, headers={"Authorization": f"token :{key.api_secret}"}))
    assert_401(client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:"}))


@pytest.mark.parametrize("header", ["Foo bar", "Bearer sometoken", "Digest x"])
def test_unknown_scheme_with_two_parts_is_401(client, header):
    assert_401(client.get(PING, headers={"Authorization": header}))


@pytest.mark.parametrize("header", ["tokenonly", "token a:b extra", "token  a:b", "Basic"])
def test_header_without_exactly_two_parts_is_ignored(client, key, header):
    r = client.get(PING, headers={"Authorization": header})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "pong"}
    r = client.get(LOGGED_USER, headers={"Authorization": header})
    assert r.status_code == 403
    assert r.json()["exc_type"] == "PermissionError"


def test_valid_credentials_with_a_third_part_are_ignored(client, key):
    # Three space-separated parts: the header is not processed at all, so the caller is Guest.
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:{key.api_secret} x"})
    assert r.status_code == 403


@pytest.mark.parametrize("token", ["!!!notbase64!!!", "abc", "YWJj=ZGVm"])
def test_basic_with_invalid_base64_is_400(client, token):
    r = client.get(PING, headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 400, r.text
    assert r.json()["exc_type"] == "InvalidAuthorizationToken"
    msg = first_message(r)
    assert msg["message"] == "Failed to decode token, please provide a valid base64-encoded token."
    assert "Traceback" not in r.text


@pytest.mark.parametrize("shape", ["no colon", "two colons", "only a colon prefix"])
def test_basic_without_exactly_one_colon_is_401(client, key, shape):
    decoded = {
        "no colon": f"{key.api_key}{key.api_secret}",
        "two colons": f"{key.api_key}:{key.api_secret}:extra",
        "only a colon prefix": f"::{key.api_key}",
    }[shape]
    assert decoded.count(":") != 1
    assert_401(client.get(PING, headers=basic(decoded)))


def test_token_without_colon_is_401(client, key):
    assert_401(client.get(PING, headers={"Authorization": f"token {key.api_key}{key.api_secret}"}))


def test_revoked_key_is_401(client, services, key):
    header = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
    assert client.get(LOGGED_USER, headers=header).status_code == 200
    assert services.keys.revoke_api_key(key.api_key, services.now())
    assert_401(client.get(LOGGED_USER, headers=header))
    assert_401(client.get(LOGGED_USER, headers=basic(f"{key.api_key}:{key.api_secret}")))


def test_revoking_one_key_leaves_others_working(client, services, key):
    other = create_api_key(services.keys, USER, services.now())
    services.keys.revoke_api_key(key.api_key, services.now())
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {other.api_key}:{other.api_secret}"})
    assert r.json() == {"message": USER}


@pytest.mark.parametrize(
    ("path", "function"),
    [(LOGGED_USER, "frappe.auth.get_logged_user"), (LINK, "medusa_integration.utils.link_medusa_lead")],
)
@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_guest_calling_login_method_is_403_not_whitelisted(client, path, function, verb):
    r = client.request(verb, path, params={"customer": "C", "lead": "L"})
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["exc_type"] == "PermissionError"
    msg = first_message(r)
    assert "is not whitelisted" in msg["message"]
    assert f"Function <strong>{function}</strong> is not whitelisted." in msg["message"]
    assert "You are not permitted to access this resource" in msg["message"]
    assert msg["title"] == "Method Not Allowed"
    assert msg["indicator"] == "red"
    assert msg["raise_exception"] == 1


def test_guest_on_login_method_is_not_whitelisted_even_with_patch(client):
    # Frappe checks the whitelist before the HTTP verb.
    r = client.patch(LOGGED_USER)
    assert r.status_code == 403
    assert first_message(r)["title"] == "Method Not Allowed"


def test_authenticated_link_call_reaches_the_method(client, auth_header):
    # With a key the whitelist check passes and the method runs (Customer X does not exist: 404).
    r = client.post(LINK, headers=auth_header, json={"customer": "X", "lead": "L"})
    assert r.status_code == 404, r.text
    assert r.json()["exc_type"] == "DoesNotExistError"


def test_secrets_are_stored_hashed(services, key):
    stored = rows(services, 'SELECT * FROM "erpnext_medusa_api_key"')
    assert len(stored) == 1
    values = [str(v) for v in stored[0].values() if v is not None]
    assert key.api_key in values
    assert key.api_secret not in values
    assert not any(key.api_secret in v for v in values)


def test_last_used_at_is_set_after_a_successful_call(client, services, key):
    def last_used() -> Any:
        (row,) = rows(services, 'SELECT last_used_at FROM "erpnext_medusa_api_key" WHERE api_key = :k', k=key.api_key)
        return row["last_used_at"]

    assert last_used() is None
    r = client.get(PING, headers={"Authorization": f"token {key.api_key}:wrong"})
    assert r.status_code == 401
    assert last_used() is None
    r = client.get(LOGGED_USER, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"})
    assert r.status_code == 200
    assert last_used() is not None


def test_basic_credentials_with_a_nul_byte_are_401_not_500(client, services):
    token = base64.b64encode(b"ke\x00y:secret").decode()
    r = client.get("/api/method/frappe.auth.get_logged_user", headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 401
    assert r.json() == BARE_AUTHENTICATIONERROR
