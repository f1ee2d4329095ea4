"""Failed logins in SQL: kept under a digest of the user name, and forgotten once their lock period is over (the
table holds only the failures of the last lock period, whatever names were tried). On every backend."""

from __future__ import annotations

from datetime import datetime, timedelta

from erpnext_medusa.domain.accounts import login_key
from erpnext_medusa.services import Services
from tests.helpers import rows

LOCK = timedelta(seconds=60)
T0 = datetime(2026, 3, 1, 12, 0, 0)


def _stored(services: Services) -> dict[str, int]:
    found = rows(services, 'SELECT "user", failures FROM erpnext_medusa_login_failure')
    return {str(r["user"]): int(r["failures"]) for r in found}


def test_failures_older_than_their_window_are_pruned_as_new_ones_come_in(services):
    locks = services.locks
    old, locked, recent = login_key("old@example.com"), login_key("locked@example.com"), login_key("new@example.com")
    locks.record_failure(old, T0, 5, LOCK)
    for _ in range(2):
        locks.record_failure(locked, T0 + timedelta(seconds=30), 2, LOCK)  # locked until T0 + 90 s
    assert set(_stored(services)) == {old, locked}
    locks.record_failure(recent, T0 + timedelta(seconds=61), 5, LOCK)
    assert set(_stored(services)) == {locked, recent}  # old's window is over; locked's lock is not
    assert locks.locked_until(locked) == T0 + timedelta(seconds=90)
    locks.record_failure(recent, T0 + timedelta(seconds=91), 5, LOCK)
    assert _stored(services) == {recent: 2}
    assert all(len(key) == 64 for key in _stored(services))  # digests, never the names
