"""``db upgrade`` on an ERPNext database registers ``medusa_id`` as Custom Field documents of Customer and
Lead, once, and never changes a Custom Field row that is already there."""

from __future__ import annotations

from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from tests.erpnext_ddl import create_custom_field_table, create_erpnext_schema
from tests.helpers import TestDatabases


def _fields(engine) -> list[tuple]:
    with engine.connect() as conn:
        q = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        return [
            tuple(row)
            for row in conn.exec_driver_sql(
                f"SELECT name, dt, fieldname, label, fieldtype, {q}unique{q}, insert_after "
                f"FROM {q}tabCustom Field{q} ORDER BY name"
            )
        ]


def test_medusa_id_registered_once_and_existing_rows_kept(databases: TestDatabases):
    engine = make_engine(databases.new())
    try:
        create_erpnext_schema(engine)
        create_custom_field_table(engine)
        q = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO {q}tabCustom Field{q} (name, dt, fieldname, label, fieldtype) "
                "VALUES ('Lead-medusa_id', 'Lead', 'medusa_id', 'Shop ID', 'Data')"
            )
        upgrade(engine)
        expected = [
            ("Customer-medusa_id", "Customer", "medusa_id", "Medusa ID", "Data", 1, "customer_name"),
            ("Lead-medusa_id", "Lead", "medusa_id", "Shop ID", "Data", 0, None),  # as it was
        ]
        assert _fields(engine) == expected
        upgrade(engine)
        assert _fields(engine) == expected
    finally:
        engine.dispose()


def test_no_custom_field_table_no_rows(databases: TestDatabases):
    engine = make_engine(databases.new())
    try:
        upgrade(engine)  # a plain database: nothing to register, nothing created
        with engine.connect() as conn:
            assert not engine.dialect.has_table(conn, "tabCustom Field")
    finally:
        engine.dispose()
