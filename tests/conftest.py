"""Test fixtures: every test that takes ``services`` or ``client`` runs on SQLite, PostgreSQL and MariaDB.

Each backend gets a fresh database for the session, built by the real migrations; after each test the
document tables are emptied, so tests do not see each other's rows. PostgreSQL and MariaDB are reached
through ``ERPNEXT_MEDUSA_TEST_POSTGRES_URL`` / ``ERPNEXT_MEDUSA_TEST_MARIADB_URL`` (an account that may
create databases); when a server is unreachable the tests fail, they are never skipped.
``ERPNEXT_MEDUSA_TEST_BACKENDS`` narrows the set for local work (default: all three).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy.engine import URL

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.countries import default_countries
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import site_tables
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app
from tests.helpers import BACKENDS, REDIS_URL, TEST_HOST, TestDatabases


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

#: The service's own login tables, emptied after each test like the documents.
OWN_AUTH = (t.session, t.user, t.login_failure)


@pytest.fixture
def services(migrated_url: URL) -> Iterator[Services]:
    svc = Services.from_settings(
        Settings(
            database_url=migrated_url.render_as_string(hide_password=False),
            fetch_max_results=50,
            allowed_hosts=TEST_HOST,
        )
    )
    yield svc
    with svc.store.engine.begin() as conn:
        for table in (
            t.dynamic_link,
            t.address,
            t.customer,
            t.lead,
            t.series,
            t.api_key,
            t.audit,
            t.intake_event,
            *OWN_AUTH,
        ):
            conn.execute(delete(table))
        conn.execute(delete(t.country).where(t.country.c.name.not_in(_DEFAULT_COUNTRIES)))
    svc.close()


@pytest.fixture(scope="session")
def site_url(databases: TestDatabases) -> URL:
    """One database per backend for the session, built by the site track (the erpnext shape's own tables)."""
    url = databases.new()
    engine = make_engine(url)
    try:
        upgrade(engine, track="site")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def site_engine(site_url: URL) -> Iterator[Engine]:
    """An engine on the site-track database; its tables are emptied after each test."""
    engine = make_engine(site_url)
    yield engine
    with engine.begin() as conn:
        for table in site_tables.SITE_TABLES:
            conn.execute(delete(table))
        if engine.dialect.name == "sqlite":  # the mirror's FTS5 table of pair tokens (contentless)
            fts = site_tables.CUSTOMER_GRAMS_FTS
            conn.exec_driver_sql(f'INSERT INTO "{fts}" ("{fts}") VALUES (\'delete-all\')')
    engine.dispose()


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
            overrides.setdefault("allowed_hosts", TEST_HOST)
            settings = Settings(database_url=services.settings.database_url, fetch_max_results=50, **overrides)
            app = create_app(services=replace(services, settings=settings))
            return stack.enter_context(TestClient(app, client=(peer, 50000)))

        yield make


@pytest.fixture
def auth_header(services: Services) -> dict[str, str]:
    key = create_api_key(services.keys, "admin@example.com", services.now())
    return {"Authorization": f"token {key.api_key}:{key.api_secret}"}


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the local Redis, whose keys are deleted after the test. Redis must be
    running: the test fails, never skips, without it."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    prefix = f"em-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()
