"""The typeahead search over unlinked customers, and the gram index behind it.

A word matches when it is a substring of ``customer_name``, both folded by the service's search fold
(:func:`~erpnext_medusa.domain.text.fold`: case, accents, Arabic spellings, digits). On SQLite and MariaDB the
service keeps each name folded (a key table) and the database checks the folded word with ``instr()`` or, code
point by code point, ``LOCATE()``; PostgreSQL folds the name with ``erpnext_medusa_fold`` (the same fold in
SQL, migration 0012) and checks it with ``strpos()``. That check is always in the query and alone decides what
matches. An index of the folded name's character pairs (*grams*) only narrows the rows to check: every gram of
a word is a gram of any name that contains it, so no match is ever lost.

Each database keeps its gram index up to date itself, whoever writes ``tabCustomer`` (ERPNext included):

* PostgreSQL: a GIN index on ``erpnext_medusa_grams(erpnext_medusa_fold(customer_name))`` (characters and pairs).
* SQLite and MariaDB: pair tokens (hex UTF-16 code units, so the full-text parser takes them as words) of the
  name folded by the service's search fold, in an FTS5 table (SQLite) or a FULLTEXT column of the service's key
  table (MariaDB; a single character is a prefix query on the pairs it starts); their triggers queue the written
  names and the service indexes them before it searches (store/sql/search_queue.py).

Every database also keeps, per gram, the smallest and largest ``customer_name`` holding it (the gram
ranges; widened on every write: by triggers on PostgreSQL, by the service from its queue on SQLite and
MariaDB). No match lies outside the ranges of its words' grams, and a query with a gram no name holds matches
nothing.

A query is answered by one of two plans, both exact:

* *ordered*: walk the unlinked, enabled customers in result order (a covering index) between the bounds
  the gram ranges give, and keep the matches. Cheap when matches are common within the bounds, since the
  walk stops at the page's end: words whose names all sort late (another script) start where they begin.
* *gram*: fetch the rows holding the word's grams through the gram index, then check and sort them. Cheap
  when matches are few.

A random sample of the names, in result order, taken in the background and refreshed every few minutes,
tells where the first matches sit between the bounds and how many rows each gram's postings narrow the
candidates to; the plan with the smaller estimated cost runs, and the gram index looks up only the grams
worth reading. Until the first sample is in, a short walk is tried first and the gram index finishes the job.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Select,
    String,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.domain.models import CustomerSummary
from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import search_queue
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.catalog import Catalog
from erpnext_medusa.store.sql.dialects import Dialect, for_dialect
from erpnext_medusa.store.sql.grams import word_grams
from erpnext_medusa.store.sql.planner import Costs, Plan, Stats
from erpnext_medusa.store.sql.searched_rows import SearchedRows
from erpnext_medusa.store.sql.time_limit import statement_time_limit

log = logging.getLogger(__name__)


def like_literal(word: str) -> str:
    """``word`` as a LIKE pattern that matches it literally anywhere (escape character ``/``)."""
    escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class _Bounds:
    """Where a query's matches can lie in result order (from the gram ranges)."""

    first: str
    last: str


