"""The baseline the benchmark compares against: the replaced app's search query, served by the same app.

The old ``fetch_all_customers`` ran an AND of unindexed ``customer_name LIKE '%word%'`` with
``medusa_id IS NULL`` and no limit. Everything else (HTTP, envelope, writes) is the service's own code, so
the comparison isolates the search path. ``uvicorn --factory benchmarks.baseline:create_app``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy import ColumnElement, Engine, func, select

from erpnext_medusa.config import get_settings
from erpnext_medusa.domain.models import CustomerSummary
from erpnext_medusa.domain.text import fold
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.search import like_literal
from erpnext_medusa.store.sql.store import SqlStore
from erpnext_medusa.web.app import create_app as create_service_app


def _matching(words: Sequence[str]) -> list[ColumnElement[bool]]:
    c = t.customer.c
    # The old query, case-insensitive as the old app's MariaDB collation made it (lower() on both sides).
    return [
        c.medusa_id.is_(None),
        *(func.lower(c.customer_name).like(func.lower(like_literal(w)), escape="/") for w in words),
    ]


def baseline_search(engine: Engine, words: Sequence[str]) -> list[CustomerSummary]:
    c = t.customer.c
    query = select(c.name, c.customer_name, c.email_id, c.mobile_no).where(*_matching(words))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [CustomerSummary(r.name, r.customer_name, r.email_id, r.mobile_no) for r in rows]


def baseline_names_in_order(engine: Engine, words: Sequence[str]) -> list[str]:
    """The old query's matches in the service's order (customer_name, then name), for the answer checks only.

    The old query has no ORDER BY (the timed baseline keeps it so), so its rows come in whatever order the
    database finds them. The same matches ordered here by the database itself, with the columns' own
    collation (as the service's ORDER BY uses it), let a page at any (limit, limit_start) be checked against
    its exact slice rather than only as a subset.

    On every database the service folds names and words with :func:`fold` (accents, Arabic letter variants,
    digits: docs/search.md, "Folding"), which finds more than the old query's LIKE: the matches are the rows
    whose folded name contains every folded word, in the database's own order."""
    phrase = " ".join(words)
    return folded_names_in_order(engine, [phrase], cap=None)[phrase][0]


def folded_names_in_order(
    engine: Engine, phrases: Sequence[str], *, cap: int | None
) -> dict[str, tuple[list[str], int]]:
    """For each phrase (words separated by spaces), the unlinked customers whose folded name contains every
    folded word, in the service's order (customer_name, then name, by the database), the first ``cap`` of
    them (all if None), and how many match: the matches as the service finds them wherever it folds. One scan
    of the table for all the phrases, each name folded once."""
    c = t.customer.c
    wanted = {p: [f for f in (fold(w) for w in p.split()) if f] for p in phrases}
    found: dict[str, tuple[list[str], int]] = {p: ([], 0) for p in phrases}
    query = select(c.name, c.customer_name).where(c.medusa_id.is_(None)).order_by(c.customer_name, c.name)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=10_000).execute(query):
            name = fold(row.customer_name or "")
            for phrase, folded in wanted.items():
                if all(f in name for f in folded):
                    names, count = found[phrase]
                    if cap is None or count < cap:
                        names.append(row.name)
                    found[phrase] = (names, count + 1)
    return found


class BaselineStore(SqlStore):
    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        return baseline_search(self.engine, words)  # no limit: the old app returned every match

    def take_search_statistics(self) -> None:
        pass  # its query plans nothing (and the bare tabCustomer has no search tables to sample)


def create_app() -> FastAPI:
    services = Services.from_settings(get_settings())
    services.store = BaselineStore(services.store.engine)
    return create_service_app(services=services)
