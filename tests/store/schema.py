"""A database's schema as SQLAlchemy's reflection and each backend's own catalog describe it, as plain data two
schemas can be compared by (SQLite's stored DDL and triggers; PostgreSQL's index and trigger definitions,
partial predicates, functions and sequences; MariaDB's generated columns, index types, triggers and ``SHOW
CREATE TABLE``), and the spellings of one type or default that differ between backends."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa


def _plain(value: Any) -> Any:
    """A reflected value as plain, comparable data (SQL expressions and types as their text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def indexes_for(table: sa.Table, dialect: str) -> list[sa.Index]:
    """The table's indexes that its metadata builds on ``dialect`` (some are one database's: ``Index.ddl_if``)."""
    kept = []
    for index in table.indexes:
        condition = getattr(index, "_ddl_if", None)
        wanted = condition.dialect if condition is not None else None
        if wanted is None or dialect in ((wanted,) if isinstance(wanted, str) else wanted):
            kept.append(index)
    return kept


def type_sql(type_: Any, dialect: sa.Dialect) -> str:
    # Untyped columns (SQLite's FTS5 shadow tables) have no DDL of their own.
    return "" if isinstance(type_, sa.types.NullType) else str(type_.compile(dialect=dialect))


def reflected(engine: sa.Engine) -> dict[str, Any]:
    """Every table as SQLAlchemy reflects it."""
    inspector = sa.inspect(engine)
    dialect = engine.dialect
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = {}
        for col in inspector.get_columns(table):
            info = {k: v for k, v in col.items() if k not in ("name", "type")}
            columns[col["name"]] = {"type": type_sql(col["type"], dialect), **_plain(info)}
        schema[table] = {
            "columns": columns,
            "primary_key": _plain(inspector.get_pk_constraint(table)),
            "indexes": sorted(
                (_plain(ix) for ix in inspector.get_indexes(table)), key=lambda ix: (str(ix.get("name")), repr(ix))
            ),
            "unique": sorted((_plain(uc) for uc in inspector.get_unique_constraints(table)), key=repr),
            "checks": sorted((_plain(ck) for ck in inspector.get_check_constraints(table)), key=repr),
            "foreign_keys": sorted((_plain(fk) for fk in inspector.get_foreign_keys(table)), key=repr),
            "options": _plain(inspector.get_table_options(table)),
        }
    return schema


def _rows(conn: sa.Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(_plain(list(row))) for row in conn.execute(sa.text(sql), params)]


def _sqlite_catalog(conn: sa.Connection) -> dict[str, Any]:
    # Tables (with their stored CREATE statements), indexes (with partial predicates), FTS5 tables, triggers.
    return {
        "sqlite_master": _rows(
            conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name, tbl_name"
        ),
    }


def _postgresql_catalog(conn: sa.Connection) -> dict[str, Any]:
    return {
        "columns": _rows(
            conn,
            "SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length, "
            "numeric_precision, numeric_scale, datetime_precision, is_nullable, column_default, is_identity, "
            "is_generated, generation_expression, collation_name "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position",
        ),
        # Index definitions in full: the GIN expression index and the partial indexes' predicates included.
        "indexes": _rows(
            conn,
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY tablename, indexname",
        ),
        "constraints": _rows(
            conn,
            "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = current_schema() "
            "ORDER BY rel.relname, con.conname",
        ),
        "triggers": _rows(
            conn,
            "SELECT rel.relname, tg.tgname, pg_get_triggerdef(tg.oid) "
            "FROM pg_trigger tg JOIN pg_class rel ON rel.oid = tg.tgrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = current_schema() AND NOT tg.tgisinternal ORDER BY rel.relname, tg.tgname",
        ),
        "functions": _rows(
            conn,
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
            "FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace "
            "WHERE ns.nspname = current_schema() AND p.prokind = 'f' ORDER BY 1, 2",
        ),
        "sequences": _rows(
            conn,
            "SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option "
            "FROM information_schema.sequences WHERE sequence_schema = current_schema() ORDER BY sequence_name",
        ),
    }


def _mariadb_catalog(conn: sa.Connection) -> dict[str, Any]:
    where = "WHERE TABLE_SCHEMA = DATABASE()"
    tables = [r[0] for r in _rows(conn, f"SELECT TABLE_NAME FROM information_schema.TABLES {where} ORDER BY 1")]
    create = {}
    for table in tables:
        statement = conn.execute(sa.text(f"SHOW CREATE TABLE `{table}`")).one()[1]
        create[table] = re.sub(r" AUTO_INCREMENT=\d+", "", statement)  # the next id, not the schema
    return {
        "tables": _rows(
            conn,
            "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS "
            f"FROM information_schema.TABLES {where} ORDER BY TABLE_NAME",
        ),
        # Generated columns included (GENERATION_EXPRESSION, IS_GENERATED, EXTRA).
        "columns": _rows(
            conn,
            "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, "
            "CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA, IS_GENERATED, GENERATION_EXPRESSION "
            f"FROM information_schema.COLUMNS {where} ORDER BY TABLE_NAME, ORDINAL_POSITION",
        ),
        "statistics": _rows(
            conn,
            "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, SUB_PART, "
            f"COLLATION, NULLABLE FROM information_schema.STATISTICS {where} "
            "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        ),
        "constraints": _rows(
            conn,
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE",
        ),
        "triggers": _rows(
            conn,
            "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_STATEMENT, "
            "ACTION_ORIENTATION, ACTION_TIMING FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
        ),
        "routines": _rows(
            conn,
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
        ),
        "show_create_table": create,
    }


def catalog(engine: sa.Engine) -> dict[str, Any]:
    """Every schema object as the backend's own catalog describes it."""
    read = {"sqlite": _sqlite_catalog, "postgresql": _postgresql_catalog}.get(engine.dialect.name, _mariadb_catalog)
    with engine.connect() as conn:
        return read(conn)


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    return {"reflected": reflected(engine), "catalog": catalog(engine)}


def assert_same_schema(actual: dict[str, Any], expected: dict[str, Any], label: str) -> None:
    """Equal snapshots, compared part by part so that a failure names the table or catalog entry."""
    for part in ("reflected", "catalog"):
        assert sorted(actual[part]) == sorted(expected[part]), (label, part)
        for key in expected[part]:
            assert actual[part][key] == expected[part][key], (label, part, key)


def column_default(raw: Any) -> str | Decimal | None:
    """A server default without quoting, parentheses or casts ("'0'", "('0')", "'0'::smallint" give "0"), and
    numbers as numbers (MariaDB reports a decimal column's default 0 as 0.000000000)."""
    if raw is None:
        return None
    value = str(raw.arg if isinstance(raw, sa.DefaultClause) else raw).strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    value = value.split("::", 1)[0].strip("'")
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


#: MariaDB reports an integer column declared without a display width with its type's default width.
_DEFAULT_WIDTHS = {"TINYINT(4)", "SMALLINT(6)", "MEDIUMINT(9)", "INTEGER(11)", "BIGINT(20)"}


def canonical_type(spelled: str) -> str:
    """One spelling for types that are the same type: default display widths dropped, NUMERIC is DECIMAL."""
    if spelled in _DEFAULT_WIDTHS:
        return spelled.split("(", 1)[0]
    return re.sub(r"^NUMERIC\b", "DECIMAL", spelled)
