"""What a typeahead search reads (:class:`SearchedRows`): the rows, the columns it matches and sorts on, and the
gram index and gram ranges beside them. Described by each shape (store/sql/search.py's ``standalone_rows``,
store/sql/mirror_grams.py's ``searched_rows``) and read by the search and its dialects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    grams: Any = None  # PostgreSQL: a row's array of grams (GIN index); MariaDB: its pair tokens (FULLTEXT)
    fts: str | None = None  # SQLite: the FTS5 table of the pair tokens, by ``id``
    id: Any = None  # SQLite: the row id the FTS5 table holds
    queued: bool = False  # SQLite and MariaDB, standalone: index the queued writes before searching
    order_index: str | None = None  # MariaDB: the index of the rows in result order, which the walk names

    @property
    def columns(self) -> list[Any]:
        return [self.name, self.sort] + ([self.folded] if self.folded is not None else [])
