"""ERPNext -> Medusa with a real Medusa v2 server (``examples/medusa`` on its own PostgreSQL database): the service
in the erpnext shape against the ERPNext double, its delivery worker calling Medusa's admin API with a secret
API key. A desk-side change of a linked Customer's billing address is read back through Medusa's admin API;
Medusa stopped for a while, then started again, gets the latest change once; a change for a customer deleted in
Medusa is a dead letter with Medusa's answer, and its replay is answered the same."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from erpnext_medusa.domain import outbound as o
from tests.e2e import medusa
from tests.site.world import World, world

EMAIL, PASSWORD = "admin@example.com", "e2e-" + uuid.uuid4().hex


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _admin(base: str, token: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    r = httpx.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)
    assert r.status_code == 200, f"{method} {path}: HTTP {r.status_code} {r.text}"
    return r.json()


def _billing(base: str, token: str, customer: str) -> dict[str, Any] | None:
    found = _admin(base, token, "GET", f"/admin/customers/{customer}/addresses?fields=%2Bis_default_billing")[
        "addresses"
    ]
    defaults = [a for a in found if a.get("is_default_billing")]
    assert len(defaults) <= 1
    return defaults[0] if defaults else None


def _link(w: World, name: str, medusa_id: str) -> str:
    w.site.insert("Customer", {"customer_name": name, "medusa_id": medusa_id})
    address = w.site.insert(
        "Address",
        {"address_title": name, "address_type": "Billing", "address_line1": "1 Old St", "city": "London",
         "country": "United Kingdom", "links": [{"link_doctype": "Customer", "link_name": name}]},
    )  # fmt: skip
    w.site.sql_update("Customer", name, {"customer_primary_address": address["name"]})
    return str(address["name"])


def test_desk_changes_reach_the_real_medusa(monkeypatch: pytest.MonkeyPatch):
    node_modules, _ = medusa.installed_node_modules()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = medusa.project_copy(tmp, node_modules)
        with medusa.medusa_database(tmp) as database_url:
            env = medusa.medusa_env(database_url, "http://127.0.0.1:9", uuid.uuid4().hex * 2, uuid.uuid4().hex * 2)
            medusa.medusa_cli(project, env, "db:migrate")
            medusa.medusa_cli(project, env, "user", "-e", EMAIL, "-p", PASSWORD)
            port = medusa.free_port()
            monkeypatch.setattr(medusa, "free_port", lambda: port)  # the same address after a restart
            with ExitStack() as servers:
                m = servers.enter_context(medusa.start_medusa(project, env, tmp))
                token = medusa.admin_token(m.base, EMAIL, PASSWORD)
                secret = _admin(m.base, token, "POST", "/admin/api-keys", json={"title": "sync", "type": "secret"})
                key = str(secret["api_key"]["token"])
                made = [
                    _admin(
                        m.base,
                        token,
                        "POST",
                        "/admin/customers",
                        json={"email": f"{n}@example.com", "first_name": n, "last_name": "Shopper"},
                    )["customer"]["id"]
                    for n in ("ada", "bo")
                ]
                with world(f"sqlite:///{tmp / 'service.db'}", medusa_url=m.base, medusa_api_key=key) as w:
                    box = w.services.outbox
                    assert box is not None
                    address = _link(w, "Ada Lovelace", made[0])
                    gone = _link(w, "Bo Gone", made[1])
                    w.reconcile(full=True)
                    assert box.events() == []

                    # 1. A desk change of the billing address reaches the Medusa customer within 5 s.
                    w.desk("PUT", "Address", address, {"city": "Manchester", "pincode": "M1"})
                    started = time.monotonic()
                    w.deliver()
                    (sent,) = _wait(lambda: [e for e in box.events() if e.attempts], 5, "a delivery")
                    assert sent.state == o.DELIVERED, (sent.state, sent.last_status, sent.last_error)
                    billing = _billing(m.base, token, made[0])
                    assert billing is not None
                    assert time.monotonic() - started < 5
                    assert (billing["city"], billing["postal_code"], billing["country_code"]) == (
                        "Manchester",
                        "M1",
                        "gb",
                    )
                    customer = _admin(m.base, token, "GET", f"/admin/customers/{made[0]}")["customer"]
                    assert (customer["first_name"], customer["last_name"]) == ("Ada", "Lovelace")

                    # 2. Medusa stopped; two changes meanwhile; Medusa back: the latest one, once.
                    m.stop()
                    w.desk("PUT", "Address", address, {"city": "York"})
                    w.deliver()
                    _wait(lambda: box.events(states=(o.FAILED,)), 10, "a failed delivery")
                    w.desk("PUT", "Address", address, {"city": "Leeds"})
                    w.deliver()
                    m = servers.enter_context(medusa.start_medusa(project, env, tmp))
                    _wait(lambda: len(box.events(states=(o.DELIVERED,))) == 2, 90, "the delivery after the restart")
                    billing = _billing(m.base, token, made[0])
                    assert billing is not None and billing["city"] == "Leeds"
                    states = [e.state for e in box.events(customer="Ada Lovelace")]
                    assert states == [o.DELIVERED, o.SUPERSEDED, o.DELIVERED], states
                    addresses = _admin(m.base, token, "GET", f"/admin/customers/{made[0]}/addresses")["addresses"]
                    assert len(addresses) == 1

                    # 3. A customer deleted in Medusa: a dead letter with Medusa's answer; replayed, the same.
                    _admin(m.base, token, "DELETE", f"/admin/customers/{made[1]}")
                    w.desk("PUT", "Address", gone, {"city": "Nowhere"})
                    w.deliver()
                    (dead,) = _wait(lambda: box.events(states=(o.DEAD,)), 10, "a dead letter")
                    assert dead.last_status == 404 and made[1] in (dead.last_error or "")
                    assert box.send_again([dead.id], states=o.REPLAYABLE) == [dead.id]
                    again = _wait(lambda: (e := box.get(dead.id)) and e.state == o.DEAD and e.attempts == 1 and e, 10,
                                  "the replay")  # fmt: skip
                    assert again.last_status == 404
