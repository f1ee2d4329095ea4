"""Raw SQL on one engine (identifiers double-quoted, backticks on MariaDB), what reflection says of a schema,
and an ERPNext-shaped database filled with plain SQL as ERPNext itself would have left it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tests.erpnext_ddl import create_erpnext_schema

MARIADB = ("mysql", "mariadb")


def _sql(engine: sa.Engine, sql: str) -> str:
    """Statements are written with double-quoted identifiers; MariaDB wants backticks."""
    return sql.replace('"', "`") if engine.dialect.name in MARIADB else sql


def execute(engine: sa.Engine, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(_sql(engine, sql)), params or {})


def fetch(engine: sa.Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(_sql(engine, sql)), params).mappings()]


def insert(engine: sa.Engine, table: str, *rows: dict[str, Any]) -> None:
    """Plain INSERT of whole rows (all rows of one call share the same keys)."""
    cols = list(rows[0])
    column_list = ", ".join(f'"{c}"' for c in cols)
    values = ", ".join(f":{c}" for c in cols)
    execute(engine, f'INSERT INTO "{table}" ({column_list}) VALUES ({values})', list(rows))


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def columns(engine: sa.Engine, table: str) -> dict[str, dict[str, Any]]:
    """Reflected columns with the type compiled for the backend (so MariaDB shows INTEGER(1), not INTEGER)."""
    result = {}
    for col in sa.inspect(engine).get_columns(table):
        col = dict(col)
        # Untyped columns (SQLite's FTS5 shadow tables) have no DDL of their own.
        untyped = isinstance(col["type"], sa.types.NullType)
        col["type_sql"] = "" if untyped else col["type"].compile(dialect=engine.dialect)
        result[col["name"]] = col
    return result


def default_value(raw: str | None) -> str | None:
    """A reflected server default without quoting or casts: "'0'", "0", "'0'::smallint" all give "0"."""
    if raw is None:
        return None
    value = raw.strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    value = value.split("::", 1)[0]
    return value.strip("'")


def index_names(engine: sa.Engine, table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes(table) if ix.get("name")}


def unique_index_columns(engine: sa.Engine, table: str) -> dict[str, list[str]]:
    """Unique indexes and unique constraints by name (reflection reports them differently per backend)."""
    inspector = sa.inspect(engine)
    found = {ix["name"]: list(ix["column_names"]) for ix in inspector.get_indexes(table) if ix.get("unique")}
    for uc in inspector.get_unique_constraints(table):
        found.setdefault(uc["name"], list(uc["column_names"]))
    return found


def snapshot_rows(engine: sa.Engine) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row (all columns) of every table, by table and primary key."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in sorted(table_names(engine)):
            quoted = conn.dialect.identifier_preparer.quote(table)
            rows = [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM {quoted}")).mappings()]
            key = "name" if rows and "name" in rows[0] else None
            result[table] = {(str(r[key]) if key else repr(sorted(r.items()))): r for r in rows}
    return result


def snapshot_schema(engine: sa.Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    schema = {}
    for table in sorted(inspector.get_table_names()):
        cols = columns(engine, table)
        schema[table] = {
            "columns": {n: (c["type_sql"], c["nullable"], default_value(c.get("default"))) for n, c in cols.items()},
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix.get("unique"))) for ix in inspector.get_indexes(table)
            ),
            "unique": sorted(((n, tuple(cols)) for n, cols in unique_index_columns(engine, table).items()), key=repr),
        }
    return schema


# --- an ERPNext-shaped database with rows ---------------------------------------------------------------

TS = datetime(2025, 3, 4, 10, 11, 12, 123456)
TS2 = datetime(2025, 6, 7, 8, 9, 10, 654321)


def erpnext_doc(name: str, **fields: Any) -> dict[str, Any]:
    """A document's standard columns as ERPNext writes them, with ``fields`` over them."""
    return {
        "name": name,
        "creation": TS,
        "modified": TS2,
        "owner": "Administrator",
        "modified_by": "sales@example.com",
        "docstatus": 0,
        "idx": 0,
        **fields,
    }


def erpnext_customer(name: str, **fields: Any) -> dict[str, Any]:
    """A whole tabCustomer row as ERPNext writes one, with ``fields`` over it."""
    base = {
        "naming_series": "CUST-.YYYY.-",
        "customer_name": name,
        "customer_type": "Company",
        "customer_group": "Commercial",
        "territory": "All Territories",
        "email_id": None,
        "mobile_no": None,
        "customer_primary_address": None,
        "primary_address": None,
        "default_commission_rate": "0",
        "is_frozen": 0,
        "disabled": 0,
        "_liked_by": None,
    }
    base.update(fields)
    return erpnext_doc(name, **base)


