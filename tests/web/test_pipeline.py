"""The request pipeline (web/pipeline.py): the order in which its links refuse a call, one registry lookup per
call, and a thread hop only where something waits on storage or the network."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from erpnext_medusa.services import Services
from erpnext_medusa.web import pipeline
from erpnext_medusa.web.app import create_app
from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.ratelimit import RedisRateLimiter, connect
from erpnext_medusa.web.sessions import issue_csrf_token
from erpnext_medusa.web.slots import SearchSlots
from tests.helpers import BARE_AUTHENTICATIONERROR, assert_frappe_error, customer, seed

ME = "pipeline@example.com"
PASSWORD = "a passphrase of some length"
WHO = "/api/method/frappe.auth.get_logged_user"
SEARCH = "/api/method/medusa_integration.api.fetch_all_customers"
UNKNOWN = "/api/method/no.such.method"
NO_SUCH_METHOD = "Failed to get method for command no.such.method with: no such method"
STALE = {"Cookie": "sid=a-sid-of-no-session"}


def _log_in(services: Services, client: TestClient) -> str:
    services.accounts.add_user(ME, "Pipe Line", PASSWORD, services.now())
    assert client.post("/api/method/login", data={"usr": ME, "pwd": PASSWORD}).status_code == 200
    return client.cookies["sid"]


def _assert_session_expired(r: Any) -> None:
    assert r.json()["session_expired"] == 1
    assert any(cookie.startswith("sid=;") for cookie in r.headers.get_list("set-cookie"))


# --- the order of refusals -------------------------------------------------------------------------------------


def test_a_bad_api_key_is_refused_before_the_method_is_looked_up(client):
    r = client.get(UNKNOWN, headers={"Authorization": "token nope:nope"})
    assert r.status_code == 401 and r.json() == BARE_AUTHENTICATIONERROR


def test_an_unknown_method_is_refused_before_the_verb(client):
    assert_frappe_error(client.patch(UNKNOWN), 417, "ValidationError", NO_SUCH_METHOD)


def test_a_guest_is_refused_the_whitelist_before_the_verb(client):
    message = assert_frappe_error(client.patch(WHO), 403, "PermissionError")
    assert "is not whitelisted" in message["message"]


def test_the_verb_is_refused_before_the_guest_policy(client_with):
    c = client_with(guest_access="key", storefront_keys="shop:a-storefront-secret-of-a-fair-length-0123456789")
    assert_frappe_error(c.patch(SEARCH), 403, "PermissionError", "Not permitted")
    refused = assert_frappe_error(c.get(SEARCH), 403, "PermissionError")
    assert "storefront key is required" in refused["message"]


def test_a_missing_csrf_token_is_refused_before_the_method_is_looked_up(services, client):
    sid = _log_in(services, client)
    issue_csrf_token(services, sid)
    r = client.post(UNKNOWN)
    assert r.status_code == 400 and r.json()["exc_type"] == "CSRFTokenError"


def test_a_session_wins_over_an_authorization_header(services, client):
    _log_in(services, client)
    assert client.get(WHO, headers={"Authorization": "token nope:nope"}).json() == {"message": ME}


@pytest.mark.parametrize(
    ("path", "status"),
    [(UNKNOWN, 417), (WHO, 403), ("/api/method/ping", 200), (SEARCH + "?limit=x", 417)],
)
def test_a_stale_sid_says_session_expired_on_answers_and_refusals_alike(client, path, status):
    r = client.get(path, headers=STALE)
    assert r.status_code == status
    _assert_session_expired(r)


def test_a_stale_sid_keeps_retry_after_on_a_rate_limit(client_with):
    c = client_with(rate_limit=1)
    assert c.get(SEARCH, headers=STALE).status_code == 200
    r = c.get(SEARCH, headers=STALE)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    _assert_session_expired(r)


def test_the_search_bound_holds_guests_and_sessions_not_api_keys(services, auth_header):
    app = create_app(services=services)
    app.state.guard = replace(app.state.guard, slots=SearchSlots(total=1, per_client=0, wait=0.1))  # no share
    with TestClient(app) as c:
        assert c.get(SEARCH, params={"name": "acme"}, headers=auth_header).status_code == 200
        assert c.get(SEARCH, params={"name": "acme"}).status_code == 429
        _log_in(services, c)
        assert c.get(SEARCH, params={"name": "acme"}).status_code == 429


# --- one lookup, few hops --------------------------------------------------------------------------------------


class _CountedRegistry:
    def __init__(self) -> None:
        self.lookups: list[str] = []

    def get(self, name: str) -> Any:
        self.lookups.append(name)
        return METHODS.get(name)


def test_a_call_looks_its_method_up_once(services, auth_header, monkeypatch):
    seed(services, customer("Acme"))
    counted = _CountedRegistry()
    monkeypatch.setattr(pipeline, "METHODS", counted)
    with TestClient(create_app(services=services)) as c:
        assert c.get(SEARCH, params={"name": "acme"}).status_code == 200
        assert c.post(WHO, headers=auth_header).status_code == 200
    assert counted.lookups == ["medusa_integration.api.fetch_all_customers", "frappe.auth.get_logged_user"]


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of what the pipeline runs in a worker thread, in order."""
    seen: list[str] = []
    original = pipeline.run_in_threadpool

    async def counted(work: Callable[..., Any], *args: Any) -> Any:
        seen.append(getattr(work, "__name__", repr(work)))
        return await original(work, *args)

    monkeypatch.setattr(pipeline, "run_in_threadpool", counted)
    yield seen


def test_a_guest_ping_runs_without_a_thread_hop(client, hops):
    assert client.get("/api/method/ping").json() == {"message": "pong"}
    assert hops == []


def test_a_guest_search_hops_once_for_its_handler(client, hops):
    assert client.get(SEARCH, params={"name": "nobody"}).status_code == 200
    assert hops == ["fetch_all_customers"]


def test_a_credential_costs_one_hop_to_check_it(client, auth_header, hops):
    assert client.get(WHO, headers=auth_header).status_code == 200
    assert client.get("/api/method/ping", headers=STALE).status_code == 200
    assert hops == ["_authenticate", "resume"]


def test_guest_limits_counted_in_redis_are_checked_in_a_worker_thread(services, hops):
    app = create_app(services=services)
    unreachable = connect("redis://127.0.0.1:1/0")  # refused at once: the limiter counts in-process instead
    app.state.guard = replace(app.state.guard, limiter=RedisRateLimiter(unreachable, "test", 10, 60))
    assert not app.state.guard.guests_counted_here
    with TestClient(app) as c:
        assert c.get(SEARCH, params={"name": "nobody"}).status_code == 200
    assert hops == ["_admit", "fetch_all_customers"]
