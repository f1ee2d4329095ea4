"""web/policy.py: the guest access policies (ERPNEXT_MEDUSA_GUEST_ACCESS), open, key and medusa-token, through
the real app."""

from __future__ import annotations

import time

import jwt
import pytest

from erpnext_medusa.config import Settings
from tests.helpers import BARE_AUTHENTICATIONERROR, address, assert_frappe_error, customer, medusa_token, rows, seed

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"
PING = "/api/method/ping"
SECRET = "storefront-secret-0123456789"
OTHER_SECRET = "second-storefront-secret-987654"
JWT_SECRET = "medusa-jwt-secret-0123456789abcdef-0123"


@pytest.fixture
def shop(services):
    seed(
        services,
        customer("Ali Hassan", medusa_id="cus_ali"),
        customer("Omar Said", medusa_id="cus_omar"),
        customer("Unlinked Co"),
        address("Ali Hassan", "Ali Hassan"),
        address("Omar Said", "Omar Said"),
    )
    return services


def cities(services) -> dict[str, str]:
    return {r["address_title"]: r["city"] for r in rows(services, 'SELECT address_title, city FROM "tabAddress"')}


def move(client, customer_id: str, city: str, **headers: str):
    return client.post(UPDATE, json={"customer_id": customer_id, "city": city}, headers=headers)


# --- open ------------------------------------------------------------------------------------------------


def test_open_lets_guests_call_both_guest_endpoints(shop, client_with):
    client = client_with(guest_access="open")
    assert client.get(FETCH).json() == {
        "message": [{"name": "Unlinked Co", "customer_name": "Unlinked Co", "email_id": None, "mobile_no": None}]
    }
    assert move(client, "Ali Hassan", "Sharjah").json() == {"message": "Address updated successfully"}
    assert cities(shop)["Ali Hassan"] == "Sharjah"


# --- key -------------------------------------------------------------------------------------------------


@pytest.fixture
def keyed(shop, client_with):
    return client_with(guest_access="key", storefront_keys=f"web:{SECRET},app:{OTHER_SECRET}")


def test_key_mode_refuses_guests_without_a_key(keyed, shop):
    message = "A storefront key is required: send it in the X-Storefront-Key header."
    assert_frappe_error(keyed.get(FETCH), 403, "PermissionError", message)
    assert_frappe_error(move(keyed, "Ali Hassan", "Sharjah"), 403, "PermissionError")
    assert cities(shop)["Ali Hassan"] == "Dubai"


@pytest.mark.parametrize("wrong", ["nope", SECRET[:-1], SECRET + "x", SECRET.upper(), "web", f"web:{SECRET}"])
def test_key_mode_refuses_a_wrong_key_with_401(keyed, shop, wrong):
    r = move(keyed, "Ali Hassan", "Sharjah", **{"X-Storefront-Key": wrong})
    assert r.status_code == 401
    assert r.json() == BARE_AUTHENTICATIONERROR
    assert keyed.get(FETCH, headers={"X-Storefront-Key": wrong}).status_code == 401
    assert cities(shop)["Ali Hassan"] == "Dubai"


def test_key_mode_admits_each_configured_key_and_audits_its_id_not_its_secret(keyed, shop):
    assert keyed.get(FETCH, headers={"X-Storefront-Key": SECRET}).status_code == 200
    assert move(keyed, "Ali Hassan", "Sharjah", **{"X-Storefront-Key": SECRET}).status_code == 200
    assert move(keyed, "Omar Said", "Ajman", **{"X-Storefront-Key": OTHER_SECRET}).status_code == 200
    assert cities(shop) == {"Ali Hassan": "Sharjah", "Omar Said": "Ajman"}
    entries = shop.audit.list_audit(customer=None, since=None, limit=10)
    assert [(e.customer, e.user, e.storefront_key) for e in entries] == [
        ("Ali Hassan", "Guest", "web"),
        ("Omar Said", "Guest", "app"),
    ]
    stored = rows(shop, 'SELECT * FROM "erpnext_medusa_audit"')
    assert SECRET not in repr(stored) and OTHER_SECRET not in repr(stored)


def test_key_mode_always_lets_api_key_users_in(keyed, shop, auth_header):
    assert keyed.get(FETCH, headers=auth_header).status_code == 200
    assert move(keyed, "Ali Hassan", "Sharjah", **auth_header).json() == {"message": "Address updated successfully"}
    (entry,) = shop.audit.list_audit(customer="Ali Hassan", since=None, limit=10)
    assert (entry.user, entry.storefront_key) == ("admin@example.com", None)


