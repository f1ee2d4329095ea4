"""Site baseline: the service's own tables for the ``erpnext`` shape, where the documents live on an ERPNext site.

Only ``erpnext_medusa_*`` tables: the ones the standalone chain has for the service itself (API keys with their
expiry, the audit trail with the client's request id, intake events, sessions, users, login failures), as that
chain leaves them after 0006, and the site's mirror: its Customers and Medusa Leads as the typeahead searches
them, the reconciliation's state per DocType, and the Medusa customer events the site refused.

The mirror is a cache of the site, written only by the service: the values a site may lengthen (Customize Form)
are TEXT here, so that whatever the site holds is accepted; names, links and medusa ids (which are compared and
indexed) are exact, binary-ordered strings. Every step checks first, so a run that stopped half-way (MariaDB
commits each DDL statement on its own) can simply be run again. The DDL below is this revision's own, frozen.

Revision ID: s0001
Revises:
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_VARCHAR = 140  # Frappe's names and links
_MEDUSA_ID = 255
_SORT_NAME = 400  # the characters of customer_name the search orders by (see the customer table below)

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
    """datetime(6) / timestamp(6), like Frappe's Datetime (naive, microseconds kept)."""
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


def _exact(length: int) -> sa.types.TypeEngine[Any]:
    """A string compared and ordered code point by code point on every database (SQLite's default; "C" on
    PostgreSQL; utf8mb4_bin on MariaDB, whose default collation would fold case and accents)."""
    return (
        sa.String(length)
        .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *_MARIADB)
        .with_variant(sa.String(length, collation="C"), "postgresql")
    )


def _text() -> sa.types.TypeEngine[Any]:
    return sa.Text()


def _folded() -> sa.types.TypeEngine[Any]:
    """A folded search key: searched for substrings exactly (binary on MariaDB, so it is not folded again)."""
    return sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_bin"), *_MARIADB)


_metadata = sa.MetaData()

# ---------------------------------------------------------------------------------------------------------
# the service's own tables, as the standalone chain has them after 0006

_api_key = sa.Table(
    "erpnext_medusa_api_key",
    _metadata,
    sa.Column("api_key", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(_VARCHAR), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),  # SHA-256 of the secret, hex
    sa.Column("created_at", _datetime(), nullable=False),
    sa.Column("last_used_at", _datetime()),
    sa.Column("revoked_at", _datetime()),
    sa.Column("expires_at", _datetime()),
    **_TABLE_OPTIONS,
)

_audit = sa.Table(
    "erpnext_medusa_audit",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", _datetime(), nullable=False),  # naive, in the site's time zone (like `modified`)
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("user", sa.String(_VARCHAR), nullable=False),
    sa.Column("client", sa.String(64)),
    sa.Column("storefront_key", sa.String(40)),
    sa.Column("medusa_actor", sa.String(_VARCHAR)),
    sa.Column("request_id", sa.String(64)),
    sa.Column("customer", sa.String(_VARCHAR)),
    sa.Column("documents", sa.Text, nullable=False),  # JSON array of "DocType/name" strings
    sa.Column("changes", sa.Text, nullable=False),  # JSON object: "DocType/name" -> {field: [old, new]}
    sa.Column("client_request_id", sa.String(64)),
    **_TABLE_OPTIONS,
)