class CustomerSearch:
    """Plans and runs one typeahead query; owns the sampled gram statistics."""

    #: Without statistics (just after start-up): rows an ordered walk reads before the gram index takes over.
    probe_rows = 1000
    #: How many names the statistics sample, and how often they are taken again.
    sample_size = 20_000
    stats_max_age = 600.0

    def __init__(self, engine: Engine, rows: SearchedRows, statement_timeout_ms: int = 5_000) -> None:
        """``engine``: where searches read (the database, or a read replica of it); ``rows``: what they read."""
        self.timeout = statement_timeout_ms / 1000
        self.engine = engine
        #: What this database spells its own way.
        self.dialect: Dialect = for_dialect(engine.dialect.name)
        self.flavour = self.dialect.flavour
        #: The plan with the smaller estimated cost wins.
        self.costs: Costs = self.dialect.costs
        self._stats = Stats()
        self._refreshing = threading.Lock()
        #: Told which plan answered each search: all (no words), none (a gram no name holds), probe (before
        #: statistics), ordered or gram.
        self.on_plan: Callable[[str], None] = lambda _plan: None
        self._statements: dict[tuple[str, int], Select[Any]] = {}
        self._rows = rows
        ranges = rows.ranges.c
        self._bounds_query = select(func.max(ranges.first_name), func.min(ranges.last_name), func.count()).where(
            ranges.gram.in_(bindparam("grams", expanding=True))
        )

    # -- the statements: one per plan and number of words, built once; every value is a bound parameter --

    def _statement(self, plan: str, words: int) -> Select[Any]:
        statement = self._statements.get((plan, words))
        if statement is None:
            statement = self._statements[(plan, words)] = self._build(plan, words)
        return statement

    def _build(self, plan: str, words: int) -> Select[Any]:
        rows = self._rows
        walk = select(*rows.columns).where(*rows.searchable)  # the ordered index covers these
        in_order = (rows.sort, rows.name)
        limit: BindParameter[int] = bindparam("limit")
        offset: BindParameter[int] = bindparam("offset")
        if plan != "gram":
            walk = self.dialect.walk(walk, rows)
        if plan == "all":
            return self._with_details(walk.order_by(*in_order).limit(limit).offset(offset))
        within = rows.sort.between(bindparam("first", type_=String), bindparam("last", type_=String))
        if plan == "probe":  # the matches among the first rows between the bounds (names only)
            first = walk.where(within).order_by(*in_order).limit(bindparam("rows")).subquery()
            sort = first.c[rows.sort.name]
            matching = self._matching(sort, first.c.get(rows.folded.name) if rows.folded is not None else None, words)
            return select(first.c.name).where(*matching).order_by(sort, first.c.name).limit(limit)
        if plan == "names":  # a page the probe has already found
            return self._with_details(walk.where(rows.name.in_(bindparam("names", expanding=True))))
        matching = self._matching(rows.sort, rows.folded, words)
        if plan == "ordered":
            page = walk.where(within, *matching).order_by(*in_order)
        else:
            page = self.dialect.by_grams(walk.where(within, *matching), rows)
        return self._with_details(page.limit(limit).offset(offset))

    def _matching(self, sort: Any, folded_name: Any | None, words: int) -> list[Any]:
        """Each folded word (parameters w0, w1, ...) a substring of the folded name: the stored one, or on
        standalone PostgreSQL the name folded by ``erpnext_medusa_fold`` (the same fold in SQL)."""
        word = [bindparam(f"w{i}", type_=String) for i in range(words)]
        name = folded_name if folded_name is not None else _folded_in_sql(sort)  # migration 0012
        return [self.dialect.contains(name, w) for w in word]

    def _with_details(self, page: Select[Any]) -> Select[Any]:
        """The page's customers with what the answer shows, in the page's order."""
        rows = self._rows
        found = page.subquery("page")
        return (
            select(*rows.shown)
            .join_from(found, rows.details, rows.details.c.name == found.c.name)
            .order_by(found.c[rows.sort.name], found.c.name)
        )

    # -- one search ------------------------------------------------------------------------------------

    def search(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        with self.engine.connect() as conn:
            self.dialect.prepare_search(conn)
            with self._time_limit(conn) as deadline:
                if self._rows.queued:  # standalone SQLite and MariaDB: the service keeps the folded names
                    self._caught_up(conn, deadline)
                found = self._run(conn, words, limit=limit, offset=offset)
                return [_summary(row) for row in found]

    def _run(self, conn: Connection, words: Sequence[str], *, limit: int, offset: int) -> Sequence[Any]:
        """The page's rows, in order."""
        page = {"limit": limit, "offset": offset}
        # A word that folds to nothing (only marks or tatweel) is in every name: it narrows nothing.
        kept = [(w, f) for w, f in zip(words, self._fold(conn, words), strict=True) if f]
        if not kept:
            self.on_plan("all")
            return conn.execute(self._statement("all", 0), page).all()
        words, folded_words = [w for w, _ in kept], [f for _, f in kept]
        bounds = self._bounds(conn, folded_words)
        if bounds is None:
            self.on_plan("none")
            return []
        values = {**page, "first": bounds.first, "last": bounds.last}
        values.update({f"w{i}": w for i, w in enumerate(folded_words)})
        stats = self._statistics()
        keys = sorted({k for w in folded_words for k in self.flavour.word_keys(w)}, key=stats.share)
        need = limit + offset
        if not stats.names:  # no statistics yet: a short walk, then the gram index
            self.on_plan("probe")
            probe = {**values, "rows": self.probe_rows, "limit": need}
            found = conn.execute(self._statement("probe", len(words)), probe).scalars().all()
            if len(found) >= need:
                return conn.execute(self._statement("names", 0), {"names": found[offset:need]}).all()
            indexed = self.costs.indexable(keys)
            plan = Plan("gram", indexed[: self.costs.grams]) if indexed else Plan("ordered", [])
        else:
            plan = stats.plan(folded_words, keys, need, self.costs)
            self.on_plan(plan.name)
        if plan.name == "gram":
            values["grams"] = self.dialect.grams_parameter(plan.keys)
        else:
            self.dialect.hold_to_walk(conn)
        return conn.execute(self._statement(plan.name, len(words)), values).all()

    def _caught_up(self, conn: Connection, deadline: float) -> None:
        """SQLite and MariaDB: index the Customers written since the last search (by anyone) before this one
        reads, so that none is missed. Checked in the search's own snapshot; the indexing, on the same
        connection, counts against the search's time. SQLite's takes the write lock; MariaDB's takes the queued
        names no other search is indexing, and reads the Customers as last committed."""
        while search_queue.pending(conn):
            conn.rollback()
            if time.monotonic() > deadline:
                raise QueryTimeoutError()
            with self.dialect.catching_up(conn):
                done = search_queue.catch_up(conn)
            if not done:  # MariaDB: other searches are indexing the rest; their commit ends the wait
                time.sleep(0.005)

    def _time_limit(self, conn: Connection) -> AbstractContextManager[float]:
        """Stop the search's statements once they have run for ``timeout`` seconds; yields the deadline."""
        return statement_time_limit(conn, self.timeout)

    def _fold(self, conn: Connection, words: Sequence[str]) -> list[str]:
        """The words folded as the names are: by the service's search fold."""
        return [fold(w) for w in words]

    def _bounds(self, conn: Connection, folded_words: Sequence[str]) -> _Bounds | None:
        """The bounds of the matches in result order, or None when some gram of the words is in no name."""
        grams = sorted({g for w in folded_words for g in word_grams(w)})
        first, last, count = conn.execute(self._bounds_query, {"grams": grams}).one()
        if count < len(grams) or first is None or last is None:
            return None
        return _Bounds(first, last)

    # -- statistics ------------------------------------------------------------------------------------

    def _statistics(self) -> Stats:
        stats = self._stats
        if time.monotonic() - stats.taken_at > self.stats_max_age and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh, name="gram-statistics", daemon=True).start()
        return stats

    def _refresh(self) -> None:
        try:
            self._stats = self.sample()
        except Exception:  # statistics only guide the plan: keep serving with the old ones
            log.exception("could not sample customer names for search statistics")
            old = self._stats
            self._stats = Stats(old.total, old.names, old.postings, time.monotonic(), old.plans)
        finally:
            self._refreshing.release()

    def refresh_statistics(self) -> None:
        """Take the statistics now (the server takes them in the background)."""
        self._stats = self.sample()

    def take_statistics(self) -> None:
        """Take the statistics before the first search, as a server starts: without them a search walks a few
        rows in order, then turns to the gram index whatever its words. If they cannot be taken (the database
        does not answer yet), the searches take them in the background as they would have."""
        try:
            self.refresh_statistics()
        except Exception:  # statistics only guide the plan: start without them
            log.exception("could not sample customer names for search statistics")

    def sample(self) -> Stats:
        """A random sample of the unlinked, enabled customers' folded names, in result order (from the rows
        the search reads: on SQLite the key table, whose names are folded already)."""
        rows = self._rows
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(rows.table).where(*rows.searchable)).scalar_one()
            share = min(1.0, self.sample_size / total) if total else 1.0
            folded = rows.folded if rows.folded is not None else _folded_in_sql(rows.sort)
            query = select(folded).where(*rows.searchable, rows.sort.is_not(None)).order_by(rows.sort, rows.name)
            if share < 1.0:
                query = query.where(self.dialect.random() < share)
            names = list(conn.execute(query).scalars())
        postings: dict[str, array[int]] = {}
        for index, name in enumerate(names):
            for key in self.flavour.name_keys(name):
                postings.setdefault(key, array("I")).append(index)
        return Stats(total, names, postings, time.monotonic())