def test_key_mode_leaves_ping_open(keyed):
    assert keyed.get(PING).json() == {"message": "pong"}


# --- medusa-token ------------------------------------------------------------------------------------------


def token(actor: str = "cus_ali", *, secret: str = JWT_SECRET, expires_in: int = 600, **claims) -> str:
    """A token of Ali's (unless ``actor`` says otherwise) signed with this file's Medusa secret."""
    return medusa_token(actor, secret, expires_in=expires_in, **claims)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def medusa(shop, client_with):
    return client_with(guest_access="medusa-token", medusa_jwt_secret=JWT_SECRET)


def test_token_mode_changes_the_address_of_the_tokens_own_customer(medusa, shop):
    r = medusa.post(UPDATE, json={"customer_id": "Ali Hassan", "city": "Sharjah"}, headers=bearer(token()))
    assert r.json() == {"message": "Address updated successfully"}
    assert cities(shop) == {"Ali Hassan": "Sharjah", "Omar Said": "Dubai"}
    (entry,) = shop.audit.list_audit(customer=None, since=None, limit=10)
    assert (entry.user, entry.medusa_actor, entry.customer) == ("Guest", "cus_ali", "Ali Hassan")


@pytest.mark.parametrize("body", [{}, {"customer_id": None}, {"customer_id": ""}], ids=["absent", "null", "blank"])
def test_token_mode_without_customer_id_changes_the_tokens_linked_customer(medusa, shop, body):
    r = medusa.post(UPDATE, json={**body, "city": "Sharjah"}, headers=bearer(token("cus_omar")))
    assert r.json() == {"message": "Address updated successfully"}
    assert cities(shop) == {"Ali Hassan": "Dubai", "Omar Said": "Sharjah"}
    (entry,) = shop.audit.list_audit(customer=None, since=None, limit=10)
    assert (entry.user, entry.medusa_actor, entry.customer) == ("Guest", "cus_omar", "Omar Said")


def test_token_mode_without_customer_id_for_an_account_not_linked_yet_is_an_error_object(medusa, shop):
    r = medusa.post(UPDATE, json={"city": "Sharjah"}, headers=bearer(token("cus_new")))
    assert r.status_code == 200
    assert r.json() == {
        "message": {
            "error": "Your account is not linked to an ERPNext customer yet; please try again later or contact "
            "the shop."
        }
    }
    assert cities(shop) == {"Ali Hassan": "Dubai", "Omar Said": "Dubai"}
    assert shop.audit.list_audit(customer=None, since=None, limit=10) == []


def test_token_mode_with_another_customers_id_given_is_still_refused(medusa, shop):
    for target in ("Omar Said", "Unlinked Co"):
        r = medusa.post(UPDATE, json={"customer_id": target, "city": "Hacked"}, headers=bearer(token("cus_ali")))
        assert_frappe_error(r, 403, "PermissionError", "You may change only your own customer's address.")
    # An account not linked yet cannot reach any Customer by naming it either.
    r = medusa.post(UPDATE, json={"customer_id": "Unlinked Co", "city": "Hacked"}, headers=bearer(token("cus_new")))
    assert_frappe_error(r, 403, "PermissionError")
    assert cities(shop) == {"Ali Hassan": "Dubai", "Omar Said": "Dubai"}


def test_without_a_token_customer_id_stays_required(shop, client_with, auth_header):
    for client, headers in (
        (client_with(guest_access="open"), {}),
        (client_with(guest_access="medusa-token", medusa_jwt_secret=JWT_SECRET), auth_header),
    ):
        r = client.post(UPDATE, json={"city": "Sharjah"}, headers=headers)
        assert r.json() == {"message": {"error": "Customer ID is required."}}
    assert cities(shop) == {"Ali Hassan": "Dubai", "Omar Said": "Dubai"}


def _forged_none_alg() -> str:
    return jwt.encode({"actor_id": "cus_ali", "actor_type": "customer", "exp": int(time.time()) + 600}, None, "none")


REFUSED_TOKENS = {
    "foreign customer": lambda: token("cus_ali"),
    "unknown actor": lambda: token("cus_nobody"),
    "expired": lambda: token(expires_in=-30),
    "forged signature": lambda: token(secret="not-the-medusa-secret-00000000000000000"),
    "alg none": _forged_none_alg,
    "HS512": lambda: jwt.encode(
        {"actor_id": "cus_ali", "actor_type": "customer", "exp": int(time.time()) + 600}, JWT_SECRET * 2, "HS512"
    ),
    "user actor": lambda: token(actor_type="user"),
    "no expiry": lambda: jwt.encode({"actor_id": "cus_ali", "actor_type": "customer"}, JWT_SECRET, "HS256"),
    "actor id not text": lambda: token(actor_id=12),
    "garbage": lambda: "not.a.jwt",
    "empty": lambda: "",
}


