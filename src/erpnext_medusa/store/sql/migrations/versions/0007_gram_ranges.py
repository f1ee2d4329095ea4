"""Where each gram's customers sit in result order, and a SQLite index any program can write under.

* ``erpnext_medusa_gram_range``: for each gram (a character, or a pair of adjacent characters, of a folded
  ``customer_name``), the smallest and largest ``customer_name`` holding it. A search walks only the names
  between its grams' ranges. The ranges only ever widen (a deleted or renamed customer leaves its range as
  it was), so they stay true bounds whatever is written; they are over every customer, linked or not.
* PostgreSQL widens them in triggers on ``tabCustomer`` (per insert statement, and per renamed row),
  MariaDB in row-level triggers, both with built-in functions only.
* SQLite: the triggers of 0002 called a function only the service registers, so any other program writing
  ``tabCustomer`` was refused. They are replaced by triggers that only note the changed names in
  ``erpnext_medusa_search_queue``; the service indexes those names (FTS5 tokens, ranges, the key table's
  folded names) after its own writes and before its next search. Every Customer is queued once here, and
  ``erpnext-medusa db upgrade`` indexes them.

Names and the gram spelling below are this revision's own, frozen. Each step checks first, so a run that
stopped half-way can be run again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_CUSTOMER = "tabCustomer"
_RANGE = "erpnext_medusa_gram_range"
_QUEUE = "erpnext_medusa_search_queue"  # SQLite
_NUMBERS = "erpnext_medusa_numbers"  # MariaDB: 1 .. the longest customer_name, to cut names into grams
_FTS_TABLE = "erpnext_medusa_customer_search"  # SQLite, from 0002
_KEY_TABLE = "erpnext_medusa_customer_search_key"  # SQLite, from 0002
_OLD_ORDER_INDEX = "customer_medusa_unlinked_order"  # SQLite: 0002's, no longer read
_KEY_ORDER_INDEX = "erpnext_medusa_customer_search_order"  # SQLite: searchable customers in result order
_OLD_SQLITE_TRIGGERS = ("erpnext_medusa_search_insert", "erpnext_medusa_search_update", "erpnext_medusa_search_delete")
#: MariaDB: the longest customer_name the ranges take, well beyond ERPNext's 140, so that a field lengthened
#: later (Customize Form) is still cut whole and its names still fit in the bounds.
_LONGEST = 1000


def _pg_widen(names: str) -> str:
    """PostgreSQL: widen the ranges of the grams of some written names (``names``: a FROM item with the column
    customer_name), with erpnext_medusa_grams from 0002. Only grams whose range must grow are upserted, in gram
    order, so that writers rarely lock the same range rows."""
    return f"""
    INSERT INTO {_RANGE} AS r (gram, first_name, last_name)
    SELECT k.gram, min(k.customer_name), max(k.customer_name)
    FROM (
        SELECT unnest(erpnext_medusa_grams(lower(w.customer_name))) AS gram, w.customer_name
        FROM {names} WHERE w.customer_name <> ''
    ) k
    GROUP BY k.gram
    HAVING NOT EXISTS (
        SELECT 1 FROM {_RANGE} e
        WHERE e.gram = k.gram AND e.first_name <= min(k.customer_name) AND e.last_name >= max(k.customer_name)
    )
    ORDER BY k.gram
    ON CONFLICT (gram) DO UPDATE
        SET first_name = least(r.first_name, excluded.first_name),
            last_name = greatest(r.last_name, excluded.last_name)"""


# PL/pgSQL, whose statements' plans are kept per session (an SQL function's would be made again each call).
# Inserts: once per statement, over all the rows it wrote. Updates: only rows whose customer_name changed
# (linking a customer costs nothing here). They run as their owner, with the search_path of this migration,
# so that any writer (another role, a restore with an empty search_path) keeps the ranges.
_PG_TRIGGER_FUNCTIONS = {
    "erpnext_medusa_gram_ranges_inserted": _pg_widen("written AS w"),
    "erpnext_medusa_gram_ranges_renamed": _pg_widen("(SELECT NEW.customer_name AS customer_name) AS w"),
}


def _postgresql(bind: sa.Connection) -> None:
    op.execute(
        f"CREATE TABLE IF NOT EXISTS {_RANGE} "
        "(gram text PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL)"
    )
    for function, body in _PG_TRIGGER_FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"SECURITY DEFINER SET search_path FROM CURRENT AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
    triggers = set(
        bind.execute(
            sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass)"), {"t": f'"{_CUSTOMER}"'}
        ).scalars()
    )
    if "erpnext_medusa_gram_ranges_insert" not in triggers:
        op.execute(
            f'CREATE TRIGGER erpnext_medusa_gram_ranges_insert AFTER INSERT ON "{_CUSTOMER}" '
            "REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION erpnext_medusa_gram_ranges_inserted()"
        )
    if "erpnext_medusa_gram_ranges_update" not in triggers:
        op.execute(
            f'CREATE TRIGGER erpnext_medusa_gram_ranges_update AFTER UPDATE OF customer_name ON "{_CUSTOMER}" '
            "FOR EACH ROW WHEN (OLD.customer_name IS DISTINCT FROM NEW.customer_name) "
            "EXECUTE FUNCTION erpnext_medusa_gram_ranges_renamed()"
        )
    # The names already there (run after the triggers exist, and widening only, so that a name written
    # meanwhile, or a fill that stopped half-way, leaves nothing out).
    op.execute(
        f"INSERT INTO {_RANGE} AS r (gram, first_name, last_name) "
        "SELECT g, min(customer_name), max(customer_name) "
        f'FROM "{_CUSTOMER}", unnest(erpnext_medusa_grams(lower(customer_name))) AS g '
        "WHERE customer_name <> '' GROUP BY g "
        "ON CONFLICT (gram) DO UPDATE SET first_name = least(r.first_name, excluded.first_name), "
        "last_name = greatest(r.last_name, excluded.last_name)"
    )


def _mariadb_grams(name: str) -> str:
    """The folded name's characters and adjacent pairs, one row each, compared code point by code point."""
    folded = f"LOWER({name})"
    return (
        f"SELECT SUBSTRING({folded}, n.n, 1) COLLATE utf8mb4_nopad_bin AS gram FROM `{_NUMBERS}` n "
        f"WHERE n.n <= CHAR_LENGTH({name}) "
        f"UNION SELECT SUBSTRING({folded}, n.n, 2) COLLATE utf8mb4_nopad_bin FROM `{_NUMBERS}` n "
        f"WHERE n.n < CHAR_LENGTH({name})"
    )


