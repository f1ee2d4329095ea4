"""The gram ranges: per gram, the first and last name in result order that holds it (standalone: migration
0013's range table, kept by store/sql/search_queue.py; mirror: site revision s0004's, kept by
store/sql/mirror_grams.py). The planner bounds a gram-index search's walk by them.

They are only ever widened: a write reads its rows back in result order, notes each gram's first and last
name there (:func:`gram_bounds`), and widens the stored range by them with its dialect's upsert
(``Dialect.widen_ranges``, built on :data:`RANGE_BOUNDS` and, where the database has ``ON CONFLICT``,
:func:`widen_on_conflict`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Insert, TableClause, bindparam

from erpnext_medusa.store.sql.grams import name_grams

#: The values of a range upsert: parameters ``gram``, ``first`` and ``last``.
RANGE_BOUNDS: dict[str, Any] = {
    "gram": bindparam("gram"),
    "first_name": bindparam("first"),
    "last_name": bindparam("last"),
}


def widen_on_conflict(
    upsert: Any, ranges: TableClause, least: Callable[..., Any], greatest: Callable[..., Any]
) -> Insert:
    """``INSERT ... ON CONFLICT (gram) DO UPDATE`` (PostgreSQL, SQLite) that rewrites a range row only when the
    new bounds lie outside it."""
    new = upsert.values(RANGE_BOUNDS)
    r = ranges.c
    return new.on_conflict_do_update(
        index_elements=["gram"],
        set_={"first_name": least(r.first_name, new.excluded.first_name),
              "last_name": greatest(r.last_name, new.excluded.last_name)},
        where=(r.first_name > new.excluded.first_name) | (r.last_name < new.excluded.last_name),
    )  # fmt: skip


def gram_bounds(in_order: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Each gram's first and last name among ``(name, folded name)`` pairs given in result order."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for name, folded in in_order:
        for gram in name_grams(folded):
            first.setdefault(gram, name)
            last[gram] = name
    return {gram: (name, last[gram]) for gram, name in first.items()}
