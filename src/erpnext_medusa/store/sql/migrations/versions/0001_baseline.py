"""Baseline: ERPNext's tables where absent, the medusa_id columns and indexes, our own tables, countries.

On an existing ERPNext database this only adds what is missing; it never drops, renames or retypes an
ERPNext column and never changes an existing row. Every step checks first, so a run that stopped half-way
(MariaDB commits each DDL statement on its own) can simply be run again.

The tables below are this revision's own DDL, frozen: they are the schema of the day this migration was written
(Frappe v15's layout, with Frappe's types per backend), never the service's live table definitions. A later
change to the schema is a later migration.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql, postgresql

from erpnext_medusa.store.sql.migrate import MigrationError
from erpnext_medusa.store.sql.migrations.baseline_countries import COUNTRIES

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_VARCHAR = 140

# Table options Frappe v15 uses for every MariaDB table; the mariadb:// dialect reads them under its own prefix.
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

_MEDUSA_ID_UNIQUE_INDEX = "customer_medusa_id_unique"
_MEDUSA_ID_KEY_COLUMN = "medusa_id_key"  # MariaDB only: NULLIF(medusa_id, '') as a generated column
_LEAD_MEDUSA_ID_INDEX = "lead_medusa_id_index"
_DYNAMIC_LINK_PARENT_INDEX = "erpnext_medusa_dynamic_link_parent"
_NON_EMPTY_MEDUSA_ID = sa.text("medusa_id IS NOT NULL AND medusa_id <> ''")


# ---------------------------------------------------------------------------------------------------------
# Frappe v15's column types per backend


def _int(width: int) -> sa.types.TypeEngine[Any]:
    """Int: int(width) on MariaDB, bigint on PostgreSQL."""
    return (
        sa.Integer()
        .with_variant(mysql.INTEGER(display_width=width), *_MARIADB)
        .with_variant(sa.BigInteger(), "postgresql")
    )


def _datetime() -> sa.types.TypeEngine[Any]:
    """Datetime: datetime(6) / timestamp(6)."""
    return (
        sa.DateTime()
        .with_variant(mysql.DATETIME(fsp=6), *_MARIADB)
        .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    )


def _small() -> sa.types.TypeEngine[Any]:
    """Check and docstatus: int(1) on MariaDB, smallint elsewhere."""
    return sa.SmallInteger().with_variant(mysql.INTEGER(display_width=1), *_MARIADB)


def _data(name: str, length: int = _VARCHAR, default: str | None = None) -> sa.Column[Any]:
    """Data, Link, Select, Read Only: varchar, nullable, with the field's static default if it has one."""
    return sa.Column(name, sa.String(length), server_default=default, nullable=True)


def _check(name: str) -> sa.Column[Any]:
    return sa.Column(name, _small(), nullable=False, server_default="0")


def _currency(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Numeric(21, 9), nullable=False, server_default="0")


# ---------------------------------------------------------------------------------------------------------
# the tables


_metadata = sa.MetaData()

#: Each table's indexes, in the order they are created (name, columns, MariaDB only?).
_INDEXES: dict[str, list[tuple[str, tuple[str, ...], bool]]] = {}


def _doctype(name: str, *columns: sa.Column[Any], indexes: tuple[str, ...] = (), child: bool = False) -> sa.Table:
    """A DocType table: Frappe's standard columns, the fields, and (parents) the optional columns. MariaDB also
    gets Frappe's index on `modified` (parents) or `parent` (children); PostgreSQL gets neither."""
    standard: list[sa.Column[Any]] = [
        sa.Column("name", sa.String(_VARCHAR), primary_key=True),
        sa.Column("creation", _datetime()),
        sa.Column("modified", _datetime()),
        sa.Column("modified_by", sa.String(_VARCHAR)),
        sa.Column("owner", sa.String(_VARCHAR)),
        sa.Column("docstatus", _small(), nullable=False, server_default="0"),
        sa.Column("idx", _int(8), nullable=False, server_default="0"),
    ]
    if child:
        standard += [_data("parent"), _data("parentfield"), _data("parenttype")]
    optional = [] if child else [sa.Column(n, sa.Text) for n in ("_user_tags", "_comments", "_assign", "_liked_by")]
    table = sa.Table(f"tab{name}", _metadata, *standard, *columns, *optional, **_TABLE_OPTIONS)
    _INDEXES[table.name] = [
        ("parent", ("parent",), True) if child else ("modified", ("modified",), True),
        *((column, (column,), False) for column in indexes),
    ]
    return table


