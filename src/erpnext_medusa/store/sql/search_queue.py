"""SQLite and MariaDB: index the Customers written since they were last indexed.

Neither database can fold a name as the service does in a trigger (SQLite's built-in functions fold ASCII only;
MariaDB's generated columns and FULLTEXT indexes cannot call a stored function, and it has no normalisation).
Their triggers note the name of every Customer inserted, deleted, renamed, given a new ``customer_name``,
linked, unlinked, disabled or enabled in the queue table instead, in the writer's own transaction, whoever the
writer is (a shell, a script, Frappe). The service then indexes the queued names before it searches
(:func:`pending` is checked in the search's own snapshot), on SQLite also at the end of each of its own write
transactions: the key table (sort key, folded name, searchable or not), the pair tokens of the folded name
(SQLite: an FTS5 table; MariaDB: a FULLTEXT column of the key table) and the gram ranges.

MariaDB's import writes its Customers' key rows itself (:func:`insert_keys`), its insert trigger idle
(:func:`unqueued`), and widens the ranges for all of them once before it commits (:func:`widen_since`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Insert,
    Select,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    table,
)
from sqlalchemy.dialects.mysql import insert as mysql_upsert
from sqlalchemy.dialects.sqlite import insert as sqlite_upsert

from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.dialects import for_dialect
from erpnext_medusa.store.sql.gram_ranges import gram_bounds
from erpnext_medusa.store.sql.grams import pair_tokens

#: Queued names indexed per round.
BATCH = 2_000
#: MariaDB: while this user variable is set, the insert trigger queues nothing (migration 0013).
_BULK = "@erpnext_medusa_bulk"

_queue = table(t.SEARCH_QUEUE_TABLE, column("name"))
_key = table(
    t.SEARCH_KEY_TABLE,
    *(column(name) for name in ("id", "name", "customer_name", "folded", "tokens", "searchable")),
)
_fts = table(t.SEARCH_FTS_TABLE, column(t.SEARCH_FTS_TABLE), column("rowid"), column("grams"))
_range = table(t.GRAM_RANGE_TABLE, column("gram"), column("first_name"), column("last_name"))
_names: BindParameter[str] = bindparam("names", expanding=True)

PENDING = select(literal(1)).select_from(_queue).limit(1)
_KEYS = select(_key.c.id, _key.c.name, _key.c.folded).where(_key.c.name.in_(_names))
_CURRENT = select(t.customer.c.name, t.customer.c.customer_name, t.customer.c.medusa_id, t.customer.c.disabled).where(
    t.customer.c.name.in_(_names)
)
# FTS5's command column: a row inserted with 'delete' there removes the row of that id and those tokens.
_FTS_DELETE = insert(_fts).values({t.SEARCH_FTS_TABLE: "delete", "rowid": bindparam("id"), "grams": bindparam("grams")})
_FTS_INSERT = insert(_fts).values(rowid=bindparam("id"), grams=bindparam("grams"))
_KEY_DELETE = delete(_key).where(_key.c.name == bindparam("name"))
_DEQUEUE = delete(_queue).where(_queue.c.name.in_(_names))
#: The names whose grams widen the ranges, in result order (so the first and last holding a gram are its
#: bounds, as the database compares names).
_NAMED = _key.c.customer_name.is_not(None)
_IN_ORDER = select(_key.c.customer_name, _key.c.folded).where(_NAMED).order_by(_key.c.customer_name)
_LAST_ID = select(func.coalesce(func.max(_key.c.id), 0))


@cache
def _statements(dialect: str) -> tuple[Select[Any], Insert, Insert]:
    """The dialect's queue read, key upsert and range widening."""
    queued = select(_queue.c.name).limit(bindparam("n"))
    widen = for_dialect(dialect).widen_ranges(_range)
    values = ("customer_name", "folded", "searchable") + (() if dialect == "sqlite" else ("tokens",))
    row: dict[str, Any] = {"name": bindparam("name"), **{name: bindparam(name) for name in values}}
    if dialect == "sqlite":
        key = sqlite_upsert(_key).values(row)
        key = key.on_conflict_do_update(index_elements=["name"], set_={n: key.excluded[n] for n in values})
        return queued, key, widen
    # MariaDB: concurrent searches each take the queued names no other is indexing.
    queued = queued.order_by(_queue.c.name).with_for_update(skip_locked=True)
    mkey = mysql_upsert(_key).values(row)
    mkey = mkey.on_duplicate_key_update({n: mkey.inserted[n] for n in values})
    return queued, mkey, widen


