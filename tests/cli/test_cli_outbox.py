"""``erpnext-medusa outbox list|retry|replay`` over the service's database (a SQLite file, as a user names it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.store.sql.outbox import Outbox
from tests.helpers import assert_clean_exit, assert_clean_failure, flat, invoke

NOW = datetime(2026, 12, 7, 8, 0, 0)


def _outbox(db_file: Path) -> Outbox:
    engine = make_engine(make_url(f"sqlite:///{db_file}"))
    upgrade(engine)
    return Outbox(engine, clock=lambda: NOW)


def _events(box: Outbox) -> list[int]:
    """Two Customers, each first seen and then changed: two pending events."""
    ids = []
    for n, name in enumerate(("Ada", "Bo")):
        box.record_alone(name, f"cus_{n}", {"first_name": name}, NOW, from_medusa=False)
        event = box.record_alone(
            name, f"cus_{n}", {"first_name": name + "!"}, NOW + timedelta(seconds=1), from_medusa=False
        )
        assert event is not None
        ids.append(event)
    return ids


def test_list_shows_the_events_and_the_counts(db_file: Path):
    box = _outbox(db_file)
    ada, bo = _events(box)
    box.claim(ada)
    box.settle(ada, o.Answer(404, '{"message":"Customer with id: cus_0 was not found"}'), o.Policy())
    result = invoke("outbox", "list")
    assert_clean_exit(result)
    text = flat(result.output)
    assert f"{ada} dead 1 Ada cus_0 first_name" in text and "[404]" in text and "was not found" in text
    assert f"{bo} pending 0 Bo cus_1 first_name" in text
    assert "pending=1" in text and "dead=1" in text and "delivered=0" in text
    only = flat(invoke("outbox", "list", "--state", "dead").output)
    assert "Ada" in only and "Bo" not in only
    assert_clean_failure(invoke("outbox", "list", "--state", "lost"))


def test_retry_and_replay_make_events_due_again(db_file: Path):
    box = _outbox(db_file)
    ada, bo = _events(box)
    box.claim(ada)
    box.settle(ada, o.Answer(400, "refused"), o.Policy())
    box.claim(bo)
    box.settle(bo, o.Answer(200, "{}"), o.Policy())
    # retry takes failed and dead events only: a delivered one is named as not sendable.
    result = invoke("outbox", "retry", str(ada), str(bo))
    assert_clean_failure(result)
    assert f"1 event(s) due now; not in a state to send: [{bo}]" in flat(result.output)
    event = box.get(ada)
    assert event is not None and event.state == o.PENDING and event.attempts == 0
    # replay sends a delivered one again.
    assert_clean_exit(invoke("outbox", "replay", str(bo)))
    assert box.get(bo).state == o.PENDING  # type: ignore[union-attr]
    assert_clean_failure(invoke("outbox", "retry"))  # names nothing
    box.claim(ada)
    box.settle(ada, o.Answer(400, "refused"), o.Policy())
    result = invoke("outbox", "retry", "--all")
    assert_clean_exit(result)
    assert "1 event(s) due now" in flat(result.output)
