"""What the SQL adapter knows of one database: its dialect's facts and ERPNext's tables as they exist there.

One :class:`Catalog` per engine, shared by the store, its transactions and the search, so that none of them
has to reach into another for a table or a dialect fact.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, MetaData, String, Table, column

from erpnext_medusa.store.sql import tables as t

_DOCTYPE_TABLES = {
    "Customer": t.customer.name,
    "Lead": t.lead.name,
    "Address": t.address.name,
    "Country": t.country.name,
}


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mariadb = self.dialect in t.MARIADB
        #: MariaDB compares names with a case-insensitive collation, as ERPNext relies on.
        self.case_insensitive_names = self.mariadb
        self._reflected: dict[str, Table] = {}
        self._lock = threading.Lock()

    def table_name(self, doctype: str) -> str:
        return _DOCTYPE_TABLES[doctype]

    def table(self, doctype: str) -> Table:
        """The DocType's table as it exists in the database (custom fields included)."""
        name = _DOCTYPE_TABLES[doctype]
        with self._lock:
            if name not in self._reflected:
                self._reflected[name] = Table(name, MetaData(), autoload_with=self.engine)
            return self._reflected[name]

    def column_lengths(self, doctype: str) -> Mapping[str, int]:
        """Maximum length of each varchar column of the DocType's table, as the database defines it."""
        return {
            col.name: int(col.type.length)
            for col in self.table(doctype).columns
            if isinstance(col.type, String) and col.type.length
        }

    def medusa_id_key(self) -> Any:
        """The expression the unique index on a Customer's medusa_id covers: on MariaDB the generated,
        binary-collated ``NULLIF(medusa_id, '')`` column (exact, and no table scan); elsewhere the column."""
        return column(t.MEDUSA_ID_KEY_COLUMN, String) if self.mariadb else t.customer.c.medusa_id

    def lead_medusa_id_key(self) -> Any:
        """The same for a Lead's medusa_id (migration 0005 gives tabLead its own generated key column)."""
        return column(t.MEDUSA_ID_KEY_COLUMN, String) if self.mariadb else t.lead.c.medusa_id
