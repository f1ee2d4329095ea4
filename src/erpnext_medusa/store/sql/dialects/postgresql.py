"""PostgreSQL's spelling of the typeahead: ``strpos()``, a GIN index on the folded name's array of grams (read
first, as a materialised CTE), one REPEATABLE READ snapshot per search, ``statement_timeout`` as the time limit."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Insert, Select, TableClause, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.store.sql.gram_ranges import widen_on_conflict
from erpnext_medusa.store.sql.grams import Flavour
from erpnext_medusa.store.sql.planner import Costs
from erpnext_medusa.store.sql.searched_rows import SearchedRows
from erpnext_medusa.store.sql.tables import TEXT_ARRAY

#: The relative costs the planner weighs PostgreSQL's plans with.
COSTS = Costs(walk=1.0, gram=4.0, posting=0.2, grams=6, prefixes=True)
#: SQLSTATE query_canceled: a statement stopped by statement_timeout.
QUERY_CANCELED = "57014"

#: For the rest of a search's transaction: read the ordered index, not the table or a bitmap of it.
_WALK_IN_ORDER = text("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)")


class PostgreSQL:
    flavour = Flavour(utf16_pairs=False)
    costs = COSTS

    def contains(self, folded_name: Any, word: Any) -> Any:
        return func.strpos(folded_name, word) > 0

    def by_grams(self, candidates: Select[Any], rows: SearchedRows) -> Select[Any]:
        keyed = candidates.where(rows.grams.op("@>")(bindparam("grams", type_=TEXT_ARRAY)))
        # Materialised first, so the planner cannot walk the ordered index instead of using the grams.
        found = keyed.cte("found").prefix_with("MATERIALIZED")
        sort = found.c[rows.sort.name]
        return select(found.c.name, sort).order_by(sort, found.c.name)

    def grams_parameter(self, keys: list[str]) -> Any:
        return keys

    def walk(self, walk: Select[Any], rows: SearchedRows) -> Select[Any]:
        return walk

    def hold_to_walk(self, conn: Connection) -> None:
        """For the rest of the search's transaction. The planner multiplies the substring checks' default
        selectivities (a third each) and, expecting a row or two, would read every row between the bounds and
        sort them (ten one-letter words at 100,000 mirror rows: 76 ms, 7 ms walking the index)."""
        conn.execute(_WALK_IN_ORDER)

    def prepare_search(self, conn: Connection) -> None:
        # The bounds and the page from one snapshot, as on the other databases.
        conn.execution_options(isolation_level="REPEATABLE READ")

    def catching_up(self, conn: Connection) -> AbstractContextManager[Any]:
        return conn.begin()  # never needed: PostgreSQL's triggers keep its gram index themselves

    def widen_ranges(self, ranges: TableClause) -> Insert:
        return widen_on_conflict(upsert(ranges), ranges, func.least, func.greatest)

    def random(self) -> Any:
        return func.random()

    def limit_statements(self, conn: Connection, seconds: float, deadline: float) -> None:
        """For this transaction; no parallel workers either: starting them costs more than a typeahead's walk."""
        conn.execute(
            text(
                "SELECT set_config('statement_timeout', :ms, true), "
                "set_config('max_parallel_workers_per_gather', '0', true)"
            ),
            {"ms": str(int(seconds * 1000))},
        )

    def unlimit_statements(self, conn: Connection) -> None:
        pass  # the settings end with the transaction

    def timed_out(self, exc: DBAPIError) -> bool:
        return getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED
