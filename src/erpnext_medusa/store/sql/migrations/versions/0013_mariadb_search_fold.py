"""Standalone MariaDB folds customer names as the service's search fold does, kept by the service as on SQLite.

A generated column and a FULLTEXT index cannot call a stored function, and MariaDB has no normalisation
function, so MariaDB folded with ``lower()`` until now. From this revision it works as SQLite does since 0007:

* ``erpnext_medusa_search_queue``: the names of the Customers written since they were indexed. Triggers on
  ``tabCustomer`` note every insert, delete, rename, new ``customer_name``, link, unlink, disable and enable
  there, in the writer's own transaction, whoever the writer is. The insert trigger skips its row while the
  session's user variable ``@erpnext_medusa_bulk`` is set: the service's import sets it around its own batched
  inserts and writes their key rows itself, in the same transaction.
* ``erpnext_medusa_customer_search_key``: per Customer, the sort key (``customer_name``, compared as
  ``tabCustomer`` compares it), the folded name (compared code point by code point), its pair tokens under a
  FULLTEXT index, and whether it is searchable (enabled, not linked); the service writes it from the queue.
* The gram ranges are widened by the service from the queue; the row triggers of 0007, the generated column
  and the FULLTEXT index of 0002, the ordered index of 0002 and 0007's numbers table are dropped. The ranges
  are emptied and every Customer queued: ``erpnext-medusa db upgrade`` indexes them.

An ERPNext site's database (0009 took the search index off it) and the other databases are left as they are.

Names, tables and expressions below are this revision's own, frozen. The downgrade restores 0002's and 0007's
index, triggers and ranges (``lower()``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_CUSTOMER = "tabCustomer"
_RANGE = "erpnext_medusa_gram_range"
_QUEUE = "erpnext_medusa_search_queue"
_KEY_TABLE = "erpnext_medusa_customer_search_key"
_KEY_ORDER_INDEX = "erpnext_medusa_customer_search_order"
_KEY_TOKENS_INDEX = "erpnext_medusa_customer_search_tokens"
_QUEUE_TRIGGER = "erpnext_medusa_search_queue_"  # + insert, update, delete
_BULK = "@erpnext_medusa_bulk"
# 0002's and 0007's, dropped here and restored by the downgrade.
_NUMBERS = "erpnext_medusa_numbers"
_MEDUSA_ID_KEY_COLUMN = "medusa_id_key"
_ORDER_INDEX = "customer_medusa_unlinked_order"
_GRAMS_INDEX = "customer_medusa_search_grams"
_GRAMS_COLUMN = "medusa_search_grams"
_RANGE_TRIGGERS = ("erpnext_medusa_gram_ranges_insert", "erpnext_medusa_gram_ranges_update")
_END_UNIT = "FFFF"
_LONGEST = 1000


def _column(bind: sa.Connection, column: str) -> tuple[int, str]:
    """tabCustomer's column: its length and collation."""
    length, collation = bind.execute(
        sa.text(
            "SELECT character_maximum_length, collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = :t AND column_name = :c"
        ),
        {"t": _CUSTOMER, "c": column},
    ).one()
    return int(length), str(collation)


def _triggers(bind: sa.Connection) -> set[str]:
    return set(
        bind.execute(
            sa.text(
                "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE() "
                "AND event_object_table = :t"
            ),
            {"t": _CUSTOMER},
        ).scalars()
    )


def _is_standalone_mariadb(bind: sa.Connection) -> bool:
    return bind.dialect.name in _MARIADB and _RANGE in set(sa.inspect(bind).get_table_names())