def _summary(row: Any) -> CustomerSummary:
    return CustomerSummary(row.name, row.customer_name, row.email_id, row.mobile_no)


def _folded_in_sql(customer_name: Any) -> Any:
    """Standalone PostgreSQL: tabCustomer's name folded as its gram index folds it (migration 0012)."""
    return func.erpnext_medusa_fold(customer_name)


def standalone_rows(dialect: str) -> SearchedRows:
    """What the standalone shape's searches read: on SQLite and MariaDB the service's key table (kept from the
    queue that tabCustomer's triggers fill), on PostgreSQL tabCustomer itself."""
    ranges = table(t.GRAM_RANGE_TABLE, column("gram"), column("first_name"), column("last_name"))
    c = t.customer.c
    shown = [c.name, c.customer_name, c.email_id, c.mobile_no]
    if dialect == "postgresql":
        grams = func.erpnext_medusa_grams(_folded_in_sql(c.customer_name))
        return SearchedRows(t.customer, c.name, c.customer_name, None, [t.UNLINKED_ENABLED], t.customer, shown,
                            ranges, grams=grams)  # fmt: skip
    key = table(
        t.SEARCH_KEY_TABLE, *(column(n) for n in ("id", "name", "customer_name", "folded", "tokens", "searchable"))
    )
    # A literal, not a parameter, so that SQLite sees at once that its partial index applies.
    searchable = literal_column(f"{t.SEARCH_KEY_TABLE}.searchable") == literal_column("1")
    return SearchedRows(key, key.c.name, key.c.customer_name, key.c.folded, [searchable], t.customer, shown, ranges,
                        grams=key.c.tokens, fts=t.SEARCH_FTS_TABLE, id=key.c.id, queued=True,
                        order_index=t.SEARCH_KEY_ORDER_INDEX)  # fmt: skip


def standalone_search(
    catalog: Catalog, statement_timeout_ms: int = 5_000, *, engine: Engine | None = None
) -> CustomerSearch:
    """The standalone shape's search; ``engine``: where it reads (a read replica), when not the catalog's own."""
    return CustomerSearch(engine or catalog.engine, standalone_rows(catalog.dialect), statement_timeout_ms)
