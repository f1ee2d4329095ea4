"""Schema upgrades (Alembic), run by ``erpnext-medusa db upgrade`` and at ``serve`` start-up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from erpnext_medusa.store.sql.tables import OWN_PREFIX

VERSION_TABLE = f"{OWN_PREFIX}alembic_version"
_SCRIPTS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """The database holds data that breaks a rule the schema must enforce; the message lists the rows."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine, *, stamp_time: datetime | None = None) -> None:
    """Create or upgrade the schema to the newest revision."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["stamp_time"] = stamp_time
        command.upgrade(config, "head")


def pending(engine: Engine) -> bool:
    """Whether the database is behind the newest revision."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    return current != head