_customer = _doctype(
    "Customer",
    _data("naming_series"),
    _data("salutation"),
    _data("customer_name"),
    _data("customer_type", default="Company"),
    _data("customer_group"),
    _data("territory"),
    _data("gender"),
    _data("lead_name"),
    _data("opportunity_name"),
    _data("prospect_name"),
    _data("account_manager"),
    sa.Column("image", sa.Text),
    _data("default_currency"),
    _data("default_bank_account"),
    _data("default_price_list"),
    _check("is_internal_customer"),
    sa.Column("represents_company", sa.String(_VARCHAR), unique=True),
    _data("market_segment"),
    _data("industry"),
    _data("customer_pos_id"),
    _data("website"),
    _data("language"),
    sa.Column("customer_details", sa.Text),
    _data("customer_primary_address"),
    sa.Column("primary_address", sa.Text),
    _data("customer_primary_contact"),
    _data("mobile_no"),
    _data("email_id"),
    _data("tax_id"),
    _data("tax_category"),
    _data("tax_withholding_category"),
    _data("payment_terms"),
    _data("loyalty_program"),
    _data("loyalty_program_tier"),
    _data("default_sales_partner"),
    _currency("default_commission_rate"),
    _check("so_required"),
    _check("dn_required"),
    _check("is_frozen"),
    _check("disabled"),
    _data("medusa_id"),  # the Medusa integration's custom field (Data)
    indexes=("customer_name", "customer_group"),
)

_lead = _doctype(
    "Lead",
    _data("naming_series"),
    _data("salutation"),
    _data("first_name"),
    _data("middle_name"),
    _data("last_name"),
    _data("lead_name"),
    _data("job_title"),
    _data("gender"),
    _data("source"),
    _data("lead_owner"),
    _data("status", default="Lead"),
    _data("customer"),
    _data("type"),
    _data("request_type"),
    _data("email_id"),
    _data("website"),
    _data("mobile_no"),
    _data("whatsapp_no"),
    _data("phone"),
    _data("phone_ext"),
    _data("company_name"),
    _data("no_of_employees"),
    _currency("annual_revenue"),
    _data("industry"),
    _data("market_segment"),
    _data("territory"),
    _data("fax"),
    _data("city"),
    _data("state"),
    _data("country"),
    _data("qualification_status"),
    _data("qualified_by"),
    sa.Column("qualified_on", sa.Date),
    _data("campaign_name"),
    _data("company"),
    _data("language"),
    sa.Column("image", sa.Text),
    _data("title"),
    _check("disabled"),
    _check("unsubscribed"),
    _check("blog_subscriber"),
    _data("medusa_id"),
    indexes=("lead_name", "lead_owner", "status", "email_id"),
)

_address = _doctype(
    "Address",
    _data("address_title"),
    _data("address_type"),
    _data("address_line1", 240),
    _data("address_line2", 240),
    _data("city"),
    _data("county"),
    _data("state"),
    _data("country"),
    _data("pincode"),
    _data("email_id"),
    _data("phone"),
    _data("fax"),
    _data("tax_category"),
    _check("is_primary_address"),
    _check("is_shipping_address"),
    _check("disabled"),
    _check("is_your_company_address"),
    indexes=("city", "country", "pincode"),
)

_dynamic_link = _doctype(
    "Dynamic Link",
    _data("link_doctype"),
    _data("link_name"),
    _data("link_title"),
    child=True,
)
_INDEXES[_dynamic_link.name].append(("link_doctype_link_name_index", ("link_doctype", "link_name"), False))

_country = _doctype(
    "Country",
    sa.Column("country_name", sa.String(_VARCHAR), unique=True),
    _data("date_format"),
    _data("time_format"),
    sa.Column("time_zones", sa.Text),
    _data("code"),
)

