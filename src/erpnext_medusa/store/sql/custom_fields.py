"""On an ERPNext database, ``medusa_id`` registered as a Custom Field of Customer and Lead (as the replaced
app's fixtures did), so that ERPNext's desk shows the field and ERPNext's own migrations keep the column.

A Custom Field document is inserted only when none exists for that DocType and field name; an existing one is
never changed. Only the columns the site's ``tabCustom Field`` has are written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, func, inspect, select

CUSTOM_FIELD_TABLE = "tabCustom Field"
#: DocType -> the field the Medusa ID follows on the form.
_FIELDS = {"Customer": "customer_name", "Lead": "lead_name"}


def _document(doctype: str, insert_after: str, now: datetime) -> dict[str, Any]:
    return {
        "name": f"{doctype}-medusa_id",
        "creation": now,
        "modified": now,
        "modified_by": "Administrator",
        "owner": "Administrator",
        "docstatus": 0,
        "idx": 0,
        "dt": doctype,
        "label": "Medusa ID",
        "fieldname": "medusa_id",
        "insert_after": insert_after,
        "fieldtype": "Data",
        "length": 0,
        "unique": 1,
        "no_copy": 1,
        "read_only": 0,
        "reqd": 0,
        "hidden": 0,
        "in_standard_filter": 1,
        "search_index": 0,
        "is_system_generated": 0,
    }


def register_medusa_id(conn: Connection, now: datetime) -> list[str]:
    """Insert the missing Custom Field documents; the names inserted (none without ``tabCustom Field``)."""
    if not inspect(conn).has_table(CUSTOM_FIELD_TABLE):
        return []
    table = Table(CUSTOM_FIELD_TABLE, MetaData(), autoload_with=conn)
    columns = set(table.c.keys())
    inserted = []
    for doctype, after in _FIELDS.items():
        exists = conn.execute(
            select(func.count()).select_from(table).where(table.c.dt == doctype, table.c.fieldname == "medusa_id")
        ).scalar()
        if exists:
            continue
        row = {k: v for k, v in _document(doctype, after, now).items() if k in columns}
        conn.execute(table.insert().values(**row))
        inserted.append(row["name"])
    return inserted
