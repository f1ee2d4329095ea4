"""Schema migrations (issue 2, section 2) on a fresh database and on an existing ERPNext database.

Every test runs on SQLite, PostgreSQL and MariaDB (the ``databases`` fixture), each on its own throw-away
database. The "existing ERPNext" databases are built with ERPNext v15's own DDL (``tests/erpnext_ddl.py``) and
filled with plain SQL, the way ERPNext itself would have left them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.store.sql.migrate import MigrationError, pending, upgrade
from tests.erpnext_ddl import TABLES as ERPNEXT_TABLES
from tests.store.erpnext_db import (
    MARIADB,
    columns,
    default_value,
    erpnext_customer,
    execute,
    fetch,
    index_names,
    insert,
    seed_erpnext,
    snapshot_rows,
    snapshot_schema,
    table_names,
)

DOCTYPE_TABLES = ("tabCustomer", "tabLead", "tabAddress", "tabDynamic Link", "tabCountry")
VERSION_TABLE = "erpnext_medusa_alembic_version"
API_KEY_TABLE = "erpnext_medusa_api_key"
UNIQUE_INDEX = "customer_medusa_id_unique"

CHECK_COLUMNS = {
    "tabCustomer": ("is_internal_customer", "so_required", "dn_required", "is_frozen", "disabled"),
    "tabLead": ("disabled", "unsubscribed", "blog_subscriber"),
    "tabAddress": ("is_primary_address", "is_shipping_address", "disabled", "is_your_company_address"),
}


# ---------------------------------------------------------------------------------------------------------
# 1. fresh database


def test_fresh_database_gets_full_schema_and_countries(new_engine):
    engine = new_engine()
    upgrade(engine)

    tables = table_names(engine)
    for table in (*ERPNEXT_TABLES, API_KEY_TABLE, VERSION_TABLE):
        assert table in tables
    # Only ERPNext's own tables may start with "tab"; everything else of ours carries our prefix.
    assert {tb for tb in tables if tb.lower().startswith("tab")} == set(ERPNEXT_TABLES)
    assert all(tb in ERPNEXT_TABLES or tb.startswith("erpnext_medusa_") for tb in tables), tables

    dialect = engine.dialect.name
    address = columns(engine, "tabAddress")
    assert address["address_line1"]["type_sql"] == "VARCHAR(240)"
    assert address["address_line2"]["type_sql"] == "VARCHAR(240)"
    assert address["city"]["type_sql"] == "VARCHAR(140)"
    for table, checks in CHECK_COLUMNS.items():
        cols = columns(engine, table)
        for name in checks:
            col = cols[name]
            assert col["nullable"] is False, (table, name)
            assert default_value(col["default"]) == "0", (table, name, col["default"])
            if dialect in MARIADB:
                assert col["type_sql"] == "INTEGER(1)", (table, name)
            elif dialect == "postgresql":
                assert col["type_sql"] == "SMALLINT", (table, name)
    for table in DOCTYPE_TABLES:
        cols = columns(engine, table)
        for name in ("name", "creation", "modified", "modified_by", "owner", "docstatus", "idx"):
            assert name in cols, (table, name)
        assert cols["docstatus"]["nullable"] is False
        assert cols["idx"]["nullable"] is False
        assert default_value(cols["docstatus"]["default"]) == "0"
        if dialect in MARIADB:
            assert cols["modified"]["type_sql"] == "DATETIME(6)"
        elif dialect == "postgresql":
            assert cols["modified"]["type_sql"] == "TIMESTAMP(6) WITHOUT TIME ZONE"
    for table in ("tabCustomer", "tabLead"):
        medusa_id = columns(engine, table)["medusa_id"]
        assert medusa_id["nullable"] is True
        assert medusa_id["type_sql"] == "VARCHAR(140)"
    child = columns(engine, "tabDynamic Link")
    assert {"parent", "parentfield", "parenttype", "link_doctype", "link_name", "link_title"} <= set(child)
    assert UNIQUE_INDEX in index_names(engine, "tabCustomer")
    if dialect in MARIADB:
        for table in ERPNEXT_TABLES:
            raw = sa.inspect(engine).get_table_options(table)
            options = {k.split("_", 1)[1]: v for k, v in raw.items()}  # "mariadb_engine" / "mysql_engine"
            assert options.get("engine") == "InnoDB", (table, raw)
            assert options.get("collate") == "utf8mb4_unicode_ci", (table, raw)
            assert options.get("row_format") == "DYNAMIC", (table, raw)

    countries = {r["name"]: r for r in fetch(engine, 'SELECT name, country_name, code FROM "tabCountry"')}
    assert len(countries) == 250
    assert countries["United Arab Emirates"]["code"] == "ae"
    assert countries["United Arab Emirates"]["country_name"] == "United Arab Emirates"
    assert countries["Oman"]["code"] == "om"
    assert "Åland Islands" in countries
    assert countries["Åland Islands"]["code"] == "ax"
    assert all(r["country_name"] == n for n, r in countries.items())

    assert pending(engine) is False
    schema_before, rows_before = snapshot_schema(engine), snapshot_rows(engine)
    upgrade(engine)
    assert snapshot_schema(engine) == schema_before
    assert snapshot_rows(engine) == rows_before
    assert pending(engine) is False


def test_pending_is_true_before_the_first_upgrade(new_engine):
    engine = new_engine()
    assert pending(engine) is True
    upgrade(engine)
    assert pending(engine) is False


# ---------------------------------------------------------------------------------------------------------
# 2. existing ERPNext database with rows


def test_existing_erpnext_database_keeps_every_row_and_column(new_engine):
    engine = new_engine()
    seed_erpnext(engine)
    old_tables = table_names(engine)
    assert old_tables == set(ERPNEXT_TABLES)
    old_schema = snapshot_schema(engine)
    old_rows = snapshot_rows(engine)
    assert len(old_rows["tabCustomer"]) == 4 and len(old_rows["tabDynamic Link"]) == 5

    upgrade(engine)

    new_schema = snapshot_schema(engine)
    new_rows = snapshot_rows(engine)
    # Nothing dropped, renamed or retyped; old indexes still there.
    for table in old_tables:
        old_cols = old_schema[table]["columns"]
        new_cols = new_schema[table]["columns"]
        assert {n: new_cols.get(n) for n in old_cols} == old_cols, table
        assert set(old_schema[table]["indexes"]) <= set(new_schema[table]["indexes"]), table
    # Every pre-existing row is still there with the same values in every pre-existing column.
    for table in old_tables:
        old_cols = set(old_schema[table]["columns"])
        assert set(new_rows[table]) == set(old_rows[table]), table
        for key, old in old_rows[table].items():
            new = {c: v for c, v in new_rows[table][key].items() if c in old_cols}
            assert new == old, (table, key)
    # tabCountry was not empty, so it is not refilled.
    assert sorted(new_rows["tabCountry"]) == ["Oman", "United Arab Emirates", "Åland Islands"]

    # What the service adds.
    for table in ("tabCustomer", "tabLead"):
        assert "medusa_id" in new_schema[table]["columns"]
        assert all(row["medusa_id"] is None for row in new_rows[table].values())
    assert UNIQUE_INDEX in index_names(engine, "tabCustomer")
    assert {API_KEY_TABLE, VERSION_TABLE} <= table_names(engine)
    assert {tb for tb in table_names(engine) if tb.lower().startswith("tab")} == set(ERPNEXT_TABLES)
    assert pending(engine) is False

    # And the new column works with the old rows: an id can be set, and a second customer cannot take it.
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_1' WHERE name = 'Acme Trading'""")
    with pytest.raises(IntegrityError):
        execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_1' WHERE name = 'Beta & Sons'""")


