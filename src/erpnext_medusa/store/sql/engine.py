"""Engine construction per backend: connection settings that make each database behave the same way."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from erpnext_medusa.domain.text import case_fold
from erpnext_medusa.store.sql.errors import discard_broken_connections, is_retryable
from erpnext_medusa.store.sql.grams import SQLITE_GRAMS_FUNCTION, sqlite_grams

#: Execution option: begin the SQLite transaction with BEGIN IMMEDIATE (take the write lock up front).
SQLITE_IMMEDIATE = "sqlite_immediate"


def _sqlite_fold(value: str | None) -> str | None:
    return None if value is None else case_fold(value)


def make_engine(url: URL, *, pool_size: int = 10, pool_timeout: float = 2.0) -> Engine:
    """``pool_timeout``: how long a request waits for a free connection before it is told to come back later."""
    backend = url.get_backend_name()
    # No values (PII) in error logs.
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True, "pool_timeout": pool_timeout}
    if backend == "sqlite":
        # One connection per checkout keeps threads apart; a busy timeout instead of "database is locked".
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    elif backend == "postgresql":
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        # No server-side prepared statements: their generic plans cannot use the partial indexes (their
        # predicates hold literals) and scan IN lists one by one.
        kwargs["connect_args"] = {"prepare_threshold": None}
    else:  # MariaDB / MySQL
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=3600)
        kwargs["connect_args"] = {"charset": "utf8mb4"}
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine)
        discard_broken_connections(engine)
    elif backend in ("mysql", "mariadb"):
        _configure_mariadb(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        # SQLite's own lower() folds ASCII only; replace it with a Unicode case fold.
        dbapi_conn.create_function("lower", 1, _sqlite_fold, deterministic=True)
        # Migration 0002's triggers indexed names through it (0007 replaced them; 0002 still runs on new files).
        dbapi_conn.create_function(SQLITE_GRAMS_FUNCTION, 1, sqlite_grams, deterministic=True)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _configure_mariadb(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        cur = dbapi_conn.cursor()
        # The collation Frappe's tables use, so that values we send compare the way ERPNext's columns do.
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.close()


T = TypeVar("T")
#: Times a transaction that lost a deadlock (or a serialization race) is run again from the start.
WRITE_ATTEMPTS = 5


def write_retrying(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction (SQLite's taken with BEGIN IMMEDIATE); again from the start when it loses
    a deadlock."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
                with conn.begin():
                    return work(conn)
        except DBAPIError as exc:
            if attempt == WRITE_ATTEMPTS or not is_retryable(exc):
                raise
    raise RuntimeError("unreachable: the last attempt either returned or raised")
