"""Moving off an ERPNext site's own database: ``db upgrade`` (revision 0009) takes off the site's tables
everything the earlier revisions added there, keeps the ``medusa_id`` columns, and changes nothing on a
standalone database; the standalone shape then refuses to serve the site's database.

A site is built as today's deployments left it: ERPNext v15's own DDL (tests/erpnext_ddl.py) with rows, the
revisions up to today's head (0007) applied by the real migrations, then Frappe's framework tables and the
Custom Field rows the old service registered after each upgrade. (Its revisions never read those tables, so the
order changes nothing they did; the service now refuses to start its schema on a site that never had it.) The
tables are then compared with a database built from the fixture's own DDL plus the declared ``medusa_id``
columns, added as Frappe adds a Custom Field of type Data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.errors import ServiceUnavailableError
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import MigrationError, UpgradeReport, upgrade
from erpnext_medusa.store.sql.site import ERPNEXT_SITE_REFUSAL, LEAVE_REVISION, is_erpnext_site
from erpnext_medusa.web.app import create_app
from tests.erpnext_ddl import create_erpnext_schema, create_frappe_framework_tables
from tests.helpers import BACKENDS, TEST_HOST, TestDatabases
from tests.store.erpnext_db import execute, fetch, insert, seed_erpnext, snapshot_rows

TODAY_HEAD = "0007"  # the head before the service left the site's tables
BEFORE_LEAVING = "0008"  # the revision just before the one that leaves them
SITE_BACKENDS = [b for b in ("postgresql", "mariadb") if b in BACKENDS]  # Frappe v15 has no SQLite sites
MARIADB = ("mysql", "mariadb")
GENERATED = ("medusa_id_key", "medusa_search_grams")
OWN_RECORDS = {
    "erpnext_medusa_alembic_version",
    "erpnext_medusa_api_key",
    "erpnext_medusa_audit",
    "erpnext_medusa_intake_event",
    "erpnext_medusa_login_failure",
    "erpnext_medusa_outbound",
    "erpnext_medusa_outbox",
    "erpnext_medusa_session",
    "erpnext_medusa_user",
}
TS = datetime(2025, 8, 9, 10, 11, 12)


@pytest.fixture(params=SITE_BACKENDS)
def new_site_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], sa.Engine]]:
    """Engines on fresh databases of one site backend; disposed and dropped after the test."""
    dbs = TestDatabases(request.param, tmp_path)
    engines: list[sa.Engine] = []

    def make() -> sa.Engine:
        engines.append(make_engine(dbs.new()))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()
    dbs.drop_all()


def _doc(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "creation": TS, "modified": TS, "owner": "Administrator", "modified_by": "Administrator",
            "docstatus": 0, "idx": 0, **fields}  # fmt: skip


def old_deployment(engine: sa.Engine, declared: tuple[str, ...] = ("Customer", "Lead")) -> None:
    """A site as today's head left it, with the Custom Field rows the old service wrote for ``declared``."""
    seed_erpnext(engine)
    upgrade(engine, revision=TODAY_HEAD)
    create_frappe_framework_tables(engine)
    insert(engine, "tabDocType", _doc("Customer", module="Selling"), _doc("Lead", module="CRM"))
    fields = {"Customer": "customer_name", "Lead": "lead_name"}
    field = {"fieldname": "medusa_id", "label": "Medusa ID", "fieldtype": "Data", "unique": 1, "no_copy": 1}
    rows = [_doc(f"{dt}-medusa_id", dt=dt, insert_after=fields[dt], **field) for dt in declared]
    if rows:
        insert(engine, "tabCustom Field", *rows)
    # Links the service made, and documents written since (the triggers of 0007 see these).
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_01' WHERE name = 'Acme Trading'""")
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = '' WHERE name = 'Beta & Sons'""")
    added = (("Zed Shop", "cus_02"), ("Yara Ltd", ""), ("Xu Partners", None))
    insert(engine, "tabCustomer", *(_doc(n, customer_name=n, medusa_id=m) for n, m in added))
    insert(engine, "tabLead", _doc("CRM-LEAD-2025-00003", first_name="Omar", lead_name="Omar", medusa_id="cus_03"))


def reference(engine: sa.Engine) -> None:
    """The fixture's own DDL plus the declared medusa_id columns (Frappe: Data -> varchar(140))."""
    create_erpnext_schema(engine)
    create_frappe_framework_tables(engine)
    for table in ("tabCustomer", "tabLead"):
        execute(engine, f'ALTER TABLE "{table}" ADD COLUMN medusa_id varchar(140)')


def erpnext_tables(engine: sa.Engine) -> list[str]:
    return sorted(t for t in sa.inspect(engine).get_table_names() if t.startswith(("tab", "__")))