@pytest.mark.parametrize("kind", list(REFUSED_TOKENS))
def test_token_mode_refuses_bad_tokens_with_403_and_changes_nothing(medusa, shop, kind):
    # Ali's token may not touch Omar's address; the others are not valid customer tokens at all.
    target = "Omar Said" if kind == "foreign customer" else "Ali Hassan"
    r = medusa.post(UPDATE, json={"customer_id": target, "city": "Hacked"}, headers=bearer(REFUSED_TOKENS[kind]()))
    assert_frappe_error(r, 403, "PermissionError")
    assert cities(shop) == {"Ali Hassan": "Dubai", "Omar Said": "Dubai"}
    assert shop.audit.list_audit(customer=None, since=None, limit=10) == []


def test_token_mode_does_not_tell_a_missing_customer_from_a_foreign_one(medusa):
    r = medusa.post(UPDATE, json={"customer_id": "No Such Customer", "city": "X"}, headers=bearer(token()))
    assert_frappe_error(r, 403, "PermissionError", "You may change only your own customer's address.")


def test_token_mode_requires_a_token_for_update_address(medusa, shop):
    assert_frappe_error(move(medusa, "Ali Hassan", "Sharjah"), 403, "PermissionError")
    assert cities(shop)["Ali Hassan"] == "Dubai"


def test_token_mode_requires_an_api_key_for_fetch(medusa, auth_header):
    # The refusal says guest search is off in this mode, not that the method is missing from the whitelist.
    off = (
        "Guests may not call medusa_integration.api.fetch_all_customers when guest access is medusa-token: a Medusa "
        "customer token admits only the calls on the customer's own account; call this one with an API key."
    )
    assert_frappe_error(medusa.get(FETCH), 403, "PermissionError", off)
    msg = assert_frappe_error(medusa.get(FETCH, headers=bearer(token())), 403, "PermissionError", off)
    assert "whitelisted" not in msg["message"] and msg["title"] != "Method Not Allowed"
    assert medusa.get(FETCH, headers=auth_header).status_code == 200


def test_token_mode_lets_api_key_users_change_any_address(medusa, shop, auth_header):
    assert move(medusa, "Omar Said", "Ajman", **auth_header).json() == {"message": "Address updated successfully"}
    assert cities(shop)["Omar Said"] == "Ajman"


def test_a_bearer_header_outside_token_mode_is_still_a_401(shop, client_with):
    client = client_with(guest_access="open")
    r = move(client, "Ali Hassan", "Sharjah", Authorization=f"Bearer {token()}")
    assert r.status_code == 401
    assert cities(shop)["Ali Hassan"] == "Dubai"


def test_link_lead_keeps_needing_an_api_key_in_every_mode(shop, client_with):
    for client in (
        client_with(guest_access="key", storefront_keys=f"web:{SECRET}"),
        client_with(guest_access="medusa-token", medusa_jwt_secret=JWT_SECRET),
    ):
        assert_frappe_error(client.get(LINK, params={"customer": "Unlinked Co", "lead": "L"}), 403, "PermissionError")
        r = client.get(LINK, params={"customer": "Unlinked Co", "lead": "L"}, headers={"X-Storefront-Key": SECRET})
        assert_frappe_error(r, 403, "PermissionError")


# --- settings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"guest_access": "key"},
        {"guest_access": "key", "storefront_keys": "web:short"},
        {"guest_access": "key", "storefront_keys": "no-secret-here"},
        {"guest_access": "key", "storefront_keys": f"a b:{SECRET}"},
        {"guest_access": "key", "storefront_keys": f"web:{SECRET},web:{OTHER_SECRET}"},
        {"guest_access": "medusa-token"},
        {"guest_access": "medusa-token", "medusa_jwt_secret": "short"},
        {"guest_access": "closed"},
        {"trusted_proxies": "10.0.0.0/33"},
        {"redis_url": "http://127.0.0.1:6379"},
    ],
)
def test_unsafe_or_broken_guest_settings_refuse_to_start(settings):
    with pytest.raises(ValueError):
        Settings(**settings)