def _upgrade(bind: sa.Connection) -> None:
    name_length, name_collation = _column(bind, "name")
    length, collation = _column(bind, "customer_name")
    tables = set(sa.inspect(bind).get_table_names())
    if _QUEUE not in tables:
        op.execute(
            f"CREATE TABLE `{_QUEUE}` (name varchar({name_length}) CHARACTER SET utf8mb4 COLLATE {name_collation} "
            "NOT NULL PRIMARY KEY) ENGINE=InnoDB"
        )
    if _KEY_TABLE not in tables:
        # The ordered index holds the searchable rows in result order; the folded name is read beside it.
        op.execute(
            f"CREATE TABLE `{_KEY_TABLE}` (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, "
            f"name varchar({name_length}) CHARACTER SET utf8mb4 COLLATE {name_collation} NOT NULL UNIQUE, "
            f"customer_name varchar({length}) CHARACTER SET utf8mb4 COLLATE {collation}, "
            "folded mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, "
            "tokens mediumtext CHARACTER SET ascii COLLATE ascii_general_ci, "
            "searchable tinyint NOT NULL DEFAULT 0, "
            f"INDEX `{_KEY_ORDER_INDEX}` (searchable, customer_name, name), "
            f"FULLTEXT INDEX `{_KEY_TOKENS_INDEX}` (tokens)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC"
        )
    triggers = _triggers(bind)
    changed = " OR ".join(
        f"NOT (BINARY NEW.{c} <=> BINARY OLD.{c})" for c in ("name", "customer_name", "medusa_id", "disabled")
    )
    bodies = {
        "insert": ("AFTER INSERT", f"IF {_BULK} IS NULL THEN INSERT IGNORE INTO `{_QUEUE}` (name) VALUES (NEW.name); "
                   "END IF"),
        "update": ("AFTER UPDATE", f"IF {changed} THEN INSERT IGNORE INTO `{_QUEUE}` (name) VALUES (OLD.name), "
                   "(NEW.name); END IF"),
        "delete": ("AFTER DELETE", f"INSERT IGNORE INTO `{_QUEUE}` (name) VALUES (OLD.name)"),
    }  # fmt: skip
    for event, (when, body) in bodies.items():
        trigger = f"{_QUEUE_TRIGGER}{event}"
        if trigger not in triggers:
            op.execute(f"CREATE TRIGGER `{trigger}` {when} ON `{_CUSTOMER}` FOR EACH ROW BEGIN {body}; END")
    for old in _RANGE_TRIGGERS:
        if old in triggers:
            op.execute(f"DROP TRIGGER `{old}`")
    indexes = {ix["name"] for ix in sa.inspect(bind).get_indexes(_CUSTOMER)}
    columns = {col["name"] for col in sa.inspect(bind).get_columns(_CUSTOMER)}
    dropped = [f"DROP INDEX `{ix}`" for ix in (_GRAMS_INDEX, _ORDER_INDEX) if ix in indexes]
    dropped += [f"DROP COLUMN `{_GRAMS_COLUMN}`"] if _GRAMS_COLUMN in columns else []
    if dropped:  # one rebuild of the table
        op.execute(f"ALTER TABLE `{_CUSTOMER}` {', '.join(dropped)}")
    op.execute(f"DROP TABLE IF EXISTS `{_NUMBERS}`")
    # Every Customer indexed again with the service's fold (the upgrade command does it after the migrations).
    op.execute(f"DELETE FROM `{_KEY_TABLE}`")
    op.execute(f"DELETE FROM `{_RANGE}`")
    op.execute(f"INSERT IGNORE INTO `{_QUEUE}` (name) SELECT name FROM `{_CUSTOMER}`")


def _lower_grams(name: str) -> str:
    """0007's: the lower-cased name's characters and adjacent pairs, one row each."""
    folded = f"LOWER({name})"
    return (
        f"SELECT SUBSTRING({folded}, n.n, 1) COLLATE utf8mb4_nopad_bin AS gram FROM `{_NUMBERS}` n "
        f"WHERE n.n <= CHAR_LENGTH({name}) "
        f"UNION SELECT SUBSTRING({folded}, n.n, 2) COLLATE utf8mb4_nopad_bin FROM `{_NUMBERS}` n "
        f"WHERE n.n < CHAR_LENGTH({name})"
    )


def _lower_widen(name: str) -> str:
    """0007's range upsert for one written name."""
    return (
        f"INSERT INTO `{_RANGE}` (gram, first_name, last_name) "
        f"SELECT k.gram, {name}, {name} FROM ({_lower_grams(name)}) k "
        f"LEFT JOIN `{_RANGE}` r ON r.gram = k.gram "
        f"WHERE r.gram IS NULL OR r.first_name > {name} OR r.last_name < {name} ORDER BY k.gram "
        f"ON DUPLICATE KEY UPDATE first_name = LEAST(`{_RANGE}`.first_name, VALUES(first_name)), "
        f"last_name = GREATEST(`{_RANGE}`.last_name, VALUES(last_name))"
    )


