"""SQLite's spelling of the typeahead: ``instr()`` on the stored folded name, the pair tokens in an FTS5 table
(matched by rowid), a progress handler as the time limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    String,
    TableClause,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.sqlite import insert as upsert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Table
from sqlalchemy.sql.compiler import SQLCompiler

from erpnext_medusa.store.sql.engine import SQLITE_IMMEDIATE
from erpnext_medusa.store.sql.gram_ranges import widen_on_conflict
from erpnext_medusa.store.sql.grams import Flavour
from erpnext_medusa.store.sql.planner import Costs
from erpnext_medusa.store.sql.searched_rows import SearchedRows

#: The relative costs the planner weighs SQLite's plans with.
COSTS = Costs(walk=1.0, gram=4.0, posting=0.2, grams=6, prefixes=True)
#: Virtual-machine steps between two checks of the clock (a few milliseconds): each check is a call into
#: Python, which must take the interpreter lock back from the worker's other threads.
STEPS_PER_CHECK = 1_000_000


@compiles(Table, "sqlite")
@compiles(TableClause, "sqlite")
def _table_with_hint(table: TableClause, compiler: SQLCompiler, **kw: Any) -> str:
    """A table of a ``FROM`` followed by the statement's SQLite hint for it (``with_hint(table, "NOT INDEXED",
    "sqlite")``), which SQLAlchemy's SQLite dialect does not write itself. Tables without a hint are as before."""
    text = compiler.visit_table(table, **kw)
    hint = (kw.get("fromhints") or {}).get(table)
    return f"{text} {hint}" if hint and kw.get("asfrom") else text


class SQLite:
    flavour = Flavour(utf16_pairs=True)
    costs = COSTS

    def contains(self, folded_name: Any, word: Any) -> Any:
        return func.instr(folded_name, word) > 0

    def by_grams(self, candidates: Select[Any], rows: SearchedRows) -> Select[Any]:
        assert rows.fts is not None
        fts = table(rows.fts, column("rowid"))
        matched = select(fts.c.rowid).where(
            literal_column(f'"{rows.fts}"').op("MATCH")(bindparam("grams", type_=String))
        )
        # NOT INDEXED: fetch the candidates by rowid, never walk the ordered index for them (which, since it
        # holds every column the page needs, SQLite would otherwise take to save the sort).
        found = candidates.where(rows.id.in_(matched)).with_hint(rows.table, "NOT INDEXED", "sqlite")
        return found.order_by(rows.sort, rows.name)

    def grams_parameter(self, keys: list[str]) -> Any:
        return " AND ".join(keys)

    def walk(self, walk: Select[Any], rows: SearchedRows) -> Select[Any]:
        return walk  # its planner walks the ordered index for ORDER BY ... LIMIT by itself

    def hold_to_walk(self, conn: Connection) -> None:
        pass

    def prepare_search(self, conn: Connection) -> None:
        pass  # a read transaction sees one snapshot already

    @contextmanager
    def catching_up(self, conn: Connection) -> Iterator[Any]:
        """Takes the write lock up front (BEGIN IMMEDIATE)."""
        conn.execution_options(**{SQLITE_IMMEDIATE: True})
        try:
            with conn.begin() as transaction:
                yield transaction
        finally:
            conn.execution_options(**{SQLITE_IMMEDIATE: False})

    def random(self) -> Any:
        return (func.abs(func.random()) % 1_000_000) / 1e6

    def widen_ranges(self, ranges: TableClause) -> Insert:
        return widen_on_conflict(upsert(ranges), ranges, func.min, func.max)  # SQLite's scalar min() and max()

    def limit_statements(self, conn: Connection, seconds: float, deadline: float) -> None:
        raw: Any = conn.connection.driver_connection
        raw.set_progress_handler(lambda: time.monotonic() > deadline, STEPS_PER_CHECK)

    def unlimit_statements(self, conn: Connection) -> None:
        raw: Any = conn.connection.driver_connection
        raw.set_progress_handler(None, 0)

    def timed_out(self, exc: DBAPIError) -> bool:
        return "interrupted" in str(exc.orig)  # the progress handler stopped it
