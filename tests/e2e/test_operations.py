"""Operations against real processes: metrics added up across two uvicorn workers, /readyz following a
PostgreSQL server that stops and starts again (a private server of the test's own, so that no other test loses
its database), and JSON log lines."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app
from tests.e2e.postgres import PgServer, server_folder
from tests.helpers import READY_WITHIN, TEST_HOST, Server, TestDatabases, free_port, server_env, start_server


def _workers_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _requests_total(text: str, method: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "erpnext_medusa_requests_total" and sample.labels["method"] == method:
                total += sample.value
    return total


@pytest.mark.slow
def test_metrics_add_up_across_two_worker_processes(tmp_path):
    dbs = TestDatabases("sqlite", tmp_path)
    url = dbs.new()
    env = server_env(url, metrics="open", rate_limit="0")
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "erpnext_medusa", "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(proc, port, log)
    try:
        server.wait_ready()
        deadline = time.monotonic() + READY_WITHIN
        while len(_workers_of(proc.pid)) < 2:  # both workers up (the ready check reached one of them)
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        workers = _workers_of(proc.pid)
        base = f"http://127.0.0.1:{port}"
        before = {pid: _cpu_ticks(pid) for pid in workers}
        for _ in range(60):  # a new connection each time, so the two workers share them
            assert httpx.get(f"{base}/api/method/ping", timeout=10).json() == {"message": "pong"}
        busy = [pid for pid in workers if _cpu_ticks(pid) > before[pid]]
        assert len(busy) == 2, "one worker served every request; the test proves nothing"
        scrapes = [httpx.get(f"{base}/metrics", timeout=10).text for _ in range(4)]
        # Whichever worker answers the scrape, it reports both workers' calls: the ready check's and these 60.
        assert {_requests_total(text, "ping") for text in scrapes} == {61.0}
    finally:
        server.stop()
    leftovers = list(Path("/tmp").glob(f"erpnext-medusa-metrics-*/*_{proc.pid}.db"))
    assert not leftovers


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.fixture
def private_postgresql() -> Iterator[PgServer]:
    """A PostgreSQL server of this test's own, so that stopping it takes no other test's database away."""
    with server_folder("erpnext-medusa-pg-") as folder:
        server = PgServer(folder / "data", free_port(), folder)
        server.initdb()
        server.start()
        try:
            yield server
        finally:
            server.kill()


@pytest.mark.slow
def test_readyz_turns_503_while_postgresql_is_stopped_and_ready_again_after(private_postgresql):
    server = private_postgresql
    services = Services.from_settings(Settings(database_url=server.url, allowed_hosts=TEST_HOST))
    upgrade(services.store.engine)
    with TestClient(create_app(services=services)) as client:  # the app closes the services when it stops
        assert client.get("/readyz").json() == {"status": "ready"}
        server.stop()
        started = time.monotonic()
        r = client.get("/readyz")
        assert time.monotonic() - started < 5
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert r.json()["reason"].startswith("the database does not answer")
        assert client.get("/healthz").status_code == 200  # alive all the same
        server.start()
        assert client.get("/readyz").json() == {"status": "ready"}


STOREFRONT_SECRET = "storefront-secret-0123456789"


@pytest.mark.slow
def test_json_logs_parse_line_by_line_and_hold_no_secrets(tmp_path):
    dbs = TestDatabases("sqlite", tmp_path)
    url = dbs.new()
    env = server_env(url, log_format="json", guest_access="key", storefront_keys=f"web:{STOREFRONT_SECRET}")
    with start_server(tmp_path, env) as server:
        base = server.base
        key = {"X-Storefront-Key": STOREFRONT_SECRET}
        fetched = httpx.get(f"{base}/{FETCH}", params={"name": "ali.hassan@example.com"}, headers=key, timeout=10)
        assert fetched.status_code == 200
        refused = httpx.get(f"{base}/frappe.auth.get_logged_user", headers={"Authorization": "token k:s3cr3t"})
        assert refused.status_code == 401
        jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        httpx.get(f"{base}/ping", headers={"Authorization": f"Bearer {jwt_like}"}, timeout=10)
        output = server.output()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(lines) >= 6 and all(line.startswith("{") for line in output.splitlines()[2:])
    for line in lines:
        assert {"time", "level", "logger", "request_id", "message"} <= set(line)
    access = [line for line in lines if line["logger"] == "erpnext_medusa.access"]
    by_method = {line["method"]: line for line in access}
    fetch = by_method["medusa_integration.api.fetch_all_customers"]
    assert (fetch["status"], fetch["client"], fetch["user"]) == (200, "127.0.0.1", "Guest")
    assert fetch["request_id"] == fetched.headers["X-Request-Id"]
    assert fetch["duration_ms"] > 0
    assert by_method["frappe.auth.get_logged_user"]["status"] == 401
    for secret in (STOREFRONT_SECRET, "ali.hassan", "s3cr3t", jwt_like):
        assert secret not in output


FETCH = "medusa_integration.api.fetch_all_customers"
