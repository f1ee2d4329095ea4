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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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
    text,
)

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.domain.models import CustomerSummary
from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import search_queue
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.catalog import Catalog
from erpnext_medusa.store.sql.engine import SQLITE_IMMEDIATE
from erpnext_medusa.store.sql.grams import Flavour, word_grams
from erpnext_medusa.store.sql.time_limit import statement_time_limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Costs:
    """Relative costs: a row the ordered walk reads; a row the gram index hands over (fetched, checked and
    sorted); a posting the gram index reads to find those rows. And the most grams it may look up."""

    walk: float = 1.0
    gram: float = 4.0
    posting: float = 0.2
    grams: int = 6
    #: Whether the gram index may look up a one-character word (a prefix query on every pair it starts).
    #: MariaDB's full-text index merges every token of the prefix, far slower than their postings suggest.
    prefixes: bool = True

    def indexable(self, keys: Sequence[str]) -> list[str]:
        """The keys the gram index may look up, in their order."""
        return [k for k in keys if self.prefixes or not k.endswith("*")]


@dataclass(frozen=True)
class _Plan:
    name: str  # "ordered" or "gram"
    keys: list[str]  # the grams the gram index looks up


@dataclass
class _Stats:
    """A random sample of the searchable names (folded, in result order) and where each gram occurs in it."""

    total: int = 0  # unlinked, enabled customers when the sample was taken
    names: list[str] = field(default_factory=list)
    postings: dict[str, array[int]] = field(default_factory=dict)
    taken_at: float = 0.0
    plans: dict[tuple[tuple[str, ...], int, _Costs], _Plan] = field(default_factory=dict)  # chosen on this sample

    def share(self, key: str) -> float:
        return len(self.postings.get(key, ())) / len(self.names) if self.names else 0.0

    def plan(self, words: Sequence[str], keys: Sequence[str], need: int, costs: _Costs) -> _Plan:
        """The cheaper plan for these folded words (``keys``: their grams, rarest first), remembered."""
        remembered = self.plans.get((tuple(words), need, costs))
        if remembered is None:
            walk = self.walk(words, keys, need)
            indexed = costs.indexable(keys)
            if not indexed:  # nothing the gram index may look up
                remembered = _Plan("ordered", [])
            else:
                chosen, handed, read = self.lookup(indexed, costs)
                gram = handed * costs.gram + read * costs.posting
                remembered = _Plan("ordered" if walk * costs.walk <= gram else "gram", chosen)
            if len(self.plans) >= _PLANS_KEPT:
                self.plans.clear()
            self.plans[(tuple(words), need, costs)] = remembered
        return remembered

    def walk(self, words: Sequence[str], keys: Sequence[str], need: int) -> float:
        """Rows an ordered walk reads before it has ``need`` matches. It starts where the last of the keys
        first occurs and ends where the first of them last occurs (as the gram ranges bound it)."""
        found = [self.postings.get(key) for key in keys]
        if not all(found):  # a gram no sampled name holds: few names hold it, the gram index is cheap
            return float(self.total)
        scale = self.total / len(self.names)
        start = max(p[0] for p in found if p)
        end = min(p[-1] for p in found if p)
        if start > end:  # no sampled name lies within every gram's range: the real bounds are unknown here
            return float(self.total)
        rarest = found[0] or array("I")
        candidates = rarest[bisect_left(rarest, start) : bisect_right(rarest, end)]
        checked = candidates[:_ESTIMATE_CHECKS]
        hits = [index for index in checked if all(w in self.names[index] for w in words)]
        span = max(end - start + 1, 1) * scale  # rows between the bounds
        if not hits:  # no sampled match: matches are rare, or there are none
            return span
        density = len(hits) / len(checked) * len(candidates) / max(end - start + 1, 1)  # share of the span
        return min((hits[0] - start) * scale + need / density, span)

    def lookup(self, keys: Sequence[str], costs: _Costs) -> tuple[list[str], float, float]:
        """The rarest grams worth looking up in the gram index, the rows they hand over and the postings
        read to find them. Each further gram is read only while it narrows the rows enough to pay for
        reading its postings."""
        if not keys or not self.names:
            return list(keys[:1]), 0.0, 0.0
        scale = self.total / len(self.names)
        rows = set(self.postings.get(keys[0], ()))
        read = float(len(rows))
        chosen = [keys[0]]
        for key in keys[1 : costs.grams]:
            if len(rows) <= 1:
                break
            postings = self.postings.get(key, array("I"))
            narrower = rows.intersection(postings)
            if (len(rows) - len(narrower)) * costs.gram < len(postings) * costs.posting:
                break
            rows, read = narrower, read + len(postings)
            chosen.append(key)
        return chosen, len(rows) * scale, read * scale


