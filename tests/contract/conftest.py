"""Every contract test runs in both shapes, each on SQLite, PostgreSQL and MariaDB (for the erpnext shape, the
service's own database; the documents are the ERPNext double's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from erpnext_medusa.services import Services
from erpnext_medusa.web.app import create_app
from tests.contract.shapes import Live, Shape, Standalone
from tests.site.world import world


@pytest.fixture(params=["standalone", "erpnext"])
def shape(request: pytest.FixtureRequest, services: Services, site_engine: Engine) -> Iterator[Shape]:
    if request.param == "standalone":
        with TestClient(create_app(services=services)) as client:
            yield Standalone(services, client)
        return
    with world(site_engine.url) as w:
        yield Live(w)