def definitions(engine: sa.Engine) -> dict[str, Any]:
    """Every ERPNext table's definition as the server reports it (MariaDB: SHOW CREATE TABLE, which lists the
    columns with their types, generation and keys; PostgreSQL: pg_catalog's columns, indexes, constraints and
    triggers), and every trigger of the database."""
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        if engine.dialect.name in MARIADB:
            for table in erpnext_tables(engine):
                result[table] = conn.execute(sa.text(f"SHOW CREATE TABLE `{table}`")).one()[1]
            result["triggers"] = conn.execute(
                sa.text("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()")
            ).all()
            return result
        for table in erpnext_tables(engine):
            oid = {"t": f'"{table}"'}
            result[table] = {
                "columns": conn.execute(
                    sa.text(
                        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated, "
                        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
                        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = CAST(:t AS regclass) "
                        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
                    ),
                    oid,
                ).all(),
                "indexes": conn.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = :t ORDER BY indexdef"), {"t": table}
                ).all(),
                "constraints": conn.execute(
                    sa.text(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = CAST(:t AS regclass) ORDER BY conname"
                    ),
                    oid,
                ).all(),
            }
        result["triggers"] = conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).all()
        result["functions"] = conn.execute(
            sa.text("SELECT proname FROM pg_proc WHERE proname LIKE 'erpnext_medusa%' ORDER BY proname")
        ).all()
    return result


def document_rows(engine: sa.Engine) -> dict[str, Any]:
    """The rows of the ERPNext tables, without the generated columns the service added."""
    return {
        table: {key: {c: v for c, v in row.items() if c not in GENERATED} for key, row in rows.items()}
        for table, rows in snapshot_rows(engine).items()
        if table.startswith(("tab", "__"))
    }


def expected_removed(engine: sa.Engine) -> set[str]:
    triggers = {f"trigger erpnext_medusa_gram_ranges_{e} on tabCustomer" for e in ("insert", "update")}
    indexes = {
        f"index {i} on {t}"
        for t, i in (
            ("tabCustomer", "customer_medusa_unlinked_order"),
            ("tabCustomer", "customer_medusa_search_grams"),
            ("tabCustomer", "customer_medusa_id_unique"),
            ("tabLead", "lead_medusa_id_unique"),
            ("tabLead", "lead_medusa_id_index"),
        )
    }
    if engine.dialect.name in MARIADB:  # Frappe's own index on parent was there, so 0001 added none
        generated = {"generated column tabCustomer.medusa_search_grams", "generated column tabCustomer.medusa_id_key",
                     "generated column tabLead.medusa_id_key"}  # fmt: skip
        return triggers | indexes | generated | {"table erpnext_medusa_gram_range", "table erpnext_medusa_numbers"}
    functions = {f"function erpnext_medusa_gram_ranges_{f}()" for f in ("inserted", "renamed")}
    return (
        triggers
        | indexes
        | functions
        | {"index erpnext_medusa_dynamic_link_parent on tabDynamic Link", "function erpnext_medusa_grams(text)"}
        | {"table erpnext_medusa_gram_range"}
    )


def test_upgrade_leaves_the_site_tables_as_erpnext_made_them(new_site_engine):
    engine, ref = new_site_engine(), new_site_engine()
    old_deployment(engine)
    reference(ref)
    want = definitions(ref)
    before = definitions(engine)
    # Today's head did add to the site's tables, so the comparison below can fail.
    assert before != want
    assert len(before["triggers"]) == 2
    assert {"customer_medusa_id_unique", "customer_medusa_search_grams"} <= {
        ix["name"] for ix in sa.inspect(engine).get_indexes("tabCustomer")
    }
    rows = document_rows(engine)
    assert len(rows["tabCustomer"]) == 7 and len(rows["tabCustom Field"]) == 2

    report = upgrade(engine)

    assert report.erpnext_site and report.applied == ("0008", "0009", "0010", "0011", "0012", "0013")
    assert len(report.removed) == len(set(report.removed)) and set(report.removed) == expected_removed(engine)
    assert [k.split(",")[0] for k in report.kept] == ["column tabCustomer.medusa_id", "column tabLead.medusa_id"]
    assert all("declared by the Custom Field" in k and "unique" in k for k in report.kept)
    assert "2 rows hold an empty medusa_id" in report.kept[0] and "empty" not in report.kept[1]
    assert definitions(engine) == want
    assert definitions(engine)["triggers"] == []
    assert document_rows(engine) == rows  # every row, the links and the Custom Field rows included
    own = {t for t in sa.inspect(engine).get_table_names() if t.startswith("erpnext_medusa_")}
    assert own == OWN_RECORDS

    again = upgrade(engine)  # nothing left to do
    assert (again.applied, again.removed, again.kept) == ((), (), ())
    assert definitions(engine) == want and document_rows(engine) == rows


