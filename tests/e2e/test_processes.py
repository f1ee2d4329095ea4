"""Real server processes: two of them racing on one database, one killed with SIGKILL under write load, and
rate limits shared through Redis. Each test gets its own fresh database, built by the real migrations."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from tests.helpers import (
    BACKENDS,
    REDIS_URL,
    address,
    customer,
    free_port,
    lead,
    medusa_token,
    message_text,
    migrated_database,
    rows,
    seed,
    server_env,
    start_server,
    start_servers,
)

LINK = "medusa_integration.utils.link_medusa_lead"
UPDATE = "medusa_integration.api.update_address"
FETCH = "medusa_integration.api.fetch_all_customers"
SERVER_BACKENDS = [b for b in BACKENDS if b != "sqlite"]


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", SERVER_BACKENDS, indirect=True)
def test_fifty_links_of_one_lead_over_two_processes_make_exactly_one(fresh_db, tmp_path):
    url, services = fresh_db
    seed(services, lead("L-RACE", medusa_id="cus_race"), *(customer(f"C{i:02}") for i in range(50)))
    key = create_api_key(services.keys, "race@example.com", services.now())
    headers = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
    barrier = threading.Barrier(50)

    with start_servers(tmp_path, server_env(url, rate_limit="0"), 2) as servers:

        def attempt(i: int) -> httpx.Response:
            barrier.wait(timeout=60)
            return httpx.post(
                f"{servers[i % 2].base}/{LINK}",
                data={"customer": f"C{i:02}", "lead": "L-RACE"},
                headers={**headers, "X-Request-Id": f"race-{i}"},
                timeout=120,
            )

        with ThreadPoolExecutor(50) as pool:
            responses = list(pool.map(attempt, range(50)))

    assert Counter(r.status_code for r in responses) == {200: 1, 417: 49}
    (winner,) = [i for i, r in enumerate(responses) if r.status_code == 200]
    holder = f"C{winner:02}"
    for r in responses:
        if r.status_code == 417:
            assert r.json()["exc_type"] == "ValidationError"
            assert message_text(r) == f"This Medusa Lead is already linked to another Customer: {holder}"
    linked = rows(services, "SELECT name, lead_name FROM \"tabCustomer\" WHERE medusa_id = 'cus_race'")
    assert linked == [{"name": holder, "lead_name": "L-RACE"}]
    (entry,) = services.audit.list_audit(customer=None, since=None, limit=100)
    assert (entry.action, entry.customer, entry.user, entry.client_request_id) == (
        "link_medusa_lead",
        holder,
        "race@example.com",
        f"race-{winner}",
    )
    assert entry.changes == {f"Customer/{holder}": {"medusa_id": [None, "cus_race"], "lead_name": [None, "L-RACE"]}}


CRASH_CUSTOMERS = 4
CRASH_WRITERS = 8
FIELDS = ("address_line1", "city", "state", "pincode")


def _values(tag: str) -> dict[str, str]:
    """One request's values: every field says which request wrote it."""
    return {"address_line1": f"{tag} Road", "city": f"City {tag}", "state": f"State {tag}", "pincode": f"P-{tag}"}