# Frappe's naming-series counters (not a DocType table, but Frappe's own).
_series = sa.Table(
    "tabSeries",
    _metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("current", _int(10), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

# The service's own table: Frappe-style API keys (no expiry yet: 0003 adds it).
_api_key = sa.Table(
    "erpnext_medusa_api_key",
    _metadata,
    sa.Column("api_key", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(_VARCHAR), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),  # SHA-256 of the secret, hex
    sa.Column("created_at", _datetime(), nullable=False),
    sa.Column("last_used_at", _datetime()),
    sa.Column("revoked_at", _datetime()),
    **_TABLE_OPTIONS,
)

_TABLES = (_customer, _lead, _address, _dynamic_link, _country, _series, _api_key)


# ---------------------------------------------------------------------------------------------------------
# the steps


def _index_names(inspector: sa.Inspector, table: str) -> set[str]:
    return {str(ix["name"]) for ix in inspector.get_indexes(table) if ix.get("name")}


def _create_table(bind: sa.Connection, table: sa.Table) -> None:
    """The table, then its indexes one by one in a fixed order (MariaDB lists keys in creation order)."""
    table.create(bind)
    mariadb = bind.dialect.name in _MARIADB
    for name, columns, mariadb_only in _INDEXES.get(table.name, ()):
        if mariadb or not mariadb_only:
            op.create_index(name, table.name, list(columns))


def _check_duplicate_medusa_ids(bind: sa.Connection) -> None:
    c = _customer.c
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
    listing = "\n".join(f"  medusa_id {mid!r}: Customers {', '.join(names)}" for mid, names in groups.items())
    raise MigrationError(
        "Cannot enforce one Customer per medusa_id: these ids are on more than one Customer.\n"
        f"{listing}\nClear medusa_id on all but one Customer of each id, then run `erpnext-medusa db upgrade`."
    )


def _add_unique_medusa_id(bind: sa.Connection, inspector: sa.Inspector) -> None:
    if _MEDUSA_ID_UNIQUE_INDEX in _index_names(inspector, _customer.name):
        return
    _check_duplicate_medusa_ids(bind)
    if bind.dialect.name in _MARIADB:
        # MariaDB has no partial indexes: index NULLIF(medusa_id, '') through a generated column, so that
        # empty strings (like NULLs) may repeat. Binary collation: ids are compared exactly.
        columns = {col["name"] for col in inspector.get_columns(_customer.name)}
        if _MEDUSA_ID_KEY_COLUMN not in columns:
            op.execute(
                f"ALTER TABLE `{_customer.name}` ADD COLUMN `{_MEDUSA_ID_KEY_COLUMN}` varchar(140) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (NULLIF(`medusa_id`, '')) PERSISTENT"
            )
        op.execute(f"CREATE UNIQUE INDEX `{_MEDUSA_ID_UNIQUE_INDEX}` ON `{_customer.name}` (`{_MEDUSA_ID_KEY_COLUMN}`)")
    else:
        op.create_index(
            _MEDUSA_ID_UNIQUE_INDEX,
            _customer.name,
            ["medusa_id"],
            unique=True,
            postgresql_where=_NON_EMPTY_MEDUSA_ID,
            sqlite_where=_NON_EMPTY_MEDUSA_ID,
        )


def _fill_countries(bind: sa.Connection) -> None:
    if bind.execute(sa.select(sa.func.count()).select_from(_country)).scalar_one():
        return
    now = context.config.attributes.get("stamp_time") or datetime.now()
    bind.execute(
        sa.insert(_country),
        [
            {
                "name": name,
                "country_name": name,
                "code": code,
                "creation": now,
                "modified": now,
                "owner": "Administrator",
                "modified_by": "Administrator",
                "docstatus": 0,
                "idx": 0,
            }
            for name, code in COUNTRIES
        ],
    )


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _TABLES:
        if table.name not in existing:
            _create_table(bind, table)

    inspector = sa.inspect(bind)
    for table in (_customer, _lead):
        if "medusa_id" not in {col["name"] for col in inspector.get_columns(table.name)}:
            op.add_column(table.name, sa.Column("medusa_id", sa.String(_VARCHAR), nullable=True))

    inspector = sa.inspect(bind)
    _add_unique_medusa_id(bind, inspector)
    if _LEAD_MEDUSA_ID_INDEX not in _index_names(inspector, _lead.name):
        op.create_index(_LEAD_MEDUSA_ID_INDEX, _lead.name, ["medusa_id"])
    link_indexes = inspector.get_indexes(_dynamic_link.name)
    if not any(ix["column_names"][:1] == ["parent"] for ix in link_indexes):
        op.create_index(_DYNAMIC_LINK_PARENT_INDEX, _dynamic_link.name, ["parent"])
    _fill_countries(bind)


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: it would touch ERPNext's own tables.")
