"""Audit trail table, and an optional expiry on API keys.

Only the service's own tables change. Every step checks first, so a run that stopped half-way can simply be
run again. The DDL below is this revision's own, frozen (never the service's live table definitions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_API_KEY = "erpnext_medusa_api_key"
_AUDIT = "erpnext_medusa_audit"

# The table options of every table on MariaDB (Frappe's); the mariadb:// dialect reads them under its own prefix.
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


# One row per write made through the service: who, when, from where, and each field's old and new value.
_audit = sa.Table(
    _AUDIT,
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", _datetime(), nullable=False),  # naive, in the site's time zone (like `modified`)
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("user", sa.String(140), nullable=False),
    sa.Column("client", sa.String(64)),
    sa.Column("storefront_key", sa.String(40)),
    sa.Column("medusa_actor", sa.String(140)),
    sa.Column("request_id", sa.String(64)),
    sa.Column("customer", sa.String(140)),
    sa.Column("documents", sa.Text, nullable=False),  # JSON array of "DocType/name" strings
    sa.Column("changes", sa.Text, nullable=False),  # JSON object: "DocType/name" -> {field: [old, new]}
    **_TABLE_OPTIONS,
)
_AUDIT_INDEXES = ((f"{_AUDIT}_at", ["at"]), (f"{_AUDIT}_customer", ["customer", "at"]))


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "expires_at" not in {col["name"] for col in inspector.get_columns(_API_KEY)}:
        op.add_column(_API_KEY, sa.Column("expires_at", _datetime(), nullable=True))
    if _AUDIT not in set(inspector.get_table_names()):
        _audit.create(bind)
    # Our own table, so its indexes are checked one by one; created in a fixed order (MariaDB lists keys so).
    present = {ix["name"] for ix in sa.inspect(bind).get_indexes(_AUDIT)}
    for name, columns in _AUDIT_INDEXES:
        if name not in present:
            op.create_index(name, _AUDIT, columns)


def downgrade() -> None:
    op.drop_table(_AUDIT)
    op.drop_column(_API_KEY, "expires_at")
