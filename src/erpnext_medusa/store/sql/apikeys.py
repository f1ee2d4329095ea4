"""API key records in the service's own table (``erpnext_medusa_api_key``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from erpnext_medusa.domain.ports import ApiKeyRecord
from erpnext_medusa.store.sql.errors import translated
from erpnext_medusa.store.sql.tables import api_key as table


class SqlApiKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def add_api_key(self, record: ApiKeyRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(table).values(
                    api_key=record.api_key,
                    user=record.user,
                    secret_sha256=record.secret_sha256,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                )
            )

    @translated
    def get_api_key(self, api_key: str) -> ApiKeyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.api_key == api_key)).first()
        return None if row is None else ApiKeyRecord(*row)

    @translated
    def list_api_keys(self) -> list[ApiKeyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.created_at, table.c.api_key)).all()
        return [ApiKeyRecord(*row) for row in rows]

    @translated
    def revoke_api_key(self, api_key: str, at: datetime) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(table).where(table.c.api_key == api_key, table.c.revoked_at.is_(None)).values(revoked_at=at)
            )
        return result.rowcount == 1

    @translated
    def touch_api_key(self, api_key: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.api_key == api_key).values(last_used_at=at))
