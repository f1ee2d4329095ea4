"""ERPNext's own tables (Frappe v15 layout) and the service's tables, as SQLAlchemy Core metadata.

The ERPNext tables carry the columns Frappe v15 creates for these DocTypes, with Frappe's types per backend
(``Check`` is ``int(1)`` on MariaDB and ``smallint`` on PostgreSQL, and so on). On an existing ERPNext
database the real tables may have more columns; every statement names its columns, so that is harmless.

Our own tables start with ``erpnext_medusa_``: DocType tables always start with ``tab``, so they never clash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.types import TypeEngine

from erpnext_medusa.domain.doctypes import NAME_LENGTH

metadata = MetaData()

MARIADB = ("mysql", "mariadb")
VARCHAR_LEN = NAME_LENGTH
OWN_PREFIX = "erpnext_medusa_"

# Table options Frappe v15 uses for every MariaDB table.
MARIADB_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_row_format": "DYNAMIC",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}
# The mariadb:// dialect reads the same options under its own prefix.
MARIADB_TABLE |= {k.replace("mysql_", "mariadb_"): v for k, v in MARIADB_TABLE.items()}


def _int(width: int) -> TypeEngine[Any]:
    return Integer().with_variant(mysql.INTEGER(display_width=width), *MARIADB).with_variant(BigInteger(), "postgresql")


def datetime6() -> TypeEngine[Any]:
    """Frappe's datetime(6), with microseconds on every database."""
    return (
        DateTime()
        .with_variant(mysql.DATETIME(fsp=6), *MARIADB)
        .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    )


def data(name: str, length: int = VARCHAR_LEN, default: str | None = None) -> Column[Any]:
    """Data, Link, Select, Read Only: varchar(length), nullable, with a static default if the field has one."""
    return Column(name, String(length), server_default=default, nullable=True)


def check(name: str, default: int = 0) -> Column[Any]:
    """Check: int(1) / smallint, NOT NULL DEFAULT 0|1."""
    return Column(
        name,
        SmallInteger().with_variant(mysql.INTEGER(display_width=1), *MARIADB),
        nullable=False,
        server_default=str(default),
    )


def currency(name: str) -> Column[Any]:
    return Column(name, Numeric(21, 9), nullable=False, server_default="0")


def long_text(name: str) -> Column[Any]:
    return Column(name, Text().with_variant(mysql.LONGTEXT(), *MARIADB))


def _standard(child: bool) -> list[Column[Any]]:
    cols: list[Column[Any]] = [
        Column("name", String(VARCHAR_LEN), primary_key=True),
        Column("creation", datetime6()),
        Column("modified", datetime6()),
        Column("modified_by", String(VARCHAR_LEN)),
        Column("owner", String(VARCHAR_LEN)),
        Column(
            "docstatus",
            SmallInteger().with_variant(mysql.INTEGER(display_width=1), *MARIADB),
            nullable=False,
            server_default="0",
        ),
        Column("idx", _int(8), nullable=False, server_default="0"),
    ]
    if child:
        cols += [data("parent"), data("parentfield"), data("parenttype")]
    return cols


def _optional() -> list[Column[Any]]:
    return [Column(n, Text) for n in ("_user_tags", "_comments", "_assign", "_liked_by")]


def _doctype(name: str, *columns: Column[Any] | Index, child: bool = False) -> Table:
    table = Table(
        f"tab{name}",
        metadata,
        *_standard(child),
        *columns,
        *([] if child else _optional()),
        **MARIADB_TABLE,
    )
    # MariaDB gets `modified` (parents) or `parent` (children) indexes; PostgreSQL gets neither.
    if child:
        Index("parent", table.c.parent).ddl_if(dialect=MARIADB)  # type: ignore[arg-type]  # a tuple is accepted
    else:
        Index("modified", table.c.modified).ddl_if(dialect=MARIADB)  # type: ignore[arg-type]  # a tuple is accepted
    return table


