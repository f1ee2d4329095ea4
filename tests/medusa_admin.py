"""A test double of the part of Medusa v2's admin API the outbox uses: customers and their addresses, secret API
key auth (HTTP Basic, the key as user name), and faults (down, slow, an answer for the next requests)."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

KEY = "sk_test_0123456789abcdef"


@dataclass
class MedusaAdmin:
    key: str = KEY
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each request, as (method, path).
    requests: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False
    slow: bool = False
    #: Answers for the next requests, in order: (status, headers, body).
    answers: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, medusa_id: str, **fields: Any) -> dict[str, Any]:
        customer = {"id": medusa_id, "email": None, "first_name": None, "last_name": None, "phone": None,
                    "addresses": [], **fields}  # fmt: skip
        self.customers[medusa_id] = customer
        return customer

    def answer_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        body = {"type": "conflict" if status == 409 else "error", "message": f"answer {status}"}
        self.answers += [(status, headers or {}, body)] * count

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] in ("POST", "DELETE")]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            if self.slow:
                raise httpx.ReadTimeout("timed out", request=request)
            self.requests.append((request.method, request.url.path))
            expected = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
            if request.headers.get("authorization") != expected:
                return httpx.Response(401, text="Unauthorized")
            if self.answers:
                status, headers, body = self.answers.pop(0)
                return httpx.Response(status, headers=headers, json=body)
            return self._route(request)

    def _route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[:2] != ["admin", "customers"] or len(parts) < 3:
            return httpx.Response(404, json={"type": "not_found", "message": "no route"})
        customer = self.customers.get(parts[2])
        if customer is None:
            return httpx.Response(
                404, json={"type": "not_found", "message": f"Customer with id: {parts[2]} was not found"}
            )
        body = json.loads(request.content) if request.content else {}
        if len(parts) == 3:
            if request.method == "POST":
                customer.update(body)
            return httpx.Response(200, json={"customer": customer})
        addresses = customer["addresses"]
        if len(parts) == 4 and request.method == "GET":
            return httpx.Response(200, json={"addresses": addresses, "count": len(addresses)})
        if len(parts) == 4:
            address = {"id": f"cuaddr_{next(self._ids)}", "is_default_billing": False, **body}
            addresses.append(address)
        else:
            found = [a for a in addresses if a["id"] == parts[4]]
            if not found:
                return httpx.Response(404, json={"type": "not_found", "message": "no address"})
            address = found[0]
            if request.method == "DELETE":
                addresses.remove(address)
                return httpx.Response(200, json={"id": address["id"], "object": "customer_address", "deleted": True})
            address.update(body)
        if address.get("is_default_billing"):
            for other in addresses:
                other["is_default_billing"] = other is address
        return httpx.Response(200, json={"customer": customer})

    def billing(self, medusa_id: str) -> dict[str, Any] | None:
        return next((a for a in self.customers[medusa_id]["addresses"] if a.get("is_default_billing")), None)
