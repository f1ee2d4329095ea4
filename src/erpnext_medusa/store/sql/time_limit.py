"""A time limit on a connection's statements, set by each database's dialect (store/sql/dialects/), and a
statement stopped by it as the domain's :class:`QueryTimeoutError`. Shared by every read that answers while
someone types (the typeahead over ``tabCustomer`` and over the search mirror, the Lead lists)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.store.sql.dialects import for_dialect


@contextmanager
def statement_time_limit(conn: Connection, seconds: float) -> Iterator[float]:
    """Stop the statements run on ``conn`` inside the block once they have run for ``seconds``: PostgreSQL's
    statement_timeout for this transaction, MariaDB's max_statement_time for this session (put back
    afterwards), SQLite's progress handler. Yields the deadline (``time.monotonic()``)."""
    deadline = time.monotonic() + seconds
    dialect = for_dialect(conn.dialect.name)
    dialect.limit_statements(conn, seconds, deadline)
    try:
        yield deadline
    except DBAPIError as exc:
        if dialect.timed_out(exc):
            raise QueryTimeoutError() from None
        raise
    finally:
        # A connection the database broke is discarded, not put back, so there is nothing to undo on it; touching
        # it again would raise an error that hides the disconnect (a 500 instead of a 503).
        if not conn.invalidated:
            dialect.unlimit_statements(conn)