customer = _doctype(
    "Customer",
    data("naming_series"),
    data("salutation"),
    data("customer_name"),
    data("customer_type", default="Company"),
    data("customer_group"),
    data("territory"),
    data("gender"),
    data("lead_name"),
    data("opportunity_name"),
    data("prospect_name"),
    data("account_manager"),
    Column("image", Text),
    data("default_currency"),
    data("default_bank_account"),
    data("default_price_list"),
    check("is_internal_customer"),
    Column("represents_company", String(VARCHAR_LEN), unique=True),
    data("market_segment"),
    data("industry"),
    data("customer_pos_id"),
    data("website"),
    data("language"),
    Column("customer_details", Text),
    data("customer_primary_address"),
    Column("primary_address", Text),
    data("customer_primary_contact"),
    data("mobile_no"),
    data("email_id"),
    data("tax_id"),
    data("tax_category"),
    data("tax_withholding_category"),
    data("payment_terms"),
    data("loyalty_program"),
    data("loyalty_program_tier"),
    data("default_sales_partner"),
    currency("default_commission_rate"),
    check("so_required"),
    check("dn_required"),
    check("is_frozen"),
    check("disabled"),
    # Custom field of the Medusa integration (Data).
    data("medusa_id"),
)
Index("customer_name", customer.c.customer_name)
Index("customer_group", customer.c.customer_group)

lead = _doctype(
    "Lead",
    data("naming_series"),
    data("salutation"),
    data("first_name"),
    data("middle_name"),
    data("last_name"),
    data("lead_name"),
    data("job_title"),
    data("gender"),
    data("source"),
    data("lead_owner"),
    data("status", default="Lead"),
    data("customer"),
    data("type"),
    data("request_type"),
    data("email_id"),
    data("website"),
    data("mobile_no"),
    data("whatsapp_no"),
    data("phone"),
    data("phone_ext"),
    data("company_name"),
    data("no_of_employees"),
    currency("annual_revenue"),
    data("industry"),
    data("market_segment"),
    data("territory"),
    data("fax"),
    data("city"),
    data("state"),
    data("country"),
    data("qualification_status"),
    data("qualified_by"),
    Column("qualified_on", Date),
    data("campaign_name"),
    data("company"),
    data("language"),
    Column("image", Text),
    data("title"),
    check("disabled"),
    check("unsubscribed"),
    check("blog_subscriber"),
    data("medusa_id"),
)
Index("lead_name", lead.c.lead_name)
Index("lead_owner", lead.c.lead_owner)
Index("status", lead.c.status)
Index("email_id", lead.c.email_id)

address = _doctype(
    "Address",
    data("address_title"),
    data("address_type"),
    data("address_line1", 240),
    data("address_line2", 240),
    data("city"),
    data("county"),
    data("state"),
    data("country"),
    data("pincode"),
    data("email_id"),
    data("phone"),
    data("fax"),
    data("tax_category"),
    check("is_primary_address"),
    check("is_shipping_address"),
    check("disabled"),
    check("is_your_company_address"),
)
Index("city", address.c.city)
Index("country", address.c.country)
Index("pincode", address.c.pincode)

dynamic_link = _doctype(
    "Dynamic Link",
    data("link_doctype"),
    data("link_name"),
    data("link_title"),
    child=True,
)
Index("link_doctype_link_name_index", dynamic_link.c.link_doctype, dynamic_link.c.link_name)

country = _doctype(
    "Country",
    Column("country_name", String(VARCHAR_LEN), unique=True),
    data("date_format"),
    data("time_format"),
    Column("time_zones", Text),
    data("code"),
)

# Frappe's naming-series counters (`tabSeries` is not a DocType table, but Frappe's own).
series = Table(
    "tabSeries",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("current", _int(10), nullable=False, server_default="0"),
    **MARIADB_TABLE,
)

# ---------------------------------------------------------------------------------------------------------
# The service's own tables.

api_key = Table(
    f"{OWN_PREFIX}api_key",
    metadata,
    Column("api_key", String(64), primary_key=True),
    Column("user", String(VARCHAR_LEN), nullable=False),
    # SHA-256 of the secret, hex. Secrets are 256-bit random values, so a fast hash is enough.
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", datetime6(), nullable=False),
    Column("last_used_at", datetime6()),
    Column("revoked_at", datetime6()),
    Column("expires_at", datetime6()),  # added by migration 0003
    **MARIADB_TABLE,
)

