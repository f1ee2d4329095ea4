"""Baseline: ERPNext's tables where absent, the medusa_id columns and indexes, our own tables, countries.

On an existing ERPNext database this only adds what is missing; it never drops, renames or retypes an
ERPNext column and never changes an existing row. Every step checks first, so a run that stopped half-way
(MariaDB commits each DDL statement on its own) can simply be run again.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import context, op

from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.migrate import MigrationError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ERPNEXT_TABLES = (t.customer, t.lead, t.address, t.dynamic_link, t.country, t.series)
_OWN_TABLES = (t.api_key,)


def _index_names(inspector: sa.Inspector, table: str) -> set[str]:
    return {str(ix["name"]) for ix in inspector.get_indexes(table) if ix.get("name")}


def _check_duplicate_medusa_ids(bind: sa.Connection) -> None:
    c = t.customer.c
    # Compare ids exactly, as the unique index will (MariaDB's default collation would fold case and accents).
    key = c.medusa_id.collate("utf8mb4_bin") if bind.dialect.name in t.MARIADB else c.medusa_id
    duplicated = (
        sa.select(key).where(c.medusa_id.is_not(None), c.medusa_id != "").group_by(key).having(sa.func.count() > 1)
    )
    rows = bind.execute(sa.select(c.medusa_id, c.name).where(key.in_(duplicated)).order_by(c.medusa_id, c.name)).all()
    if not rows:
        return
    groups: dict[str, list[str]] = {}
    for medusa_id, name in rows:
        groups.setdefault(medusa_id, []).append(name)
    listing = "\n".join(f"  medusa_id {mid!r}: Customers {', '.join(names)}" for mid, names in groups.items())
    raise MigrationError(
        "Cannot enforce one Customer per medusa_id: these ids are on more than one Customer.\n"
        f"{listing}\nClear medusa_id on all but one Customer of each id, then run `erpnext-medusa db upgrade`."
    )


def _add_unique_medusa_id(bind: sa.Connection, inspector: sa.Inspector) -> None:
    if t.MEDUSA_ID_UNIQUE_INDEX in _index_names(inspector, t.customer.name):
        return
    _check_duplicate_medusa_ids(bind)
    if bind.dialect.name in t.MARIADB:
        # MariaDB has no partial indexes: index NULLIF(medusa_id, '') through a generated column, so that
        # empty strings (like NULLs) may repeat. Binary collation: ids are compared exactly.
        columns = {col["name"] for col in inspector.get_columns(t.customer.name)}
        if t.MEDUSA_ID_KEY_COLUMN not in columns:
            op.execute(
                f"ALTER TABLE `{t.customer.name}` ADD COLUMN `{t.MEDUSA_ID_KEY_COLUMN}` varchar(140) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (NULLIF(`medusa_id`, '')) PERSISTENT"
            )
        op.execute(
            f"CREATE UNIQUE INDEX `{t.MEDUSA_ID_UNIQUE_INDEX}` ON `{t.customer.name}` (`{t.MEDUSA_ID_KEY_COLUMN}`)"
        )
    else:
        op.create_index(
            t.MEDUSA_ID_UNIQUE_INDEX,
            t.customer.name,
            ["medusa_id"],
            unique=True,
            postgresql_where=t.NON_EMPTY_MEDUSA_ID,
            sqlite_where=t.NON_EMPTY_MEDUSA_ID,
        )


def _fill_countries(bind: sa.Connection) -> None:
    if bind.execute(sa.select(sa.func.count()).select_from(t.country)).scalar_one():
        return
    now = context.config.attributes.get("stamp_time") or datetime.now()
    bind.execute(
        sa.insert(t.country),
        [
            {
                "name": c.name,
                "country_name": c.name,
                "code": c.code,
                "creation": now,
                "modified": now,
                "owner": "Administrator",
                "modified_by": "Administrator",
                "docstatus": 0,
                "idx": 0,
            }
            for c in default_countries()
        ],
    )


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in (*_ERPNEXT_TABLES, *_OWN_TABLES):
        if table.name not in existing:
            table.create(bind)

    inspector = sa.inspect(bind)
    for table in (t.customer, t.lead):
        if "medusa_id" not in {col["name"] for col in inspector.get_columns(table.name)}:
            op.add_column(table.name, sa.Column("medusa_id", sa.String(t.VARCHAR_LEN), nullable=True))

    inspector = sa.inspect(bind)
    _add_unique_medusa_id(bind, inspector)
    if t.LEAD_MEDUSA_ID_INDEX not in _index_names(inspector, t.lead.name):
        op.create_index(t.LEAD_MEDUSA_ID_INDEX, t.lead.name, ["medusa_id"])
    link_indexes = inspector.get_indexes(t.dynamic_link.name)
    if not any(ix["column_names"][:1] == ["parent"] for ix in link_indexes):
        op.create_index(t.DYNAMIC_LINK_PARENT_INDEX, t.dynamic_link.name, ["parent"])
    _fill_countries(bind)


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: it would touch ERPNext's own tables.")
