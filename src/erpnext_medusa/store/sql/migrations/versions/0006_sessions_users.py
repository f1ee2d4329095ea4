"""Login sessions, the service's own users, and failed-login locks.

Only the service's own tables are created; every step checks first, so it can run again. The DDL below is
this revision's own, frozen (never the service's live table definitions).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_SESSION = "erpnext_medusa_session"
_USER = "erpnext_medusa_user"
_LOGIN_FAILURE = "erpnext_medusa_login_failure"

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
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), *_MARIADB)
        .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    )


def _flag(name: str, default: int) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.SmallInteger().with_variant(mysql.INTEGER(display_width=1), *_MARIADB),
        nullable=False,
        server_default=str(default),
    )


_metadata = sa.MetaData()
_tables = (
    sa.Table(
        _SESSION,
        _metadata,
        sa.Column("sid_sha256", sa.String(64), primary_key=True),  # the sid itself is never stored
        sa.Column("user", sa.String(140), nullable=False),
        sa.Column("full_name", sa.String(140)),
        _flag("system_user", 1),
        sa.Column("csrf_token", sa.String(64)),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("last_seen_at", _datetime(), nullable=False),
        sa.Column("expires_at", _datetime(), nullable=False),
        sa.Index(f"{_SESSION}_expires_at", "expires_at"),
        **_TABLE_OPTIONS,
    ),
    sa.Table(
        _USER,
        _metadata,
        sa.Column("name", sa.String(140), primary_key=True),
        sa.Column("full_name", sa.String(140)),
        sa.Column("password", sa.Text, nullable=False),  # a passlib hash (pbkdf2_sha256 or argon2)
        _flag("enabled", 1),
        sa.Column("created_at", _datetime(), nullable=False),
        **_TABLE_OPTIONS,
    ),
    sa.Table(
        _LOGIN_FAILURE,
        _metadata,
        sa.Column("user", sa.String(140), primary_key=True),  # lower-cased login name
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", _datetime(), nullable=False),
        sa.Column("locked_until", _datetime()),
        **_TABLE_OPTIONS,
    ),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in _tables:
        if table.name not in present:
            table.create(bind)


def downgrade() -> None:
    for table in reversed(_tables):
        op.drop_table(table.name)
