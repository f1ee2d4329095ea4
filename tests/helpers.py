"""Helpers shared by the tests: seeding documents through the import path and raw SQL access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from erpnext_medusa.domain.importing import import_documents
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t


def stamp(user: str = "Administrator") -> Stamp:
    return Stamp(user=user, at=datetime(2026, 1, 2, 3, 4, 5))


def seed(services: Services, *docs: dict[str, Any]) -> dict[str, list[str]]:
    """Load documents through the import path (Frappe fixture shape); the names created, per DocType."""
    return import_documents(services.store, list(docs), stamp())


def customer(name: str, **fields: Any) -> dict[str, Any]:
    return {"doctype": "Customer", "name": name, "customer_name": fields.pop("customer_name", name), **fields}


def lead(name: str, **fields: Any) -> dict[str, Any]:
    return {"doctype": "Lead", "name": name, "first_name": fields.pop("first_name", name), **fields}


def address(title: str, *customers: str, **fields: Any) -> dict[str, Any]:
    doc = {
        "doctype": "Address",
        "address_title": title,
        "address_type": "Billing",
        "address_line1": "1 Main Street",
        "city": "Dubai",
        "country": "United Arab Emirates",
        "links": [{"link_doctype": "Customer", "link_name": c} for c in customers],
    }
    doc.update(fields)
    return doc


def rows(services: Services, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run a read query written with double-quoted identifiers on any backend."""
    if services.store.dialect in t.MARIADB:
        sql = sql.replace('"', "`")
    with services.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def execute(services: Services, sql: str, **params: Any) -> None:
    """Write with plain SQL, as another program (ERPNext itself) would."""
    if services.store.dialect in t.MARIADB:
        sql = sql.replace('"', "`")
    with services.store.engine.begin() as conn:
        conn.execute(text(sql), params)
