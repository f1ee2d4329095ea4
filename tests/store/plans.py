"""Forcing the typeahead planner's choice (store/sql/search.py), for tests that check every plan answers alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from erpnext_medusa.store.sql.search import CustomerSearch


@contextmanager
def plan(search: CustomerSearch, which: str) -> Iterator[None]:
    """Force one plan: ``grams`` (the gram index alone) or ``ordered`` (a walk through every row)."""
    saved = search.probe_rows, search.costs
    search.refresh_statistics()
    if which == "grams":
        search.probe_rows, search.costs = 0, replace(saved[1], gram=0.0, posting=0.0)
    else:
        search.probe_rows, search.costs = 10**9, replace(saved[1], walk=0.0)
    try:
        yield
    finally:
        search.probe_rows, search.costs = saved
