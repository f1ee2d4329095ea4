"""A time limit on a connection's statements, each database its own way, and a statement stopped by it as the
domain's :class:`QueryTimeoutError`. Shared by every read that answers while someone types (the typeahead over
``tabCustomer`` and over the search mirror, the Lead lists)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.store.sql.tables import MARIADB

#: SQLite: virtual-machine steps between two checks of the clock (a few milliseconds): each check is a call into
#: Python, which must take the interpreter lock back from the worker's other threads.
_SQLITE_STEPS_PER_CHECK = 1_000_000


@contextmanager
def statement_time_limit(conn: Connection, seconds: float) -> Iterator[float]:
    """Stop the statements run on ``conn`` inside the block once they have run for ``seconds``: PostgreSQL's
    statement_timeout for this transaction, MariaDB's max_statement_time for this session (put back
    afterwards), SQLite's progress handler. Yields the deadline (``time.monotonic()``)."""
    deadline = time.monotonic() + seconds
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # No parallel workers either: starting them costs more than a typeahead's whole walk.
        conn.execute(
            text(
                "SELECT set_config('statement_timeout', :ms, true), "
                "set_config('max_parallel_workers_per_gather', '0', true)"
            ),
            {"ms": str(int(seconds * 1000))},
        )
    elif dialect in MARIADB:
        conn.execute(text("SET SESSION max_statement_time = :s"), {"s": seconds})
    else:
        raw: Any = conn.connection.driver_connection
        raw.set_progress_handler(lambda: time.monotonic() > deadline, _SQLITE_STEPS_PER_CHECK)
    try:
        yield deadline
    except DBAPIError as exc:
        if _timed_out(exc):
            raise QueryTimeoutError() from None
        raise
    finally:
        # A connection the database broke is discarded, not put back, so there is nothing to undo on it; touching
        # it again would raise an error that hides the disconnect (a 500 instead of a 503).
        if conn.invalidated:
            pass
        elif dialect in MARIADB:
            conn.execute(text("SET SESSION max_statement_time = 0"))
        elif dialect == "sqlite":
            sqlite_conn: Any = conn.connection.driver_connection
            sqlite_conn.set_progress_handler(None, 0)


def _timed_out(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "57014":  # PostgreSQL: query_canceled
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    if args and args[0] == 1969:  # MariaDB: max_statement_time exceeded
        return True
    return "interrupted" in str(orig)  # SQLite: the progress handler stopped it
