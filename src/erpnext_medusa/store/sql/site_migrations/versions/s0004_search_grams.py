"""The mirror's gram index and gram ranges, for the typeahead's planner (store/sql/search.py).

* ``erpnext_medusa_site_customer.grams``: the keys of the folded name that the database's gram index takes:
  on PostgreSQL an array of its characters and adjacent pairs under a GIN index; on MariaDB its pair tokens
  (``b`` + two UTF-16 code units in hex, the last unit paired with ``FFFF``) under a FULLTEXT index. On SQLite
  the pair tokens go to the contentless FTS5 table ``erpnext_medusa_site_customer_grams`` under the Customer's
  rowid, and the column stays NULL.
* ``erpnext_medusa_site_gram_range``: per character and pair of the folded names, the smallest and largest
  ``sort_name`` holding it, as the database orders them.

The service is the mirror's only writer and keeps both in each write's own transaction. This revision fills them
for the rows already there, a batch of names at a time in name order. Each step checks first, so a run that
stopped half-way can run again. The gram rules are this revision's own copy, frozen (grams.py holds the live
ones; the tests check both agree).

Revision ID: s0004
Revises: s0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql, sqlite

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_CUSTOMER = "erpnext_medusa_site_customer"
_RANGE = "erpnext_medusa_site_gram_range"
_FTS = "erpnext_medusa_site_customer_grams"  # SQLite
_GIN = "erpnext_medusa_site_customer_grams"  # PostgreSQL
_FULLTEXT = "erpnext_medusa_site_customer_grams"  # MariaDB
_SORT_NAME = 400
_BATCH = 5_000
_END_UNIT = "FFFF"


def _units(folded: str) -> list[str]:
    data = folded.encode("utf-16-be", "surrogatepass").hex().upper()
    return [data[i : i + 4] for i in range(0, len(data), 4)]


def _pair_tokens(folded: str) -> str:
    units = [*_units(folded), _END_UNIT]
    return " ".join(f"b{a}{b}" for a, b in pairwise(units))


def _name_grams(folded: str) -> set[str]:
    return set(folded) | {a + b for a, b in pairwise(folded)}


def _grams_type() -> sa.types.TypeEngine[Any]:
    return (
        sa.Text()
        .with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
        .with_variant(mysql.MEDIUMTEXT(charset="ascii", collation="ascii_general_ci"), *_MARIADB)
    )


def _create(bind: sa.Connection) -> None:
    inspector = sa.inspect(bind)
    dialect = bind.dialect.name
    if "grams" not in {c["name"] for c in inspector.get_columns(_CUSTOMER)}:
        op.add_column(_CUSTOMER, sa.Column("grams", _grams_type()))
    indexes = {ix["name"] for ix in inspector.get_indexes(_CUSTOMER)}
    if dialect == "postgresql" and _GIN not in indexes:
        op.execute(f'CREATE INDEX "{_GIN}" ON "{_CUSTOMER}" USING gin (grams)')
    if dialect in _MARIADB and _FULLTEXT not in indexes:
        op.execute(f"CREATE FULLTEXT INDEX `{_FULLTEXT}` ON `{_CUSTOMER}` (grams)")
    tables = set(inspector.get_table_names())
    if dialect == "sqlite" and _FTS not in tables:
        op.execute(f"CREATE VIRTUAL TABLE \"{_FTS}\" USING fts5(grams, content='', detail=none, tokenize='ascii')")
    if _RANGE not in tables:
        options: dict[str, Any] = {}
        for prefix in _MARIADB:
            options |= {
                f"{prefix}_engine": "InnoDB",
                f"{prefix}_row_format": "DYNAMIC",
                f"{prefix}_charset": "utf8mb4",
                f"{prefix}_collate": "utf8mb4_unicode_ci",
            }
        gram = (
            sa.String(2)
            .with_variant(mysql.VARCHAR(2, charset="utf8mb4", collation="utf8mb4_nopad_bin"), *_MARIADB)
            .with_variant(sa.String(2, collation="C"), "postgresql")
        )
        op.create_table(
            _RANGE,
            sa.Column("gram", gram, primary_key=True),
            sa.Column("first_name", sa.String(_SORT_NAME), nullable=False),
            sa.Column("last_name", sa.String(_SORT_NAME), nullable=False),
            **options,
        )


def _fill(bind: sa.Connection) -> None:
    """The grams of every row, then the ranges of their grams (widened only, so a second run changes nothing)."""
    dialect = bind.dialect.name
    customer = sa.table(_CUSTOMER, *(sa.column(c) for c in ("name", "sort_name", "folded", "grams")))
    rowid = sa.literal_column("rowid") if dialect == "sqlite" else sa.literal(0)
    batch = (
        sa.select(customer.c.name, customer.c.folded, rowid.label("id"))
        .where(customer.c.name > sa.bindparam("after"))
        .order_by(customer.c.name)
        .limit(_BATCH)
    )
    set_grams = (
        sa.update(customer).where(customer.c.name == sa.bindparam("key")).values(grams=sa.bindparam("new_grams"))
    )
    fts = sa.table(_FTS, sa.column(_FTS), sa.column("rowid"), sa.column("grams"))
    if dialect == "sqlite":  # a contentless table forgets rows only by their tokens: start it afresh
        bind.execute(sa.insert(fts).values({_FTS: "delete-all"}))
    after = ""
    while rows := bind.execute(batch, {"after": after}).all():
        if dialect == "sqlite":
            tokens = [{"id": r.id, "grams": _pair_tokens(r.folded)} for r in rows]
            bind.execute(sa.insert(fts).values(rowid=sa.bindparam("id"), grams=sa.bindparam("grams")), tokens)
        else:
            grams = _pair_tokens if dialect in _MARIADB else lambda f: sorted(_name_grams(f))
            bind.execute(set_grams, [{"key": r.name, "new_grams": grams(r.folded)} for r in rows])
        after = rows[-1].name
    # One pass in result order: the first and last name holding a gram are its bounds as the database orders.
    bounds: dict[str, list[str]] = {}
    in_order = sa.select(customer.c.sort_name, customer.c.folded).order_by(customer.c.sort_name)
    for row in bind.execute(in_order):
        for gram in _name_grams(row.folded):
            if gram in bounds:
                bounds[gram][1] = row.sort_name
            else:
                bounds[gram] = [row.sort_name, row.sort_name]
    ranges = sa.table(_RANGE, sa.column("gram"), sa.column("first_name"), sa.column("last_name"))
    values: dict[str, Any] = {
        "gram": sa.bindparam("gram"),
        "first_name": sa.bindparam("first"),
        "last_name": sa.bindparam("last"),
    }
    widen: Any
    new: Any
    if dialect in _MARIADB:
        new = mysql.insert(ranges).values(values)
        widen = new.on_duplicate_key_update(
            first_name=sa.func.least(ranges.c.first_name, new.inserted.first_name),
            last_name=sa.func.greatest(ranges.c.last_name, new.inserted.last_name),
        )
    else:
        new = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ranges).values(values)
        least, greatest = (sa.func.least, sa.func.greatest) if dialect == "postgresql" else (sa.func.min, sa.func.max)
        widen = new.on_conflict_do_update(
            index_elements=["gram"],
            set_={
                "first_name": least(ranges.c.first_name, new.excluded.first_name),
                "last_name": greatest(ranges.c.last_name, new.excluded.last_name),
            },
        )
    widening = [{"gram": g, "first": first, "last": last} for g, (first, last) in sorted(bounds.items())]
    for start in range(0, len(widening), _BATCH):
        bind.execute(widen, widening[start : start + _BATCH])


def upgrade() -> None:
    bind = op.get_bind()
    _create(bind)
    _fill(bind)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.drop_table(_RANGE)
    if dialect == "sqlite":
        op.execute(f'DROP TABLE "{_FTS}"')
    elif dialect == "postgresql":
        op.execute(f'DROP INDEX "{_GIN}"')
    else:
        op.execute(f"DROP INDEX `{_FULLTEXT}` ON `{_CUSTOMER}`")
    op.drop_column(_CUSTOMER, "grams")
