"""The same documents in either shape: the service's own database (standalone) or an ERPNext site (the double),
so that one contract suite runs on both. A Shape puts documents where that shape keeps them and reads them back
from there; ``ready()`` is what has to happen before a search sees them (the erpnext shape's mirror follows the
site through its change feed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi.testclient import TestClient

from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from tests.helpers import address, customer, lead, rows, seed
from tests.site.world import World


class Shape(Protocol):
    name: str
    client: TestClient
    services: Services

    def add_customer(self, name: str, **fields: Any) -> None: ...

    def add_lead(self, **fields: Any) -> str: ...

    def add_address(self, title: str, *customers: str, **fields: Any) -> str: ...

    def customer(self, name: str) -> dict[str, Any]: ...

    def addresses_of(self, customer: str) -> list[dict[str, Any]]: ...

    def ready(self) -> None: ...


def auth_header(shape: Shape) -> dict[str, str]:
    key = create_api_key(shape.services.keys, "admin@example.com", shape.services.now())
    return {"Authorization": f"token {key.api_key}:{key.api_secret}"}


@dataclass
class Standalone:
    services: Services
    client: TestClient
    name: str = "standalone"
    _leads: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_customer(self, name: str, **fields: Any) -> None:
        seed(self.services, customer(name, **fields))

    def add_lead(self, **fields: Any) -> str:
        name = f"CRM-LEAD-2026-{next(self._leads):05d}"
        seed(self.services, lead(name, **fields))
        return name

    def add_address(self, title: str, *customers: str, **fields: Any) -> str:
        return seed(self.services, address(title, *customers, **fields))["Address"][0]

    def customer(self, name: str) -> dict[str, Any]:
        (found,) = rows(self.services, 'SELECT * FROM "tabCustomer" WHERE name = :n', n=name)
        return found

    def addresses_of(self, customer: str) -> list[dict[str, Any]]:
        return rows(
            self.services,
            'SELECT a.* FROM "tabAddress" a JOIN "tabDynamic Link" l ON l.parent = a.name '
            "WHERE l.link_doctype = 'Customer' AND l.link_name = :c ORDER BY a.name",
            c=customer,
        )

    def ready(self) -> None:
        """Nothing: the service's own documents are searched where they are written."""


@dataclass
class Live:
    world: World
    name: str = "erpnext"

    @property
    def services(self) -> Services:
        return self.world.services

    @property
    def client(self) -> TestClient:
        return self.world.client

    def add_customer(self, name: str, **fields: Any) -> None:
        stored = self.world.site.insert("Customer", {"customer_name": fields.pop("customer_name", name), **fields})
        assert stored["name"] == name, stored

    def add_lead(self, **fields: Any) -> str:
        return str(self.world.site.insert("Lead", fields)["name"])

    def add_address(self, title: str, *customers: str, **fields: Any) -> str:
        doc = address(title, *customers, **fields)
        doc.pop("doctype")
        return str(self.world.site.insert("Address", doc)["name"])

    def customer(self, name: str) -> dict[str, Any]:
        found = self.world.site.doc("Customer", name)
        assert found is not None
        return found

    def addresses_of(self, customer: str) -> list[dict[str, Any]]:
        linked = [
            a
            for a in self.world.site.all("Address")
            if any(link["link_doctype"] == "Customer" and link["link_name"] == customer for link in a["links"])
        ]
        return sorted(linked, key=lambda a: a["name"])

    def ready(self) -> None:
        self.world.reconcile(full=True)
