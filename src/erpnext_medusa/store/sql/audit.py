"""The audit trail (``erpnext_medusa_audit``): rows are written by :func:`insert_audit`, inside the write they
describe (or, on a live site, right after the site confirmed it); read and pruned here."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine, String, delete, func, insert, literal, select

from erpnext_medusa.domain.audit import AuditEntry, AuditRecord
from erpnext_medusa.store.sql.errors import translated
from erpnext_medusa.store.sql.search import like_literal
from erpnext_medusa.store.sql.tables import audit as table
from erpnext_medusa.store.sql.tables import intake_event


def insert_audit(conn: Connection, entry: AuditEntry) -> None:
    """Add one audit row in ``conn``'s transaction."""
    origin = entry.origin
    conn.execute(
        insert(table).values(
            at=entry.at,
            action=entry.action,
            user=entry.user,
            client=origin.client,
            storefront_key=origin.storefront_key,
            medusa_actor=origin.medusa_actor,
            request_id=origin.request_id,
            client_request_id=origin.client_request_id,
            customer=entry.customer,
            documents=json.dumps(entry.documents, ensure_ascii=False),
            changes=json.dumps(entry.changes, ensure_ascii=False),
        )
    )


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def list_audit(
        self, *, customer: str | None, since: datetime | None, limit: int, customer_part: str | None = None
    ) -> list[AuditRecord]:
        c = table.c
        query = select(table).order_by(c.id.desc()).limit(limit)
        if customer is not None:
            query = query.where(c.customer == customer)
        if customer_part:
            pattern = func.lower(literal(like_literal(customer_part), String))
            query = query.where(func.lower(c.customer).like(pattern, escape="/"))
        if since is not None:
            query = query.where(c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AuditRecord(
                id=int(r["id"]),
                at=r["at"],
                action=r["action"],
                user=r["user"],
                client=r["client"],
                storefront_key=r["storefront_key"],
                medusa_actor=r["medusa_actor"],
                request_id=r["request_id"],
                client_request_id=r["client_request_id"],
                customer=r["customer"],
                documents=json.loads(r["documents"]),
                changes=json.loads(r["changes"]),
            )
            for r in reversed(rows)
        ]

    @translated
    def prune_audit(self, before: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(table).where(table.c.at < before))
        return int(result.rowcount or 0)

    @translated
    def prune_intake_events(self, before: datetime) -> int:
        """Forget webhook events received before ``before``: a delivery that late is long past any retry."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(intake_event).where(intake_event.c.received_at < before))
        return int(result.rowcount or 0)