def _downgrade(bind: sa.Connection) -> None:
    length, _ = _column(bind, "customer_name")
    triggers = _triggers(bind)
    for trigger in sorted(triggers):
        if trigger.startswith(_QUEUE_TRIGGER):
            op.execute(f"DROP TRIGGER `{trigger}`")
    op.execute(f"DROP TABLE IF EXISTS `{_KEY_TABLE}`")
    op.execute(f"DROP TABLE IF EXISTS `{_QUEUE}`")
    # 0002's generated column, FULLTEXT index and ordered index.
    columns = {col["name"] for col in sa.inspect(bind).get_columns(_CUSTOMER)}
    if _GRAMS_COLUMN not in columns:
        op.execute(
            f"ALTER TABLE `{_CUSTOMER}` ADD COLUMN `{_GRAMS_COLUMN}` "
            f"varchar({(2 * length + 1) * 10}) CHARACTER SET ascii COLLATE ascii_general_ci AS ("
            f"REGEXP_REPLACE(CONCAT(HEX(CONVERT(LOWER(`customer_name`) USING utf16)), '{_END_UNIT}'), "
            r"'(....)(?=(....))|....$', 'b\\1\\2 ')) PERSISTENT"
        )
    indexes = {ix["name"] for ix in sa.inspect(bind).get_indexes(_CUSTOMER)}
    if _GRAMS_INDEX not in indexes:
        op.execute(f"CREATE FULLTEXT INDEX `{_GRAMS_INDEX}` ON `{_CUSTOMER}` (`{_GRAMS_COLUMN}`)")
    if _ORDER_INDEX not in indexes:
        op.execute(
            f"CREATE INDEX `{_ORDER_INDEX}` ON `{_CUSTOMER}` (disabled, `{_MEDUSA_ID_KEY_COLUMN}`, customer_name, name)"
        )
    # 0007's numbers, range triggers and ranges.
    op.execute(f"CREATE TABLE IF NOT EXISTS `{_NUMBERS}` (n smallint NOT NULL PRIMARY KEY) ENGINE=InnoDB")
    op.execute(f"INSERT IGNORE INTO `{_NUMBERS}` (n) SELECT seq FROM seq_1_to_{max(length, _LONGEST)}")
    triggers = _triggers(bind)
    if _RANGE_TRIGGERS[0] not in triggers:
        op.execute(
            f"CREATE TRIGGER {_RANGE_TRIGGERS[0]} AFTER INSERT ON `{_CUSTOMER}` FOR EACH ROW "
            f"{_lower_widen('NEW.customer_name')}"
        )
    if _RANGE_TRIGGERS[1] not in triggers:
        op.execute(
            f"CREATE TRIGGER {_RANGE_TRIGGERS[1]} AFTER UPDATE ON `{_CUSTOMER}` FOR EACH ROW "
            "IF NOT (BINARY NEW.customer_name <=> BINARY OLD.customer_name) THEN "
            f"{_lower_widen('NEW.customer_name')}; END IF"
        )
    op.execute(f"DELETE FROM `{_RANGE}`")
    op.execute(
        f"INSERT INTO `{_RANGE}` (gram, first_name, last_name) "
        "SELECT k.gram, MIN(k.customer_name), MAX(k.customer_name) FROM ("
        f"SELECT SUBSTRING(LOWER(c.customer_name), n.n, 1) COLLATE utf8mb4_nopad_bin AS gram, c.customer_name "
        f"FROM `{_CUSTOMER}` c JOIN `{_NUMBERS}` n ON n.n <= CHAR_LENGTH(c.customer_name) "
        f"UNION ALL SELECT SUBSTRING(LOWER(c.customer_name), n.n, 2) COLLATE utf8mb4_nopad_bin, c.customer_name "
        f"FROM `{_CUSTOMER}` c JOIN `{_NUMBERS}` n ON n.n < CHAR_LENGTH(c.customer_name)"
        ") k GROUP BY k.gram"
    )


def upgrade() -> None:
    bind = op.get_bind()
    if _is_standalone_mariadb(bind):
        _upgrade(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if _is_standalone_mariadb(bind):
        _downgrade(bind)
