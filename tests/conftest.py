"""Test fixtures: every test that takes ``services`` or ``client`` runs on SQLite, PostgreSQL and MariaDB.

Each backend gets a fresh database for the session, built by the real migrations; after each test the
document tables are emptied, so tests do not see each other's rows. PostgreSQL and MariaDB are reached
through ``ERPNEXT_MEDUSA_TEST_POSTGRES_URL`` / ``ERPNEXT_MEDUSA_TEST_MARIADB_URL`` (an account that may
create databases); when a server is unreachable the tests fail, they are never skipped.
``ERPNEXT_MEDUSA_TEST_BACKENDS`` narrows the set for local work (default: all three).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, make_url, text
from sqlalchemy.engine import URL

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "ERPNEXT_MEDUSA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("ERPNEXT_MEDUSA_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"),
}
BACKENDS = [b.strip() for b in os.environ.get("ERPNEXT_MEDUSA_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",")]


class TestDatabases:
    """Creates and drops throw-away databases on one backend."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[URL] = []

    def _admin(self, *statements: str) -> None:
        """Run statements on the server's administrative connection (identifiers are ours, not input)."""
        admin = create_engine(ADMIN_URLS[self.backend], isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            admin.dispose()

    def new(self) -> URL:
        name = f"em_test_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            url = make_url(f"sqlite:///{self.tmp / (name + '.db')}")
        else:
            if self.backend == "postgresql":
                self._admin(f'CREATE DATABASE "{name}"')
            else:
                self._admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            url = make_url(ADMIN_URLS[self.backend]).set(database=name)
        self.created.append(url)
        return url

    def drop_all(self) -> None:
        if self.backend == "postgresql":
            self._admin(*(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)' for url in self.created))
        elif self.backend == "mariadb":
            self._admin(*(f"DROP DATABASE IF EXISTS `{url.database}`" for url in self.created))


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    dbs = TestDatabases(request.param, tmp_path_factory.mktemp(request.param))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def backend(databases: TestDatabases) -> str:
    return databases.backend


@pytest.fixture(scope="session")
def migrated_url(databases: TestDatabases) -> URL:
    """One database per backend for the session, built by the real migrations."""
    url = databases.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        upgrade(services.store.engine)
    finally:
        services.close()
    return url


_DEFAULT_COUNTRIES = {c.name for c in default_countries()}


@pytest.fixture
def services(migrated_url: URL) -> Iterator[Services]:
    svc = Services.from_settings(
        Settings(database_url=migrated_url.render_as_string(hide_password=False), fetch_max_results=50)
    )
    yield svc
    with svc.store.engine.begin() as conn:
        for table in (t.dynamic_link, t.address, t.customer, t.lead, t.series, t.api_key, t.audit):
            conn.execute(delete(table))
        conn.execute(delete(t.country).where(t.country.c.name.not_in(_DEFAULT_COUNTRIES)))
    svc.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as c:
        yield c


@pytest.fixture
def client_with(services: Services) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps run with other settings (``client_with(guest_access="key", ...)``) on the same database;
    ``peer`` is the connection's address as the app sees it."""
    with ExitStack() as stack:

        def make(peer: str = "testclient", **overrides: Any) -> TestClient:
            settings = Settings(database_url=services.settings.database_url, fetch_max_results=50, **overrides)
            app = create_app(services=replace(services, settings=settings))
            return stack.enter_context(TestClient(app, client=(peer, 50000)))

        yield make


@pytest.fixture
def auth_header(services: Services) -> dict[str, str]:
    key = create_api_key(services.keys, "admin@example.com", services.now())
    return {"Authorization": f"token {key.api_key}:{key.api_secret}"}
