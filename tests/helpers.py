"""Helpers shared by the tests: throw-away databases, documents seeded through the import path, raw SQL,
decoding Frappe's error bodies, free ports, and real server processes (``erpnext-medusa serve``)."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from typer.testing import CliRunner, Result

from erpnext_medusa.cli import app as cli_app
from erpnext_medusa.domain.importing import import_documents
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t

# --- throw-away databases -------------------------------------------------------------------------------------

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "ERPNEXT_MEDUSA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("ERPNEXT_MEDUSA_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"),
}
#: The Host name of the apps the tests drive through Starlette's TestClient (``http://testserver``): an app
#: built for those tests answers for that name, set explicitly as a deployment sets its own.
TEST_HOST = "testserver"
BACKENDS = [b.strip() for b in os.environ.get("ERPNEXT_MEDUSA_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",")]
#: The local Redis the tests share (each test under a key prefix of its own: the ``redis_prefix`` fixture).
REDIS_URL = "redis://127.0.0.1:6379/0"


class TestDatabases:
    """Creates and drops throw-away databases on one backend."""

    __test__ = False  # a helper, not a test class

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


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[tuple[URL, Services]]:
    """A new database on ``backend``, built by the real migrations, and services on it; dropped afterwards."""
    from erpnext_medusa.config import Settings
    from erpnext_medusa.store.sql.migrate import upgrade

    dbs = TestDatabases(backend, tmp_path)
    url = dbs.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        upgrade(services.store.engine)
        yield url, services
    finally:
        services.close()
        dbs.drop_all()


# --- documents and raw SQL -------------------------------------------------------------------------------------


def stamp(user: str = "Administrator") -> Stamp:
    return Stamp(user=user, at=datetime(2026, 1, 2, 3, 4, 5))


def seed(services: Services, *docs: dict[str, Any]) -> dict[str, list[str]]:
    """Load documents through the import path (Frappe fixture shape); the names created, per DocType."""
    return import_documents(services.store, list(docs), stamp())


def customer(name: str, **fields: Any) -> dict[str, Any]:
    return {"doctype": "Customer", "name": name, "customer_name": fields.pop("customer_name", name), **fields}


def lead(name: str, **fields: Any) -> dict[str, Any]:
    return {"doctype": "Lead", "name": name, "first_name": fields.pop("first_name", name), **fields}


def address(title: str, *customers: str, **fields: Any) -> dict[str, Any]:
    doc = {
        "doctype": "Address",
        "address_title": title,
        "address_type": "Billing",
        "address_line1": "1 Main Street",
        "city": "Dubai",
        "country": "United Arab Emirates",
        "links": [{"link_doctype": "Customer", "link_name": c} for c in customers],
    }
    doc.update(fields)
    return doc


def rows(services: Services, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run a read query written with double-quoted identifiers on any backend."""
    if services.store.dialect in t.MARIADB:
        sql = sql.replace('"', "`")
    with services.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def execute(services: Services, sql: str, **params: Any) -> None:
    """Write with plain SQL, as another program (ERPNext itself) would."""
    if services.store.dialect in t.MARIADB:
        sql = sql.replace('"', "`")
    with services.store.engine.begin() as conn:
        conn.execute(text(sql), params)


def as_datetime(value: Any) -> datetime:
    """Timestamps read with plain SQL come back as text on SQLite and as datetimes elsewhere."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# --- Frappe error bodies --------------------------------------------------------------------------------------

#: Frappe v15's ``__frappe_exc_id``: 56 hex digits.
EXC_ID = re.compile(r"^[0-9a-f]{56}$")


def server_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Decode Frappe's double-encoded ``_server_messages`` and check each entry's shape."""
    outer = json.loads(body["_server_messages"])
    assert isinstance(outer, list) and outer
    decoded = []
    for entry in outer:
        assert isinstance(entry, str)
        message = json.loads(entry)
        assert isinstance(message, dict)
        assert message["indicator"] == "red"
        assert message["raise_exception"] == 1
        decoded.append(message)
    return decoded


def assert_json(r: Any) -> None:
    assert r.headers["content-type"].split(";")[0].strip() == "application/json"