def test_an_undeclared_medusa_id_column_is_kept_with_its_links_and_reported(new_site_engine):
    engine = new_site_engine()
    old_deployment(engine, declared=("Customer",))
    report = upgrade(engine)
    lead = [k for k in report.kept if k.startswith("column tabLead.medusa_id")]
    assert len(lead) == 1 and "no Custom Field declares it" in lead[0]
    assert fetch(engine, """SELECT medusa_id FROM "tabLead" WHERE name = 'CRM-LEAD-2025-00003'""") == [
        {"medusa_id": "cus_03"}
    ]


def _lengthen_customer_name(engine: sa.Engine) -> None:
    """What Customize Form does when a field's length is raised to 400."""
    if engine.dialect.name in MARIADB:
        execute(engine, "ALTER TABLE `tabCustomer` MODIFY `customer_name` varchar(400)")
    else:
        execute(engine, 'ALTER TABLE "tabCustomer" ALTER COLUMN customer_name TYPE varchar(400)')


def test_a_long_customer_name_after_customize_form_is_accepted_once_left(new_site_engine):
    engine = new_site_engine()
    old_deployment(engine)
    long_name = "Ä" + "b" * 399
    if engine.dialect.name in MARIADB:  # what broke ERPNext's own inserts under today's head
        _lengthen_customer_name(engine)
        with pytest.raises(sa.exc.DBAPIError, match="1406"):
            insert(engine, "tabCustomer", _doc("Long", customer_name=long_name))
    upgrade(engine)
    _lengthen_customer_name(engine)
    insert(engine, "tabCustomer", _doc("Long", customer_name=long_name))
    assert fetch(engine, """SELECT customer_name FROM "tabCustomer" WHERE name = 'Long'""") == [
        {"customer_name": long_name}
    ]


def test_a_site_that_never_had_the_service_is_refused_and_left_as_it_was(new_site_engine):
    engine = new_site_engine()
    create_erpnext_schema(engine)
    create_frappe_framework_tables(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert is_erpnext_site(engine)
    with pytest.raises(MigrationError) as refused:
        upgrade(engine)
    assert str(refused.value) == f"{ERPNEXT_SITE_REFUSAL} Nothing was changed."
    assert set(sa.inspect(engine).get_table_names()) == tables
    assert "medusa_id" not in {c["name"] for c in sa.inspect(engine).get_columns("tabCustomer")}


def _standalone_objects(engine: sa.Engine) -> list[Any]:
    """Everything a standalone database's schema is made of, as the server lists it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(sa.text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")).all()
    return sorted(definitions(engine).items())


def test_a_standalone_database_keeps_its_search_index(databases: TestDatabases):
    engine = make_engine(databases.new())
    try:
        create_erpnext_schema(engine)  # ERPNext's layout, but the service's own database: no framework tables
        upgrade(engine, revision=BEFORE_LEAVING)
        before = _standalone_objects(engine)
        assert any("erpnext_medusa" in repr(row) for row in before)  # there is a search index to keep
        report: UpgradeReport = upgrade(engine, revision=LEAVE_REVISION)
        assert not report.erpnext_site and report.removed == () and report.kept == ()
        assert not is_erpnext_site(engine)
        assert _standalone_objects(engine) == before
    finally:
        engine.dispose()


def test_the_standalone_store_refuses_a_site(new_site_engine):
    engine = new_site_engine()
    old_deployment(engine)
    upgrade(engine)
    url = engine.url.render_as_string(hide_password=False)
    services = Services.from_settings(Settings(database_url=url, allowed_hosts=TEST_HOST))
    try:
        assert services.readiness() == ERPNEXT_SITE_REFUSAL
        with pytest.raises(ServiceUnavailableError) as refused:
            services.store.write(lambda tx: None)
        assert refused.value.message == ERPNEXT_SITE_REFUSAL
        with TestClient(create_app(services=services)) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reason": ERPNEXT_SITE_REFUSAL}
    finally:
        services.close()


def test_a_run_that_stopped_half_way_runs_again(new_site_engine):
    """MariaDB commits each DDL statement on its own: a run may stop with the triggers and tabCustomer's additions
    gone but not tabLead's, and the revision not yet recorded."""
    engine, ref = new_site_engine(), new_site_engine()
    old_deployment(engine)
    reference(ref)
    q = "`" if engine.dialect.name in MARIADB else '"'
    on = "" if engine.dialect.name in MARIADB else ' ON "tabCustomer"'
    for event in ("insert", "update"):
        execute(engine, f"DROP TRIGGER erpnext_medusa_gram_ranges_{event}{on}")
    execute(engine, f"DROP INDEX {q}customer_medusa_id_unique{q}" + (" ON `tabCustomer`" if not on else ""))
    report = upgrade(engine)
    assert report.applied == ("0008", "0009", "0010", "0011", "0012", "0013")  # 0008 leaves a site's tables alone
    assert not [r for r in report.removed if r.startswith("trigger") or "customer_medusa_id_unique" in r]
    assert definitions(engine) == definitions(ref)
