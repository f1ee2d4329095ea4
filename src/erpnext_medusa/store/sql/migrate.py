"""Schema upgrades (Alembic), run by ``erpnext-medusa db upgrade`` and at ``serve`` start-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from erpnext_medusa.store.sql import search_queue
from erpnext_medusa.store.sql.engine import SQLITE_IMMEDIATE
from erpnext_medusa.store.sql.site import ERPNEXT_SITE_REFUSAL, is_erpnext_site
from erpnext_medusa.store.sql.tables import MARIADB, OWN_PREFIX

VERSION_TABLE = f"{OWN_PREFIX}alembic_version"
_LOCK_KEY = 0x45524E4D  # any constant of ours: "ERNM"
_LOCK_WAIT = 600
_SCRIPTS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """The database holds data that breaks a rule the schema must enforce; the message lists the rows."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


@dataclass(frozen=True)
class UpgradeReport:
    """What :func:`upgrade` did."""

    before: str | None  # the revision the database was at (None: no schema of ours yet)
    after: str | None  # the revision it is at now
    applied: tuple[str, ...]  # the revisions applied, oldest first (empty: it was up to date)
    created_tables: tuple[str, ...]  # the tables that did not exist before, by name
    erpnext_site: bool = False  # the database is an ERPNext site's own (site.py): the standalone shape refuses it
    removed: tuple[str, ...] = ()  # what was taken off the site's tables now, object by object
    kept: tuple[str, ...] = ()  # what of the service's was left on them on purpose, and why


def upgrade(engine: Engine, *, stamp_time: datetime | None = None, revision: str = "head") -> UpgradeReport:
    """Create or upgrade the schema to the newest revision (or to ``revision``, for tests of the history); say
    what was done."""
    config = _config()
    with engine.connect() as conn:
        conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})  # SQLite: the write lock serialises runs
        with _exclusive(conn), conn.begin():  # the lock outlives the commit
            before, tables_before = _revision(conn), _tables(conn)
            erpnext_site = is_erpnext_site(conn)
            if erpnext_site and before is None:  # the service was never on this site: add nothing to it
                raise MigrationError(f"{ERPNEXT_SITE_REFUSAL} Nothing was changed.")
            config.attributes["connection"] = conn
            config.attributes["stamp_time"] = stamp_time
            command.upgrade(config, revision)
            if revision == "head" and conn.dialect.name == "sqlite":  # Customers a migration queued for the index
                search_queue.catch_up(conn)
            after, tables_after = _revision(conn), _tables(conn)
    script = ScriptDirectory.from_config(config)
    applied = tuple(reversed([r.revision for r in script.iterate_revisions(after, before)])) if after else ()
    created = tuple(sorted(tables_after - tables_before - {VERSION_TABLE}))
    return UpgradeReport(
        before=before,
        after=after,
        applied=applied,
        created_tables=created,
        erpnext_site=erpnext_site,
        removed=tuple(config.attributes.get("removed", ())),
        kept=tuple(config.attributes.get("kept", ())),
    )


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _tables(conn: Connection) -> set[str]:
    names = set(inspect(conn).get_table_names())
    if conn.dialect.name == "sqlite":  # the tables where an FTS5 index keeps its data are not worth naming
        shadow = text("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
        names -= set(conn.execute(shadow).scalars())
    return names


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it holds no schema of ours."""
    with engine.connect() as conn:
        return _revision(conn)


@contextmanager
def _exclusive(conn: Connection) -> Iterator[None]:
    """Let one process at a time upgrade this database (several service processes may start together);
    the others wait, then find nothing left to do. Session-level locks, taken before the transaction begins
    and released after it has committed."""
    dialect = conn.dialect.name
    if dialect == "postgresql":  # advisory locks are per database
        lock, unlock = text("SELECT pg_advisory_lock(:key)"), text("SELECT pg_advisory_unlock(:key)")
        params: dict[str, object] = {"key": _LOCK_KEY}
    elif dialect in MARIADB:  # GET_LOCK names are server-wide: qualify with the database
        lock = text("SELECT GET_LOCK(CONCAT(DATABASE(), '.', :name), :wait)")
        unlock = text("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.', :name))")
        params = {"name": VERSION_TABLE, "wait": _LOCK_WAIT}
    else:
        yield
        return
    got = conn.execute(lock, params).scalar()
    conn.commit()  # end the implicit transaction the lock statement opened; the lock stays
    if dialect in MARIADB and got != 1:  # 0: timed out; NULL: error
        raise MigrationError(f"another process has held the schema upgrade lock for {_LOCK_WAIT} s; try again")
    try:
        yield
    finally:
        conn.execute(unlock, params)
        conn.commit()


def pending(engine: Engine) -> bool:
    """Whether the database is behind the newest revision."""
    return current_revision(engine) != ScriptDirectory.from_config(_config()).get_current_head()
