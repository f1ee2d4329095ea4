"""The migrations' history is real: a database built at any past revision and then upgraded ends up with exactly
the schema of a database built straight to head, and the live table definitions agree with that schema.

Runs on SQLite, PostgreSQL and MariaDB (the ``databases`` fixture), each database a throw-away one. Schemas are
compared twice over: through SQLAlchemy's reflection (tables, columns, indexes, keys, constraints), and through
each backend's own catalog, which shows what reflection does not (SQLite's stored DDL and triggers; PostgreSQL's
index and trigger definitions, partial predicates, functions and sequences; MariaDB's generated columns, index
types, triggers and ``SHOW CREATE TABLE``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.store.sql import tables as live
from erpnext_medusa.store.sql.migrate import VERSION_TABLE, pending, upgrade
from erpnext_medusa.store.sql.store import SqlStore

MARIADB = ("mysql", "mariadb")
PAST_REVISIONS = ("0001", "0002", "0004", "0005")
VERSIONS = Path(live.__file__).with_name("migrations") / "versions"

# ---------------------------------------------------------------------------------------------------------
# schema snapshots


def _plain(value: Any) -> Any:
    """A reflected value as plain, comparable data (SQL expressions and types as their text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _type_sql(type_: Any, dialect: sa.Dialect) -> str:
    # Untyped columns (SQLite's FTS5 shadow tables) have no DDL of their own.
    return "" if isinstance(type_, sa.types.NullType) else str(type_.compile(dialect=dialect))


def reflected(engine: sa.Engine) -> dict[str, Any]:
    """Every table as SQLAlchemy reflects it."""
    inspector = sa.inspect(engine)
    dialect = engine.dialect
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = {}
        for col in inspector.get_columns(table):
            info = {k: v for k, v in col.items() if k not in ("name", "type")}
            columns[col["name"]] = {"type": _type_sql(col["type"], dialect), **_plain(info)}
        schema[table] = {
            "columns": columns,
            "primary_key": _plain(inspector.get_pk_constraint(table)),
            "indexes": sorted(
                (_plain(ix) for ix in inspector.get_indexes(table)), key=lambda ix: (str(ix.get("name")), repr(ix))
            ),
            "unique": sorted((_plain(uc) for uc in inspector.get_unique_constraints(table)), key=repr),
            "checks": sorted((_plain(ck) for ck in inspector.get_check_constraints(table)), key=repr),
            "foreign_keys": sorted((_plain(fk) for fk in inspector.get_foreign_keys(table)), key=repr),
            "options": _plain(inspector.get_table_options(table)),
        }
    return schema


def _rows(conn: sa.Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(_plain(list(row))) for row in conn.execute(sa.text(sql), params)]


def _sqlite_catalog(conn: sa.Connection) -> dict[str, Any]:
    # Tables (with their stored CREATE statements), indexes (with partial predicates), FTS5 tables, triggers.
    return {
        "sqlite_master": _rows(
            conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name, tbl_name"
        ),
    }


def _postgresql_catalog(conn: sa.Connection) -> dict[str, Any]:
    return {
        "columns": _rows(
            conn,
            "SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length, "
            "numeric_precision, numeric_scale, datetime_precision, is_nullable, column_default, is_identity, "
            "is_generated, generation_expression, collation_name "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position",
        ),
        # Index definitions in full: the GIN expression index and the partial indexes' predicates included.
        "indexes": _rows(
            conn,
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY tablename, indexname",
        ),
        "constraints": _rows(
            conn,
            "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = current_schema() "
            "ORDER BY rel.relname, con.conname",
        ),
        "triggers": _rows(
            conn,
            "SELECT rel.relname, tg.tgname, pg_get_triggerdef(tg.oid) "
            "FROM pg_trigger tg JOIN pg_class rel ON rel.oid = tg.tgrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = current_schema() AND NOT tg.tgisinternal ORDER BY rel.relname, tg.tgname",
        ),
        "functions": _rows(
            conn,
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
            "FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace "
            "WHERE ns.nspname = current_schema() AND p.prokind = 'f' ORDER BY 1, 2",
        ),
        "sequences": _rows(
            conn,
            "SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option "
            "FROM information_schema.sequences WHERE sequence_schema = current_schema() ORDER BY sequence_name",
        ),
    }


def _mariadb_catalog(conn: sa.Connection) -> dict[str, Any]:
    where = "WHERE TABLE_SCHEMA = DATABASE()"
    tables = [r[0] for r in _rows(conn, f"SELECT TABLE_NAME FROM information_schema.TABLES {where} ORDER BY 1")]
    create = {}
    for table in tables:
        statement = conn.execute(sa.text(f"SHOW CREATE TABLE `{table}`")).one()[1]
        create[table] = re.sub(r" AUTO_INCREMENT=\d+", "", statement)  # the next id, not the schema
    return {
        "tables": _rows(
            conn,
            "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS "
            f"FROM information_schema.TABLES {where} ORDER BY TABLE_NAME",
        ),
        # Generated columns included (GENERATION_EXPRESSION, IS_GENERATED, EXTRA).
        "columns": _rows(
            conn,
            "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, "
            "CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA, IS_GENERATED, GENERATION_EXPRESSION "
            f"FROM information_schema.COLUMNS {where} ORDER BY TABLE_NAME, ORDINAL_POSITION",
        ),
        "statistics": _rows(
            conn,
            "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, SUB_PART, "
            f"COLLATION, NULLABLE FROM information_schema.STATISTICS {where} "
            "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        ),
        "constraints": _rows(
            conn,
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE",
        ),
        "triggers": _rows(
            conn,
            "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_STATEMENT, "
            "ACTION_ORIENTATION, ACTION_TIMING FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
        ),
        "routines": _rows(
            conn,
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
        ),
        "show_create_table": create,
    }


def catalog(engine: sa.Engine) -> dict[str, Any]:
    """Every schema object as the backend's own catalog describes it."""
    read = {"sqlite": _sqlite_catalog, "postgresql": _postgresql_catalog}.get(engine.dialect.name, _mariadb_catalog)
    with engine.connect() as conn:
        return read(conn)


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    return {"reflected": reflected(engine), "catalog": catalog(engine)}


def assert_same_schema(actual: dict[str, Any], expected: dict[str, Any], label: str) -> None:
    """Equal snapshots, compared part by part so that a failure names the table or catalog entry."""
    for part in ("reflected", "catalog"):
        assert sorted(actual[part]) == sorted(expected[part]), (label, part)
        for key in expected[part]:
            assert actual[part][key] == expected[part][key], (label, part, key)


# ---------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def head(new_engine) -> sa.Engine:
    """A database built straight to head."""
    engine = new_engine()
    upgrade(engine)
    return engine


def _version(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one_or_none()


# ---------------------------------------------------------------------------------------------------------
# the history


@pytest.mark.parametrize("revision", PAST_REVISIONS)
def test_a_database_built_at_a_past_revision_upgrades_to_the_same_schema_as_head(new_engine, head, revision):
    engine = new_engine()
    upgrade(engine, revision=revision)
    assert _version(engine) == revision
    assert pending(engine) is True

    upgrade(engine)

    assert pending(engine) is False
    assert _version(engine) == _version(head)
    assert_same_schema(snapshot(engine), snapshot(head), f"{revision} -> head")


def test_the_past_revisions_hold_the_schema_of_their_day(new_engine, head):
    at_0001 = new_engine()
    upgrade(at_0001, revision="0001")
    inspector = sa.inspect(at_0001)
    tables = set(inspector.get_table_names())
    assert {"tabCustomer", "tabLead", "tabAddress", "tabDynamic Link", "tabCountry", "tabSeries"} <= tables
    assert "erpnext_medusa_api_key" in tables
    assert "expires_at" not in {c["name"] for c in inspector.get_columns("erpnext_medusa_api_key")}
    assert "erpnext_medusa_audit" not in tables
    customer_indexes = {ix["name"] for ix in inspector.get_indexes("tabCustomer")}
    assert "customer_medusa_id_unique" in customer_indexes
    assert not {"customer_medusa_search_grams", "customer_medusa_unlinked_order"} & customer_indexes

    at_0002 = new_engine()
    upgrade(at_0002, revision="0002")
    inspector = sa.inspect(at_0002)
    assert "customer_medusa_unlinked_order" in {ix["name"] for ix in inspector.get_indexes("tabCustomer")}
    assert "expires_at" not in {c["name"] for c in inspector.get_columns("erpnext_medusa_api_key")}
    assert "erpnext_medusa_audit" not in inspector.get_table_names()

    inspector = sa.inspect(head)
    assert "expires_at" in {c["name"] for c in inspector.get_columns("erpnext_medusa_api_key")}
    assert "erpnext_medusa_audit" in inspector.get_table_names()


# ---------------------------------------------------------------------------------------------------------
# the live definitions agree with the migrations


def _default(raw: Any) -> str | Decimal | None:
    """A server default without quoting, parentheses or casts ("'0'", "('0')", "'0'::smallint" give "0"), and
    numbers as numbers (MariaDB reports a decimal column's default 0 as 0.000000000)."""
    if raw is None:
        return None
    value = str(raw.arg if isinstance(raw, sa.DefaultClause) else raw).strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    value = value.split("::", 1)[0].strip("'")
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


#: MariaDB reports an integer column declared without a display width with its type's default width.
_DEFAULT_WIDTHS = {"TINYINT(4)", "SMALLINT(6)", "MEDIUMINT(9)", "INTEGER(11)", "BIGINT(20)"}


def _canonical(type_sql: str) -> str:
    """One spelling for types that are the same type: default display widths dropped, NUMERIC is DECIMAL."""
    if type_sql in _DEFAULT_WIDTHS:
        return type_sql.split("(", 1)[0]
    return re.sub(r"^NUMERIC\b", "DECIMAL", type_sql)


def test_every_live_column_exists_in_the_head_schema_with_a_compatible_type(head):
    inspector = sa.inspect(head)
    dialect = head.dialect
    tables = set(inspector.get_table_names())
    for table in live.metadata.sorted_tables:
        assert table.name in tables, table.name
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        primary_key = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            assert column.name in columns, where
            found = columns[column.name]
            assert _canonical(_type_sql(found["type"], dialect)) == _canonical(_type_sql(column.type, dialect)), where
            assert found["nullable"] == column.nullable, where
            assert (column.name in primary_key) == column.primary_key, where
            if not (column.server_default is None and found.get("autoincrement") is True):  # serial: a sequence
                assert _default(found.get("default")) == _default(column.server_default), where
        unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table.name)}
        unique |= {tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name) if ix.get("unique")}
        for column in table.columns:
            if column.unique:
                assert (column.name,) in unique, f"{table.name}.{column.name} unique"


