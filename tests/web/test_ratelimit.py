"""Rate limits on guest calls, per client address: in this process, and through Redis."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest
import redis

from erpnext_medusa.web.ratelimit import MemoryRateLimiter, RedisRateLimiter, connect
from tests.helpers import REDIS_URL, address, assert_frappe_error, customer, rows, seed

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
PING = "/api/method/ping"


def test_guests_over_the_limit_get_429_with_retry_after(client_with):
    client = client_with(rate_limit=3, rate_limit_window=60)
    assert [client.get(FETCH).status_code for _ in range(3)] == [200, 200, 200]
    r = client.get(FETCH)
    message = "You hit the rate limit because of too many requests. Please try after sometime."
    assert_frappe_error(r, 429, "TooManyRequestsError", message)
    assert 0 < int(r.headers["Retry-After"]) <= 60


def test_an_update_over_the_limit_changes_nothing(services, client_with):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    client = client_with(rate_limit=1)
    assert client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"}).status_code == 200
    r = client.post(UPDATE, json={"customer_id": "Acme", "city": "Ajman"})
    assert_frappe_error(r, 429, "TooManyRequestsError")
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": "Sharjah"}]
    assert len(services.audit.list_audit(customer=None, since=None, limit=10)) == 1


def test_each_guest_endpoint_has_its_own_budget_and_ping_none(client_with):
    client = client_with(rate_limit=1)
    assert client.get(FETCH).status_code == 200
    assert client.post(UPDATE, json={}).status_code == 200  # an error object, but within its own budget
    assert [client.get(PING).status_code for _ in range(5)] == [200] * 5
    assert client.get(FETCH).status_code == 429


def test_api_key_users_are_not_limited(client_with, auth_header):
    client = client_with(rate_limit=1)
    assert [client.get(FETCH, headers=auth_header).status_code for _ in range(5)] == [200] * 5


def test_limit_zero_turns_limits_off(client_with):
    client = client_with(rate_limit=0)
    assert {client.get(FETCH).status_code for _ in range(30)} == {200}


def test_forwarded_for_counts_only_behind_a_trusted_proxy(client_with):
    # The test client's peer is "testclient", not an address: X-Forwarded-For is ignored.
    untrusted = client_with(rate_limit=1, trusted_proxies="10.0.0.0/8")
    assert untrusted.get(FETCH, headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
    assert untrusted.get(FETCH, headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(client_with):
    client = client_with(peer="10.1.2.3", rate_limit=1, trusted_proxies="10.0.0.0/8")
    assert client.get(FETCH, headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
    assert client.get(FETCH, headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 200
    assert client.get(FETCH, headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    # A client cannot escape its count by sending its own X-Forwarded-For entries.
    assert client.get(FETCH, headers={"X-Forwarded-For": "7.7.7.7, 192.0.2.2"}).status_code == 429


def test_the_audit_row_names_the_client_behind_a_trusted_proxy(services, client_with):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    client = client_with(peer="127.0.0.1", trusted_proxies="127.0.0.1")
    client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"}, headers={"X-Forwarded-For": "203.0.113.5"})
    (entry,) = services.audit.list_audit(customer="Acme", since=None, limit=10)
    assert entry.client == "203.0.113.5"


def test_memory_limiter_windows_restart_and_keys_are_separate():
    now = [1000.0]
    limiter = MemoryRateLimiter(limit=2, window=10, clock=lambda: now[0])
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("b").allowed
    now[0] += 4
    assert limiter.hit("a").retry_after == 6
    now[0] += 6
    assert limiter.hit("a").allowed  # a new window


@pytest.fixture
def redis_client(redis_prefix):
    client = redis.Redis.from_url(REDIS_URL)
    yield client, redis_prefix
    client.close()


def test_redis_limiters_share_one_count(redis_client):
    client, prefix = redis_client
    first = RedisRateLimiter(client, prefix, limit=3, window=30)
    second = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), prefix, limit=3, window=30)
    verdicts = [limiter.hit("fetch:192.0.2.1") for limiter in (first, second, first, second)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 0 < verdicts[-1].retry_after <= 30
    assert second.hit("fetch:192.0.2.2").allowed
    digest = hashlib.sha256(b"fetch:192.0.2.1").hexdigest()  # the key names a digest, never the text itself
    assert first.redis_key("fetch:192.0.2.1") == f"{prefix}:rate:{digest}"
    assert 0 < client.ttl(f"{prefix}:rate:{digest}") <= 30  # the counter expires with its window
    assert not any(b"192.0.2" in key for key in client.scan_iter(match=f"{prefix}:*"))


def test_an_unreachable_redis_falls_back_to_counting_in_process(caplog):
    limiter = RedisRateLimiter(connect("redis://127.0.0.1:1/0"), "em-test", limit=1, window=30)
    started = time.monotonic()
    assert [limiter.hit("k").allowed for _ in range(3)] == [True, False, False]
    assert time.monotonic() - started < 2  # no retries, no back-off: a dead Redis costs one refused connection
    assert caplog.text.count("rate limits are counted per process") == 1


def test_memory_limiter_slides_no_double_budget_across_an_edge():
    now = [1000.0]
    limiter = MemoryRateLimiter(limit=4, window=10, clock=lambda: now[0])
    now[0] = 1009.0  # the end of one fixed window...
    assert [limiter.hit("a").allowed for _ in range(4)] == [True] * 4
    now[0] = 1011.0  # ...and the start of the next: a fixed window would admit four more here
    assert not limiter.hit("a").allowed
    now[0] = 1019.5
    assert limiter.hit("a").allowed


def test_redis_limiter_slides_across_an_edge(redis_client):
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, prefix, limit=3, window=2)
    assert [limiter.hit("k").allowed for _ in range(4)] == [True, True, True, False]
    assert not limiter.peek("k").allowed
    time.sleep(1.2)  # past a 1-second boundary, still inside 2 s of the calls
    assert not limiter.hit("k").allowed
    time.sleep(1.0)
    assert limiter.hit("k").allowed


@pytest.mark.parametrize("redis_url", ["", REDIS_URL])
def test_storefront_key_is_limited_per_key_not_per_address(client_with, redis_url):
    prefix = f"em-test-{uuid.uuid4().hex[:10]}"
    keys = "web:0123456789abcdef0123,pos:fedcba9876543210fedc"
    c = client_with(guest_access="key", storefront_keys=keys, rate_limit=1, storefront_rate_limit=3,
                    redis_url=redis_url, redis_prefix=prefix)  # fmt: skip
    web = {"X-Storefront-Key": "0123456789abcdef0123"}
    answers = [c.get(FETCH, headers=web).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]  # the key's budget (3), not the address's (1)
    assert c.get(FETCH, headers={"X-Storefront-Key": "fedcba9876543210fedc"}).status_code == 200


def test_storefront_keys_are_unlimited_by_default(client_with):
    c = client_with(guest_access="key", storefront_keys="web:0123456789abcdef0123", rate_limit=1)
    web = {"X-Storefront-Key": "0123456789abcdef0123"}
    assert {c.get(FETCH, headers=web).status_code for _ in range(5)} == {200}


def test_logins_are_limited_per_user_and_per_address(client_with):
    c = client_with(login_rate_limit=2, login_max_failures=0)
    login = "/api/method/login"
    assert [c.post(login, data={"usr": "a@x", "pwd": "p"}).status_code for _ in range(3)] == [401, 401, 429]
    assert c.post(login, data={"usr": "b@x", "pwd": "p"}).status_code == 429  # this address's budget is spent
    other = client_with(peer="10.9.9.9", login_rate_limit=2, login_max_failures=0)
    assert other.post(login, data={"usr": "c@x", "pwd": "p"}).status_code == 401
