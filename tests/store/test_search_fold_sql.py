"""The folded names the databases search are what the service's ``fold()`` gives.

PostgreSQL folds in SQL (``erpnext_medusa_fold``, migration 0012): the fold works code point by code point (a
mark it would reorder is dropped anyway), so every code point is checked once. MariaDB keeps the names the
service folded (migration 0013) for Customers any program writes. On both, generated strings of the tricky
ones and of any characters as a whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from erpnext_medusa.domain.text import fold
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import migrations
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.grams import name_grams
from erpnext_medusa.store.sql.migrate import upgrade
from tests.helpers import execute, rows
from tests.store.test_search_index import INSERT

MIGRATIONS = Path(migrations.__file__).parent

# The databases that fold in the database or keep folded names beside the service's searches (SQLite's are
# the key table's, as MariaDB's, tested by the search's own tests); these fail, as every database test does, when
# their database is down.
FOLDING = pytest.mark.parametrize("databases", ["postgresql", "mariadb"], indirect=True)
POSTGRESQL = pytest.mark.parametrize("databases", ["postgresql"], indirect=True)
MARIADB = pytest.mark.parametrize("databases", ["mariadb"], indirect=True)

TRICKY = st.sampled_from(
    list("ÉéÅåßẞİıIiΣσςﬁ²ＡａＺｚ") + list("أإآٱاةهىيؤئـًٌٍَُِّْٰ٠١٢۰۱۲") + ["e\u0301", "ᏸ", "ꭰ", "Ꭰ", "ǰ", "ΐ"]
)
ANY = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")


def sql_fold(services: Services, values: list[str]) -> list[str]:
    if services.store.dialect in t.MARIADB:
        return kept_folds(services, values)
    with services.store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT erpnext_medusa_fold(v) FROM unnest(CAST(:v AS text[])) WITH ORDINALITY AS u(v, i) ORDER BY i"),
            {"v": values},
        )
        return list(found.scalars())


def kept_folds(services: Services, values: list[str]) -> list[str]:
    """MariaDB: the folded names the service keeps for Customers written with plain SQL (and then deleted)."""
    names = [f"FOLD-{i:07d}" for i in range(len(values))]
    engine = services.store.engine
    written = [
        {"name": n, "customer_name": v, "medusa_id": None, "disabled": 0} for n, v in zip(names, values, strict=True)
    ]
    with engine.begin() as conn:
        conn.execute(text(INSERT.replace('"', "`")), written)
    services.store.search_unlinked_customers([], limit=1, offset=0)  # indexes the queued names first
    found = rows(services, f'SELECT name, folded FROM "{t.SEARCH_KEY_TABLE}" WHERE name LIKE :p', p="FOLD-%")
    execute(services, 'DELETE FROM "tabCustomer" WHERE name LIKE :p', p="FOLD-%")
    folded = {r["name"]: r["folded"] for r in found}
    return [folded[n] for n in names]


@POSTGRESQL  # MariaDB keeps what fold() gave: the generated strings check that it keeps it exactly
def test_every_code_point_folds_as_the_service_folds_it(services: Services) -> None:
    points = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    folded = sql_fold(services, points)
    differ = [(hex(ord(c)), f, fold(c)) for c, f in zip(points, folded, strict=True) if f != fold(c)]
    assert differ == []


@FOLDING
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(TRICKY | ANY, max_size=20).map("".join), min_size=1, max_size=20))
def test_generated_strings_fold_as_the_service_folds_them(services: Services, values: list[str]) -> None:
    assert sql_fold(services, values) == [fold(v) for v in values]


@POSTGRESQL
def test_revision_0012_folds_the_existing_names_and_its_downgrade_restores_lower(databases) -> None:
    """Customers written before 0012 are found by their fold after it; the downgrade puts 0007's lower() back."""
    assert databases.backend == "postgresql"
    engine = make_engine(databases.new())
    ranges = 'SELECT gram FROM "erpnext_medusa_gram_range" ORDER BY gram'
    index = "SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_medusa_search_grams'"
    try:
        upgrade(engine, revision="0011")
        with engine.begin() as conn:
            conn.execute(text(INSERT), {"name": "C1", "customer_name": "Élodie", "medusa_id": None, "disabled": 0})
        assert upgrade(engine).applied == ("0012", "0013")  # 0013 changes MariaDB only
        with engine.begin() as conn:
            assert conn.execute(text(ranges)).scalars().all() == sorted(name_grams("elodie"))
            assert "erpnext_medusa_fold((customer_name)" in conn.execute(text(index)).scalar_one()
            conn.execute(text(INSERT), {"name": "C2", "customer_name": "STRAẞE", "medusa_id": None, "disabled": 0})
            assert "ss" in conn.execute(text(ranges)).scalars().all()  # the insert trigger folds too
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0011")
        with engine.connect() as conn:
            assert conn.execute(text(ranges)).scalars().all() == sorted(name_grams("élodie") | name_grams("straße"))
            assert "lower((customer_name)" in conn.execute(text(index)).scalar_one()
            assert conn.execute(text("SELECT to_regproc('erpnext_medusa_fold')")).scalar() is None
    finally:
        engine.dispose()


@MARIADB
def test_revision_0013_folds_the_existing_names_and_its_downgrade_restores_lower(databases) -> None:
    """Customers written before 0013 are found by their fold after it (the upgrade indexes them); the downgrade
    puts 0002's generated column and 0007's triggers back, with the ranges of lower()."""
    engine = make_engine(databases.new())
    ranges = "SELECT gram FROM `erpnext_medusa_gram_range` ORDER BY gram"
    triggers = "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1"
    row = {"medusa_id": None, "disabled": 0}
    try:
        upgrade(engine, revision="0012")
        with engine.begin() as conn:
            conn.execute(text(INSERT.replace('"', "`")), {"name": "C1", "customer_name": "Élodie", **row})
        assert upgrade(engine).applied == ("0013",)
        with engine.begin() as conn:
            assert conn.execute(text(ranges)).scalars().all() == sorted(name_grams("elodie"))
            assert conn.execute(text("SELECT folded FROM erpnext_medusa_customer_search_key")).scalars().all() == [
                "elodie"
            ]
            assert conn.execute(text("SELECT count(*) FROM erpnext_medusa_search_queue")).scalar_one() == 0
            assert conn.execute(text(triggers)).scalars().all() == [
                f"erpnext_medusa_search_queue_{e}" for e in ("delete", "insert", "update")
            ]
            conn.execute(text(INSERT.replace('"', "`")), {"name": "C2", "customer_name": "ÜNAL", **row})
            assert conn.execute(text("SELECT name FROM erpnext_medusa_search_queue")).scalars().all() == ["C2"]
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0012")
        with engine.connect() as conn:
            assert conn.execute(text(ranges)).scalars().all() == sorted(name_grams("élodie") | name_grams("ünal"))
            assert conn.execute(text(triggers)).scalars().all() == [
                f"erpnext_medusa_gram_ranges_{e}" for e in ("insert", "update")
            ]
            grams = "SELECT medusa_search_grams FROM `tabCustomer` WHERE name = 'C1'"
            assert conn.execute(text(grams)).scalar_one().startswith("b")
            tables = set(conn.execute(text("SHOW TABLES")).scalars())
            assert {"erpnext_medusa_customer_search_key", "erpnext_medusa_search_queue"}.isdisjoint(tables)
            assert "erpnext_medusa_numbers" in tables
    finally:
        engine.dispose()
