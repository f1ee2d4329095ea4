"""Schema migrations (issue 2, section 2) on a fresh database and on an existing ERPNext database.

Every test runs on SQLite, PostgreSQL and MariaDB (the ``databases`` fixture), each on its own throw-away
database. The "existing ERPNext" databases are built with ERPNext v15's own DDL (``tests/erpnext_ddl.py``) and
filled with plain SQL, the way ERPNext itself would have left them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import MigrationError, pending, upgrade
from tests.erpnext_ddl import TABLES as ERPNEXT_TABLES
from tests.erpnext_ddl import create_erpnext_schema

DOCTYPE_TABLES = ("tabCustomer", "tabLead", "tabAddress", "tabDynamic Link", "tabCountry")
VERSION_TABLE = "erpnext_medusa_alembic_version"
API_KEY_TABLE = "erpnext_medusa_api_key"
UNIQUE_INDEX = "customer_medusa_id_unique"
MARIADB = ("mysql", "mariadb")

CHECK_COLUMNS = {
    "tabCustomer": ("is_internal_customer", "so_required", "dn_required", "is_frozen", "disabled"),
    "tabLead": ("disabled", "unsubscribed", "blog_subscriber"),
    "tabAddress": ("is_primary_address", "is_shipping_address", "disabled", "is_your_company_address"),
}


# ---------------------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def engine_for(databases) -> Iterator[Any]:
    """Engines on fresh databases of the current backend; disposed after the test."""
    engines: list[sa.Engine] = []

    def make(url: URL | None = None) -> sa.Engine:
        engine = make_engine(url or databases.new())
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


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


# ---------------------------------------------------------------------------------------------------------
# an ERPNext-shaped database with rows

TS = datetime(2025, 3, 4, 10, 11, 12, 123456)
TS2 = datetime(2025, 6, 7, 8, 9, 10, 654321)


def _doc(name: str, **fields: Any) -> dict[str, Any]:
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


def _customer(name: str, **fields: Any) -> dict[str, Any]:
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
    return _doc(name, **base)


def seed_erpnext(engine: sa.Engine) -> None:
    """ERPNext's tables and a handful of documents, written as ERPNext writes them (no medusa_id anywhere)."""
    create_erpnext_schema(engine)
    insert(
        engine,
        "tabCountry",
        *(
            _doc(n, country_name=n, code=c, date_format=f, time_format="HH:mm:ss", time_zones=z)
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
        _customer(
            "Acme Trading",
            email_id="buyer@acme.example",
            mobile_no="+971 50 123 4567",
            customer_primary_address="Acme Trading-Billing",
            primary_address="1 Main Street<br>Dubai<br>United Arab Emirates",
            default_commission_rate="12.5",
            _liked_by='["Administrator"]',
        ),
        _customer("شركة النور للتجارة", customer_group="Individual", customer_type="Individual", mobile_no="+968 9"),
        _customer("مؤسسة الأمل", disabled=1, is_frozen=1),
        _customer("Beta & Sons", email_id="beta@example.com"),
    )
    insert(
        engine,
        "tabLead",
        *(
            _doc(
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
        _doc(
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
        _doc(
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
        _doc(
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
            _doc(
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


# ---------------------------------------------------------------------------------------------------------
# 1. fresh database


def test_fresh_database_gets_full_schema_and_countries(engine_for):
    engine = engine_for()
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


def test_pending_is_true_before_the_first_upgrade(engine_for):
    engine = engine_for()
    assert pending(engine) is True
    upgrade(engine)
    assert pending(engine) is False


# ---------------------------------------------------------------------------------------------------------
# 2. existing ERPNext database with rows


def test_existing_erpnext_database_keeps_every_row_and_column(engine_for):
    engine = engine_for()
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
        _customer("Gamma LLC"),
        _customer("Delta Stores"),
        _customer("Epsilon"),
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


def test_duplicate_medusa_ids_stop_the_upgrade_and_list_the_rows(engine_for):
    engine = engine_for()
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
        insert(engine, "tabCustomer", _customer("Zeta", medusa_id="cus_OK"))
    # ... but accepts any number of empty strings and NULLs.
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = '' WHERE name IN ('Epsilon', 'شركة النور للتجارة')""")
    execute(engine, """UPDATE "tabCustomer" SET medusa_id = NULL WHERE name = 'Gamma LLC'""")
    insert(engine, "tabCustomer", _customer("Eta", medusa_id=""), _customer("Theta", medusa_id=""))
    insert(engine, "tabCustomer", _customer("Iota", medusa_id=None), _customer("Kappa", medusa_id=None))
    rows = fetch(engine, 'SELECT medusa_id FROM "tabCustomer"')
    assert sum(1 for r in rows if r["medusa_id"] == "") == 5
    assert sum(1 for r in rows if r["medusa_id"] is None) == 4


def test_unique_medusa_id_on_a_fresh_database(engine_for):
    engine = engine_for()
    upgrade(engine)
    insert(engine, "tabCustomer", _customer("A", medusa_id="cus_1"), _customer("B", medusa_id="cus_2"))
    with pytest.raises(IntegrityError):
        execute(engine, """UPDATE "tabCustomer" SET medusa_id = 'cus_1' WHERE name = 'B'""")
    insert(engine, "tabCustomer", *(_customer(f"E{i}", medusa_id="") for i in range(3)))
    insert(engine, "tabCustomer", *(_customer(f"N{i}", medusa_id=None) for i in range(3)))
    assert len(fetch(engine, 'SELECT name FROM "tabCustomer"')) == 8


# ---------------------------------------------------------------------------------------------------------
# 4. an interrupted upgrade can be re-run


def test_interrupted_upgrade_can_be_run_again(engine_for):
    engine = engine_for()
    upgrade(engine)
    complete = snapshot_schema(engine)
    insert(engine, "tabCustomer", _customer("Acme Trading", medusa_id="cus_1"), _customer("Beta", medusa_id=""))

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


def test_ids_that_differ_only_in_case_or_accents_are_not_duplicates(engine_for):
    # The unique rule compares ids exactly on every backend (binary collation on MariaDB), so the check
    # before it must too: these three ids are distinct.
    engine = engine_for()
    seed_erpnext(engine)
    execute(engine, 'ALTER TABLE "tabCustomer" ADD COLUMN medusa_id varchar(140)')
    insert(engine, "tabCustomer", _customer("Gamma LLC"))
    for name, value in (("Acme Trading", "cus_abc"), ("Beta & Sons", "CUS_ABC"), ("Gamma LLC", "cus_ábc")):
        execute(engine, 'UPDATE "tabCustomer" SET medusa_id = :v WHERE name = :n', {"v": value, "n": name})
    upgrade(engine)
    assert UNIQUE_INDEX in index_names(engine, "tabCustomer")


def test_processes_starting_together_upgrade_once_without_errors(engine_for, databases):
    url = databases.new()
    engines = [engine_for(url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))

    def run(engine: sa.Engine) -> None:
        barrier.wait(timeout=30)
        upgrade(engine)

    with ThreadPoolExecutor(len(engines)) as pool:
        for future in [pool.submit(run, e) for e in engines]:
            future.result(timeout=300)  # re-raises any failure
    assert pending(engines[0]) is False
    assert fetch(engines[0], 'SELECT COUNT(*) AS n FROM "tabCountry"') == [{"n": 250}]
