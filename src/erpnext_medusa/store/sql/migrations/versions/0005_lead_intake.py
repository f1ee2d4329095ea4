"""Signup intake: one Lead per non-empty medusa_id (a database rule, like the Customer's), and the log of the
Medusa webhook events already received (so that a re-delivery changes nothing).

The unique rule is refused, with a listing, while existing Leads share a medusa_id. Every step checks first, so
a run that stopped half-way (MariaDB commits each DDL statement on its own) can simply be run again. The DDL
below is this revision's own, frozen.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from erpnext_medusa.store.sql.migrate import MigrationError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_LEAD = "tabLead"
_LEAD_UNIQUE_INDEX = "lead_medusa_id_unique"
_KEY_COLUMN = "medusa_id_key"  # MariaDB only: NULLIF(medusa_id, '') as a generated column, as on tabCustomer
_NON_EMPTY_MEDUSA_ID = sa.text("medusa_id IS NOT NULL AND medusa_id <> ''")
_EVENTS = "erpnext_medusa_intake_event"

_TABLE_OPTIONS: dict[str, Any] = {
    f"{prefix}_{option}": value
    for prefix in ("mysql", "mariadb")
    for option, value in (
        ("engine", "InnoDB"),
        ("row_format", "DYNAMIC"),
        ("charset", "utf8mb4"),
        ("collate", "utf8mb4_unicode_ci"),
    )
}


def _datetime() -> sa.types.TypeEngine[Any]:
    """datetime(6) / timestamp(6), like Frappe's Datetime."""
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), *_MARIADB)
        .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    )


_lead = sa.Table(_LEAD, sa.MetaData(), sa.Column("name", sa.String(140)), sa.Column("medusa_id", sa.String(140)))

# One row per webhook event handled: its id (the primary key, so that two deliveries of one event cannot both
# be recorded), when, for which Medusa customer, the Lead it concerned and what was done.
_events = sa.Table(
    _EVENTS,
    sa.MetaData(),
    sa.Column("name", sa.String(140), primary_key=True),
    sa.Column("received_at", _datetime(), nullable=False),
    sa.Column("medusa_id", sa.String(140), nullable=False),
    sa.Column("lead", sa.String(140), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    **_TABLE_OPTIONS,
)


def _check_duplicate_medusa_ids(bind: sa.Connection) -> None:
    c = _lead.c
    # Compare ids exactly, as the unique index will (MariaDB's default collation would fold case and accents).
    key = c.medusa_id.collate("utf8mb4_bin") if bind.dialect.name in _MARIADB else c.medusa_id
    duplicated = (
        sa.select(key).where(c.medusa_id.is_not(None), c.medusa_id != "").group_by(key).having(sa.func.count() > 1)
    )
    rows = bind.execute(sa.select(c.medusa_id, c.name).where(key.in_(duplicated)).order_by(c.medusa_id, c.name)).all()
    if not rows:
        return
    groups: dict[str, list[str]] = {}
    for medusa_id, name in rows:
        groups.setdefault(medusa_id, []).append(name)
    listing = "\n".join(f"  medusa_id {mid!r}: Leads {', '.join(names)}" for mid, names in groups.items())
    raise MigrationError(
        "Cannot enforce one Lead per medusa_id: these ids are on more than one Lead.\n"
        f"{listing}\nClear medusa_id on all but one Lead of each id, then run `erpnext-medusa db upgrade`."
    )


def _add_unique_lead_medusa_id(bind: sa.Connection) -> None:
    inspector = sa.inspect(bind)
    if _LEAD_UNIQUE_INDEX in {ix["name"] for ix in inspector.get_indexes(_LEAD)}:
        return
    _check_duplicate_medusa_ids(bind)
    if bind.dialect.name in _MARIADB:
        # No partial indexes on MariaDB: a unique index over NULLIF(medusa_id, ''), binary-collated, so that
        # empty strings (like NULLs) may repeat and ids are compared exactly.
        if _KEY_COLUMN not in {col["name"] for col in inspector.get_columns(_LEAD)}:
            op.execute(
                f"ALTER TABLE `{_LEAD}` ADD COLUMN `{_KEY_COLUMN}` varchar(140) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (NULLIF(`medusa_id`, '')) PERSISTENT"
            )
        op.execute(f"CREATE UNIQUE INDEX `{_LEAD_UNIQUE_INDEX}` ON `{_LEAD}` (`{_KEY_COLUMN}`)")
    else:
        op.create_index(
            _LEAD_UNIQUE_INDEX,
            _LEAD,
            ["medusa_id"],
            unique=True,
            postgresql_where=_NON_EMPTY_MEDUSA_ID,
            sqlite_where=_NON_EMPTY_MEDUSA_ID,
        )


def upgrade() -> None:
    bind = op.get_bind()
    _add_unique_lead_medusa_id(bind)
    if _EVENTS not in set(sa.inspect(bind).get_table_names()):
        _events.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table(_EVENTS)
    if bind.dialect.name in _MARIADB:
        op.execute(f"DROP INDEX `{_LEAD_UNIQUE_INDEX}` ON `{_LEAD}`")
        op.execute(f"ALTER TABLE `{_LEAD}` DROP COLUMN `{_KEY_COLUMN}`")
    else:
        op.drop_index(_LEAD_UNIQUE_INDEX, _LEAD)
