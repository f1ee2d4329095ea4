"""The site track (``erpnext`` shape): a database of the service's own tables only, never mixed with the
standalone track's.

Every test runs on SQLite, PostgreSQL and MariaDB (the ``databases`` fixture), each on throw-away databases.
"""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from erpnext_medusa.store.sql import site_tables
from erpnext_medusa.store.sql.migrate import (
    SITE_VERSION_TABLE,
    VERSION_TABLE,
    MigrationError,
    current_revision,
    pending,
    upgrade,
)
from tests.erpnext_ddl import create_erpnext_schema
from tests.store.schema import canonical_type, catalog, column_default, indexes_for, reflected, snapshot, type_sql

SITE_TABLES = [
    "erpnext_medusa_api_key",
    "erpnext_medusa_audit",
    "erpnext_medusa_intake_event",
    "erpnext_medusa_intake_failure",
    "erpnext_medusa_login_failure",
    "erpnext_medusa_outbound",
    "erpnext_medusa_outbox",
    "erpnext_medusa_session",
    "erpnext_medusa_site_customer",
    "erpnext_medusa_site_gram_range",
    "erpnext_medusa_site_lead",
    "erpnext_medusa_sync_state",
    "erpnext_medusa_user",
]
#: The tables both tracks build, which must be alike in both.
SHARED = ["erpnext_medusa_api_key", "erpnext_medusa_audit", "erpnext_medusa_intake_event",
          "erpnext_medusa_login_failure", "erpnext_medusa_session", "erpnext_medusa_user",
          "erpnext_medusa_outbox", "erpnext_medusa_outbound"]  # fmt: skip
VERSIONS = Path(site_tables.__file__).with_name("site_migrations") / "versions"


#: SQLite: the mirror's FTS5 table of pair tokens (s0004), and the tables FTS5 keeps it in.
FTS_TABLES = ["erpnext_medusa_site_customer_grams"]
FTS_SHADOWS = [f"erpnext_medusa_site_customer_grams_{part}" for part in ("config", "data", "docsize", "idx")]


def _tables(engine: sa.Engine) -> list[str]:
    return sorted(sa.inspect(engine).get_table_names())


def _site_tables(engine: sa.Engine) -> list[str]:
    """The tables the site track creates on this engine's database, in the order it reports them."""
    return [*SITE_TABLES, *FTS_TABLES] if engine.dialect.name == "sqlite" else SITE_TABLES


def test_the_site_track_creates_only_the_services_own_tables_and_says_so(new_engine):
    engine = new_engine()
    assert pending(engine, "site") is True
    assert current_revision(engine, "site") is None
    report = upgrade(engine, track="site")
    assert (report.before, report.after, report.applied) == (
        None,
        "s0005",
        ("s0001", "s0002", "s0003", "s0004", "s0005"),
    )
    assert sorted(report.created_tables) == sorted(_site_tables(engine))
    shadows = FTS_SHADOWS if engine.dialect.name == "sqlite" else []
    assert _tables(engine) == sorted([*_site_tables(engine), *shadows, SITE_VERSION_TABLE])
    assert all(name.startswith("erpnext_medusa_") for name in _tables(engine))
    assert pending(engine, "site") is False
    assert current_revision(engine, "site") == "s0005"
    # The standalone track's view of the same database: none of its revisions.
    assert current_revision(engine) is None


def test_running_it_again_changes_nothing(new_engine):
    engine = new_engine()
    upgrade(engine, track="site")
    before = snapshot(engine)
    report = upgrade(engine, track="site")
    assert (report.before, report.after, report.applied, report.created_tables) == ("s0005", "s0005", (), ())
    assert snapshot(engine) == before


def test_a_dropped_table_is_made_again_by_a_new_run(new_engine):
    """Every step checks first: a run that stopped half-way (MariaDB commits each DDL statement) completes."""
    engine = new_engine()
    upgrade(engine, track="site")
    expected = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE erpnext_medusa_sync_state"))
        conn.execute(sa.text(f"DELETE FROM {SITE_VERSION_TABLE}"))
    report = upgrade(engine, track="site")
    assert report.created_tables == ("erpnext_medusa_sync_state",)
    assert snapshot(engine) == expected


def test_a_standalone_database_is_refused_and_left_as_it_was(new_engine):
    engine = new_engine()
    upgrade(engine)
    before = _tables(engine)
    with pytest.raises(MigrationError, match=r"standalone database.*refusing to add the site schema"):
        upgrade(engine, track="site")
    assert _tables(engine) == before
    assert SITE_VERSION_TABLE not in before


def test_a_site_database_is_refused_by_the_standalone_track(new_engine):
    engine = new_engine()
    upgrade(engine, track="site")
    before = _tables(engine)
    with pytest.raises(MigrationError, match=r"site's mirror database.*refusing to add the standalone schema"):
        upgrade(engine)
    assert _tables(engine) == before
    assert VERSION_TABLE not in before
    assert pending(engine) is True  # the standalone head is not there, and never will be


def test_an_erpnext_database_is_never_made_a_mirror(new_engine):
    """ERPNext's own tables without our version table: a site's own database, or one the standalone shape would
    adopt; either way not the place for the mirror."""
    engine = new_engine()
    create_erpnext_schema(engine)
    before = _tables(engine)
    with pytest.raises(MigrationError, match="refusing to add the site schema"):
        upgrade(engine, track="site")
    assert _tables(engine) == before