#: Sampled names containing a query's rarest gram that the estimate checks, at most.
_ESTIMATE_CHECKS = 2000
#: Plans remembered per sample (a typeahead sends the same words again and again).
_PLANS_KEPT = 10_000


def like_literal(word: str) -> str:
    """``word`` as a LIKE pattern that matches it literally anywhere (escape character ``/``)."""
    escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class SearchedRows:
    """The rows a search reads and the indexes beside them: on the standalone shape tabCustomer (PostgreSQL) or
    the service's key table, which keeps each name folded (SQLite and MariaDB); on the erpnext shape the site
    mirror's Customers."""

    table: Any
    name: Any
    sort: Any  # the sort key: results are ordered by it, then by name
    folded: Any | None  # the stored folded name; None where the database folds ``sort`` itself (PostgreSQL)
    searchable: list[Any]  # enabled and not linked
    details: Any  # the table the answer's fields come from, joined by name
    shown: list[Any]  # the answer's name, customer_name, email_id and mobile_no, from ``details``
    ranges: Any  # the gram ranges: gram, first_name, last_name (bounds of ``sort``)
    grams: Any = None  # PostgreSQL: a row's array of grams, under a GIN index
    fts: str | None = None  # SQLite: the FTS5 table of the pair tokens, by ``id``
    id: Any = None  # SQLite: the row id the FTS5 table holds
    queued: bool = False  # SQLite and MariaDB, standalone: index the queued writes before searching
    order_index: str | None = None  # MariaDB: the index of the rows in result order, which the walk reads

    @property
    def columns(self) -> list[Any]:
        return [self.name, self.sort] + ([self.folded] if self.folded is not None else [])


@dataclass(frozen=True)
class _Bounds:
    """Where a query's matches can lie in result order (from the gram ranges)."""

    first: str
    last: str