# ---------------------------------------------------------------------------------------------------------
# 3. duplicate medusa_id values from the old Frappe app


def _seed_with_old_medusa_ids(engine: sa.Engine) -> None:
    seed_erpnext(engine)
    # The old Frappe app added medusa_id as a Custom Field (Data): ALTER TABLE ... ADD COLUMN.
    execute(engine, 'ALTER TABLE "tabCustomer" ADD COLUMN medusa_id varchar(140)')
    insert(
        engine,
        "tabCustomer",
        erpnext_customer("Gamma LLC"),
        erpnext_customer("Delta Stores"),
        erpnext_customer("Epsilon"),
    )
    for name, value in (
        ("Acme Trading", "cus_DUP"),
        ("شركة النور للتجارة", "cus_DUP"),
        ("Beta & Sons", "cus_OK"),
        ("مؤسسة الأمل", ""),
        ("Gamma LLC", ""),
        ("Delta Stores", None),
        ("Epsilon", None),
    ):
        execute(engine, 'UPDATE "tabCustomer" SET medusa_id = :v WHERE name = :n', {"v": value, "n": name})


def test_duplicate_medusa_ids_stop_the_upgrade_and_list_the_rows(new_engine):
    engine = new_engine()
    _seed_with_old_medusa_ids(engine)
    before = snapshot_rows(engine)["tabCustomer"]

    with pytest.raises(MigrationError) as caught:
        upgrade(engine)
    message = str(caught.value)
    assert "cus_DUP" in message
    assert "Acme Trading" in message
    assert "شركة النور للتجارة" in message
    # Ids that are not duplicated, and empty ones, are not reported.
    assert "cus_OK" not in message
    assert "Gamma LLC" not in message and "Delta Stores" not in message

    after = snapshot_rows(engine)["tabCustomer"]
    assert {k: {c: v for c, v in row.items() if c in before[k]} for k, row in after.items()} == before
    assert UNIQUE_INDEX not in index_names(engine, "tabCustomer")
    assert pending(engine) is True

    # The operator clears one of them; the upgrade now goes through.
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = NULL WHERE name = 'شركة النور للتجارة'""")
    upgrade(engine)
    assert pending(engine) is False
    assert UNIQUE_INDEX in index_names(engine, "tabCustomer")
    ids = {r["name"]: r["medusa_id"] for r in fetch(engine, 'SELECT name, medusa_id FROM "tabCustomer"')}
    assert ids["Acme Trading"] == "cus_DUP" and ids["Beta & Sons"] == "cus_OK"
    assert ids["مؤسسة الأمل"] == "" and ids["Delta Stores"] is None

    # The database itself refuses a second customer with an existing non-empty id ...
    for taken in ("cus_DUP", "cus_OK"):
        with pytest.raises(IntegrityError):
            execute(engine, """UPDATE "tabCustomer" SET medusa_id = :v WHERE name = 'Gamma LLC'""", {"v": taken})
    with pytest.raises(IntegrityError):
        insert(engine, "tabCustomer", erpnext_customer("Zeta", medusa_id="cus_OK"))
    # ... but accepts any number of empty strings and NULLs.
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = '' WHERE name IN ('Epsilon', 'شركة النور للتجارة')""")
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = NULL WHERE name = 'Gamma LLC'""")
    insert(engine, "tabCustomer", erpnext_customer("Eta", medusa_id=""), erpnext_customer("Theta", medusa_id=""))
    insert(engine, "tabCustomer", erpnext_customer("Iota", medusa_id=None), erpnext_customer("Kappa", medusa_id=None))
    rows = fetch(engine, 'SELECT medusa_id FROM "tabCustomer"')
    assert sum(1 for r in rows if r["medusa_id"] == "") == 5
    assert sum(1 for r in rows if r["medusa_id"] is None) == 4


def test_unique_medusa_id_on_a_fresh_database(new_engine):
    engine = new_engine()
    upgrade(engine)
    insert(engine, "tabCustomer", erpnext_customer("A", medusa_id="cus_1"), erpnext_customer("B", medusa_id="cus_2"))
    with pytest.raises(IntegrityError):
        execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_1' WHERE name = 'B'""")
    insert(engine, "tabCustomer", *(erpnext_customer(f"E{i}", medusa_id="") for i in range(3)))
    insert(engine, "tabCustomer", *(erpnext_customer(f"N{i}", medusa_id=None) for i in range(3)))
    assert len(fetch(engine, 'SELECT name FROM "tabCustomer"')) == 8


