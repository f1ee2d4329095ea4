"""Audit trail table, and an optional expiry on API keys.

Only the service's own tables change. Every step checks first, so a run that stopped half-way can simply be
run again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erpnext_medusa.store.sql import tables as t

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "expires_at" not in {col["name"] for col in inspector.get_columns(t.api_key.name)}:
        op.add_column(t.api_key.name, sa.Column("expires_at", t.api_key.c.expires_at.type, nullable=True))
    if t.audit.name not in set(inspector.get_table_names()):
        t.audit.create(bind)


def downgrade() -> None:
    op.drop_table(t.audit.name)
    op.drop_column(t.api_key.name, "expires_at")