def seed_erpnext(engine: sa.Engine) -> None:
    """ERPNext's tables and a handful of documents, written as ERPNext writes them (no medusa_id anywhere)."""
    create_erpnext_schema(engine)
    insert(
        engine,
        "tabCountry",
        *(
            erpnext_doc(n, country_name=n, code=c, date_format=f, time_format="HH:mm:ss", time_zones=z)
            for n, c, f, z in (
                ("United Arab Emirates", "ae", "dd/mm/yyyy", "Asia/Dubai"),
                ("Oman", "om", "dd/mm/yyyy", "Asia/Muscat"),
                ("Åland Islands", "ax", "dd-mm-yyyy", "Europe/Mariehamn"),
            )
        ),
    )
    insert(
        engine,
        "tabCustomer",
        erpnext_customer(
            "Acme Trading",
            email_id="buyer@acme.example",
            mobile_no="+971 50 123 4567",
            customer_primary_address="Acme Trading-Billing",
            primary_address="1 Main Street<br>Dubai<br>United Arab Emirates",
            default_commission_rate="12.5",
            _liked_by='["Administrator"]',
        ),
        erpnext_customer(
            "شركة النور للتجارة", customer_group="Individual", customer_type="Individual", mobile_no="+968 9"
        ),
        erpnext_customer("مؤسسة الأمل", disabled=1, is_frozen=1),
        erpnext_customer("Beta & Sons", email_id="beta@example.com"),
    )
    insert(
        engine,
        "tabLead",
        *(
            erpnext_doc(
                name,
                naming_series="CRM-LEAD-.YYYY.-",
                first_name=first,
                lead_name=first,
                title=first,
                status=status,
                email_id=email,
                annual_revenue="1000.5",
                qualified_on=date(2025, 1, 2),
                no_of_employees="1-10",
                unsubscribed=unsub,
            )
            for name, first, status, email, unsub in (
                ("CRM-LEAD-2025-00001", "Ali Hassan", "Lead", "ali@example.com", 0),
                ("CRM-LEAD-2025-00002", "فاطمة", "Open", None, 1),
            )
        ),
    )
    address_fields = {
        "address_type": "Billing",
        "address_line2": None,
        "state": None,
        "pincode": None,
        "is_primary_address": 0,
        "is_shipping_address": 0,
        "disabled": 0,
        "tax_category": None,
        "is_your_company_address": 0,
    }
    insert(
        engine,
        "tabAddress",
        erpnext_doc(
            "Acme Trading-Billing",
            **{
                **address_fields,
                "address_title": "Acme Trading",
                "address_line1": "1 Main Street",
                "address_line2": "Suite " + "9" * 200,
                "city": "Dubai",
                "country": "United Arab Emirates",
                "is_primary_address": 1,
                "tax_category": "In-State",
            },
        ),
        erpnext_doc(
            "شركة النور للتجارة-Shipping",
            **{
                **address_fields,
                "address_title": "شركة النور للتجارة",
                "address_type": "Shipping",
                "address_line1": "شارع السلطان قابوس",
                "city": "مسقط",
                "country": "Oman",
                "is_shipping_address": 1,
            },
        ),
        erpnext_doc(
            "Shared Warehouse-Warehouse",
            **{
                **address_fields,
                "address_title": "Shared Warehouse",
                "address_type": "Warehouse",
                "address_line1": "Jebel Ali",
                "city": "Dubai",
                "country": "United Arab Emirates",
                "disabled": 1,
            },
        ),
    )
    links = [
        ("a1b2c3d4e5", "Acme Trading-Billing", 1, "Customer", "Acme Trading"),
        ("b2c3d4e5f6", "شركة النور للتجارة-Shipping", 1, "Customer", "شركة النور للتجارة"),
        ("c3d4e5f6a7", "Shared Warehouse-Warehouse", 1, "Customer", "Acme Trading"),
        ("d4e5f6a7b8", "Shared Warehouse-Warehouse", 2, "Customer", "Beta & Sons"),
        ("e5f6a7b8c9", "Shared Warehouse-Warehouse", 3, "Lead", "CRM-LEAD-2025-00001"),
    ]
    insert(
        engine,
        "tabDynamic Link",
        *(
            erpnext_doc(
                name,
                idx=idx,
                parent=parent,
                parenttype="Address",
                parentfield="links",
                link_doctype=doctype,
                link_name=link,
                link_title=link,
            )
            for name, parent, idx, doctype, link in links
        ),
    )
    insert(engine, "tabSeries", {"name": "CRM-LEAD-2025-", "current": 2}, {"name": "CUST-2025-", "current": 7})