# One row per write made through the service: who, when, from where, and each field's old and new value.
audit = Table(
    f"{OWN_PREFIX}audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", datetime6(), nullable=False),  # naive, in the site's time zone (like `modified`)
    Column("action", String(40), nullable=False),
    Column("user", String(VARCHAR_LEN), nullable=False),
    Column("client", String(64)),
    Column("storefront_key", String(40)),
    Column("medusa_actor", String(VARCHAR_LEN)),
    Column("request_id", String(64)),
    Column("customer", String(VARCHAR_LEN)),
    #: JSON array of "DocType/name" strings.
    Column("documents", Text, nullable=False),
    #: JSON object: "DocType/name" -> {field: [old, new]}.
    Column("changes", Text, nullable=False),
    Column("client_request_id", String(64)),  # added by migration 0004
    Index(f"{OWN_PREFIX}audit_at", "at"),
    Index(f"{OWN_PREFIX}audit_customer", "customer", "at"),
    **MARIADB_TABLE,
)

# One row per Medusa webhook event handled (migration 0005): a re-delivery of an event finds its row and changes
# nothing. The event id is the primary key, so two deliveries of one event cannot both be recorded.
intake_event = Table(
    f"{OWN_PREFIX}intake_event",
    metadata,
    Column("name", String(VARCHAR_LEN), primary_key=True),
    Column("received_at", datetime6(), nullable=False),
    Column("medusa_id", String(VARCHAR_LEN), nullable=False),
    Column("lead", String(VARCHAR_LEN), nullable=False),
    Column("outcome", String(20), nullable=False),
    **MARIADB_TABLE,
)

# Login sessions (migration 0006): only a SHA-256 of each sid is stored.
session = Table(
    f"{OWN_PREFIX}session",
    metadata,
    Column("sid_sha256", String(64), primary_key=True),
    Column("user", String(VARCHAR_LEN), nullable=False),
    Column("full_name", String(VARCHAR_LEN)),
    check("system_user", 1),
    Column("csrf_token", String(64)),
    Column("created_at", datetime6(), nullable=False),
    Column("last_seen_at", datetime6(), nullable=False),
    Column("expires_at", datetime6(), nullable=False),
    Index(f"{OWN_PREFIX}session_expires_at", "expires_at"),
    **MARIADB_TABLE,
)

# The service's own users, for databases without ERPNext's (migration 0006).
user = Table(
    f"{OWN_PREFIX}user",
    metadata,
    Column("name", String(VARCHAR_LEN), primary_key=True),
    Column("full_name", String(VARCHAR_LEN)),
    Column("password", Text, nullable=False),  # a passlib hash, as ERPNext's __Auth holds
    check("enabled", 1),
    Column("created_at", datetime6(), nullable=False),
    **MARIADB_TABLE,
)

# Failed logins per user, and the lock they lead to (migration 0006).
login_failure = Table(
    f"{OWN_PREFIX}login_failure",
    metadata,
    Column("user", String(VARCHAR_LEN), primary_key=True),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure_at", datetime6(), nullable=False),
    Column("locked_until", datetime6()),
    **MARIADB_TABLE,
)

