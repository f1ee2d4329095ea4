"""Database failures the caller can do something about, as domain errors.

A connection the database broke (a restarted server, a terminated backend, an SQLite file that turned
read-only or vanished) is discarded by the pool, so the next request opens a fresh one and the service recovers
by itself as soon as the database is usable again; meanwhile callers get a 503 with Retry-After rather than a
500. A pool with every connection busy answers the same way, quickly.
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from erpnext_medusa.domain.errors import ServiceUnavailableError

P = ParamSpec("P")
T = TypeVar("T")

#: SQLite errors after which a connection is no use: it stays read-only, or its file is gone.
_SQLITE_BROKEN = ("readonly database", "disk i/o error", "unable to open database")


def discard_broken_connections(engine: Engine) -> None:
    """Treat SQLite failures that outlive their cause as disconnects, so the pool drops those connections
    (the other backends' drivers report their disconnects themselves)."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.original_exception
        if isinstance(error, sqlite3.OperationalError) and any(m in str(error).lower() for m in _SQLITE_BROKEN):
            context.is_disconnect = True
            # Close the idle connections now rather than one by one as they are next used: SQLite shares some
            # state between all connections of a process to one database (the WAL index, opened read-only if
            # the files were), and only once none is left open does the next connection start afresh.
            engine.pool.dispose()


@contextmanager
def unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except PoolTimeout:
        busy = "Every database connection is busy; try again in a moment."
        raise ServiceUnavailableError(busy, 1, reason="db_pool_exhausted") from None
    except DBAPIError as exc:
        if exc.connection_invalidated or _unreachable(exc):
            # The failed call's frames hold the discarded connection (through its cursor) in reference cycles
            # that may live until the next full garbage collection. SQLite keeps a connection's files, and the
            # state shared by every connection of the process, until the connection is really gone: with one
            # left over from while the files were read-only, writes would keep failing after they are writable
            # again. Letting go of the frames' variables frees it now.
            traceback.clear_frames(exc.__traceback__)
            gone = "The database is unavailable; try again in a moment."
            raise ServiceUnavailableError(gone, 5, reason="db_unavailable") from None
        raise


#: MariaDB client errors: cannot connect, server has gone away, lost connection during a query.
_MARIADB_UNREACHABLE = {2002, 2003, 2006, 2013}


def _unreachable(exc: DBAPIError) -> bool:
    """Whether no connection could be made at all (a stopped server, a refused port): the driver's own
    connection errors, which carry no server error code."""
    orig = exc.orig
    if type(orig).__module__.startswith("psycopg"):
        return type(orig).__name__ == "OperationalError" and getattr(orig, "sqlstate", None) is None
    args: tuple[object, ...] = getattr(orig, "args", ())
    return len(args) > 0 and args[0] in _MARIADB_UNREACHABLE


# Deadlock / serialisation failure / lock wait timeout: the transaction may simply be run again.
_RETRY_PG_CODES = {"40P01", "40001"}
_RETRY_MARIADB_CODES = {1213, 1205}


def is_retryable(exc: DBAPIError) -> bool:
    """Whether the failed transaction may simply be run again (it lost a deadlock or a serialisation race)."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    if code in _RETRY_PG_CODES:
        return True
    args: tuple[object, ...] = getattr(orig, "args", ())
    return len(args) > 0 and args[0] in _RETRY_MARIADB_CODES


def translated(method: Callable[P, T]) -> Callable[P, T]:
    """A storage method whose unavailable-database failures are :class:`ServiceUnavailableError`."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with unavailable_as_503():
            return method(*args, **kwargs)

    return wrapper
