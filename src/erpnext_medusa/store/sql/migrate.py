"""Schema upgrades (Alembic), run by ``erpnext-medusa db upgrade`` and at ``serve`` start-up.

Two tracks, each its own chain of revisions with its own version table:

* ``standalone`` (``migrations/``): ERPNext's tables in ERPNext's layout plus the service's own, for the
  shape where the documents live in the service's database (or an ERPNext database it may add to);
* ``site`` (``site_migrations/``): only the service's own ``erpnext_medusa_*`` tables and the search mirror,
  for the shape where the documents live on an ERPNext site reached through its REST API.

A database carries one track: upgrading it with the other is refused, so that neither becomes the other by a
wrong setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

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
SITE_VERSION_TABLE = f"{OWN_PREFIX}site_alembic_version"
_LOCK_KEY = 0x45524E4D  # any constant of ours: "ERNM"
_LOCK_WAIT = 600

Track = Literal["standalone", "site"]


@dataclass(frozen=True)
class _Track:
    scripts: Path
    version_table: str
    described: str  # what a database of this track is, for the refusal message


_TRACKS: dict[str, _Track] = {
    "standalone": _Track(
        Path(__file__).with_name("migrations"), VERSION_TABLE, "a standalone database (ERPNext's tables of its own)"
    ),
    "site": _Track(
        Path(__file__).with_name("site_migrations"), SITE_VERSION_TABLE, "an ERPNext site's mirror database"
    ),
}
#: ERPNext's layout: a database holding it is never made a site mirror (it is a standalone one, or a site's own).
_ERPNEXT_MARKER = "tabCustomer"


class MigrationError(RuntimeError):
    """The database holds data that breaks a rule the schema must enforce; the message lists the rows."""


def _track(track: Track) -> _Track:
    if track not in _TRACKS:
        raise ValueError(f"unknown migration track {track!r}")
    return _TRACKS[track]


def _config(track: Track) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_track(track).scripts))
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


def upgrade(
    engine: Engine, *, stamp_time: datetime | None = None, revision: str = "head", track: Track = "standalone"
) -> UpgradeReport:
    """Create or upgrade ``track``'s schema to its newest revision (or to ``revision``, for tests of the
    history); say what was done. Refuses (:class:`MigrationError`) a database that carries the other track."""
    config = _config(track)
    version_table = _track(track).version_table
    with engine.connect() as conn:
        conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})  # SQLite: the write lock serialises runs
        with _exclusive(conn), conn.begin():  # the lock outlives the commit
            tables_before = _tables(conn)
            _refuse_other_track(track, tables_before)
            before = _revision(conn, track)
            erpnext_site = track == "standalone" and is_erpnext_site(conn)
            if erpnext_site and before is None:  # the service was never on this site: add nothing to it
                raise MigrationError(f"{ERPNEXT_SITE_REFUSAL} Nothing was changed.")
            config.attributes["connection"] = conn
            config.attributes["stamp_time"] = stamp_time
            command.upgrade(config, revision)
            if track == "standalone" and revision == "head" and conn.dialect.name != "postgresql" and not erpnext_site:
                search_queue.catch_up(conn)  # Customers a migration queued for the search index
            after, tables_after = _revision(conn, track), _tables(conn)
    script = ScriptDirectory.from_config(config)
    applied = tuple(reversed([r.revision for r in script.iterate_revisions(after, before)])) if after else ()
    created = tuple(sorted(tables_after - tables_before - {version_table}))
    return UpgradeReport(
        before=before,
        after=after,
        applied=applied,
        created_tables=created,
        erpnext_site=erpnext_site,
        removed=tuple(config.attributes.get("removed", ())),
        kept=tuple(config.attributes.get("kept", ())),
    )


def _refuse_other_track(track: Track, tables: set[str]) -> None:
    """A database of the other track (its version table, or for the site track ERPNext's own tables) is not
    this track's to change."""
    other: Track = "site" if track == "standalone" else "standalone"
    found = _track(other).version_table in tables or (track == "site" and _ERPNEXT_MARKER in tables)
    if found:
        raise MigrationError(
            f"This database is {_track(other).described}, not {_track(track).described}: refusing to add the "
            f"{track} schema to it. Point the service at the database meant for this setting "
            "(ERPNEXT_MEDUSA_BACKEND and ERPNEXT_MEDUSA_DATABASE_URL), or at a new, empty one."
        )


def _revision(conn: Connection, track: Track) -> str | None:
    opts = {"version_table": _track(track).version_table}
    return MigrationContext.configure(conn, opts=opts).get_current_revision()


def _tables(conn: Connection) -> set[str]:
    names = set(inspect(conn).get_table_names())
    if conn.dialect.name == "sqlite":  # the tables where an FTS5 index keeps its data are not worth naming
        shadow = text("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
        names -= set(conn.execute(shadow).scalars())
    return names


def current_revision(engine: Engine, track: Track = "standalone") -> str | None:
    """The revision of ``track`` the database is at; None when it holds no schema of that track."""
    with engine.connect() as conn:
        return _revision(conn, track)


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


def pending(engine: Engine, track: Track = "standalone") -> bool:
    """Whether the database is behind ``track``'s newest revision."""
    return current_revision(engine, track) != ScriptDirectory.from_config(_config(track)).get_current_head()
