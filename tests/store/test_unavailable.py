"""A database that breaks a connection is a 503 (ServiceUnavailableError with Retry-After), and the connection
is let go at once, so that the process starts afresh as soon as the database is usable again.

SQLite opened read-only stands in for database files that turned read-only: root, who runs these tests, would
ignore file modes (tests/e2e/test_hardening.py changes the modes under a server run by another user).
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.errors import ServiceUnavailableError
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.helpers import address, customer, seed, stamp


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Services]:
    """Services on a SQLite database with a customer and an address, whose connections are all read-only."""
    path = tmp_path / "shop.db"
    writable = Services.from_settings(Settings(database_url=f"sqlite:///{path}"))
    upgrade(writable.store.engine)
    seed(writable, customer("Acme"), address("Acme", "Acme"))
    writable.close()
    services = Services.from_settings(Settings(database_url=f"sqlite:///file:{path}?mode=ro&uri=true"))
    yield services
    services.close()


def _alive(ids: set[int]) -> int:
    """How many of the SQLite connections with these ids still exist."""
    return sum(isinstance(o, sqlite3.Connection) and id(o) in ids for o in gc.get_objects())


def _write(services: Services) -> None:
    services.store.write(lambda tx: tx.update_address("Acme-Billing", {"city": "Ajman"}, stamp()))


def test_a_write_the_database_refuses_as_read_only_is_a_503_and_reads_go_on(read_only):
    with pytest.raises(ServiceUnavailableError) as refused:
        _write(read_only)
    assert refused.value.http_status == 503 and refused.value.retry_after == 5
    assert refused.value.message == "The database is unavailable; try again in a moment."
    found = read_only.store.search_unlinked_customers(["acm"], limit=10, offset=0)
    assert [c.name for c in found] == ["Acme"]


def test_the_connections_of_failed_writes_are_closed_at_once_not_at_the_next_garbage_collection(read_only):
    """SQLite keeps a connection's files (and state it shares with the process's other connections to the same
    database) until the connection object is gone; one kept alive by the failed call's traceback would make the
    process fail as read-only after the database is writable again (until a full garbage collection)."""
    opened: set[int] = set()
    event.listen(read_only.store.engine, "connect", lambda connection, _record: opened.add(id(connection)))
    read_only.store.search_unlinked_customers([], limit=1, offset=0)  # a connection in the pool
    gc.collect()
    gc.disable()  # only reference counting frees objects now: what would wait for a collection shows
    try:
        for _ in range(5):
            with pytest.raises(ServiceUnavailableError):
                _write(read_only)
        alive = _alive(opened)
    finally:
        gc.enable()
    assert opened and alive == 0  # every connection it opened is closed and gone
