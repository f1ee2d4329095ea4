"""`erpnext sync` (the full pass) and what it leaves for the changes passes after it: the watermark, the
database's statistics and the statement it writes pages with, through the ERPNext double on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from erpnext_medusa.store.site import feed
from erpnext_medusa.store.site.feed import PassReport
from erpnext_medusa.store.sql import site_tables as s
from tests.helpers import TestDatabases
from tests.site.world import World, world

PAGE = 4


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of a few documents, so that a handful of Customers spans several pages."""
    monkeypatch.setattr(feed, "PAGE", PAGE)


def _customers(shape: World, count: int) -> list[str]:
    return [shape.site.insert("Customer", {"customer_name": f"Sync {i:02d}"})["name"] for i in range(count)]


def _report(reports: list[PassReport], doctype: str = "Customer") -> PassReport:
    return next(r for r in reports if r.doctype == doctype)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine runs meanwhile (observed, not altered)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.mark.usefixtures("small_pages")
def test_the_changes_pass_after_a_full_pass_reads_only_what_changed_since(shape: World):
    names = _customers(shape, 3 * PAGE + 1)
    shape.reconcile(full=True)
    shape.desk("PUT", "Customer", names[2], {"customer_name": "Sync renamed"})
    shape.desk("PUT", "Customer", names[-1], {"customer_name": "Sync last renamed"})
    report = _report(shape.reconcile())
    assert (report.read, report.changed) == (2, 2)
    assert set(shape.names("renamed")) == {names[2], names[-1]}
    assert _report(shape.reconcile()).read == 0


@pytest.mark.usefixtures("small_pages")
def test_edits_made_while_a_full_pass_runs_are_read_by_the_next_changes_pass(shape: World):
    names = _customers(shape, 3 * PAGE)
    pages = 0

    def desk_edits_meanwhile(doctype: str, count: int) -> None:
        nonlocal pages
        pages += 1
        if doctype == "Customer" and pages == 2:  # one behind the pass's cursor, then one ahead of it
            shape.desk("PUT", "Customer", names[0], {"customer_name": "Sync behind"})
            shape.desk("PUT", "Customer", names[-1], {"customer_name": "Sync ahead"})

    assert shape.services.site is not None
    shape.services.site.feed.reconcile(full=True, progress=desk_edits_meanwhile)
    assert shape.names("behind") == []  # its page had been read before the edit
    shape.reconcile()
    assert shape.names("behind") == [names[0]]
    assert shape.names("ahead") == [names[-1]]


def test_a_full_pass_on_an_empty_site_leaves_every_change_to_the_next_pass(shape: World):
    shape.reconcile(full=True)
    name = _customers(shape, 1)[0]
    assert _report(shape.reconcile()).read == 1
    assert shape.names("sync") == [name]


@pytest.mark.usefixtures("small_pages")
def test_a_full_pass_refreshes_the_statistics_of_the_mirror_once(databases: TestDatabases):
    mirrored = {s.customer.name, s.lead.name, s.gram_range.name}
    with world(databases.new()) as shape:
        _customers(shape, 3 * PAGE)
        engine = shape.services.store.engine
        with _statements(engine) as seen:
            shape.reconcile(full=True)
        analyzed = [q for q in seen if q.upper().startswith(("ANALYZE", "VACUUM"))]
        assert len(analyzed) == len(mirrored), analyzed  # one per table, not one per page
        assert all(any(t in q for t in mirrored) for q in analyzed)
        with engine.connect() as conn:
            if databases.backend == "sqlite":
                stats = conn.execute(text("SELECT tbl FROM sqlite_stat1")).scalars().all()
                assert s.customer.name in stats
            elif databases.backend == "postgresql":
                query = text("SELECT count(*) FROM pg_stats WHERE tablename = :t")
                assert conn.execute(query, {"t": s.customer.name}).scalar_one() > 0
        with _statements(engine) as seen:
            shape.reconcile()
        assert not [q for q in seen if q.upper().startswith(("ANALYZE", "VACUUM"))]


@pytest.mark.usefixtures("small_pages")
def test_every_page_is_written_by_one_statement_built_once(shape: World):
    assert shape.services.site is not None
    mirror = shape.services.site.feed.mirror
    _customers(shape, 3 * PAGE)
    shape.reconcile(full=True)
    built = mirror._upsert(s.customer)
    for name in _customers(shape, 2 * PAGE):
        shape.desk("PUT", "Customer", name, {"customer_name": f"{name} again"})
    shape.reconcile()
    assert mirror._upsert(s.customer) is built
    assert mirror.count("Customer") == 5 * PAGE