def test_every_live_index_exists_in_the_head_schema(head):
    inspector = sa.inspect(head)
    for table in live.metadata.sorted_tables:
        found = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            condition = getattr(index, "_ddl_if", None)  # set by Index.ddl_if(dialect=...)
            if condition is not None and condition.dialect is not None:
                wanted = condition.dialect
                if head.dialect.name not in ((wanted,) if isinstance(wanted, str) else wanted):
                    continue
            assert index.name in found, f"{table.name}: {index.name}"
            assert found[index.name]["column_names"] == [c.name for c in index.columns], index.name
            assert bool(found[index.name].get("unique")) == index.unique, index.name


def test_the_default_countries_are_the_ones_a_new_database_gets(head):
    with head.connect() as conn:
        rows = set(conn.execute(sa.text(_quote(head, 'SELECT name, country_name, code FROM "tabCountry"'))).all())
    assert rows == {(c.name, c.name, c.code) for c in default_countries()}


def _quote(engine: sa.Engine, sql: str) -> str:
    return sql.replace('"', "`") if engine.dialect.name in MARIADB else sql


# ---------------------------------------------------------------------------------------------------------
# the migrations describe their own schema


_ALLOWED_IMPORTS = {
    "__future__",
    "datetime",
    "typing",
    "sqlalchemy",
    "sqlalchemy.dialects",
    "alembic",
    "erpnext_medusa.store.sql.migrate",  # MigrationError: the error the CLI reports, not a table definition
    "erpnext_medusa.store.sql.migrations.baseline_countries",  # the baseline's frozen country list
    "erpnext_medusa.store.sql.site",  # how an ERPNext site's database is told (0008), not a table definition
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
    return found


def test_no_migration_imports_the_live_schema():
    scripts = sorted(p for p in VERSIONS.glob("*.py") if p.name != "__init__.py")
    assert scripts
    for script in scripts:
        assert _imports(script) <= _ALLOWED_IMPORTS, script.name


def test_customers_written_before_0007_are_searched_after_it(new_engine):
    """0007 brings the gram ranges (and on SQLite a new index upkeep): customers already in the database are in
    them after `db upgrade`, and a search finds them by both plans."""
    engine = new_engine()
    upgrade(engine, revision="0006")
    customers = {"C-1": "Zubair Qahtani", "C-2": "مكتب الفجر", "C-3": "Ärger Büro"}
    with engine.begin() as conn:
        for name, customer_name in customers.items():
            conn.execute(
                sa.insert(live.customer).values(
                    name=name, customer_name=customer_name, disabled=0, creation=datetime(2026, 1, 1),
                    modified=datetime(2026, 1, 1), owner="Administrator", modified_by="Administrator",
                    docstatus=0, idx=0,
                )
            )  # fmt: skip
    upgrade(engine)
    store = SqlStore(engine)
    store.search.refresh_statistics()
    for word, expected in (("qaht", "C-1"), ("الفج", "C-2"), ("ärg", "C-3"), ("büro", "C-3")):
        for costs in (replace(store.search.costs, walk=0.0), replace(store.search.costs, gram=0.0, posting=0.0)):
            store.search.costs = costs
            assert [c.name for c in store.search_unlinked_customers([word], limit=10, offset=0)] == [expected]