def wire_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The decoded messages, with the fields every Frappe v15 message carries."""
    decoded = server_messages(body)
    for msg in decoded:
        assert EXC_ID.match(msg["__frappe_exc_id"]), msg["__frappe_exc_id"]
        assert isinstance(msg["message"], str) and isinstance(msg["title"], str)
    return decoded


def assert_frappe_error(r: Any, status: int, exc_type: str, message: str | None = None) -> dict[str, Any]:
    """A Frappe v15 error with tracebacks off; returns the (first) decoded message."""
    assert r.status_code == status, r.text
    assert_json(r)
    body = r.json()
    assert body["exc_type"] == exc_type
    assert_exception_line(body)
    assert "Traceback" not in r.text
    msg = wire_messages(body)[0]
    if message is not None:
        assert msg["message"] == message
    return msg


#: Frappe's body for an error without a message (a bare 401, an unknown /api/ path).
BARE_AUTHENTICATIONERROR = {
    "exception": "frappe.exceptions.AuthenticationError",
    "exc_type": "AuthenticationError",
    "exc": '["frappe.exceptions.AuthenticationError"]',
}
BARE_DOESNOTEXISTERROR = {
    "exception": "frappe.exceptions.DoesNotExistError",
    "exc_type": "DoesNotExistError",
    "exc": '["frappe.exceptions.DoesNotExistError"]',
}


def assert_exception_line(body: dict[str, Any]) -> str:
    """``exception`` is ``<module>.<exc_type>[: <text>]`` and ``exc`` a JSON list holding that line alone (no
    traceback, path or SQL); the line is returned."""
    line = body["exception"]
    assert isinstance(line, str) and "\n" not in line and "Traceback" not in line
    head = line.split(": ", 1)[0]
    assert head.endswith("." + body["exc_type"]) or head == body["exc_type"], line
    assert json.loads(body["exc"]) == [line]
    return line


def message_text(response: Any) -> str:
    """The text of an error answer's one message."""
    (message,) = server_messages(response.json())
    return str(message["message"])


# --- Medusa customer tokens -----------------------------------------------------------------------------------


def medusa_token(actor: str, secret: str, *, expires_in: int = 600, **claims: Any) -> str:
    """A Medusa customer's JWT as Medusa signs one (HS256, ``actor_type`` customer, expiring in ``expires_in``
    seconds); ``claims`` add to or replace those claims."""
    payload = {"actor_id": actor, "actor_type": "customer", "exp": int(time.time()) + expires_in, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


# --- ports and server processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose successor is free too."""
    while True:
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


READY_WITHIN = 60.0


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/method"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                if httpx.get(f"{self.base}/ping", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"the server exited: {self.log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, f"the server did not answer within {READY_WITHIN} s"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback by the server; whatever was in flight is cut off."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def server_env(url: URL, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    env["ERPNEXT_MEDUSA_DATABASE_URL"] = url.render_as_string(hide_password=False)
    env.update({f"ERPNEXT_MEDUSA_{k.upper()}": v for k, v in settings.items()})
    return env


def as_user(user: str) -> list[str]:
    """The command prefix that runs a program as ``user`` (util-linux's setpriv; this process must be root).
    The program keeps one capability, reading and searching any path, because the interpreter may live where
    that user cannot look (under /root); writing obeys file modes as for any unprivileged user."""
    account = pwd.getpwnam(user)
    return [
        "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
        "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--",
    ]  # fmt: skip


def _spawn(workdir: Path, env: dict[str, str], host: str, user: str | None, args: Sequence[str] = ()) -> Server:
    port = free_port()
    log = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "erpnext_medusa", "serve", "--host", host, "--port", str(port), *args]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            command if user is None else [*as_user(user), *command],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(proc, port, log)


@contextmanager
def start_servers(
    workdir: Path,
    env: dict[str, str],
    count: int,
    host: str = "127.0.0.1",
    user: str | None = None,
    args: Sequence[str] = (),
) -> Iterator[list[Server]]:
    """``count`` ``erpnext-medusa serve [ARGS]`` processes on one database, started together; their output goes to
    files in ``workdir``. ``user``: run them as that unprivileged user (see :func:`as_user`); the database
    and ``workdir`` must then be theirs to use."""
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            server = _spawn(workdir, env, host, user, args)
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        yield servers


@contextmanager
def start_server(
    workdir: Path, env: dict[str, str], user: str | None = None, args: Sequence[str] = ()
) -> Iterator[Server]:
    with start_servers(workdir, env, 1, user=user, args=args) as (server,):
        yield server


# --- the command line -------------------------------------------------------------------------------------------

_runner = CliRunner()


def invoke(*args: str) -> Result:
    """Run ``erpnext-medusa ARGS`` in this process (the settings come from the environment)."""
    return _runner.invoke(cli_app, list(args))


def flat(text: str) -> str:
    """Rich wraps long lines; compare on whitespace-normalised text."""
    return " ".join(text.split())


def query(path: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    return query(path, f'SELECT COUNT(*) FROM "{table}"')[0][0]


def assert_clean_exit(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def assert_clean_failure(result) -> None:
    assert result.exit_code != 0, result.output
    # A handled failure ends in SystemExit; anything else is an uncaught exception (a traceback).
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def create_key(user: str = "u@x") -> dict[str, str]:
    result = invoke("api-key", "create", "--user", user, "--json")
    assert_clean_exit(result)
    return json.loads(result.stdout)
