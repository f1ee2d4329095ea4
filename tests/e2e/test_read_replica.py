"""Read replicas, against a real PostgreSQL streaming replica: a private primary and a standby seeded from it
with ``pg_basebackup -R``, both started by the test as the postgres user and removed afterwards.

The proof that searches read the replica: with the standby's replay paused, a Customer written on the primary
is not found by a search until replay resumes; and with the primary stopped, searches still answer. The proof
that writes, reads inside writes and API-key reads go to the primary: they succeed and land there while the
standby, paused, has never seen the rows they need.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app
from tests.e2e.postgres import AS_POSTGRES, PgServer, pg_tool, server_folder
from tests.helpers import TEST_HOST, customer, free_port, seed

pytestmark = pytest.mark.slow

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
#: The longest a test waits for the standby to replay what the primary wrote.
REPLAY_WITHIN = 30.0


@dataclass
class Replicated:
    primary: PgServer
    replica: PgServer
    primary_engine: Engine
    replica_engine: Engine

    def wait_for_replay(self) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        with self.primary_engine.connect() as conn:
            lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        deadline = time.monotonic() + REPLAY_WITHIN
        while True:
            with self.replica_engine.connect() as conn:
                done = conn.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn})
                if done.scalar_one():
                    return
            assert time.monotonic() < deadline, f"the standby did not replay up to {lsn} in {REPLAY_WITHIN} s"
            time.sleep(0.05)

    def pause_replay(self) -> None:
        with self.replica_engine.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
            conn.commit()

    def resume_replay(self) -> None:
        with self.replica_engine.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
            conn.commit()

    def names(self, engine: Engine, table: str = "tabCustomer") -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text(f'SELECT name FROM "{table}"')).scalars())


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    """A primary and a streaming standby seeded from it, migrated and replayed."""
    with server_folder("erpnext-medusa-replica-") as folder:
        yield from _replicated(folder)


def _replicated(folder: Path) -> Iterator[Replicated]:
    primary = PgServer(folder / "primary", free_port(), folder)
    replica = PgServer(folder / "replica", free_port(), folder)
    started: list[PgServer] = []
    engines: list[Engine] = []
    try:
        primary.initdb()
        primary.start()
        started.append(primary)
        subprocess.run(
            [pg_tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
             "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast"],
            check=True, capture_output=True, **AS_POSTGRES,
        )  # fmt: skip
        replica.start()
        started.append(replica)
        engines += [create_engine(server.url, pool_pre_ping=True) for server in (primary, replica)]
        pair = Replicated(primary, replica, *engines)
        with pair.replica_engine.connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one(), "the replica is not a standby"
        services = Services.from_settings(Settings(database_url=primary.url))
        try:
            upgrade(services.store.engine)
        finally:
            services.close()
        pair.wait_for_replay()
        yield pair
    finally:
        for engine in engines:
            engine.dispose()
        for server in reversed(started):
            server.kill()


@pytest.fixture
def services(replicated: Replicated) -> Iterator[Services]:
    """Services whose searches read the standby; replay runs again after each test."""
    settings = Settings(
        database_url=replicated.primary.url, read_database_url=replicated.replica.url, allowed_hosts=TEST_HOST
    )
    svc = Services.from_settings(settings)
    try:
        yield svc
    finally:
        replicated.resume_replay()
        svc.close()


def search(services: Services, word: str) -> list[str]:
    return [c.name for c in services.store.search_unlinked_customers([word], limit=20, offset=0)]


def test_a_search_reads_the_replica_and_sees_a_row_once_it_is_replayed(replicated, services):
    assert services.store.search.engine is services.store.read_engine
    seed(services, customer("Zanzibar Trading"))
    replicated.wait_for_replay()
    assert search(services, "zanzibar") == ["Zanzibar Trading"]

    replicated.pause_replay()
    seed(services, customer("Zanzibar Spices"))  # a write through the service: on the primary at once
    assert "Zanzibar Spices" in replicated.names(replicated.primary_engine)
    assert "Zanzibar Spices" not in replicated.names(replicated.replica_engine)
    with TestClient(create_app(services=services)) as client:
        answered = client.get(FETCH, params={"name": "zanzibar"}).json()["message"]
        assert [c["name"] for c in answered] == ["Zanzibar Trading"]  # the standby has not replayed it yet

        replicated.resume_replay()
        replicated.wait_for_replay()
        answered = client.get(FETCH, params={"name": "zanzibar"}).json()["message"]
        assert [c["name"] for c in answered] == ["Zanzibar Spices", "Zanzibar Trading"]


def test_the_search_statistics_are_sampled_from_the_replica(replicated, services):
    replicated.wait_for_replay()
    before = services.store.search.sample().total
    replicated.pause_replay()
    seed(services, *(customer(f"Sampled {i}") for i in range(5)))
    assert services.store.search.sample().total == before  # the primary has five more; the standby not yet
    replicated.resume_replay()
    replicated.wait_for_replay()
    assert services.store.search.sample().total == before + 5


def test_writes_reads_inside_writes_and_api_keys_use_the_primary(replicated, services):
    replicated.pause_replay()
    seed(services, customer("Primary Only Co"))  # the standby never sees it while paused
    key = create_api_key(services.keys, "shop@example.com", services.now())
    with TestClient(create_app(services=services)) as client:
        # The key is read on the primary: the standby does not have it yet.
        who = client.get(
            "/api/method/frappe.auth.get_logged_user",
            headers={"Authorization": f"token {key.api_key}:{key.api_secret}"},
        )
        assert who.json() == {"message": "shop@example.com"}
        # update_address reads the Customer inside its write: found, so read on the primary.
        updated = client.post(
            "/api/method/medusa_integration.api.update_address",
            json={"customer_id": "Primary Only Co", "address_line1": "1 Harbour Road", "city": "Muscat",
                  "country": "Oman"},
        )  # fmt: skip
        assert updated.json() == {"message": "Address updated successfully"}
    assert "Primary Only Co-Billing" in replicated.names(replicated.primary_engine, "tabAddress")
    assert "Primary Only Co-Billing" not in replicated.names(replicated.replica_engine, "tabAddress")
    replicated.resume_replay()
    replicated.wait_for_replay()
    assert "Primary Only Co-Billing" in replicated.names(replicated.replica_engine, "tabAddress")


def test_readyz_checks_both_and_searches_answer_while_the_primary_is_down(replicated, services):
    seed(services, customer("Standby Answers Ltd"))
    replicated.wait_for_replay()
    with TestClient(create_app(services=services)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}

        replicated.replica.stop()
        try:
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["reason"].startswith("the read replica does not answer")
        finally:
            replicated.replica.start()
        assert client.get("/readyz").json() == {"status": "ready"}

        replicated.primary.stop()
        try:
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["reason"].startswith("the database does not answer")
            # Only the standby is up, and it still answers searches.
            answered = client.get(FETCH, params={"name": "standby answers"})
            assert answered.status_code == 200, answered.text
            assert [c["name"] for c in answered.json()["message"]] == ["Standby Answers Ltd"]
        finally:
            replicated.primary.start()
        assert client.get("/readyz").json() == {"status": "ready"}
