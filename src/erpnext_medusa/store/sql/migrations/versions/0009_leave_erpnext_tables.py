"""Leave an ERPNext site's tables as ERPNext made them: on a site's own database, remove everything the service
added to its ``tab*`` tables; on the service's own (standalone) database, change nothing.

What the earlier revisions added to a site's tables broke the site (measured on ERPNext 15.92): triggers owned
by the site's database user stop its backups restoring into another site, a generated column of fixed length
refused ERPNext's own inserts once Customize Form lengthened ``customer_name``, and ``bench migrate`` drops the
indexes it does not know. A site is served through its REST API from now on (``ERPNEXT_MEDUSA_BACKEND=erpnext``).

Removed, each only where it exists (so a run that stopped half-way, MariaDB committing each DDL statement on its
own, can run again): the ``erpnext_medusa_*`` triggers on ``tab*`` tables, the indexes of 0001, 0002 and 0005
on ``tabCustomer``, ``tabLead`` and ``tabDynamic Link``, MariaDB's generated columns ``medusa_id_key`` and
``medusa_search_grams``, PostgreSQL's functions of 0002 and 0007, and the tables that only served that search
index (gram ranges, MariaDB's numbers). Kept: the ``medusa_id`` columns, which hold the links and which the
Custom Field rows declare (Frappe itself adds a unique key when such a row says unique), and the service's own
records (API keys, audit trail, sessions, users, login locks, intake events). Frappe v15 has no SQLite sites.

Names below are this revision's own, frozen: those the earlier revisions created.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from erpnext_medusa.store.sql.site import LEAVE_REVISION, is_erpnext_site

revision = LEAVE_REVISION
down_revision = "0008"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_TRIGGER_PREFIX = "erpnext_medusa_"
#: (table, index), as 0001, 0002 and 0005 named them.
_INDEXES = (
    ("tabCustomer", "customer_medusa_unlinked_order"),
    ("tabCustomer", "customer_medusa_search_grams"),
    ("tabCustomer", "customer_medusa_id_unique"),
    ("tabLead", "lead_medusa_id_unique"),
    ("tabLead", "lead_medusa_id_index"),
    ("tabDynamic Link", "erpnext_medusa_dynamic_link_parent"),
)
#: MariaDB's generated columns (0001, 0002, 0005).
_GENERATED = (("tabCustomer", "medusa_search_grams"), ("tabCustomer", "medusa_id_key"), ("tabLead", "medusa_id_key"))
#: PostgreSQL's functions (0002, 0007), after the triggers and the index that use them.
_PG_FUNCTIONS = (
    "erpnext_medusa_gram_ranges_inserted()",
    "erpnext_medusa_gram_ranges_renamed()",
    "erpnext_medusa_grams(text)",
)
#: The service's tables that only served the search index over tabCustomer.
_SEARCH_TABLES = ("erpnext_medusa_gram_range", "erpnext_medusa_numbers", "erpnext_medusa_search_queue")
#: DocType -> table whose medusa_id column is kept.
_MEDUSA_ID = {"Customer": "tabCustomer", "Lead": "tabLead"}


def _q(bind: sa.Connection, name: str) -> str:
    return bind.dialect.identifier_preparer.quote(name)


def _triggers(bind: sa.Connection) -> list[tuple[str, str]]:
    """(trigger, table) of ours on ERPNext's tables."""
    if bind.dialect.name in _MARIADB:
        query = (
            "SELECT trigger_name, event_object_table FROM information_schema.triggers "
            "WHERE trigger_schema = DATABASE() ORDER BY trigger_name"
        )
    else:
        query = (
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = CAST(current_schema() AS regnamespace) ORDER BY t.tgname"
        )
    rows = bind.execute(sa.text(query)).all()
    return [(str(n), str(t)) for n, t in rows if str(n).startswith(_TRIGGER_PREFIX) and str(t).startswith("tab")]


def _index_exists(bind: sa.Connection, table: str, index: str) -> bool:
    if bind.dialect.name in _MARIADB:
        query = (
            "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() "
            "AND table_name = :t AND index_name = :i LIMIT 1"
        )
    else:
        query = "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t AND indexname = :i"
    return bind.execute(sa.text(query), {"t": table, "i": index}).first() is not None


def _generated_exists(bind: sa.Connection, table: str, column: str) -> bool:
    query = (
        "SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() "
        "AND table_name = :t AND column_name = :c AND is_generated = 'ALWAYS'"
    )
    return bind.execute(sa.text(query), {"t": table, "c": column}).first() is not None


