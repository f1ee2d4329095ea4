"""ERPNext -> Medusa with a real Medusa v2 server (``examples/medusa`` on its own PostgreSQL database): the service
in the erpnext shape against the ERPNext double, its delivery worker calling Medusa's admin API with a secret
API key. A desk-side change of a linked Customer's billing address is read back through Medusa's admin API;
Medusa stopped for a while, then started again, gets the latest change once; a change for a customer deleted in
Medusa is a dead letter with Medusa's answer, and its replay is answered the same. The service also listens on a
real port for the example's subscriber, so Medusa's ``customer.updated`` for the service's own update comes back
to ``/webhooks/medusa/customer``: it must make no write on the site and no new outbox event (no echo)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from erpnext_medusa.domain import outbound as o
from tests.e2e import medusa
from tests.helpers import TEST_HOST, free_port
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


#: The site's requests that write.
WRITES = ("POST", "PUT", "DELETE")


@contextmanager
def _listening(w: World, port: int) -> Iterator[list[dict[str, Any]]]:
    """The world's app served on ``port`` (its lifespan, with the delivery worker, is the test client's), the
    Host header set to the one the app trusts; yields the Medusa webhooks it answered (type, data, status)."""
    answered: list[dict[str, Any]] = []
    app = w.client.app

    async def as_test_host(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", TEST_HOST.encode())]
        chunks: list[bytes] = []

        async def reading() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/webhooks/medusa/customer":
                body = json.loads(b"".join(chunks) or b"{}")
                answered.append({"type": body.get("type"), "data": body.get("data") or {}, "status": message["status"]})
            await send(message)

        await app({**scope, "headers": headers}, reading, sending)

    config = uvicorn.Config(as_test_host, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, 30, "the service's port")
    try:
        yield answered
    finally:
        server.should_exit = True
        thread.join(10)


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
            service_port, webhook_secret = free_port(), uuid.uuid4().hex * 2
            env = medusa.medusa_env(
                database_url, f"http://127.0.0.1:{service_port}", uuid.uuid4().hex * 2, webhook_secret
            )
            medusa.medusa_cli(project, env, "db:migrate")
            medusa.medusa_cli(project, env, "user", "-e", EMAIL, "-p", PASSWORD)
            port = medusa.free_port()
            monkeypatch.setattr(medusa, "free_port", lambda: port)  # the same address after a restart
            with ExitStack() as servers:
                m = servers.enter_context(medusa.start_medusa(project, env, tmp))
                token = medusa.admin_token(m.base, EMAIL, PASSWORD)
                secret = _admin(m.base, token, "POST", "/admin/api-keys", json={"title": "sync", "type": "secret"})
                key = str(secret["api_key"]["token"])
                settings = {"medusa_url": m.base, "medusa_api_key": key, "webhook_secret": webhook_secret}
                with world(f"sqlite:///{tmp / 'service.db'}", **settings) as w, _listening(w, service_port) as hooks:
                    box = w.services.outbox
                    assert box is not None
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
                    # The subscriber's customer.created: the intake makes each shopper's Lead.
                    _wait(lambda: len([h for h in hooks if h["type"] == "customer.created"]) == 2, 60, "the Leads")
                    assert all(h["status"] == 200 for h in hooks), hooks
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

                    # 1b. No echo: Medusa's customer.updated for the service's update comes back to the service,
                    # which writes nothing on the site and records no new event.
                    known = len(box.events())
                    w.desk("PUT", "Customer", "Ada Lovelace", {"customer_name": "Ada King"})
                    site_mark = len(w.site.requests)  # after the desk's own save
                    w.deliver()
                    _wait(lambda: len(box.events(states=(o.DELIVERED,))) == 2, 10, "the name's delivery")

                    def echoes() -> list[dict[str, Any]]:
                        return [h for h in hooks if h["type"] == "customer.updated" and h["data"].get("id") == made[0]
                                and h["data"].get("last_name") == "King"]  # fmt: skip

                    echo = _wait(echoes, 30, "Medusa's customer.updated for the service's update")
                    assert echo[0]["status"] == 200, echo
                    time.sleep(1.5)  # a few worker rounds, and the feed's webhooks for anything the intake wrote
                    w.deliver()
                    writes = [(r.method, r.path) for r in w.site.requests[site_mark:] if r.method in WRITES]
                    assert writes == [], writes
                    assert len(box.events()) == known + 1, [(e.id, e.state, e.changed) for e in box.events()]

                    # 2. Medusa stopped; two changes meanwhile; Medusa back: the latest one, once.
                    m.stop()
                    w.desk("PUT", "Address", address, {"city": "York"})
                    w.deliver()
                    _wait(lambda: box.events(states=(o.FAILED,)), 10, "a failed delivery")
                    w.desk("PUT", "Address", address, {"city": "Leeds"})
                    w.deliver()
                    m = servers.enter_context(medusa.start_medusa(project, env, tmp))
                    _wait(lambda: len(box.events(states=(o.DELIVERED,))) == 3, 90, "the delivery after the restart")
                    billing = _billing(m.base, token, made[0])
                    assert billing is not None and billing["city"] == "Leeds"
                    states = [e.state for e in box.events(customer="Ada Lovelace")]
                    assert states == [o.DELIVERED, o.SUPERSEDED, o.DELIVERED, o.DELIVERED], states
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
