"""The outbox of changes sent to Medusa: ``erpnext_medusa_outbox`` (one row per event to deliver, with its state,
attempts and Medusa's last answer) and ``erpnext_medusa_outbound`` (per linked Customer, the last snapshot
recorded, which a new one is compared with). Each step checks first, so a run that stopped half-way can run
again. The DDL is this revision's own, frozen.

Revision ID: s0002
Revises: s0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_VARCHAR = 140
_OPTIONS: dict[str, Any] = {
    f"{prefix}_{option}": value
    for prefix in _MARIADB
    for option, value in (
        ("engine", "InnoDB"),
        ("row_format", "DYNAMIC"),
        ("charset", "utf8mb4"),
        ("collate", "utf8mb4_unicode_ci"),
    )
}


def _datetime() -> sa.types.TypeEngine[Any]:
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), *_MARIADB)
        .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    )


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "erpnext_medusa_outbox" not in tables:
        op.create_table(
            "erpnext_medusa_outbox",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
            sa.Column("customer", sa.String(_VARCHAR), nullable=False),
            sa.Column("medusa_id", sa.String(255), nullable=False),
            sa.Column("modified", _datetime(), nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("changed", sa.Text, nullable=False),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("next_attempt_at", _datetime(), nullable=False),
            sa.Column("created_at", _datetime(), nullable=False),
            sa.Column("last_attempt_at", _datetime()),
            sa.Column("delivered_at", _datetime()),
            sa.Column("last_status", sa.Integer),
            sa.Column("last_error", sa.Text),
            **_OPTIONS,
        )
        op.create_index("erpnext_medusa_outbox_due", "erpnext_medusa_outbox", ["state", "next_attempt_at"])
        op.create_index("erpnext_medusa_outbox_customer", "erpnext_medusa_outbox", ["customer", "id"])
    if "erpnext_medusa_outbound" not in tables:
        op.create_table(
            "erpnext_medusa_outbound",
            sa.Column("customer", sa.String(_VARCHAR), primary_key=True),
            sa.Column("medusa_id", sa.String(255), nullable=False),
            sa.Column("snapshot", sa.Text, nullable=False),
            sa.Column("modified", _datetime(), nullable=False),
            sa.Column("source", sa.String(20), nullable=False),
            sa.Column("updated_at", _datetime(), nullable=False),
            **_OPTIONS,
        )
        op.create_index("erpnext_medusa_outbound_medusa_id", "erpnext_medusa_outbound", ["medusa_id"])


def downgrade() -> None:
    op.drop_table("erpnext_medusa_outbound")
    op.drop_table("erpnext_medusa_outbox")
