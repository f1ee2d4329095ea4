"""The site shape's own tables (built by the site track, ``site_migrations/``), as SQLAlchemy Core metadata.

In the ``erpnext`` shape the service's database holds only ``erpnext_medusa_*`` tables: those it shares with
the standalone shape (API keys, audit, intake events, sessions, users, login failures: the same definitions,
from tables.py) and the ones below, the site's mirror. Their own metadata, so that the standalone schema's
checks never expect them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.types import TypeEngine

from erpnext_medusa.store.sql import tables as t

metadata = MetaData()

MEDUSA_ID_LENGTH = 255
#: The characters of customer_name the typeahead orders by: a whole customer_name (a site may lengthen it) can be
#: longer than MariaDB or PostgreSQL can index. Two names alike over this many characters are ordered by name.
SORT_NAME_LENGTH = 400


def _exact(length: int) -> TypeEngine[Any]:
    """Compared and ordered code point by code point on every database (as Python orders strings)."""
    return (
        String(length)
        .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *t.MARIADB)
        .with_variant(String(length, collation="C"), "postgresql")
    )


def _grams() -> TypeEngine[Any]:
    """A customer's search grams (see grams.py), as its database's gram index takes them: PostgreSQL an array
    of the folded name's characters and pairs (GIN), MariaDB its pair tokens under FULLTEXT. SQLite keeps the
    pair tokens in an FTS5 table instead (:data:`CUSTOMER_GRAMS_FTS`); the column stays NULL there."""
    return (
        Text()
        .with_variant(postgresql.ARRAY(Text()), "postgresql")
        .with_variant(mysql.MEDIUMTEXT(charset="ascii", collation="ascii_general_ci"), *t.MARIADB)
    )


def _folded() -> TypeEngine[Any]:
    """A search key the service folded: binary on MariaDB, so that the database does not fold it again."""
    return Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_bin"), *t.MARIADB)


#: The searchable Customers in result order: the typeahead's ordered walk. On SQLite it holds the folded name
#: too, so that the walk reads nothing but the index (revision s0005).
CUSTOMER_SEARCH_INDEX = f"{t.OWN_PREFIX}site_customer_search"

#: The databases whose walk index stays without the folded name (``ddl_if`` takes a tuple, as typed a str).
_NOT_SQLITE: Any = ("postgresql", *t.MARIADB)

customer = Table(
    f"{t.OWN_PREFIX}site_customer",
    metadata,
    Column("name", _exact(t.VARCHAR_LEN), primary_key=True),
    Column("customer_name", Text),
    Column("email_id", Text),
    Column("mobile_no", Text),
    Column("medusa_id", _exact(MEDUSA_ID_LENGTH)),
    Column("lead_name", _exact(t.VARCHAR_LEN)),
    t.check("disabled"),
    Column("modified", t.datetime6(), nullable=False),  # the site's: the last write wins by it
    Column("folded", _folded(), nullable=False),  # fold(customer_name)
    t.check("searchable"),  # enabled and without a medusa_id: the rows the typeahead lists
    Column("sort_name", String(SORT_NAME_LENGTH), nullable=False),  # customer_name[:SORT_NAME_LENGTH]
    Column("synced_at", t.datetime6(), nullable=False),
    Column("grams", _grams()),  # the gram index's keys of `folded` (revision s0004)
    Index(CUSTOMER_SEARCH_INDEX, "searchable", "sort_name", "name").ddl_if(dialect=_NOT_SQLITE),
    Index(CUSTOMER_SEARCH_INDEX, "searchable", "sort_name", "name", "folded").ddl_if(dialect="sqlite"),
    Index(f"{t.OWN_PREFIX}site_customer_medusa_id", "medusa_id"),
    **t.MARIADB_TABLE,
)

lead = Table(
    f"{t.OWN_PREFIX}site_lead",
    metadata,
    Column("name", _exact(t.VARCHAR_LEN), primary_key=True),
    Column("lead_name", Text),
    Column("company_name", Text),
    Column("email_id", Text),
    Column("mobile_no", Text),
    Column("phone", Text),
    Column("medusa_id", _exact(MEDUSA_ID_LENGTH)),
    Column("creation", t.datetime6()),
    Column("modified", t.datetime6(), nullable=False),
    Column("folded_lead_name", _folded(), nullable=False),
    Column("folded_email_id", _folded(), nullable=False),
    Column("folded_medusa_id", _folded(), nullable=False),
    Column("synced_at", t.datetime6(), nullable=False),
    Index(f"{t.OWN_PREFIX}site_lead_medusa_id", "medusa_id"),
    **t.MARIADB_TABLE,
)

#: SQLite: the FTS5 table of the mirror Customers' pair tokens, by the Customer's rowid (contentless).
CUSTOMER_GRAMS_FTS = f"{t.OWN_PREFIX}site_customer_grams"

#: Per gram (a character or pair of characters of a folded customer_name): the smallest and largest sort_name
#: holding it, as the database orders them. Only ever widened: the bounds of every match of the gram.
gram_range = Table(
    f"{t.OWN_PREFIX}site_gram_range",
    metadata,
    Column(
        "gram",
        String(2)
        .with_variant(mysql.VARCHAR(2, charset="utf8mb4", collation="utf8mb4_nopad_bin"), *t.MARIADB)
        .with_variant(String(2, collation="C"), "postgresql"),
        primary_key=True,
    ),
    Column("first_name", String(SORT_NAME_LENGTH), nullable=False),
    Column("last_name", String(SORT_NAME_LENGTH), nullable=False),
    **t.MARIADB_TABLE,
)

sync_state = Table(
    f"{t.OWN_PREFIX}sync_state",
    metadata,
    Column("doctype", String(t.VARCHAR_LEN), primary_key=True),
    Column("watermark_modified", t.datetime6()),
    Column("watermark_name", _exact(t.VARCHAR_LEN)),
    Column("deleted_creation", t.datetime6()),
    Column("deleted_name", _exact(t.VARCHAR_LEN)),
    Column("compared_at", t.datetime6()),
    Column("error", Text),
    Column("error_at", t.datetime6()),
    **t.MARIADB_TABLE,
)

intake_failure = Table(
    f"{t.OWN_PREFIX}intake_failure",
    metadata,
    Column("event_id", String(t.VARCHAR_LEN), primary_key=True),
    Column("medusa_id", _exact(MEDUSA_ID_LENGTH), nullable=False),
    Column("payload", Text),  # JSON of the contact data a retry needs; cleared once done or dismissed
    Column("message", Text, nullable=False),
    Column("exc_type", String(t.VARCHAR_LEN)),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("first_attempt_at", t.datetime6(), nullable=False),
    Column("last_attempt_at", t.datetime6(), nullable=False),
    Column("state", String(20), nullable=False),
    Index(f"{t.OWN_PREFIX}intake_failure_state", "state", "last_attempt_at"),
    Index(f"{t.OWN_PREFIX}intake_failure_medusa_id", "medusa_id"),
    **t.MARIADB_TABLE,
)

#: Every table the site track builds, with its live definition.
SITE_TABLES: tuple[Table, ...] = (
    t.api_key,
    t.audit,
    t.intake_event,
    t.session,
    t.user,
    t.login_failure,
    customer,
    lead,
    gram_range,
    sync_state,
    intake_failure,
    t.outbox,
    t.outbound,
)
