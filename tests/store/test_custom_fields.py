"""The service never writes ``tabCustom Field`` by SQL: on an ERPNext site's database the Custom Fields are
Frappe's to make (``erpnext setup`` asks for them through the REST API), and a standalone database has no such
table, nor gets one."""

from __future__ import annotations

from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from tests.erpnext_ddl import create_erpnext_schema, create_frappe_framework_tables
from tests.helpers import TestDatabases


def _fields(engine) -> list[tuple]:
    with engine.connect() as conn:
        q = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        return [tuple(row) for row in conn.exec_driver_sql(f"SELECT name, dt, fieldname FROM {q}tabCustom Field{q}")]


def test_upgrading_a_site_registers_no_custom_field(databases: TestDatabases):
    engine = make_engine(databases.new())
    try:
        create_erpnext_schema(engine)
        upgrade(engine, revision="0007")  # a deployment of today's head on the site
        create_frappe_framework_tables(engine)
        report = upgrade(engine)
        assert report.erpnext_site and report.applied == ("0008", "0009", "0010", "0011", "0012", "0013")
        assert _fields(engine) == []
        assert upgrade(engine).applied == () and _fields(engine) == []
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
