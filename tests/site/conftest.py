"""The erpnext shape's fixtures: a World per test on each backend's site-track database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.site.world import World, world


@pytest.fixture
def shape(site_engine: Engine) -> Iterator[World]:
    with world(site_engine.url) as w:
        yield w
