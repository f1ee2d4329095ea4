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
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.store.sql import tables as live
from erpnext_medusa.store.sql.migrate import VERSION_TABLE, pending, upgrade
from erpnext_medusa.store.sql.store import SqlStore
from tests.store.schema import (
    assert_same_schema,
    canonical_type,
    column_default,
    indexes_for,
    snapshot,
    type_sql,
)

MARIADB = ("mysql", "mariadb")
PAST_REVISIONS = ("0001", "0002", "0004", "0005")
VERSIONS = Path(live.__file__).with_name("migrations") / "versions"

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
            assert canonical_type(type_sql(found["type"], dialect)) == canonical_type(type_sql(column.type, dialect)), (
                where
            )
            assert found["nullable"] == column.nullable, where
            assert (column.name in primary_key) == column.primary_key, where
            if not (column.server_default is None and found.get("autoincrement") is True):  # serial: a sequence
                assert column_default(found.get("default")) == column_default(column.server_default), where
        unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table.name)}
        unique |= {tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name) if ix.get("unique")}
        for column in table.columns:
            if column.unique:
                assert (column.name,) in unique, f"{table.name}.{column.name} unique"


def test_every_live_index_exists_in_the_head_schema(head):
    inspector = sa.inspect(head)
    for table in live.metadata.sorted_tables:
        found = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in indexes_for(table, head.dialect.name):
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
