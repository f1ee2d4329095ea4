"""Audit rows keep the request id the client sent beside the one the server assigned.

Only the service's own table changes; the step checks first, so it can run again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_AUDIT = "erpnext_medusa_audit"


def upgrade() -> None:
    columns = {col["name"] for col in sa.inspect(op.get_bind()).get_columns(_AUDIT)}
    if "client_request_id" not in columns:
        op.add_column(_AUDIT, sa.Column("client_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column(_AUDIT, "client_request_id")