_intake_event = sa.Table(
    "erpnext_medusa_intake_event",
    _metadata,
    sa.Column("name", sa.String(_VARCHAR), primary_key=True),
    sa.Column("received_at", _datetime(), nullable=False),
    sa.Column("medusa_id", sa.String(_VARCHAR), nullable=False),
    sa.Column("lead", sa.String(_VARCHAR), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    **_TABLE_OPTIONS,
)

_session = sa.Table(
    "erpnext_medusa_session",
    _metadata,
    sa.Column("sid_sha256", sa.String(64), primary_key=True),  # the sid itself is never stored
    sa.Column("user", sa.String(_VARCHAR), nullable=False),
    sa.Column("full_name", sa.String(_VARCHAR)),
    _flag("system_user", 1),
    sa.Column("csrf_token", sa.String(64)),
    sa.Column("created_at", _datetime(), nullable=False),
    sa.Column("last_seen_at", _datetime(), nullable=False),
    sa.Column("expires_at", _datetime(), nullable=False),
    **_TABLE_OPTIONS,
)

_user = sa.Table(
    "erpnext_medusa_user",
    _metadata,
    sa.Column("name", sa.String(_VARCHAR), primary_key=True),
    sa.Column("full_name", sa.String(_VARCHAR)),
    sa.Column("password", sa.Text, nullable=False),  # a passlib hash (pbkdf2_sha256 or argon2)
    _flag("enabled", 1),
    sa.Column("created_at", _datetime(), nullable=False),
    **_TABLE_OPTIONS,
)

_login_failure = sa.Table(
    "erpnext_medusa_login_failure",
    _metadata,
    sa.Column("user", sa.String(_VARCHAR), primary_key=True),  # lower-cased login name
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_failure_at", _datetime(), nullable=False),
    sa.Column("locked_until", _datetime()),
    **_TABLE_OPTIONS,
)

# ---------------------------------------------------------------------------------------------------------
# the mirror

# The site's Customers. `folded` is customer_name case-folded by the service (the search's key); `searchable`
# is 1 for the enabled Customers without a medusa_id (the rows the typeahead lists); `sort_name` is
# customer_name's first _SORT_NAME characters, the order the typeahead lists them in (a whole customer_name may
# be longer than MariaDB and PostgreSQL can index). `modified` is the site's, exact: the last write wins by it.
_customer = sa.Table(
    "erpnext_medusa_site_customer",
    _metadata,
    sa.Column("name", _exact(_VARCHAR), primary_key=True),
    sa.Column("customer_name", _text()),
    sa.Column("email_id", _text()),
    sa.Column("mobile_no", _text()),
    sa.Column("medusa_id", _exact(_MEDUSA_ID)),
    sa.Column("lead_name", _exact(_VARCHAR)),
    _flag("disabled", 0),
    sa.Column("modified", _datetime(), nullable=False),
    sa.Column("folded", _folded(), nullable=False),
    _flag("searchable", 0),
    sa.Column("sort_name", sa.String(_SORT_NAME), nullable=False),
    sa.Column("synced_at", _datetime(), nullable=False),
    **_TABLE_OPTIONS,
)

# The site's Leads that carry a medusa_id, with the fields the back office searches folded beside them.
_lead = sa.Table(
    "erpnext_medusa_site_lead",
    _metadata,
    sa.Column("name", _exact(_VARCHAR), primary_key=True),
    sa.Column("lead_name", _text()),
    sa.Column("company_name", _text()),
    sa.Column("email_id", _text()),
    sa.Column("mobile_no", _text()),
    sa.Column("phone", _text()),
    sa.Column("medusa_id", _exact(_MEDUSA_ID)),
    sa.Column("creation", _datetime()),
    sa.Column("modified", _datetime(), nullable=False),
    sa.Column("folded_lead_name", _folded(), nullable=False),
    sa.Column("folded_email_id", _folded(), nullable=False),
    sa.Column("folded_medusa_id", _folded(), nullable=False),
    sa.Column("synced_at", _datetime(), nullable=False),
    **_TABLE_OPTIONS,
)

# The reconciliation's place per DocType: the last document seen (modified, then name, so that a page boundary
# inside one `modified` value is exact), the last Deleted Document seen, the last full comparison of the names,
# the last error. One small row per DocType, updated in place.
_sync_state = sa.Table(
    "erpnext_medusa_sync_state",
    _metadata,
    sa.Column("doctype", sa.String(_VARCHAR), primary_key=True),
    sa.Column("watermark_modified", _datetime()),
    sa.Column("watermark_name", _exact(_VARCHAR)),
    sa.Column("deleted_creation", _datetime()),
    sa.Column("deleted_name", _exact(_VARCHAR)),
    sa.Column("compared_at", _datetime()),
    sa.Column("error", sa.Text),
    sa.Column("error_at", _datetime()),
    **_TABLE_OPTIONS,
)

# Medusa customer events the site refused, to retry or dismiss. `payload` is the contact data a retry needs
# (JSON), cleared once the event is done or dismissed.
_intake_failure = sa.Table(
    "erpnext_medusa_intake_failure",
    _metadata,
    sa.Column("event_id", sa.String(_VARCHAR), primary_key=True),
    sa.Column("medusa_id", _exact(_MEDUSA_ID), nullable=False),
    sa.Column("payload", sa.Text),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("exc_type", sa.String(_VARCHAR)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("first_attempt_at", _datetime(), nullable=False),
    sa.Column("last_attempt_at", _datetime(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    **_TABLE_OPTIONS,
)


#: Each table's indexes, created one by one in this order (MariaDB lists keys in creation order).
_INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "erpnext_medusa_audit": [
        ("erpnext_medusa_audit_at", ["at"]),
        ("erpnext_medusa_audit_customer", ["customer", "at"]),
    ],
    "erpnext_medusa_session": [("erpnext_medusa_session_expires_at", ["expires_at"])],
    "erpnext_medusa_site_customer": [
        ("erpnext_medusa_site_customer_search", ["searchable", "sort_name", "name"]),
        ("erpnext_medusa_site_customer_medusa_id", ["medusa_id"]),  # not unique: the site enforces it
    ],
    "erpnext_medusa_site_lead": [("erpnext_medusa_site_lead_medusa_id", ["medusa_id"])],
    "erpnext_medusa_intake_failure": [
        ("erpnext_medusa_intake_failure_state", ["state", "last_attempt_at"]),
        ("erpnext_medusa_intake_failure_medusa_id", ["medusa_id"]),
    ],
}


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in _metadata.sorted_tables:
        if table.name not in present:
            table.create(bind)
        indexes = {ix["name"] for ix in sa.inspect(bind).get_indexes(table.name)}
        for name, columns in _INDEXES.get(table.name, []):
            if name not in indexes:
                op.create_index(name, table.name, columns)


def downgrade() -> None:
    for table in reversed(_metadata.sorted_tables):
        op.drop_table(table.name)
