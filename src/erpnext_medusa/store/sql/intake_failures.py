"""Medusa customer events the site refused (``erpnext_medusa_intake_failure``), kept to be retried or dismissed.

Beside the intake events (``erpnext_medusa_intake_event``, one row per event handled, its outcome final) rather
than in them: a failure is not an outcome yet, it changes (attempts, state), and it carries the contact data a
retry needs, which is dropped as soon as the event is done or dismissed.

States: ``failed`` (waiting), ``retrying`` (claimed by a retry in progress), ``done``, ``dismissed``. Each
attempt counts once: the first failure, a redelivery that failed again, and each claimed retry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.store.sql.site_tables import intake_failure as _table

OPEN = ("failed", "retrying")
SETTLED = ("done", "dismissed")
STATES = (*OPEN, *SETTLED)


@dataclass(frozen=True)
class IntakeFailure:
    event_id: str
    medusa_id: str
    #: The contact data a retry needs (name parts, e-mail, phone, company); None once settled.
    payload: dict[str, Any] | None
    #: ERPNext's reason: its message and exception type.
    message: str
    exc_type: str | None
    attempts: int
    first_attempt_at: datetime
    last_attempt_at: datetime
    state: str


_c = _table.c
_COLUMNS = [_c[f] for f in IntakeFailure.__dataclass_fields__]


def _failure(row: Any) -> IntakeFailure:
    payload = None if row["payload"] is None else json.loads(row["payload"])
    return IntakeFailure(**{**row, "payload": payload})


def get(conn: Connection, event_id: str) -> IntakeFailure | None:
    row = conn.execute(select(*_COLUMNS).where(_c.event_id == event_id)).mappings().one_or_none()
    return None if row is None else _failure(row)


def listed(conn: Connection, states: Sequence[str], *, limit: int, offset: int) -> list[IntakeFailure]:
    query = (
        select(*_COLUMNS)
        .where(_c.state.in_(list(states)))
        .order_by(_c.last_attempt_at.desc(), _c.event_id)
        .limit(limit)
        .offset(offset)
    )
    return [_failure(row) for row in conn.execute(query).mappings()]


def record(
    conn: Connection,
    event_id: str,
    medusa_id: str,
    payload: dict[str, Any],
    message: str,
    exc_type: str | None,
    at: datetime,
) -> IntakeFailure:
    """A new failure, or one more failed attempt of an open one; a settled one is left as it is."""
    values = {
        "medusa_id": medusa_id,
        "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
        "message": message,
        "exc_type": exc_type,
        "last_attempt_at": at,
    }
    if get(conn, event_id) is None:
        try:
            with conn.begin_nested():  # a concurrent delivery of the same event may insert first
                conn.execute(
                    insert(_table).values(event_id=event_id, attempts=1, first_attempt_at=at, state="failed", **values)
                )
        except IntegrityError:
            pass
        else:
            found = get(conn, event_id)
            assert found is not None
            return found
    # A claimed retry counted its attempt when it was claimed; a redelivery that failed counts now. MariaDB assigns
    # in order, each assignment seeing the earlier ones: `attempts` reads the state before it is set.
    attempts = case((_c.state == "retrying", _c.attempts), else_=_c.attempts + 1)
    assignments = [(_c.attempts, attempts), *((_c[k], v) for k, v in values.items()), (_c.state, "failed")]
    conn.execute(update(_table).where(_c.event_id == event_id, _c.state.in_(OPEN)).ordered_values(*assignments))
    found = get(conn, event_id)
    assert found is not None
    return found


def claim(conn: Connection, event_id: str, at: datetime, stale_before: datetime) -> bool:
    """Take a failed event for a retry (or one whose retry began before ``stale_before`` and never ended)."""
    waiting = (_c.state == "failed") | ((_c.state == "retrying") & (_c.last_attempt_at < stale_before))
    result = conn.execute(
        update(_table)
        .where(_c.event_id == event_id, waiting)
        .values(state="retrying", attempts=_c.attempts + 1, last_attempt_at=at)
    )
    return result.rowcount == 1


def settle(conn: Connection, event_id: str, state: str) -> bool:
    """Close an open failure as ``done`` or ``dismissed``, dropping its contact data."""
    if state not in SETTLED:
        raise ValueError(f"a failure is settled as one of {SETTLED}, not {state!r}")
    result = conn.execute(
        update(_table).where(_c.event_id == event_id, _c.state.in_(OPEN)).values(state=state, payload=None)
    )
    return result.rowcount == 1
