"""SQLite: index the Customers written since they were last indexed.

SQLite's triggers can use only its built-in functions, and its ``lower()`` folds ASCII only, so they cannot
cut a name into the service's folded grams. They note the name of every Customer inserted, deleted, renamed,
given a new ``customer_name``, linked, unlinked, disabled or enabled in the queue table instead, in the
writer's own transaction, whoever the writer is (the ``sqlite3`` shell, a script, Frappe). The service then
indexes the queued names before it searches (:func:`pending` is checked in the search's own snapshot) and at
the end of each of its own write transactions: the key table (sort key, folded name, searchable or not), the
FTS5 tokens (of the folded name) and the gram ranges.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BindParameter, Connection, bindparam, column, delete, func, insert, literal, select, table
from sqlalchemy.dialects.sqlite import insert as upsert

from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.grams import name_grams, pair_tokens

#: Queued names indexed per round.
BATCH = 2_000

_queue = table(t.SEARCH_QUEUE_TABLE, column("name"))
_key = table(
    t.SEARCH_KEY_TABLE,
    *(column(name) for name in ("id", "name", "customer_name", "folded", "searchable")),
)
_fts = table(t.SEARCH_FTS_TABLE, column(t.SEARCH_FTS_TABLE), column("rowid"), column("grams"))
_range = table(t.GRAM_RANGE_TABLE, column("gram"), column("first_name"), column("last_name"))
_names: BindParameter[str] = bindparam("names", expanding=True)

PENDING = select(literal(1)).select_from(_queue).limit(1)
_QUEUED = select(_queue.c.name).limit(bindparam("n"))
_KEYS = select(_key.c.id, _key.c.name, _key.c.folded).where(_key.c.name.in_(_names))
_CURRENT = select(t.customer.c.name, t.customer.c.customer_name, t.customer.c.medusa_id, t.customer.c.disabled).where(
    t.customer.c.name.in_(_names)
)
# FTS5's command column: a row inserted with 'delete' there removes the row of that id and those tokens.
_FTS_DELETE = insert(_fts).values({t.SEARCH_FTS_TABLE: "delete", "rowid": bindparam("id"), "grams": bindparam("grams")})
_FTS_INSERT = insert(_fts).values(rowid=bindparam("id"), grams=bindparam("grams"))
_KEY_DELETE = delete(_key).where(_key.c.name == bindparam("name"))
_KEY_VALUES = ("customer_name", "folded", "searchable")
_new_key = upsert(_key).values(name=bindparam("name"), **{name: bindparam(name) for name in _KEY_VALUES})
_KEY_UPSERT = _new_key.on_conflict_do_update(
    index_elements=["name"], set_={name: _new_key.excluded[name] for name in _KEY_VALUES}
)
_new_range = upsert(_range).values(gram=bindparam("gram"), first_name=bindparam("first"), last_name=bindparam("last"))
_WIDEN = _new_range.on_conflict_do_update(
    index_elements=["gram"],
    set_={
        "first_name": func.min(_range.c.first_name, _new_range.excluded.first_name),
        "last_name": func.max(_range.c.last_name, _new_range.excluded.last_name),
    },
)
_DEQUEUE = delete(_queue).where(_queue.c.name.in_(_names))


def pending(conn: Connection) -> bool:
    """Whether some written Customer is not indexed yet (as this connection's snapshot sees it)."""
    return conn.execute(PENDING).first() is not None


def catch_up(conn: Connection) -> int:
    """Index every queued Customer, inside ``conn``'s write transaction; returns how many names it took."""
    done = 0
    while names := list(conn.execute(_QUEUED, {"n": BATCH}).scalars()):
        _index(conn, names)
        conn.execute(_DEQUEUE, {"names": names})
        done += len(names)
    return done


def _index(conn: Connection, names: Sequence[str]) -> None:
    indexed = {r.name: r for r in conn.execute(_KEYS, {"names": names})}
    current = {r.name: r for r in conn.execute(_CURRENT, {"names": names})}
    # FTS5 forgets a contentless row only when told the tokens it was indexed with: those of the folded name
    # kept beside it (not folded again, which a newer Python's Unicode tables might do differently).
    old = [{"id": r.id, "grams": " ".join(pair_tokens(r.folded))} for r in indexed.values() if r.folded]
    if old:
        conn.execute(_FTS_DELETE, old)
    gone = [{"name": name} for name in indexed if name not in current]
    if gone:
        conn.execute(_KEY_DELETE, gone)
    if not current:
        return
    keys = [
        {
            "name": name,
            "customer_name": row.customer_name,
            "folded": fold(row.customer_name or ""),
            "searchable": int(not row.medusa_id and not row.disabled),
        }
        for name, row in current.items()
    ]
    conn.execute(_KEY_UPSERT, keys)
    tokens = {key["name"]: " ".join(pair_tokens(key["folded"])) for key in keys}
    ids = conn.execute(_KEYS, {"names": list(current)})
    conn.execute(_FTS_INSERT, [{"id": r.id, "grams": tokens[r.name]} for r in ids])
    ranges: dict[str, tuple[str, str]] = {}
    for row in current.values():
        if customer_name := row.customer_name:
            for gram in name_grams(fold(customer_name)):
                low, high = ranges.get(gram, (customer_name, customer_name))
                ranges[gram] = (min(low, customer_name), max(high, customer_name))
    if ranges:
        conn.execute(_WIDEN, [{"gram": g, "first": low, "last": high} for g, (low, high) in ranges.items()])
