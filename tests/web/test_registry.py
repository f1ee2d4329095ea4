"""web/registry.py: one entry per method, and every entry's flags consistent with one another and with what the
app does with them (whitelist, POST only, the guest access policies). The OpenAPI document each entry makes is
checked in test_openapi.py."""

from __future__ import annotations

import pytest

from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.registry import Method, Registry
from tests.helpers import assert_frappe_error

ENTRIES = list(METHODS)
IDS = [m.path for m in ENTRIES]
GUEST_ENDPOINTS = [m for m in ENTRIES if m.guest_endpoint]
NOT_FOR_GUESTS = [m for m in ENTRIES if not m.allow_guest]
POST_ONLY = [m for m in ENTRIES if m.post_only]


def handler(_context: object) -> None:
    return None


def test_a_name_reaches_its_method_by_path_or_alias_and_nothing_else():
    ping = Method("ping", handler, "pong", aliases=("frappe.ping",))
    other = Method("other", handler, "other")
    registry = Registry(ping, other)
    assert registry.get("ping") is ping and registry.get("frappe.ping") is ping
    assert registry.get("other") is other
    assert registry.get("pong") is None and registry.get("") is None
    assert list(registry) == [ping, other]  # aliases are not entries of their own


@pytest.mark.parametrize(
    "methods",
    [
        (Method("a", handler, "a"), Method("a", handler, "again")),
        (Method("a", handler, "a"), Method("b", handler, "b", aliases=("a",))),
        (Method("a", handler, "a", aliases=("x",)), Method("b", handler, "b", aliases=("x",))),
    ],
    ids=["same path", "an alias is a path", "same alias"],
)
def test_two_methods_may_not_share_a_name(methods):
    with pytest.raises(ValueError, match="two methods share a path"):
        Registry(*methods)


def test_every_alias_of_the_service_reaches_its_own_method():
    for method in ENTRIES:
        assert METHODS.get(method.path) is method
        for alias in method.aliases:
            assert METHODS.get(alias) is method


@pytest.mark.parametrize("method", ENTRIES, ids=IDS)
def test_the_flags_of_each_entry_agree(method):
    if method.guest_endpoint:  # the guest policy applies to guests, so they must get in at all
        assert method.allow_guest
    if method.medusa_token:  # a Medusa token admits a guest of a guest endpoint
        assert method.guest_endpoint
    if method.costly:  # the bound holds guests' calls
        assert method.guest_endpoint
    if method.post_only:
        assert method.verbs == ("POST",)
    if method.writes:  # a write can always be sent by POST, which the CSRF check and the cross-site guard hold
        assert "POST" in method.verbs
    assert method.verbs and set(method.verbs) <= {"GET", "POST", "PUT", "DELETE"}
    assert len(set(method.verbs)) == len(method.verbs)
    assert method.summary.strip()


def test_the_storefront_entries_are_the_two_guest_endpoints():
    assert [m.path for m in GUEST_ENDPOINTS] == [
        "medusa_integration.api.fetch_all_customers",
        "medusa_integration.api.update_address",
    ]
    assert [m.path for m in ENTRIES if m.costly] == ["medusa_integration.api.fetch_all_customers"]
    assert [m.path for m in ENTRIES if m.medusa_token] == ["medusa_integration.api.update_address"]
    assert [m.path for m in POST_ONLY] == ["login"]


# --- what the app does with the flags ------------------------------------------------------------------------


@pytest.mark.parametrize("method", NOT_FOR_GUESTS, ids=[m.path for m in NOT_FOR_GUESTS])
def test_a_guest_calling_an_entry_not_allowed_to_guests_is_refused(client, method):
    for verb in method.verbs:
        r = client.request(verb, f"/api/method/{method.path}")
        message = assert_frappe_error(r, 403, "PermissionError")
        assert f"<strong>{method.path}</strong> is not whitelisted" in message["message"]


@pytest.mark.parametrize("method", POST_ONLY, ids=[m.path for m in POST_ONLY])
@pytest.mark.parametrize("verb", ["GET", "PUT", "DELETE"])
def test_a_post_only_entry_refuses_the_other_verbs(client, auth_header, method, verb):
    r = client.request(verb, f"/api/method/{method.path}", headers=auth_header)
    assert_frappe_error(r, 403, "PermissionError", "Not permitted")


@pytest.mark.parametrize("method", GUEST_ENDPOINTS, ids=[m.path for m in GUEST_ENDPOINTS])
def test_the_key_policy_holds_every_guest_endpoint_and_no_other_entry(client_with, method):
    keyed = client_with(guest_access="key", storefront_keys="web:0123456789abcdef0123")
    r = keyed.post(f"/api/method/{method.path}", json={})
    message = "A storefront key is required: send it in the X-Storefront-Key header."
    assert_frappe_error(r, 403, "PermissionError", message)
    for other in ENTRIES:
        if other.allow_guest and not other.guest_endpoint:
            answer = keyed.post(f"/api/method/{other.path}", json={})
            assert "storefront key" not in answer.text.lower(), other.path


@pytest.mark.parametrize("method", GUEST_ENDPOINTS, ids=[m.path for m in GUEST_ENDPOINTS])
def test_under_medusa_token_a_guest_endpoint_wants_a_token_or_an_api_key_as_its_entry_says(client_with, method):
    tokens = client_with(guest_access="medusa-token", medusa_jwt_secret="medusa-jwt-secret-0123456789-abcdefghij")
    r = tokens.post(f"/api/method/{method.path}", json={})
    message = assert_frappe_error(r, 403, "PermissionError")
    if method.medusa_token:
        assert message["message"].startswith("A Medusa customer token is required")
    else:
        assert f"Guests may not call {method.path} when guest access is medusa-token" in message["message"]
