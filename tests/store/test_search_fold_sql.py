"""PostgreSQL's ``erpnext_medusa_fold`` (migration 0012) gives what the service's ``fold()`` gives.

The fold works code point by code point (a mark it would reorder is dropped anyway), so every code point is
checked once, and generated strings of the tricky ones and of any characters as a whole.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from erpnext_medusa.domain.text import fold
from erpnext_medusa.services import Services
from tests.helpers import BACKENDS

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not among the test backends")

TRICKY = st.sampled_from(
    list("ÉéÅåßẞİıIiΣσςﬁ²ＡａＺｚ") + list("أإآٱاةهىيؤئـًٌٍَُِّْٰ٠١٢۰۱۲") + ["e\u0301", "ᏸ", "ꭰ", "Ꭰ", "ǰ", "ΐ"]
)
ANY = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")


@pytest.fixture
def postgresql(services: Services, backend: str) -> Services:
    if backend != "postgresql":
        pytest.skip("erpnext_medusa_fold is PostgreSQL's (SQLite folds in the service)")
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