# ---------------------------------------------------------------------------------------------------------
# 4. an interrupted upgrade can be re-run


def test_interrupted_upgrade_can_be_run_again(new_engine):
    engine = new_engine()
    upgrade(engine)
    complete = snapshot_schema(engine)
    insert(
        engine,
        "tabCustomer",
        erpnext_customer("Acme Trading", medusa_id="cus_1"),
        erpnext_customer("Beta", medusa_id=""),
    )

    # Leave the database as a run that stopped half-way would (MariaDB commits each DDL statement by itself):
    # the tables and columns exist, but the unique index, the lead index, our API key table and the version
    # row do not.
    dialect = engine.dialect.name
    lead_medusa_indexes = {
        ix["name"] for ix in sa.inspect(engine).get_indexes("tabLead") if "medusa_id" in ix["column_names"]
    }
    assert lead_medusa_indexes
    with engine.begin() as conn:
        for table, ix in (("tabCustomer", UNIQUE_INDEX), *(("tabLead", n) for n in lead_medusa_indexes)):
            if dialect in MARIADB:
                conn.exec_driver_sql(f"DROP INDEX `{ix}` ON `{table}`")
            else:
                conn.exec_driver_sql(f'DROP INDEX "{ix}"')
        conn.exec_driver_sql(f"DROP TABLE {conn.dialect.identifier_preparer.quote(API_KEY_TABLE)}")
        conn.exec_driver_sql(f"DELETE FROM {VERSION_TABLE}")
    assert UNIQUE_INDEX not in index_names(engine, "tabCustomer")
    assert API_KEY_TABLE not in table_names(engine)
    assert pending(engine) is True

    upgrade(engine)

    assert pending(engine) is False
    assert snapshot_schema(engine) == complete
    assert {r["name"]: r["medusa_id"] for r in fetch(engine, 'SELECT name, medusa_id FROM "tabCustomer"')} == {
        "Acme Trading": "cus_1",
        "Beta": "",
    }
    assert len(fetch(engine, 'SELECT name FROM "tabCountry"')) == 250
    with pytest.raises(IntegrityError):
        execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_1' WHERE name = 'Beta'""")


