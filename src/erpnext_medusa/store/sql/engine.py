"""Engine construction per backend: connection settings that make each database behave the same way."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL

#: Execution option: begin the SQLite transaction with BEGIN IMMEDIATE (take the write lock up front).
SQLITE_IMMEDIATE = "sqlite_immediate"


def _sqlite_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def make_engine(url: URL, *, pool_size: int = 10) -> Engine:
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"future": True}
    if backend == "sqlite":
        # One connection per checkout keeps threads apart; a busy timeout instead of "database is locked".
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    elif backend == "postgresql":
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    else:  # MariaDB / MySQL
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=3600)
        kwargs["connect_args"] = {"charset": "utf8mb4"}
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine)
    elif backend in ("mysql", "mariadb"):
        _configure_mariadb(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        # Unicode-aware lower(), so that case-insensitive matching agrees with PostgreSQL and MariaDB.
        dbapi_conn.create_function("lower", 1, _sqlite_lower, deterministic=True)
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
        # Frappe runs with READ COMMITTED-like expectations; REPEATABLE READ (the default) is kept, but
        # the session must use utf8mb4 so that every character round-trips.
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.close()
