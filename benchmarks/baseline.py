"""The baseline the benchmark compares against: the replaced app's search query, served by the same app.

The old ``fetch_all_customers`` ran an AND of unindexed ``customer_name LIKE '%word%'`` with
``medusa_id IS NULL`` and no limit. Everything else (HTTP, envelope, writes) is the service's own code, so
the comparison isolates the search path. ``uvicorn --factory benchmarks.baseline:create_app``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from erpnext_medusa.config import get_settings
from erpnext_medusa.domain.models import CustomerSummary
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.search import like_literal
from erpnext_medusa.store.sql.store import SqlStore
from erpnext_medusa.web.app import create_app as create_service_app


def baseline_search(engine: Engine, words: Sequence[str]) -> list[CustomerSummary]:
    c = t.customer.c
    # The old query, case-insensitive as the old app's MariaDB collation made it (lower() on both sides).
    query = select(c.name, c.customer_name, c.email_id, c.mobile_no).where(
        c.medusa_id.is_(None),
        *(func.lower(c.customer_name).like(func.lower(like_literal(w)), escape="/") for w in words),
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [CustomerSummary(r.name, r.customer_name, r.email_id, r.mobile_no) for r in rows]


class BaselineStore(SqlStore):
    def search_unlinked_customers(self, words: Sequence[str], *, limit: int, offset: int) -> list[CustomerSummary]:
        return baseline_search(self.engine, words)  # no limit: the old app returned every match


def create_app() -> FastAPI:
    services = Services.from_settings(get_settings())
    services.store = BaselineStore(services.store.engine)
    return create_service_app(services=services)