def _mariadb_widen(name: str) -> str:
    return (
        f"INSERT INTO `{_RANGE}` (gram, first_name, last_name) "
        f"SELECT k.gram, {name}, {name} FROM ({_mariadb_grams(name)}) k "
        f"LEFT JOIN `{_RANGE}` r ON r.gram = k.gram "
        f"WHERE r.gram IS NULL OR r.first_name > {name} OR r.last_name < {name} ORDER BY k.gram "
        f"ON DUPLICATE KEY UPDATE first_name = LEAST(`{_RANGE}`.first_name, VALUES(first_name)), "
        f"last_name = GREATEST(`{_RANGE}`.last_name, VALUES(last_name))"
    )


def _mariadb(bind: sa.Connection) -> None:
    columns = {col["name"]: col for col in sa.inspect(bind).get_columns(_CUSTOMER)}
    length = max(getattr(columns["customer_name"]["type"], "length", None) or 0, _LONGEST)
    collation = (
        bind.execute(
            sa.text(
                "SELECT collation_name FROM information_schema.columns WHERE table_schema = DATABASE() "
                "AND table_name = :t AND column_name = 'customer_name'"
            ),
            {"t": _CUSTOMER},
        ).scalar_one_or_none()
        or "utf8mb4_unicode_ci"
    )
    tables = set(sa.inspect(bind).get_table_names())
    if _NUMBERS not in tables:
        op.execute(f"CREATE TABLE `{_NUMBERS}` (n smallint NOT NULL PRIMARY KEY) ENGINE=InnoDB")
    op.execute(f"INSERT IGNORE INTO `{_NUMBERS}` (n) SELECT seq FROM seq_1_to_{int(length)}")
    if _RANGE not in tables:
        # The bounds compare as customer_name does (its collation); the grams code point by code point, trailing
        # spaces included (a NO PAD collation), so that "a" and "a " are two grams.
        op.execute(
            f"CREATE TABLE `{_RANGE}` (gram varchar(2) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL "
            f"PRIMARY KEY, first_name varchar({int(length)}) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL, "
            f"last_name varchar({int(length)}) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL) "
            "ENGINE=InnoDB ROW_FORMAT=DYNAMIC"
        )
    triggers = set(
        bind.execute(
            sa.text(
                "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE() "
                "AND event_object_table = :t"
            ),
            {"t": _CUSTOMER},
        ).scalars()
    )
    if "erpnext_medusa_gram_ranges_insert" not in triggers:
        op.execute(
            f"CREATE TRIGGER erpnext_medusa_gram_ranges_insert AFTER INSERT ON `{_CUSTOMER}` FOR EACH ROW "
            f"{_mariadb_widen('NEW.customer_name')}"
        )
    if "erpnext_medusa_gram_ranges_update" not in triggers:
        op.execute(
            f"CREATE TRIGGER erpnext_medusa_gram_ranges_update AFTER UPDATE ON `{_CUSTOMER}` FOR EACH ROW "
            "IF NOT (BINARY NEW.customer_name <=> BINARY OLD.customer_name) THEN "
            f"{_mariadb_widen('NEW.customer_name')}; END IF"
        )
    # The names already there (after the triggers exist, and widening only: see PostgreSQL's).
    op.execute(
        f"INSERT INTO `{_RANGE}` (gram, first_name, last_name) "
        "SELECT k.gram, MIN(k.customer_name), MAX(k.customer_name) FROM ("
        f"SELECT SUBSTRING(LOWER(c.customer_name), n.n, 1) COLLATE utf8mb4_nopad_bin AS gram, c.customer_name "
        f"FROM `{_CUSTOMER}` c JOIN `{_NUMBERS}` n ON n.n <= CHAR_LENGTH(c.customer_name) "
        f"UNION ALL SELECT SUBSTRING(LOWER(c.customer_name), n.n, 2) COLLATE utf8mb4_nopad_bin, c.customer_name "
        f"FROM `{_CUSTOMER}` c JOIN `{_NUMBERS}` n ON n.n < CHAR_LENGTH(c.customer_name)"
        ") k GROUP BY k.gram "
        f"ON DUPLICATE KEY UPDATE first_name = LEAST(`{_RANGE}`.first_name, VALUES(first_name)), "
        f"last_name = GREATEST(`{_RANGE}`.last_name, VALUES(last_name))"
    )


