"""The mirror Customers' gram index and gram ranges (site revision s0004), kept by the mirror's own writes.

The service is the mirror's only writer, so no trigger keeps them: each write of :class:`~.mirror.Mirror`
calls :meth:`MirrorGrams.before` and :meth:`MirrorGrams.after` around its upserts and deletes, in the same
transaction. The gram keys themselves are the ones grams.py spells for the standalone shape:

* PostgreSQL: the ``grams`` column, an array of the folded name's characters and pairs, under a GIN index;
* MariaDB: the ``grams`` column, the folded name's pair tokens, under a FULLTEXT index;
* SQLite: the pair tokens in the contentless FTS5 table :data:`~.site_tables.CUSTOMER_GRAMS_FTS`, under the
  Customer's rowid (a contentless table forgets a row only when told the tokens it indexed: those of the
  folded name stored beside it).

The gram ranges (per gram, the smallest and largest ``sort_name`` holding it) are only widened: each write
reads its rows back in result order, so the first and last holding a gram are its bounds as the database
orders names, and widens them once at the end of its transaction, in gram order (so writers lock range rows
in one order).

:func:`searched_rows` tells the planner where all of it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, column, func, insert, literal_column, select, table

from erpnext_medusa.store.sql import site_tables as s
from erpnext_medusa.store.sql.dialects import for_dialect
from erpnext_medusa.store.sql.gram_ranges import gram_bounds
from erpnext_medusa.store.sql.grams import name_grams, pair_tokens
from erpnext_medusa.store.sql.searched_rows import SearchedRows
from erpnext_medusa.store.sql.tables import MARIADB

_c = s.customer.c
_ranges = s.gram_range
_fts = table(s.CUSTOMER_GRAMS_FTS, column(s.CUSTOMER_GRAMS_FTS), column("rowid"), column("grams"))
_rowid: Any = literal_column(f"{s.customer.name}.rowid")
_names: Any = bindparam("names", expanding=True)
#: SQLite: the rows' ids and folded names, to forget their tokens.
_STORED = select(_rowid.label("id"), _c.folded).where(_c.name.in_(_names))
#: The rows in result order, to widen the ranges of their grams (and on SQLite to index their tokens).
_IN_ORDER = select(_rowid.label("id"), _c.sort_name, _c.folded).where(_c.name.in_(_names)).order_by(_c.sort_name)
_IN_ORDER_ANYWHERE = select(_c.sort_name, _c.folded).where(_c.name.in_(_names)).order_by(_c.sort_name)
_FTS_DELETE = insert(_fts).values({s.CUSTOMER_GRAMS_FTS: "delete", "rowid": bindparam("id"), "grams": bindparam("g")})
_FTS_INSERT = insert(_fts).values(rowid=bindparam("id"), grams=bindparam("g"))


def searched_rows(dialect: str) -> SearchedRows:
    """The mirror's Customers, as the planner reads them."""
    searchable = literal_column(f"{s.customer.name}.searchable") == literal_column("1")  # the index's own spelling
    shown = [_c.name, func.coalesce(_c.customer_name, "").label("customer_name"), _c.email_id, _c.mobile_no]
    return SearchedRows(
        s.customer, _c.name, _c.sort_name, _c.folded, [searchable], s.customer, shown, _ranges,
        grams=_c.grams, fts=s.CUSTOMER_GRAMS_FTS, id=_rowid, order_index=s.CUSTOMER_SEARCH_INDEX,
    )  # fmt: skip


@dataclass
class Widening:
    """The gram bounds a transaction's writes found, to widen the ranges by at its end."""

    bounds: list[tuple[str, str, str]] = field(default_factory=list)  # (gram, first, last)

    def add(self, in_order: Iterable[Any]) -> None:
        found = gram_bounds((row.sort_name, row.folded) for row in in_order)
        self.bounds.extend((g, first, last) for g, (first, last) in found.items())


class MirrorGrams:
    """The gram index and ranges of one database's mirror."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self._widen = for_dialect(dialect).widen_ranges(_ranges)

    def column(self, folded: str) -> Any:
        """The ``grams`` column's value for a folded name."""
        if self.dialect == "postgresql":
            return sorted(name_grams(folded))
        if self.dialect in MARIADB:
            return " ".join(pair_tokens(folded))
        return None  # SQLite: the FTS5 table holds them

    def forget(self, conn: Connection, names: Sequence[str]) -> None:
        """Before rows are deleted or rewritten: SQLite forgets their tokens (the others' indexes follow the
        rows)."""
        if self.sqlite and names:
            stored = conn.execute(_STORED, {"names": list(names)}).all()
            if stored:
                conn.execute(_FTS_DELETE, [{"id": r.id, "g": " ".join(pair_tokens(r.folded))} for r in stored])

    def written(self, conn: Connection, names: Sequence[str], widening: Widening) -> None:
        """After rows were written: SQLite indexes their tokens; every database notes their grams' bounds."""
        if not names:
            return
        rows: Sequence[Any]
        if self.sqlite:
            rows = conn.execute(_IN_ORDER, {"names": list(names)}).all()
            conn.execute(_FTS_INSERT, [{"id": r.id, "g": " ".join(pair_tokens(r.folded))} for r in rows])
        else:
            rows = conn.execute(_IN_ORDER_ANYWHERE, {"names": list(names)}).all()
        widening.add(rows)

    def widen(self, conn: Connection, widening: Widening) -> None:
        """Widen the ranges by what the transaction found, in gram order."""
        # One statement may widen a gram once only (PostgreSQL refuses to update a row twice in one): a gram
        # found by several of the transaction's chunks is widened by each in a further round.
        rounds: list[list[dict[str, str]]] = []
        seen: dict[str, int] = {}
        for gram, first, last in sorted(widening.bounds):
            n = seen[gram] = seen.get(gram, -1) + 1
            if n == len(rounds):
                rounds.append([])
            rounds[n].append({"gram": gram, "first": first, "last": last})
        for values in rounds:
            conn.execute(self._widen, values)
