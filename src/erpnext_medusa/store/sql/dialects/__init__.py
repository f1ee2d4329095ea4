"""What differs between the databases for the typeahead and its time limit, one module per database.

The search (store/sql/search.py) and the time limit (store/sql/time_limit.py) are written once; they ask the
connection's :class:`Dialect` for each piece that a database spells its own way: the substring check, the gram
index's candidate query and its parameter, the costs the planner weighs, how a search's connection and its
catching up are isolated, the random expression that samples names, the upsert that widens the gram ranges
(store/sql/gram_ranges.py), and the statement time limit with the error that tells a statement stopped by it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Connection, Insert, Select, TableClause
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.store.sql.dialects.mariadb import MariaDB
from erpnext_medusa.store.sql.dialects.postgresql import PostgreSQL
from erpnext_medusa.store.sql.dialects.sqlite import SQLite
from erpnext_medusa.store.sql.grams import Flavour
from erpnext_medusa.store.sql.planner import Costs
from erpnext_medusa.store.sql.searched_rows import SearchedRows


class Dialect(Protocol):
    """One database's spelling of the search's and the time limit's SQL."""

    #: How the gram index spells its keys.
    flavour: Flavour
    #: The relative costs the planner weighs the two plans with.
    costs: Costs

    def contains(self, folded_name: Any, word: Any) -> Any:
        """The condition: ``word`` is a substring of ``folded_name``, code point by code point."""
        ...

    def by_grams(self, candidates: Select[Any], rows: SearchedRows) -> Select[Any]:
        """The ``candidates`` that hold the grams of parameter ``grams``, found by the gram index, in result
        order."""
        ...

    def grams_parameter(self, keys: list[str]) -> Any:
        """The chosen grams as the gram index takes them (parameter ``grams``)."""
        ...

    def walk(self, walk: Select[Any], rows: SearchedRows) -> Select[Any]:
        """The ordered walk's ``SELECT`` as this database must be told to read ``rows``' ordered index."""
        ...

    def hold_to_walk(self, conn: Connection) -> None:
        """Before an ordered walk: keep the database's planner from reading the rows any other way."""
        ...

    def prepare_search(self, conn: Connection) -> None:
        """Set up a search's connection before it begins (its isolation level)."""
        ...

    def catching_up(self, conn: Connection) -> AbstractContextManager[Any]:
        """The transaction in which a search indexes the queued writes before it reads."""
        ...

    def random(self) -> Any:
        """A random number in [0, 1) per row, to sample names."""
        ...

    def widen_ranges(self, ranges: TableClause) -> Insert:
        """The upsert that widens the gram range rows of ``ranges`` (parameters ``gram``, ``first``, ``last``)
        to hold those bounds, inserting the grams it has no row for."""
        ...

    def limit_statements(self, conn: Connection, seconds: float, deadline: float) -> None:
        """Stop the statements run on ``conn`` once they have run for ``seconds`` (until ``deadline``)."""
        ...

    def unlimit_statements(self, conn: Connection) -> None:
        """Take the limit of :meth:`limit_statements` off again (where it outlives the transaction)."""
        ...

    def timed_out(self, exc: DBAPIError) -> bool:
        """Whether ``exc`` is a statement stopped by the time limit."""
        ...


_DIALECTS: dict[str, Dialect] = {
    "sqlite": SQLite(),
    "postgresql": PostgreSQL(),
    "mysql": MariaDB(),
    "mariadb": MariaDB(),
}


def for_dialect(name: str) -> Dialect:
    """The dialect of SQLAlchemy's dialect ``name`` (``engine.dialect.name``)."""
    try:
        return _DIALECTS[name]
    except KeyError:
        raise ValueError(f"no search dialect for the database {name!r}") from None