def _function_exists(bind: sa.Connection, signature: str) -> bool:
    found = bind.execute(sa.text("SELECT to_regprocedure(:s)"), {"s": signature}).scalar()
    return found is not None


def _drop_from_tables(bind: sa.Connection, removed: list[str]) -> None:
    """Indexes (and on MariaDB the generated columns), one ALTER per MariaDB table so that each table is rebuilt
    at most once and either loses all of them or none."""
    mariadb = bind.dialect.name in _MARIADB
    changes: dict[str, list[tuple[str, str]]] = {}
    drop_index = "DROP INDEX" if mariadb else "DROP INDEX IF EXISTS"  # PostgreSQL: a statement of its own
    for table, index in _INDEXES:
        if _index_exists(bind, table, index):
            changes.setdefault(table, []).append((f"{drop_index} {_q(bind, index)}", f"index {index} on {table}"))
    if mariadb:
        for table, column in _GENERATED:
            if _generated_exists(bind, table, column):
                clause = f"DROP COLUMN {_q(bind, column)}"
                changes.setdefault(table, []).append((clause, f"generated column {table}.{column}"))
    for table, items in changes.items():
        clauses = [clause for clause, _ in items]
        for statement in [f"ALTER TABLE {_q(bind, table)} " + ", ".join(clauses)] if mariadb else clauses:
            op.execute(statement)
        removed += [what for _, what in items]


def _kept(bind: sa.Connection) -> list[str]:
    """The medusa_id columns left in place, and whether a Custom Field row declares each."""
    inspector = sa.inspect(bind)
    declared: dict[str, tuple[str, int]] = {}
    if inspector.has_table("tabCustom Field"):
        rows = bind.execute(
            sa.text(
                f"SELECT dt, name, {_q(bind, 'unique')} FROM {_q(bind, 'tabCustom Field')} "
                "WHERE fieldname = 'medusa_id' ORDER BY name"
            )
        ).all()
        declared = {str(dt): (str(name), int(unique or 0)) for dt, name, unique in rows}
    kept = []
    for doctype, table in _MEDUSA_ID.items():
        if "medusa_id" not in {col["name"] for col in inspector.get_columns(table)}:
            continue
        if doctype in declared:
            name, unique = declared[doctype]
            rule = "unique: Frappe adds its own unique key when it next syncs the table" if unique else "not unique"
            note = f"column {table}.medusa_id, declared by the Custom Field {name} ({rule})"
            empty = bind.execute(sa.text(f"SELECT count(*) FROM {_q(bind, table)} WHERE medusa_id = ''")).scalar()
            if unique and empty and empty > 1:  # Frappe stores an empty unique field as NULL, and so must they be
                note += (
                    f"; {empty} rows hold an empty medusa_id, which blocks that key until they are NULL, as Frappe "
                    "stores an empty unique field"
                )
            kept.append(note)
        else:
            kept.append(
                f"column {table}.medusa_id (it holds the links), but no Custom Field declares it: "
                "`erpnext-medusa erpnext setup` declares it; until then `bench trim-tables` would drop it"
            )
    return kept


def upgrade() -> None:
    bind = op.get_bind()
    mariadb = bind.dialect.name in _MARIADB
    if not (mariadb or bind.dialect.name == "postgresql") or not is_erpnext_site(bind):
        return
    removed: list[str] = context.config.attributes.setdefault("removed", [])
    for trigger, table in _triggers(bind):
        on = "" if mariadb else f" ON {_q(bind, table)}"
        op.execute(f"DROP TRIGGER IF EXISTS {_q(bind, trigger)}{on}")
        removed.append(f"trigger {trigger} on {table}")
    _drop_from_tables(bind, removed)
    if not mariadb:
        for signature in _PG_FUNCTIONS:
            if _function_exists(bind, signature):
                op.execute(f"DROP FUNCTION IF EXISTS {signature}")
                removed.append(f"function {signature}")
    existing = set(sa.inspect(bind).get_table_names())
    for table in _SEARCH_TABLES:
        if table in existing:
            op.execute(f"DROP TABLE IF EXISTS {_q(bind, table)}")
            removed.append(f"table {table}")
    context.config.attributes.setdefault("kept", []).extend(_kept(bind))


def downgrade() -> None:
    raise NotImplementedError("What this revision removed must not be put back on a site's tables.")
