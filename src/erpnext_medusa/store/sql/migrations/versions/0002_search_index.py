"""The typeahead's indexes: result order over unlinked customers, and the gram index (store/sql/search.py).

Everything here is kept current by the database itself (an expression index, a generated column, triggers),
so rows that ERPNext or anyone else writes are searchable at once. Each step checks first, so a run that
stopped half-way can be run again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.grams import END_UNIT, SQLITE_GRAMS_FUNCTION

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CUSTOMER = t.customer.name
_UNLINKED = t.UNLINKED_ENABLED.text

# PostgreSQL: a name's characters and character pairs (GIN ignores repeats).
_PG_GRAMS = """
CREATE OR REPLACE FUNCTION erpnext_medusa_grams(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    grams text[] := string_to_array(value, NULL);
BEGIN
    FOR i IN 1 .. length(value) - 1 LOOP
        grams := grams || substr(value, i, 2);
    END LOOP;
    RETURN grams;
END
$$
"""

# SQLite: keep the FTS5 rows in step with tabCustomer. FTS5 needs an integer row id that never changes, so
# the key table gives each Customer name one; a rename keeps the id.
_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER {t.OWN_PREFIX}search_insert AFTER INSERT ON "{_CUSTOMER}" BEGIN
        INSERT INTO "{t.SEARCH_KEY_TABLE}" (name) VALUES (NEW.name);
        INSERT INTO "{t.SEARCH_FTS_TABLE}" (rowid, grams)
            VALUES (last_insert_rowid(), {SQLITE_GRAMS_FUNCTION}(NEW.customer_name));
    END
    """,
    f"""
    CREATE TRIGGER {t.OWN_PREFIX}search_update AFTER UPDATE OF name, customer_name ON "{_CUSTOMER}" BEGIN
        INSERT INTO "{t.SEARCH_FTS_TABLE}" ("{t.SEARCH_FTS_TABLE}", rowid, grams)
            SELECT 'delete', id, {SQLITE_GRAMS_FUNCTION}(OLD.customer_name)
            FROM "{t.SEARCH_KEY_TABLE}" WHERE name = OLD.name;
        UPDATE "{t.SEARCH_KEY_TABLE}" SET name = NEW.name WHERE name = OLD.name;
        INSERT INTO "{t.SEARCH_FTS_TABLE}" (rowid, grams)
            SELECT id, {SQLITE_GRAMS_FUNCTION}(NEW.customer_name) FROM "{t.SEARCH_KEY_TABLE}" WHERE name = NEW.name;
    END
    """,
    f"""
    CREATE TRIGGER {t.OWN_PREFIX}search_delete AFTER DELETE ON "{_CUSTOMER}" BEGIN
        INSERT INTO "{t.SEARCH_FTS_TABLE}" ("{t.SEARCH_FTS_TABLE}", rowid, grams)
            SELECT 'delete', id, {SQLITE_GRAMS_FUNCTION}(OLD.customer_name)
            FROM "{t.SEARCH_KEY_TABLE}" WHERE name = OLD.name;
        DELETE FROM "{t.SEARCH_KEY_TABLE}" WHERE name = OLD.name;
    END
    """,
)


def _postgresql(indexes: set[str]) -> None:
    op.execute(_PG_GRAMS)
    if t.SEARCH_GRAMS_INDEX not in indexes:
        op.execute(
            f'CREATE INDEX "{t.SEARCH_GRAMS_INDEX}" ON "{_CUSTOMER}" '
            f"USING gin (erpnext_medusa_grams(lower(customer_name))) WHERE {_UNLINKED}"
        )
    if t.SEARCH_ORDER_INDEX not in indexes:
        op.execute(f'CREATE INDEX "{t.SEARCH_ORDER_INDEX}" ON "{_CUSTOMER}" (customer_name, name) WHERE {_UNLINKED}')


def _mariadb(bind: sa.Connection, indexes: set[str]) -> None:
    columns = {col["name"]: col for col in sa.inspect(bind).get_columns(_CUSTOMER)}
    if t.SEARCH_GRAMS_COLUMN not in columns:
        # Each UTF-16 code unit of the folded name, in hex, paired with the next (the last with END_UNIT):
        # "b" + 8 hex digits is a word to the full-text parser, whatever the script of the name.
        length = getattr(columns["customer_name"]["type"], "length", None) or t.VARCHAR_LEN
        op.execute(
            f"ALTER TABLE `{_CUSTOMER}` ADD COLUMN `{t.SEARCH_GRAMS_COLUMN}` "
            f"varchar({(2 * length + 1) * 10}) CHARACTER SET ascii COLLATE ascii_general_ci AS ("
            f"REGEXP_REPLACE(CONCAT(HEX(CONVERT(LOWER(`customer_name`) USING utf16)), '{END_UNIT}'), "
            r"'(....)(?=(....))|....$', 'b\\1\\2 ')) PERSISTENT"
        )
    if t.SEARCH_GRAMS_INDEX not in indexes:
        op.execute(f"CREATE FULLTEXT INDEX `{t.SEARCH_GRAMS_INDEX}` ON `{_CUSTOMER}` (`{t.SEARCH_GRAMS_COLUMN}`)")
    if t.SEARCH_ORDER_INDEX not in indexes:
        op.execute(
            f"CREATE INDEX `{t.SEARCH_ORDER_INDEX}` ON `{_CUSTOMER}` "
            f"(disabled, `{t.MEDUSA_ID_KEY_COLUMN}`, customer_name, name)"
        )


def _sqlite(bind: sa.Connection, indexes: set[str]) -> None:
    tables = set(sa.inspect(bind).get_table_names())
    if t.SEARCH_KEY_TABLE not in tables:
        op.execute(f'CREATE TABLE "{t.SEARCH_KEY_TABLE}" (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)')
    if t.SEARCH_FTS_TABLE not in tables:
        op.execute(
            f'CREATE VIRTUAL TABLE "{t.SEARCH_FTS_TABLE}" '
            "USING fts5(grams, content='', detail=none, tokenize='ascii')"
        )
        # Start from scratch: the key table may hold rows from a run that stopped before this point.
        op.execute(f'DELETE FROM "{t.SEARCH_KEY_TABLE}"')
        op.execute(f'INSERT INTO "{t.SEARCH_KEY_TABLE}" (name) SELECT name FROM "{_CUSTOMER}"')
        op.execute(
            f'INSERT INTO "{t.SEARCH_FTS_TABLE}" (rowid, grams) '
            f'SELECT k.id, {SQLITE_GRAMS_FUNCTION}(c.customer_name) FROM "{t.SEARCH_KEY_TABLE}" k '
            f'JOIN "{_CUSTOMER}" c ON c.name = k.name'
        )
    triggers = set(bind.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    for ddl in _SQLITE_TRIGGERS:
        name = ddl.split()[2]
        if name not in triggers:
            op.execute(ddl)
    if t.SEARCH_ORDER_INDEX not in indexes:
        op.execute(f'CREATE INDEX "{t.SEARCH_ORDER_INDEX}" ON "{_CUSTOMER}" (customer_name, name) WHERE {_UNLINKED}')


def upgrade() -> None:
    bind = op.get_bind()
    indexes = {str(ix["name"]) for ix in sa.inspect(bind).get_indexes(_CUSTOMER) if ix.get("name")}
    if bind.dialect.name == "postgresql":
        _postgresql(indexes)
    elif bind.dialect.name in t.MARIADB:
        _mariadb(bind, indexes)
    else:
        _sqlite(bind, indexes)


def downgrade() -> None:
    raise NotImplementedError("Drop the search indexes by hand if you must; the service needs them.")