# ERPNext -> Medusa (see store/sql/outbox.py): the events to deliver, and per linked Customer the last snapshot
# recorded (what a new one is compared with). `modified` is the site's; the other times the service's.
outbox = Table(
    f"{OWN_PREFIX}outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("customer", String(VARCHAR_LEN), nullable=False),
    Column("medusa_id", String(255), nullable=False),
    Column("modified", datetime6(), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: the snapshot to send
    Column("changed", Text, nullable=False),  # JSON: the snapshot keys that changed
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", datetime6(), nullable=False),
    Column("created_at", datetime6(), nullable=False),
    Column("last_attempt_at", datetime6()),
    Column("delivered_at", datetime6()),
    Column("last_status", Integer),
    Column("last_error", Text),
    Index(f"{OWN_PREFIX}outbox_due", "state", "next_attempt_at"),
    Index(f"{OWN_PREFIX}outbox_customer", "customer", "id"),
    **MARIADB_TABLE,
)
outbound = Table(
    f"{OWN_PREFIX}outbound",
    metadata,
    Column("customer", String(VARCHAR_LEN), primary_key=True),
    Column("medusa_id", String(255), nullable=False),
    Column("snapshot", Text, nullable=False),  # JSON
    Column("modified", datetime6(), nullable=False),
    Column("source", String(20), nullable=False),  # baseline (first sight), medusa (its own change) or site (sent)
    Column("updated_at", datetime6(), nullable=False),
    Index(f"{OWN_PREFIX}outbound_medusa_id", "medusa_id"),
    **MARIADB_TABLE,
)

# ERPNext's credentials (never created by the service; read when present, see store/sql/accounts.py).
erp_user = Table(
    "tabUser",
    MetaData(),
    Column("name", String(VARCHAR_LEN), primary_key=True),
    Column("enabled", Integer),
    Column("user_type", String(VARCHAR_LEN)),
    Column("full_name", String(VARCHAR_LEN)),
    Column("user_image", Text),
    Column("api_key", String(VARCHAR_LEN)),
)
erp_has_role = Table(
    "tabHas Role",
    MetaData(),
    Column("name", String(VARCHAR_LEN), primary_key=True),
    Column("parent", String(VARCHAR_LEN)),
    Column("parenttype", String(VARCHAR_LEN)),
    Column("role", String(VARCHAR_LEN)),
)
erp_auth = Table(
    "__Auth",
    MetaData(),
    Column("doctype", String(140), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("fieldname", String(140), primary_key=True),
    Column("password", Text),
    Column("encrypted", Integer),
)

# ---------------------------------------------------------------------------------------------------------
# Indexes and columns this service adds to ERPNext's tables (created by the migration on any database).

MEDUSA_ID_UNIQUE_INDEX = "customer_medusa_id_unique"
MEDUSA_ID_KEY_COLUMN = "medusa_id_key"  # MariaDB only: NULLIF(medusa_id, '') as a generated column
LEAD_MEDUSA_ID_INDEX = "lead_medusa_id_index"
#: One Lead per non-empty medusa_id (migration 0005): partial where the database allows, else (MariaDB) over the
#: Lead's own generated MEDUSA_ID_KEY_COLUMN, as for the Customer.
LEAD_MEDUSA_ID_UNIQUE_INDEX = "lead_medusa_id_unique"
#: Frappe indexes a child table's parent column on MariaDB only; address lookups need it everywhere.
DYNAMIC_LINK_PARENT_INDEX = f"{OWN_PREFIX}dynamic_link_parent"

#: A non-empty medusa_id, as the database sees it (used by the partial unique index).
NON_EMPTY_MEDUSA_ID = text("medusa_id IS NOT NULL AND medusa_id <> ''")
#: Enabled Customers without a medusa_id: the rows the typeahead searches (the search indexes are partial on
#: it where the database allows, and queries spell it the same way so the planner can prove they apply).
UNLINKED_ENABLED = text("(medusa_id IS NULL OR medusa_id = '') AND disabled = 0")

# The typeahead's gram index (see store/sql/search.py).
SEARCH_ORDER_INDEX = "customer_medusa_unlinked_order"  # PostgreSQL: unlinked, enabled customers in result order
SEARCH_GRAMS_INDEX = "customer_medusa_search_grams"  # PostgreSQL GIN
SEARCH_FTS_TABLE = f"{OWN_PREFIX}customer_search"  # SQLite only: FTS5 over pair tokens
#: SQLite and MariaDB: per Customer name, the sort key, folded name and searchable flag (SQLite: and the FTS5 row
#: id; MariaDB: and the pair tokens, under a FULLTEXT index)
SEARCH_KEY_TABLE = f"{OWN_PREFIX}customer_search_key"
SEARCH_KEY_ORDER_INDEX = f"{OWN_PREFIX}customer_search_order"  # SQLite and MariaDB: searchable rows in result order
SEARCH_QUEUE_TABLE = f"{OWN_PREFIX}search_queue"  # SQLite and MariaDB: Customer names written since indexed
#: Per gram (character or pair of a folded customer_name): the smallest and largest customer_name holding it.
GRAM_RANGE_TABLE = f"{OWN_PREFIX}gram_range"
TEXT_ARRAY = postgresql.ARRAY(Text())