def _sqlite(bind: sa.Connection) -> None:
    tables = set(sa.inspect(bind).get_table_names())
    if _QUEUE not in tables:
        op.execute(f'CREATE TABLE "{_QUEUE}" (name TEXT PRIMARY KEY) WITHOUT ROWID')
    if _RANGE not in tables:
        op.execute(
            f'CREATE TABLE "{_RANGE}" (gram TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL) '
            "WITHOUT ROWID"
        )
    # What the service searches on SQLite, kept by it: each Customer's sort key, its folded name (checked by
    # SQLite's own instr(), without calling back into Python per row; its FTS5 tokens are the folded name's,
    # which FTS5 needs again to remove the row), and whether it is searchable (enabled, not linked).
    columns = {col["name"] for col in sa.inspect(bind).get_columns(_KEY_TABLE)}
    added = {"customer_name": "TEXT", "folded": "TEXT", "searchable": "INTEGER NOT NULL DEFAULT 0"}
    for column, kind in added.items():
        if column not in columns:
            op.execute(f'ALTER TABLE "{_KEY_TABLE}" ADD COLUMN {column} {kind}')
    indexes = {ix["name"] for ix in sa.inspect(bind).get_indexes(_KEY_TABLE)}
    if _KEY_ORDER_INDEX not in indexes:
        op.execute(
            f'CREATE INDEX "{_KEY_ORDER_INDEX}" ON "{_KEY_TABLE}" (customer_name, name, folded) WHERE searchable = 1'
        )
    if "folded" not in columns:
        # Index every Customer again, as the service does for queued names: start from empty.
        op.execute(f"""INSERT INTO "{_FTS_TABLE}" ("{_FTS_TABLE}") VALUES ('delete-all')""")
        op.execute(f'DELETE FROM "{_KEY_TABLE}"')
        op.execute(f'DELETE FROM "{_RANGE}"')
        op.execute(f'INSERT OR IGNORE INTO "{_QUEUE}" (name) SELECT name FROM "{_CUSTOMER}"')
    # Searches read the key table now; tabCustomer's ordered index of 0002 would only cost writes and space.
    if _OLD_ORDER_INDEX in {ix["name"] for ix in sa.inspect(bind).get_indexes(_CUSTOMER)}:
        op.execute(f'DROP INDEX "{_OLD_ORDER_INDEX}"')
    triggers = set(bind.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    for old in _OLD_SQLITE_TRIGGERS:
        if old in triggers:
            op.execute(f'DROP TRIGGER "{old}"')
    queue = {
        "insert": ("AFTER INSERT", ["NEW"]),
        "update": ("AFTER UPDATE OF name, customer_name, medusa_id, disabled", ["OLD", "NEW"]),
        "delete": ("AFTER DELETE", ["OLD"]),
    }
    for event, (when, rows) in queue.items():
        name = f"erpnext_medusa_search_queue_{event}"
        if name not in triggers:
            body = " ".join(f'INSERT OR IGNORE INTO "{_QUEUE}" (name) VALUES ({row}.name);' for row in rows)
            op.execute(f'CREATE TRIGGER "{name}" {when} ON "{_CUSTOMER}" BEGIN {body} END')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _postgresql(bind)
    elif bind.dialect.name in _MARIADB:
        _mariadb(bind)
    else:
        _sqlite(bind)


def downgrade() -> None:
    raise NotImplementedError("Drop the gram ranges by hand if you must; the service needs them.")