class CustomerSearch:
    """Plans and runs one typeahead query; owns the sampled gram statistics."""

    #: Without statistics (just after start-up): rows an ordered walk reads before the gram index takes over.
    probe_rows = 1000
    #: The plan with the smaller estimated cost wins.
    costs = _Costs()
    #: How many names the statistics sample, and how often they are taken again.
    sample_size = 20_000
    stats_max_age = 600.0

    def __init__(self, engine: Engine, rows: SearchedRows, statement_timeout_ms: int = 5_000) -> None:
        """``engine``: where searches read (the database, or a read replica of it); ``rows``: what they read."""
        self.timeout = statement_timeout_ms / 1000
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mariadb = self.dialect in t.MARIADB
        self.flavour = Flavour(utf16_pairs=self.dialect != "postgresql")
        if self.mariadb:  # its full-text index is slow to read, and reads each gram's postings whole
            self.costs = _Costs(gram=10.0, posting=1.0, grams=3, prefixes=False)
        self._stats = _Stats()
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
        if self.mariadb and plan != "gram" and rows.order_index:
            # MariaDB reads the ordered index from the start of the searchable rows (filtering the bounds as it
            # goes) unless told to seek to the lower bound: ~10x slower on words whose names sort late.
            hint = f"FORCE INDEX ({rows.order_index})"
            walk = walk.with_hint(rows.table, hint, "mariadb").with_hint(rows.table, hint, "mysql")
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
            page = self._by_grams(walk.where(within, *matching))
        return self._with_details(page.limit(limit).offset(offset))

    def _matching(self, sort: Any, folded_name: Any | None, words: int) -> list[Any]:
        """Each folded word (parameters w0, w1, ...) a substring of the folded name: the stored one, or on
        standalone PostgreSQL the name folded by ``erpnext_medusa_fold`` (the same fold in SQL)."""
        word = [bindparam(f"w{i}", type_=String) for i in range(words)]
        if folded_name is None:
            return [func.strpos(_folded_in_sql(sort), w) > 0 for w in word]  # migration 0012
        if self.dialect == "sqlite":
            return [func.instr(folded_name, w) > 0 for w in word]
        if self.mariadb:  # code point by code point (its other collations would ignore accents or case)
            return [func.locate(w.collate("utf8mb4_bin"), folded_name) > 0 for w in word]
        return [func.strpos(folded_name, w) > 0 for w in word]

    def _by_grams(self, candidates: Select[Any]) -> Select[Any]:
        """The candidates holding the query's chosen grams (parameter ``grams``), by the gram index."""
        rows = self._rows
        if self.dialect == "postgresql":
            keyed = candidates.where(rows.grams.op("@>")(bindparam("grams", type_=t.TEXT_ARRAY)))
            # Materialised first, so the planner cannot walk the ordered index instead of using the grams.
            found = keyed.cte("found").prefix_with("MATERIALIZED")
            sort = found.c[rows.sort.name]
            return select(found.c.name, sort).order_by(sort, found.c.name)
        if self.mariadb:  # a FULLTEXT column of pair tokens (migration 0013, site revision s0004)
            match = text(f"MATCH ({rows.grams.name}) AGAINST (:grams IN BOOLEAN MODE)")
            return candidates.where(match).order_by(rows.sort, rows.name)
        assert rows.fts is not None
        fts = table(rows.fts, column("rowid"))
        matched = select(fts.c.rowid).where(
            literal_column(f'"{rows.fts}"').op("MATCH")(bindparam("grams", type_=String))
        )
        return candidates.where(rows.id.in_(matched)).order_by(rows.sort, rows.name)

    def _grams_parameter(self, keys: list[str]) -> Any:
        """The chosen grams as the gram index takes them."""
        if self.dialect == "postgresql":
            return keys
        if self.mariadb:
            return " ".join(f"+{k}" for k in keys)
        return " AND ".join(keys)

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
            if self.dialect == "postgresql":  # the bounds and the page from one snapshot, as on the others
                conn.execution_options(isolation_level="REPEATABLE READ")
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
            plan = _Plan("gram", indexed[: self.costs.grams]) if indexed else _Plan("ordered", [])
        else:
            plan = stats.plan(folded_words, keys, need, self.costs)
            self.on_plan(plan.name)
        if plan.name == "gram":
            values["grams"] = self._grams_parameter(plan.keys)
        elif self.dialect == "postgresql":
            # PostgreSQL multiplies the substring checks' default selectivities (a third each) and, expecting
            # a row or two, would read every row between the bounds and sort them: the walk is the point.
            conn.execute(_WALK_IN_ORDER)
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
            conn.execution_options(**{SQLITE_IMMEDIATE: True})
            try:
                with conn.begin():
                    if self.mariadb:
                        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    done = search_queue.catch_up(conn)
            finally:
                conn.execution_options(**{SQLITE_IMMEDIATE: False})
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

    def _statistics(self) -> _Stats:
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
            self._stats = _Stats(old.total, old.names, old.postings, time.monotonic(), old.plans)
        finally:
            self._refreshing.release()

    def refresh_statistics(self) -> None:
        """Take the statistics now (the server takes them in the background)."""
        self._stats = self.sample()

    def sample(self) -> _Stats:
        """A random sample of the unlinked, enabled customers' folded names, in result order (from the rows
        the search reads: on SQLite the key table, whose names are folded already)."""
        rows = self._rows
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(rows.table).where(*rows.searchable)).scalar_one()
            share = min(1.0, self.sample_size / total) if total else 1.0
            random: dict[str, Any] = {
                "postgresql": func.random(),
                "sqlite": (func.abs(func.random()) % 1_000_000) / 1e6,
            }
            pick: Any = random.get(self.dialect, func.rand())
            folded = rows.folded if rows.folded is not None else _folded_in_sql(rows.sort)
            query = select(folded).where(*rows.searchable, rows.sort.is_not(None)).order_by(rows.sort, rows.name)
            if share < 1.0:
                query = query.where(pick < share)
            names = list(conn.execute(query).scalars())
        postings: dict[str, array[int]] = {}
        for index, name in enumerate(names):
            for key in self.flavour.name_keys(name):
                postings.setdefault(key, array("I")).append(index)
        return _Stats(total, names, postings, time.monotonic())


#: PostgreSQL, for the rest of a search's transaction: read the ordered index, not the table or a bitmap.
_WALK_IN_ORDER = text("SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)")


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
