"""PostgreSQL's ``erpnext_medusa_fold`` (migration 0012) gives what the service's ``fold()`` gives.

The fold works code point by code point (a mark it would reorder is dropped anyway), so every code point is
checked once, and generated strings of the tricky ones and of any characters as a whole.
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
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.grams import name_grams
from erpnext_medusa.store.sql.migrate import upgrade
from tests.store.test_search_index import INSERT

MIGRATIONS = Path(migrations.__file__).parent

# PostgreSQL's own fold: these run on PostgreSQL alone (and fail, as every database test does, when it is down).
pytestmark = pytest.mark.parametrize("databases", ["postgresql"], indirect=True)

TRICKY = st.sampled_from(
    list("ÉéÅåßẞİıIiΣσςﬁ²ＡａＺｚ") + list("أإآٱاةهىيؤئـًٌٍَُِّْٰ٠١٢۰۱۲") + ["e\u0301", "ᏸ", "ꭰ", "Ꭰ", "ǰ", "ΐ"]
)
ANY = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")


@pytest.fixture
def postgresql(services: Services, backend: str) -> Services:
    assert backend == "postgresql"
    return services


def sql_fold(services: Services, values: list[str]) -> list[str]:
    with services.store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT erpnext_medusa_fold(v) FROM unnest(CAST(:v AS text[])) WITH ORDINALITY AS u(v, i) ORDER BY i"),
            {"v": values},
        )
        return list(found.scalars())


def test_every_code_point_folds_as_the_service_folds_it(postgresql: Services) -> None:
    points = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    folded = sql_fold(postgresql, points)
    differ = [(hex(ord(c)), f, fold(c)) for c, f in zip(points, folded, strict=True) if f != fold(c)]
    assert differ == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(TRICKY | ANY, max_size=20).map("".join), min_size=1, max_size=20))
def test_generated_strings_fold_as_the_service_folds_them(postgresql: Services, values: list[str]) -> None:
    assert sql_fold(postgresql, values) == [fold(v) for v in values]


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
        assert upgrade(engine).applied == ("0012",)
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