def pending(conn: Connection) -> bool:
    """Whether some written Customer is not indexed yet (as this connection's snapshot sees it)."""
    return conn.execute(PENDING).first() is not None


def catch_up(conn: Connection) -> int:
    """Index every queued Customer, inside ``conn``'s write transaction; returns how many names it took (on
    MariaDB, those no other transaction is indexing; read them in READ COMMITTED, so that each round sees the
    Customers as last committed)."""
    queued = _statements(conn.dialect.name)[0]
    done = 0
    while names := list(conn.execute(queued, {"n": BATCH}).scalars()):
        _index(conn, names)
        conn.execute(_DEQUEUE, {"names": names})
        done += len(names)
    return done


def _index(conn: Connection, names: Sequence[str]) -> None:
    indexed = {r.name: r for r in conn.execute(_KEYS, {"names": names})}
    current = {r.name: r for r in conn.execute(_CURRENT, {"names": names})}
    if conn.dialect.name == "sqlite":
        # FTS5 forgets a contentless row only when told the tokens it was indexed with: those of the folded
        # name kept beside it (not folded again, which a newer Python's Unicode tables might do differently).
        old = [{"id": r.id, "grams": " ".join(pair_tokens(r.folded))} for r in indexed.values() if r.folded]
        if old:
            conn.execute(_FTS_DELETE, old)
    gone = [{"name": name} for name in indexed if name not in current]
    if gone:
        conn.execute(_KEY_DELETE, gone)
    if not current:
        return
    keys = _keys(dict(r._mapping) for r in current.values())
    if conn.dialect.name != "sqlite":
        conn.execute(_statements(conn.dialect.name)[1], keys)
    else:  # the tokens go to the FTS5 table, under the key row's id
        tokens = {key["name"]: key.pop("tokens") for key in keys}
        conn.execute(_statements(conn.dialect.name)[1], keys)
        ids = conn.execute(_KEYS, {"names": list(current)})
        conn.execute(_FTS_INSERT, [{"id": r.id, "grams": tokens[r.name]} for r in ids])
    _widen(conn, conn.execute(_IN_ORDER.where(_key.c.name.in_(_names)), {"names": list(current)}))


def _keys(customers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The key rows of some Customers (their name, and customer_name, medusa_id and disabled when set)."""
    keys = []
    for row in customers:
        folded = fold(row.get("customer_name") or "")
        keys.append(
            {
                "name": row["name"],
                "customer_name": row.get("customer_name"),
                "folded": folded,
                "tokens": " ".join(pair_tokens(folded)),
                "searchable": int(not row.get("medusa_id") and not row.get("disabled")),
            }
        )
    return keys


def _widen(conn: Connection, in_order: Iterable[Any]) -> None:
    """Widen the ranges of the grams of these names (customer_name and folded, in result order)."""
    ranges = gram_bounds((r.customer_name, r.folded) for r in in_order if r.customer_name)
    if ranges:
        widening = [{"gram": g, "first": low, "last": high} for g, (low, high) in sorted(ranges.items())]
        conn.execute(_statements(conn.dialect.name)[2], widening)


def last_key_id(conn: Connection) -> int:
    """MariaDB: the newest key row's id; every key row written after this call has a larger one."""
    return int(conn.execute(_LAST_ID).scalar_one())


@contextmanager
def unqueued(conn: Connection) -> Iterator[None]:
    """MariaDB: Customers inserted within are not queued by the insert trigger; write their key rows with
    :func:`insert_keys`, and widen their gram ranges with :func:`widen_since` before the transaction commits."""
    conn.exec_driver_sql(f"SET {_BULK} = 1")
    try:
        yield
    finally:  # never left set on a connection that goes back to the pool
        conn.exec_driver_sql(f"SET {_BULK} = NULL")


def insert_keys(conn: Connection, customers: Sequence[Mapping[str, Any]]) -> None:
    """MariaDB: the key rows of Customers inserted :func:`unqueued` (a key row left by a Customer deleted since
    the last search makes the insert fail as a taken name would)."""
    conn.execute(insert(_key), _keys(customers))


def widen_since(conn: Connection, last_id: int) -> None:
    """MariaDB: widen the gram ranges for every key row written after :func:`last_key_id` gave ``last_id``."""
    _widen(conn, conn.execute(_IN_ORDER.where(_key.c.id > last_id).execution_options(stream_results=True)))