def test_ids_that_differ_only_in_case_or_accents_are_not_duplicates(new_engine):
    # The unique rule compares ids exactly on every backend (binary collation on MariaDB), so the check
    # before it must too: these three ids are distinct.
    engine = new_engine()
    seed_erpnext(engine)
    execute(engine, 'ALTER TABLE "tabCustomer" ADD COLUMN medusa_id varchar(140)')
    insert(engine, "tabCustomer", erpnext_customer("Gamma LLC"))
    for name, value in (("Acme Trading", "cus_abc"), ("Beta & Sons", "CUS_ABC"), ("Gamma LLC", "cus_ábc")):
        execute(engine, 'UPDATE "tabCustomer" SET medusa_id = :v WHERE name = :n', {"v": value, "n": name})
    upgrade(engine)
    assert UNIQUE_INDEX in index_names(engine, "tabCustomer")


def test_processes_starting_together_upgrade_once_without_errors(new_engine, databases):
    url = databases.new()
    engines = [new_engine(url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))

    def run(engine: sa.Engine) -> None:
        barrier.wait(timeout=30)
        upgrade(engine)

    with ThreadPoolExecutor(len(engines)) as pool:
        for future in [pool.submit(run, e) for e in engines]:
            future.result(timeout=300)  # re-raises any failure
    assert pending(engines[0]) is False
    assert fetch(engines[0], 'SELECT COUNT(*) AS n FROM "tabCountry"') == [{"n": 250}]