def _tag_of(row: dict[str, str | None]) -> str:
    return str(row["address_line1"]).removesuffix(" Road")


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", BACKENDS, indirect=True)
def test_sigkill_under_address_updates_leaves_whole_rows_and_a_matching_audit_trail(fresh_db, tmp_path):
    url, services = fresh_db
    names = [f"K{i}" for i in range(CRASH_CUSTOMERS)]
    seed(services, *(customer(n) for n in names), *(address(n, n, **_values(f"seed-{n}")) for n in names))
    env = server_env(url, rate_limit="0")
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(w: int, base: str) -> None:
        with httpx.Client(timeout=10) as http:
            for i in range(100_000):
                if stop.is_set():
                    return
                tag = f"w{w}-{i}"
                body = {"customer_id": names[w % CRASH_CUSTOMERS], **_values(tag)}
                try:
                    r = http.post(f"{base}/{UPDATE}", json=body, headers={"X-Request-Id": tag})
                except httpx.TransportError:
                    return  # the server is gone
                if r.status_code == 200 and r.json() == {"message": "Address updated successfully"}:
                    acknowledged.append(tag)

    with start_server(tmp_path, env) as server:
        threads = [threading.Thread(target=writer, args=(w, server.base)) for w in range(CRASH_WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert len(acknowledged) >= 40, "the write load did not get going before the kill"

    with start_server(tmp_path, env) as server:  # the service starts again on the database as the kill left it
        after = httpx.post(
            f"{server.base}/{UPDATE}",
            json={"customer_id": "K0", **_values("after")},
            headers={"X-Request-Id": "after"},
            timeout=10,
        )
        assert after.json() == {"message": "Address updated successfully"}

    current = {
        r["name"]: r for r in rows(services, 'SELECT name, address_line1, city, state, pincode FROM "tabAddress"')
    }
    assert sorted(current) == sorted(f"{n}-Billing" for n in names)
    for row in current.values():  # entirely one request's values, never fields of two
        assert {f: row[f] for f in FIELDS} == _values(_tag_of(row))

    entries = services.audit.list_audit(customer=None, since=None, limit=100_000)
    audited = {e.client_request_id for e in entries}
    assert set(acknowledged) | {"after"} <= audited  # every acknowledged write has its audit row
    for name in names:
        document = f"Address/{name}-Billing"
        chain = [e.changes[document] for e in entries if document in e.changes]
        values = _values(f"seed-{name}")
        for change in chain:  # each row starts where the one before it ended, and is one request's values
            assert {f: change[f][0] for f in FIELDS} == values
            values = {f: change[f][1] for f in FIELDS}
            assert values == _values(values["address_line1"].removesuffix(" Road"))
        assert values == {f: current[f"{name}-Billing"][f] for f in FIELDS}  # the last row is what is stored


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[tuple[URL, Services]]:
    with migrated_database("sqlite", tmp_path) as made:
        yield made


STOREFRONT_SECRET = "sf-secret-0123456789abcdef"
JWT_SECRET = "medusa-jwt-secret-0123456789-abcdefghij"


#: Per policy: its settings, and the headers that admit a guest (built when the test runs: a token minted at
#: import time could expire before a long suite reaches the test).
POLICIES = {
    "open": ({}, dict),
    "key": (  # a storefront key is counted per key id: its own budget, set to the per-address one here
        {"guest_access": "key", "storefront_keys": f"web:{STOREFRONT_SECRET}", "storefront_rate_limit": "4"},
        lambda: {"X-Storefront-Key": STOREFRONT_SECRET},
    ),
    "medusa-token": (
        {"guest_access": "medusa-token", "medusa_jwt_secret": JWT_SECRET},
        lambda: {"Authorization": f"Bearer {medusa_token('cus_ali', JWT_SECRET)}"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("policy", list(POLICIES))
def test_each_policy_and_a_rate_limit_shared_by_two_processes_through_redis(policy, sqlite_db, redis_prefix, tmp_path):
    url, services = sqlite_db
    seed(services, customer("Ali Hassan", medusa_id="cus_ali"), address("Ali Hassan", "Ali Hassan"))
    settings, admitting = POLICIES[policy]
    env = server_env(
        url, rate_limit="4", rate_limit_window="60", redis_url=REDIS_URL, redis_prefix=redis_prefix,
        trusted_proxies="127.0.0.1", **settings,
    )  # fmt: skip
    client = {"X-Forwarded-For": "203.0.113.7"}

    def update(server, headers, city, rid="-"):
        body = {"customer_id": "Ali Hassan", "city": city}
        headers = {**client, **headers, "X-Request-Id": rid}
        return httpx.post(f"{server.base}/{UPDATE}", json=body, headers=headers, timeout=10)

    with start_servers(tmp_path, env, 2) as (a, b):
        admitted = admitting()
        if policy != "open":
            refused = update(a, {}, "Refused")
            assert refused.status_code == 403
            assert refused.json()["exc_type"] == "PermissionError"
        answers = [update(s, admitted, f"City {i}", f"policy-{i}") for i, s in enumerate((a, b, a, b, a, b))]
        other_client = update(a, {**admitted, "X-Forwarded-For": "198.51.100.9"}, "Elsewhere")
        logged = a.output() + b.output()

    # medusa-token: the refused call counted against the address too; key: the key has a budget of its own
    budget = 3 if policy == "medusa-token" else 4
    assert [r.status_code for r in answers] == [200] * budget + [429] * (6 - budget)
    over = answers[-1]
    assert over.json()["exc_type"] == "TooManyRequestsError"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    if policy == "key":  # counted per key id, wherever the storefront calls from
        assert other_client.status_code == 429
    else:  # counted per client address
        assert other_client.json() == {"message": "Address updated successfully"}
        (stored,) = rows(services, 'SELECT city FROM "tabAddress"')
        assert stored == {"city": "Elsewhere"}
    entries = services.audit.list_audit(customer="Ali Hassan", since=None, limit=100)
    assert (entries[0].client, entries[0].storefront_key, entries[0].medusa_actor) == (
        "203.0.113.7",
        "web" if policy == "key" else None,
        "cus_ali" if policy == "medusa-token" else None,
    )
    # The logs carry request ids but no secret and no customer name from the query or body.
    assert STOREFRONT_SECRET not in logged and JWT_SECRET not in logged and "eyJ" not in logged
    assert "Ali Hassan" not in logged
    # The access line of each call carries the id the server gave it.
    assert re.search(r"\[[0-9a-f]{32}\] access: ", logged)


@pytest.mark.slow
def test_without_redis_each_process_counts_alone(sqlite_db, tmp_path):
    url, _ = sqlite_db
    env = server_env(url, rate_limit="2", rate_limit_window="60")
    with start_servers(tmp_path, env, 2) as (a, b):
        statuses = [httpx.get(f"{s.base}/{FETCH}", timeout=10).status_code for s in (a, a, b, b, a, b)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_open_guest_access_on_a_public_address_needs_its_host_names_and_warns_at_start_up(sqlite_db, tmp_path):
    url, _ = sqlite_db
    refused = subprocess.run(
        [sys.executable, "-m", "erpnext_medusa", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=server_env(url), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert "ERPNEXT_MEDUSA_ALLOWED_HOSTS is not set" in " ".join(refused.stderr.split())
    hosts = server_env(url, allowed_hosts="127.0.0.1,shop-api.example")
    with start_servers(tmp_path, hosts, 1, host="0.0.0.0") as (server,):
        assert "WARNING: guest access is open" in server.output()
    with start_servers(tmp_path, server_env(url), 1) as (server,):
        assert "guest access is open" not in server.output()


WEBHOOK_SECRET = "webhook-secret-0123456789abcdef-0123456789"


def _signed(body: bytes) -> dict[str, str]:
    t = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-ERPNext-Medusa-Signature": f"t={t},v1={mac}"}


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", SERVER_BACKENDS, indirect=True)
def test_webhook_deliveries_of_one_customer_racing_over_two_processes_make_one_lead(fresh_db, tmp_path):
    url, services = fresh_db
    attempts = 30
    barrier = threading.Barrier(attempts)
    customer = {"id": "cus_race", "email": "race@example.com", "first_name": "Rana", "last_name": None}

    with start_servers(tmp_path, server_env(url, webhook_secret=WEBHOOK_SECRET), 2) as servers:

        def deliver(i: int) -> httpx.Response:
            # A third are re-deliveries of one event; the rest distinct events, created and updated.
            event_id = "evt_same" if i % 3 == 0 else f"evt_{i}"
            kind = "customer.created" if i % 2 == 0 else "customer.updated"
            body = json.dumps({"id": event_id, "type": kind, "data": customer}).encode()
            barrier.wait(timeout=60)
            base = f"http://127.0.0.1:{servers[i % 2].port}"
            return httpx.post(f"{base}/webhooks/medusa/customer", content=body, headers=_signed(body), timeout=120)

        with ThreadPoolExecutor(attempts) as pool:
            responses = list(pool.map(deliver, range(attempts)))

    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200]
    (lead_row,) = rows(services, 'SELECT name, medusa_id, lead_name FROM "tabLead"')
    assert (lead_row["medusa_id"], lead_row["lead_name"]) == ("cus_race", "Rana")
    assert {r.json()["message"]["lead"] for r in responses} == {lead_row["name"]}
    assert Counter(r.json()["message"]["created"] for r in responses) == {True: 1, False: attempts - 1}
    entries = services.audit.list_audit(customer=None, since=None, limit=100)
    assert [(e.action, e.medusa_actor) for e in entries] == [("create_lead", "cus_race")]
    events = rows(services, 'SELECT name FROM "erpnext_medusa_intake_event"')
    assert len(events) == len({"evt_same"} | {f"evt_{i}" for i in range(attempts) if i % 3})
