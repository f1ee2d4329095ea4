"""MariaDB's spelling of the typeahead: ``LOCATE()`` under a binary collation, a FULLTEXT index of pair tokens
(MATCH ... AGAINST in boolean mode), ``max_statement_time`` as the time limit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Insert, Select, TableClause, func, text
from sqlalchemy.dialects.mysql import insert as upsert
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.store.sql.gram_ranges import RANGE_BOUNDS
from erpnext_medusa.store.sql.grams import Flavour
from erpnext_medusa.store.sql.planner import Costs
from erpnext_medusa.store.sql.searched_rows import SearchedRows

#: The relative costs the planner weighs MariaDB's plans with: its full-text index is slow to read and reads
#: each gram's postings whole; a prefix query (a one-character word) merges every token of the prefix, far
#: slower than their postings suggest, so the gram index never looks one up. A row the gram index hands over
#: costs 5 rows of the walk (the walk too reads each row's folded name from the table beside its index): on
#: 100,000 mirror rows the 45 queries of benchmarks/run.py took 358 ms in all with 5, 400 ms with 10.
COSTS = Costs(walk=1.0, gram=5.0, posting=1.0, grams=3, prefixes=False)
#: Server error: max_statement_time exceeded.
STATEMENT_TIME_EXCEEDED = 1969


class MariaDB:
    flavour = Flavour(utf16_pairs=True)
    costs = COSTS

    def contains(self, folded_name: Any, word: Any) -> Any:
        # Code point by code point (its other collations would ignore accents or case).
        return func.locate(word.collate("utf8mb4_bin"), folded_name) > 0

    def by_grams(self, candidates: Select[Any], rows: SearchedRows) -> Select[Any]:
        # A FULLTEXT column of pair tokens (migration 0013, site revision s0004).
        match = text(f"MATCH ({rows.grams.name}) AGAINST (:grams IN BOOLEAN MODE)")
        return candidates.where(match).order_by(rows.sort, rows.name)

    def grams_parameter(self, keys: list[str]) -> Any:
        return " ".join(f"+{k}" for k in keys)

    def walk(self, walk: Select[Any], rows: SearchedRows) -> Select[Any]:
        """Named: otherwise MariaDB reads the ordered index from the first searchable row, checking the bounds
        as it goes, instead of seeking to the lower bound (16 ms against 2.6 ms for a word whose names sort
        late, at 100,000 mirror rows)."""
        if not rows.order_index:
            return walk
        hint = f"FORCE INDEX ({rows.order_index})"
        return walk.with_hint(rows.table, hint, "mariadb").with_hint(rows.table, hint, "mysql")

    def hold_to_walk(self, conn: Connection) -> None:
        pass

    def prepare_search(self, conn: Connection) -> None:
        pass  # REPEATABLE READ by default: one snapshot per transaction

    @contextmanager
    def catching_up(self, conn: Connection) -> Iterator[Any]:
        """Reads the Customers as last committed, so that it takes only the queued names no other search is
        indexing."""
        with conn.begin() as transaction:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            yield transaction

    def random(self) -> Any:
        return func.rand()

    def widen_ranges(self, ranges: TableClause) -> Insert:
        new = upsert(ranges).values(RANGE_BOUNDS)
        return new.on_duplicate_key_update(
            first_name=func.least(ranges.c.first_name, new.inserted.first_name),
            last_name=func.greatest(ranges.c.last_name, new.inserted.last_name),
        )

    def limit_statements(self, conn: Connection, seconds: float, deadline: float) -> None:
        """For this session: :meth:`unlimit_statements` puts it back."""
        conn.execute(text("SET SESSION max_statement_time = :s"), {"s": seconds})

    def unlimit_statements(self, conn: Connection) -> None:
        conn.execute(text("SET SESSION max_statement_time = 0"))

    def timed_out(self, exc: DBAPIError) -> bool:
        args: tuple[Any, ...] = getattr(exc.orig, "args", ())
        return bool(args) and args[0] == STATEMENT_TIME_EXCEEDED
