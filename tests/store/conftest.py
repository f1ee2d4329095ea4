"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from erpnext_medusa.store.sql.engine import make_engine
from tests.helpers import TestDatabases


@pytest.fixture
def new_engine(databases: TestDatabases) -> Iterator[Callable[..., sa.Engine]]:
    """Engines on fresh throw-away databases of the current backend (``new_engine()`` makes one, or one on
    ``url``); disposed after the test, the databases dropped with the session's."""
    engines: list[sa.Engine] = []

    def make(url: URL | None = None) -> sa.Engine:
        engines.append(make_engine(url or databases.new()))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()
