"""The outbox of changes sent to Medusa, in the service's own database (tables ``outbox`` and ``outbound``).

:meth:`Outbox.record` runs inside the caller's transaction (the mirror's, so the event and the mirror's copy of
the change are committed together). The rest run their own: a worker claims one event of a Customer at a time
(the Customer's ``outbound`` row, locked, is the mutex, so two processes never send one Customer's events out
of order), sends it and settles it with Medusa's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.medusa_status import SHOWN_STATES, LastSync
from erpnext_medusa.store.sql.engine import write_retrying
from erpnext_medusa.store.sql.errors import translated
from erpnext_medusa.store.sql.tables import outbound, outbox

T = TypeVar("T")
#: A claim older than this is a worker that stopped mid-delivery: its event is due again.
CLAIM_TIMEOUT = timedelta(seconds=120)


@dataclass(frozen=True)
class Event:
    id: int
    customer: str
    medusa_id: str
    modified: datetime
    payload: dict[str, Any]
    changed: list[str]
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


def _event(row: Any) -> Event:
    return Event(**{**row, "payload": json.loads(row["payload"]), "changed": json.loads(row["changed"])})


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class Outbox:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def _write(self, work: Callable[[Connection], T]) -> T:
        return write_retrying(self.engine, work)

    # --- recording changes (in the caller's transaction) ----------------------------------------------------
    def record(
        self,
        conn: Connection,
        customer: str,
        medusa_id: str,
        snapshot: dict[str, Any],
        modified: datetime,
        *,
        from_medusa: bool,
    ) -> int | None:
        """Compare ``snapshot`` with the one last recorded for ``customer``; when it is a new change made on the
        site, add an event (superseding the Customer's events still waiting) and return its id."""
        now = self.clock()
        b = outbound.c
        row = conn.execute(
            select(b.snapshot, b.modified, b.medusa_id).where(b.customer == customer).with_for_update()
        ).first()
        values = {"medusa_id": medusa_id, "snapshot": _dump(snapshot), "modified": modified, "updated_at": now}
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(outbound.insert().values(customer=customer, source=o.BASELINE, **values))
                return None
            except IntegrityError:  # another process saw it first: compare with what it recorded
                row = conn.execute(select(b.snapshot, b.modified, b.medusa_id).where(b.customer == customer)).one()
        old = json.loads(row.snapshot)
        if modified < row.modified or (old == snapshot and row.medusa_id == medusa_id):
            return None  # older than what was recorded (last write wins), or nothing new
        source = o.FROM_MEDUSA if from_medusa else (o.BASELINE if row.medusa_id != medusa_id else "site")
        conn.execute(update(outbound).where(b.customer == customer).values(source=source, **values))
        if source != "site":
            return None
        e = outbox.c
        conn.execute(update(outbox).where(e.customer == customer, e.state.in_(o.DUE)).values(state=o.SUPERSEDED))
        result = conn.execute(
            outbox.insert().values(
                customer=customer,
                medusa_id=medusa_id,
                modified=modified,
                payload=_dump(snapshot),
                changed=_dump(o.changed_fields(old, snapshot)),
                state=o.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    # --- delivery --------------------------------------------------------------------------------------------
    @translated
    def due(self, *, limit: int = 50) -> list[int]:
        """Ids of the events to send now, oldest first."""
        now = self.clock()
        e = outbox.c
        query = (
            select(e.id)
            .where(
                or_(
                    and_(e.state.in_(o.DUE), e.next_attempt_at <= now),
                    and_(e.state == o.SENDING, e.last_attempt_at < now - CLAIM_TIMEOUT),
                )
            )
            .order_by(e.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    @translated
    def claim(self, event_id: int) -> Event | None:
        """Take an event to send: None when it is no longer due, or another event of its Customer is being
        sent. An event that a newer one of its Customer already covers is superseded instead."""
        now = self.clock()
        e = outbox.c

        def work(conn: Connection) -> Event | None:
            row = conn.execute(select(outbox).where(e.id == event_id)).mappings().first()
            if row is None:
                return None
            conn.execute(select(outbound.c.customer).where(outbound.c.customer == row["customer"]).with_for_update())
            row = conn.execute(select(outbox).where(e.id == event_id)).mappings().one()
            stale = row["state"] == o.SENDING and (row["last_attempt_at"] or now) < now - CLAIM_TIMEOUT
            if row["state"] not in o.DUE and not stale:
                return None
            others = select(func.count()).where(e.customer == row["customer"], e.id != event_id)
            busy = conn.execute(
                others.where(e.state == o.SENDING, e.last_attempt_at >= now - CLAIM_TIMEOUT)
            ).scalar_one()
            if busy:
                return None
            newer = conn.execute(
                others.where(e.modified > row["modified"], e.state.in_((o.DELIVERED, *o.DUE, o.SENDING)))
            ).scalar_one()
            if newer:
                conn.execute(update(outbox).where(e.id == event_id).values(state=o.SUPERSEDED))
                return None
            conn.execute(update(outbox).where(e.id == event_id).values(state=o.SENDING, last_attempt_at=now))
            return _event({**row, "state": o.SENDING, "last_attempt_at": now})

        return self._write(work)

    @translated
    def settle(self, event_id: int, answer: o.Answer, policy: o.Policy) -> str:
        """Record a delivery's answer; the event's new state."""
        now = self.clock()
        e = outbox.c

        def work(conn: Connection) -> str:
            attempts = conn.execute(select(e.attempts).where(e.id == event_id)).scalar_one() + 1
            state, delay = o.verdict(answer, attempts, policy)
            values: dict[str, Any] = {
                "state": state,
                "attempts": attempts,
                "last_status": answer.status,
                "last_error": None if state == o.DELIVERED else o.explained(answer),
                "next_attempt_at": now + timedelta(seconds=delay),
            }
            if state == o.DELIVERED:
                values["delivered_at"] = now
            conn.execute(update(outbox).where(e.id == event_id).values(values))
            return state

        return self._write(work)

    # --- the back office -------------------------------------------------------------------------------------
    @translated
    def events(
        self, *, states: Sequence[str] = (), customer: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Event]:
        """Events, the newest first."""
        e = outbox.c
        query = select(outbox).order_by(e.id.desc()).limit(limit).offset(offset)
        if states:
            query = query.where(e.state.in_(list(states)))
        if customer:
            query = query.where(e.customer == customer)
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(query).mappings()]

    @translated
    def last_sync(self, customer: str) -> LastSync | None:
        """The Customer's newest event that is not superseded (a superseded one's content went out in a newer
        one): its state, and when it was delivered, else last tried, else recorded."""
        e = outbox.c
        query = (
            select(e.state, e.attempts, e.last_error, e.delivered_at, e.last_attempt_at, e.created_at)
            .where(e.customer == customer, e.state != o.SUPERSEDED)
            .order_by(e.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        state, attempts, error, delivered_at, tried_at, created_at = row
        at = delivered_at or tried_at or created_at
        return LastSync(SHOWN_STATES[state], at, int(attempts), None if state == o.DELIVERED else error)

    @translated
    def get(self, event_id: int) -> Event | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == event_id)).mappings().first()
        return None if row is None else _event(row)

    @translated
    def send_again(self, event_ids: Sequence[int], *, states: Sequence[str]) -> list[int]:
        """Make the events in ``states`` due now, with their attempts counted afresh; the ids that were."""
        now = self.clock()
        e = outbox.c

        def work(conn: Connection) -> list[int]:
            ids = list(conn.execute(select(e.id).where(e.id.in_(list(event_ids)), e.state.in_(list(states)))).scalars())
            if ids:
                conn.execute(
                    update(outbox).where(e.id.in_(ids)).values(state=o.PENDING, attempts=0, next_attempt_at=now)
                )
            return sorted(ids)

        return self._write(work) if event_ids else []

    @translated
    def ids_in(self, states: Sequence[str]) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(outbox.c.id).where(outbox.c.state.in_(list(states)))).scalars())

    @translated
    def counts(self) -> dict[str, int]:
        e = outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(e.state, func.count()).group_by(e.state)).all()
        return o.summary({str(state): int(n) for state, n in rows})

    @translated
    def oldest_waiting(self) -> datetime | None:
        """When the oldest event not yet delivered (nor dead) was recorded."""
        e = outbox.c
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(e.created_at)).where(e.state.in_((*o.DUE, o.SENDING)))).scalar()

    @translated
    def delivered_since(self, medusa_id: str, *, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
        """The snapshots delivered to the Medusa customer ``medusa_id`` after ``since``, the newest first; one being
        sent counts (Medusa may raise its event before the delivery's answer is recorded)."""
        e = outbox.c
        query = (
            select(e.payload)
            .where(
                e.medusa_id == medusa_id,
                or_(
                    and_(e.state == o.DELIVERED, e.delivered_at >= since),
                    and_(e.state == o.SENDING, e.last_attempt_at >= since),
                ),
            )
            .order_by(e.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(json.loads(payload)) for payload in conn.execute(query).scalars()]

    @translated
    def recorded_addresses(self) -> dict[str, list[dict[str, Any]]]:
        """The billing addresses of the snapshots last recorded, by the ERPNext Address each names."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for snapshot in conn.execute(select(outbound.c.snapshot)).scalars():
                billing = json.loads(snapshot).get("billing_address") or {}
                name = (billing.get("metadata") or {}).get("erpnext_address")
                if name:
                    found.setdefault(str(name), []).append(billing)
        return found

    @translated
    def record_alone(
        self, customer: str, medusa_id: str, snapshot: dict[str, Any], modified: datetime, *, from_medusa: bool
    ) -> int | None:
        """:meth:`record` in a transaction of its own (a change the mirror does not keep: an Address)."""
        return self._write(
            lambda conn: self.record(conn, customer, medusa_id, snapshot, modified, from_medusa=from_medusa)
        )