def test_the_shared_tables_are_exactly_the_standalone_chains(new_engine):
    standalone, site = new_engine(), new_engine()
    upgrade(standalone)
    upgrade(site, track="site")
    ours, theirs = reflected(site), reflected(standalone)
    for table in SHARED:
        assert ours[table] == theirs[table], table
    if site.dialect.name in ("mysql", "mariadb"):
        ours_ddl, theirs_ddl = catalog(site)["show_create_table"], catalog(standalone)["show_create_table"]
        for table in SHARED:
            assert ours_ddl[table] == theirs_ddl[table], table
    elif site.dialect.name == "sqlite":  # the stored CREATE TABLE text differs where a column was added later
        indexes = [{tuple(r) for r in catalog(e)["sqlite_master"] if r[0] == "index" and r[2] in SHARED}
                   for e in (site, standalone)]  # fmt: skip
        assert indexes[0] == indexes[1]


def test_every_live_column_and_index_exists_in_the_site_schema(new_engine):
    engine = new_engine()
    upgrade(engine, track="site")
    inspector = sa.inspect(engine)
    for table in site_tables.SITE_TABLES:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(columns) == [c.name for c in table.columns], table.name
        primary_key = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            found = columns[column.name]
            wanted = type_sql(column.type, engine.dialect)
            assert canonical_type(type_sql(found["type"], engine.dialect)) == canonical_type(wanted), where
            assert found["nullable"] == column.nullable, where
            assert (column.name in primary_key) == column.primary_key, where
            if not (column.server_default is None and found.get("autoincrement") is True):
                assert column_default(found.get("default")) == column_default(column.server_default), where
        indexes = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in indexes_for(table, engine.dialect.name):
            assert indexes[index.name]["column_names"] == [c.name for c in index.columns], index.name


def test_the_folded_keys_and_ids_compare_exactly_on_mariadb(new_engine):
    """MariaDB's default collation folds case and accents: the mirror's keys and ids are binary, the rest is
    Frappe's utf8mb4_unicode_ci."""
    engine = new_engine()
    if engine.dialect.name not in ("mysql", "mariadb"):
        assert engine.dialect.name in ("sqlite", "postgresql")  # binary (SQLite) / exact strpos (PostgreSQL)
        return
    upgrade(engine, track="site")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = 'erpnext_medusa_site_customer' AND COLLATION_NAME IS NOT NULL"
            )
        ).all()
    collations = dict(rows)
    assert {k for k, v in collations.items() if v == "utf8mb4_bin"} == {"name", "medusa_id", "lead_name", "folded"}
    assert collations["customer_name"] == collations["sort_name"] == "utf8mb4_unicode_ci"


def test_the_site_migrations_describe_their_own_schema():
    allowed = {
        "__future__",
        "typing",
        "itertools",
        "unicodedata",
        "collections.abc",
        "sqlalchemy",
        "sqlalchemy.dialects",
        "alembic",
    }
    scripts = sorted(p for p in VERSIONS.glob("*.py") if p.name != "__init__.py")
    assert [p.name for p in scripts] == [
        "s0001_site_baseline.py",
        "s0002_outbox.py",
        "s0003_search_fold.py",
        "s0004_search_grams.py",
        "s0005_covering_walk.py",
    ]
    for script in scripts:
        found: set[str] = set()
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                found.add(node.module or "")
        assert found <= allowed, script.name


def test_s0002_folds_the_mirrors_keys_again_with_the_search_fold(new_engine):
    """Keys stored with the earlier case fold are refolded; rows whose fold is unchanged are left alone."""
    engine = new_engine()
    upgrade(engine, track="site", revision="s0002")
    now = datetime(2026, 12, 1, 10)
    customer = {"modified": now, "synced_at": now, "disabled": 0, "searchable": 1}
    lead = {"modified": now, "synced_at": now, "email_id": "ÉLO@x.example", "medusa_id": "cus_Ä"}
    with engine.begin() as conn:
        conn.execute(sa.insert(site_tables.customer), [
            {**customer, "name": "C1", "customer_name": "Élodie", "folded": "élodie", "sort_name": "Élodie"},
            {**customer, "name": "C2", "customer_name": "شركة ١٢٣", "folded": "شركة ١٢٣", "sort_name": "شركة ١٢٣"},
            {**customer, "name": "C3", "customer_name": "plain", "folded": "plain", "sort_name": "plain"},
        ])  # fmt: skip
        old_keys = {"folded_lead_name": "أحمد", "folded_email_id": "élo@x.example", "folded_medusa_id": "cus_ä"}
        conn.execute(sa.insert(site_tables.lead), [{**lead, "name": "L1", "lead_name": "أحمد", **old_keys}])
    assert upgrade(engine, track="site", revision="s0003").applied == ("s0003",)
    c, ld = site_tables.customer.c, site_tables.lead.c
    with engine.connect() as conn:
        assert dict(conn.execute(sa.select(c.name, c.folded)).all()) == {
            "C1": "elodie", "C2": "شركه 123", "C3": "plain"}  # fmt: skip
        assert conn.execute(sa.select(ld.folded_lead_name, ld.folded_email_id, ld.folded_medusa_id)).one() == (
            "احمد", "elo@x.example", "cus_a")  # fmt: skip
