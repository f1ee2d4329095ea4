"""The outbox's tables on SQLite, PostgreSQL and MariaDB: one Customer's events are sent one at a time and never
after a newer one, whichever process claims them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.store.sql.outbox import CLAIM_TIMEOUT, Outbox

T0 = datetime(2026, 12, 7, 8, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _box(site_engine: Engine, clock: Clock) -> Outbox:
    return Outbox(site_engine, clock=clock)


def test_a_customers_next_event_waits_while_one_is_being_sent(site_engine: Engine):
    clock = Clock()
    box, other = _box(site_engine, clock), _box(site_engine, clock)  # two processes
    box.record_alone("Ada", "cus_1", {"first_name": "A"}, T0, from_medusa=False)  # first sight
    first = box.record_alone("Ada", "cus_1", {"first_name": "B"}, T0 + timedelta(seconds=1), from_medusa=False)
    assert first is not None and box.claim(first) is not None
    second = box.record_alone("Ada", "cus_1", {"first_name": "C"}, T0 + timedelta(seconds=2), from_medusa=False)
    assert second is not None
    assert other.claim(second) is None  # the first is still being sent
    assert other.claim(first) is None  # and it is taken
    box.settle(first, o.Answer(200, "{}"), o.Policy())
    claimed = other.claim(second)
    assert claimed is not None and claimed.payload == {"first_name": "C"}


def test_a_stale_claim_is_due_again_and_an_older_event_is_superseded(site_engine: Engine):
    clock = Clock()
    box = _box(site_engine, clock)
    box.record_alone("Bo", "cus_2", {"first_name": "A"}, T0, from_medusa=False)
    old = box.record_alone("Bo", "cus_2", {"first_name": "B"}, T0 + timedelta(seconds=1), from_medusa=False)
    assert old is not None and box.claim(old) is not None  # its process stops here
    clock.now += CLAIM_TIMEOUT + timedelta(seconds=1)
    assert box.due() == [old]
    newer = box.record_alone("Bo", "cus_2", {"first_name": "C"}, T0 + timedelta(seconds=2), from_medusa=False)
    assert newer is not None
    assert box.claim(old) is None  # a newer event covers it
    assert box.get(old).state == o.SUPERSEDED  # type: ignore[union-attr]
    assert box.claim(newer) is not None


def test_a_change_from_medusa_is_recorded_without_an_event(site_engine: Engine):
    box = _box(site_engine, Clock())
    box.record_alone("Cy", "cus_3", {"email": "a@x.org"}, T0, from_medusa=False)
    assert box.record_alone("Cy", "cus_3", {"email": "b@x.org"}, T0 + timedelta(seconds=1), from_medusa=True) is None
    # The desk setting it back is a change against what Medusa now holds.
    assert box.record_alone("Cy", "cus_3", {"email": "a@x.org"}, T0 + timedelta(seconds=2), from_medusa=False)
    assert box.counts()[o.PENDING] == 1


def test_the_snapshots_sent_recently_include_one_being_sent_and_not_failed_or_old_ones(site_engine: Engine):
    clock = Clock()
    box = _box(site_engine, clock)
    box.record_alone("Di", "cus_4", {"first_name": "A"}, T0, from_medusa=False)
    sent = box.record_alone("Di", "cus_4", {"first_name": "B"}, T0 + timedelta(seconds=1), from_medusa=False)
    assert sent is not None and box.claim(sent) is not None
    # Medusa's event for this push may come before its answer is recorded: the push in flight counts.
    assert box.delivered_since("cus_4", since=T0) == [{"first_name": "B"}]
    box.settle(sent, o.Answer(200, "{}"), o.Policy())
    failing = box.record_alone("Di", "cus_4", {"first_name": "C"}, T0 + timedelta(seconds=2), from_medusa=False)
    assert failing is not None and box.claim(failing) is not None
    box.settle(failing, o.Answer(None, "down"), o.Policy())
    assert box.delivered_since("cus_4", since=T0) == [{"first_name": "B"}]
    assert box.delivered_since("cus_4", since=T0 + timedelta(minutes=1)) == []
    assert box.delivered_since("cus_other", since=T0) == []
