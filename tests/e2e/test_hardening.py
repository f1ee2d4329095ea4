"""Findings of an attack run, each reproduced against a real ``erpnext-medusa serve`` process on loopback,
bounded in time and in count: what the attacker sent, and what the service answers now.

Findings about the request head (a long URL, big or many headers) do not reach the database and run on SQLite
alone; the others run on SQLite and PostgreSQL, and on MariaDB too where they concern the database
connection (a terminated connection, a failing statement). Each test gets its own fresh database.
"""

from __future__ import annotations

import json
import math
import os
import pwd
import re
import secrets
import select
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.dataset import documents
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.helpers import (
    ADMIN_URLS,
    BACKENDS,
    Server,
    address,
    assert_frappe_error,
    customer,
    execute,
    rows,
    seed,
    server_env,
    start_server,
)

FETCH = "medusa_integration.api.fetch_all_customers"
UPDATE = "medusa_integration.api.update_address"
LOGGED_USER = "frappe.auth.get_logged_user"
UPDATED = {"message": "Address updated successfully"}
#: SQLite and PostgreSQL; MariaDB joins where a finding concerns the database connection.
DATABASES = [b for b in BACKENDS if b != "mariadb"]
CONNECTION_BACKENDS = [b for b in BACKENDS if b != "sqlite"]


def _retry_after(response: httpx.Response) -> int:
    return int(response.headers["Retry-After"])


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


# --- HTTP over raw sockets, for what an HTTP client library will not send ---------------------------------


def _answer_complete(data: bytes) -> bool:
    head, blank, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(blank and length and len(body) >= int(length[1]))


def _answer_header(data: bytes, name: bytes) -> str | None:
    found = re.search(rb"(?im)^" + re.escape(name) + rb":\s*([^\r]*)", data.partition(b"\r\n\r\n")[0])
    return found[1].decode() if found else None


def _read_answer(sock: socket.socket) -> bytes:
    """One answer: its head and as much body as it announces (less if the server closes or stops sending)."""
    answer = b""
    sock.settimeout(2)
    try:
        while not _answer_complete(answer):
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            answer += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def _body(answer: bytes) -> dict[str, Any]:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def _raw(port: int, head: bytes, pieces: int = 1) -> bytes:
    """Send a request head as it is, in one write or in ``pieces`` writes a few milliseconds apart (so that
    the server reads it in several parts); the server's answer."""
    step = math.ceil(len(head) / pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            for start in range(0, len(head), step):
                sock.sendall(head[start : start + step])
                if pieces > 1:
                    time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent
        return _read_answer(sock)


def _head(fields: list[bytes], target: bytes = b"/api/method/ping") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


#: The request heads' limits, at their defaults (config.py), and the parser's limit on a request target.
MAX_HEADER_BYTES, MAX_HEADERS, MAX_TARGET = 16_384, 100, 65_535
HOST = b"Host: 127.0.0.1"


def _field_bytes(fields: list[bytes]) -> int:
    """Header bytes as the limit counts them: each field as sent, with its CRLF."""
    return sum(len(f) + 2 for f in fields)


# --- 1. a long URL -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
def test_a_60000_digit_limit_is_refused_without_holding_up_anyone_else(fresh_db, tmp_path):
    """``limit=<60,000 nines>`` is a 417 while pings sent every 10 ms keep answering within 100 ms: nothing
    about the long request (parsing, checking, logging) holds the event loop."""
    url, _ = fresh_db
    with start_server(tmp_path, server_env(url)) as server:
        pings: list[tuple[float, int | None]] = []
        done = threading.Event()

        def ping() -> None:
            with httpx.Client(timeout=2) as http:
                while not done.is_set():
                    started = time.monotonic()
                    try:
                        status: int | None = http.get(f"{server.base}/ping").status_code
                    except httpx.TransportError:
                        status = None
                    pings.append((time.monotonic() - started, status))
                    time.sleep(0.01)

        pinger = threading.Thread(target=ping)
        pinger.start()
        try:
            time.sleep(0.2)
            try:
                long: httpx.Response | None = httpx.get(f"{server.base}/{FETCH}?limit={'9' * 60_000}", timeout=5)
            except httpx.TimeoutException:
                long = None
                server.kill()  # it stopped answering: do not wait for it to finish
            time.sleep(0.2)
        finally:
            done.set()
            pinger.join(timeout=10)

    slowest = max(seconds for seconds, _ in pings)
    print(f"long URL: {len(pings)} pings, the slowest {slowest * 1000:.1f} ms")
    assert slowest < 0.1, f"a ping waited {slowest * 1000:.0f} ms behind the long URL"
    assert len(pings) >= 10 and {status for _, status in pings} == {200}
    assert long is not None
    assert_frappe_error(long, 417, "ValidationError", "limit is too large")


# --- 2. slow searches -----------------------------------------------------------------------------------------


class Storm:
    """Requests sent all at once by one thread, each on a connection of its own opened (and used once, for a
    ping) beforehand. Raw sockets and one selector cost the machine next to nothing, so the attacker does not
    slow the measuring client down, as it would not from another machine."""

    def __init__(self, port: int, targets: list[bytes], headers: list[bytes]) -> None:
        self.port = port
        fields = b"".join(h + b"\r\n" for h in [b"Host: 127.0.0.1", *headers])
        self.requests = [b"GET " + target + b" HTTP/1.1\r\n" + fields + b"\r\n" for target in targets]
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in targets]
        for sock in self.sockets:
            sock.sendall(_head([HOST], b"/api/method/ping"))
            assert _status(_read_answer(sock)) == 200
        #: (status, Retry-After, seconds) per request; status 0 for no answer.
        self.answers: list[tuple[int, str | None, float]] = []
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> list[tuple[int, str | None, float]]:
        self._thread.join(timeout=60)
        for sock in self.sockets:
            sock.close()
        return self.answers

    def _run(self) -> None:
        started = time.monotonic()
        received = {sock: b"" for sock in self.sockets}
        for sock, request in zip(self.sockets, self.requests, strict=True):
            sock.sendall(request)
        with selectors.DefaultSelector() as selector:
            for sock in self.sockets:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            while received and time.monotonic() < started + 30:
                for key, _ in selector.select(timeout=1):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        chunk = sock.recv(1 << 16)
                    except ConnectionError:
                        chunk = b""
                    received[sock] += chunk
                    if not chunk or _answer_complete(received[sock]):
                        data = received.pop(sock)
                        selector.unregister(sock)
                        answer = (_status(data), _answer_header(data, b"retry-after"), time.monotonic() - started)
                        self.answers.append(answer)
        self.answers += [(0, None, time.monotonic() - started)] * len(received)


ATTACKER, SHOPPER = "203.0.113.66", "198.51.100.20"
COSTLY = b"/api/method/medusa_integration.api.fetch_all_customers?name=e+e+e+e+e+e+e+e+e+e&limit=500"


#: Rounds of the storm at most: the latency bound must hold in one of them. On a machine shared with other
#: work a round can lose 100 ms to an unrelated process; the server without the bound misses it by far in every
#: round (0.4 to 1 s), and every round must meet the other conditions.
STORM_ROUNDS = 3


def _storm_round(server: Server, city: str) -> float:
    """45 costly searches from one address while another address searches 30 times and updates its address;
    checks every answer and returns the p99 of the other address's searches (seconds)."""
    targets = [COSTLY + b"&limit_start=2147483647" if i % 3 == 0 else COSTLY for i in range(45)]
    storm = Storm(server.port, targets, [f"X-Forwarded-For: {ATTACKER}".encode()])
    searches: list[tuple[float, httpx.Response]] = []
    with httpx.Client(timeout=10, headers={"X-Forwarded-For": SHOPPER}) as http:
        http.get(f"{server.base}/ping")  # connected before the storm
        storm.start()
        for i in range(30):
            started = time.monotonic()
            response = http.get(f"{server.base}/{FETCH}?name=ali&limit=20")
            searches.append((time.monotonic() - started, response))
            if i == 10:
                update = http.post(f"{server.base}/{UPDATE}", json={"customer_id": "Ali Hassan 00", "city": city})
    attacks = storm.join()
    statuses = Counter(status for status, _, _ in attacks)
    p99 = _p99([seconds for seconds, _ in searches])
    print(f"45 costly searches: {dict(statuses)}; the other client's p99 {p99 * 1000:.0f} ms")

    for _, response in searches:
        assert response.status_code == 200, response.text
        assert [row["name"] for row in response.json()["message"]] == [f"Ali Hassan {i:02}" for i in range(20)]
    assert update.json() == UPDATED
    assert set(statuses) <= {200, 417, 429, 503}, statuses
    assert statuses[429] > 0, statuses  # the bound did act
    for status, retry_after, _ in attacks:
        if status in (429, 503):
            assert retry_after is not None and int(retry_after) > 0
    slowest = max(seconds for _, _, seconds in attacks)
    assert slowest < 5, f"a costly search waited {slowest:.1f} s"
    return p99


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_45_costly_searches_from_one_client_do_not_hold_up_another(fresh_db, tmp_path):
    """45 concurrent costly searches (ten one-letter words, 500 rows; and the deepest limit_start) from one
    address get 200, 417, 429 or 503 (Retry-After) within seconds, while another address's typeahead searches
    stay fast (p99 under 200 ms) and its address update goes through: the searches one process runs at once are
    bounded, per client and in total."""
    url, services = fresh_db
    seed(
        services,
        *documents(5000),
        *(customer(f"Ali Hassan {i:02}") for i in range(30)),
        address("Ali Hassan 00", "Ali Hassan 00"),
    )
    services.store.analyze(["Customer"])
    env = server_env(url, rate_limit="0", trusted_proxies="127.0.0.1")
    p99s: list[float] = []
    with start_server(tmp_path, env) as server:
        while len(p99s) < STORM_ROUNDS and (not p99s or p99s[-1] >= 0.2):
            p99s.append(_storm_round(server, f"Ajman {len(p99s)}"))
    assert min(p99s) < 0.2, f"p99 of the other client's searches, per round: {[round(p * 1000) for p in p99s]} ms"
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": f"Ajman {len(p99s) - 1}"}]


# --- 3. big and many headers, long targets ---------------------------------------------------------------------


def _process_tree(pid: int) -> list[int]:
    """A process and its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def _memory_kib(pid: int) -> tuple[int, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM) of a process and its descendants, in KiB."""
    now = peak = 0
    for member in _process_tree(pid):
        status = Path(f"/proc/{member}/status").read_text()
        fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
        now, peak = now + int(fields["VmRSS"]), peak + int(fields["VmHWM"])
    return now, peak


def _send_huge_header(port: int, size: int, chunk: int = 1 << 16) -> tuple[bytes, int, float]:
    """Send a request whose one header value is ``size`` bytes, in chunks, until the server answers or closes;
    the answer, the value bytes sent and the seconds until the answer was in."""
    started = time.monotonic()
    sent = 0
    block = b"a" * chunk
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /api/method/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        while sent < size and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(block)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        answer = _read_answer(sock)
    return answer, sent, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
def test_huge_or_numerous_headers_and_long_targets_are_refused_early_and_cheaply(fresh_db, tmp_path):
    """A 64 MiB header is answered 431 within a second, after the first few kilobytes, and the server does not
    grow; 1,000 headers are a 431 too; requests at each limit are served and one byte or field past it is
    refused (431, or 414 for the target), whether the head arrives in one read or in many."""
    url, _ = fresh_db
    with start_server(tmp_path, server_env(url, log_level="warning")) as server:
        port = server.port
        with httpx.Client(timeout=5) as http:
            for _ in range(20):  # warm up, so that memory is measured in a steady state
                assert http.get(f"{server.base}/ping").status_code == 200
        rss, peak = _memory_kib(server.proc.pid)

        # 64 MiB in one header value: refused after the first few kilobytes, within a second, for little memory
        # (neither now nor at any moment in between: the peak would show a buffer held and freed).
        answer, sent, seconds = _send_huge_header(port, 64 << 20)
        rss_after, peak_after = _memory_kib(server.proc.pid)
        grown, peak_grown = rss_after - rss, peak_after - peak
        print(
            f"64 MiB header: {answer[:12]!r} after {seconds:.3f} s and {sent} bytes sent; "
            f"RSS +{grown} KiB, peak +{peak_grown} KiB"
        )
        assert _status(answer) == 431, answer[:200]
        assert _body(answer)["exc_type"] == "RequestHeaderFieldsTooLarge"
        assert seconds < 1, f"the answer took {seconds:.2f} s"
        assert sent < 8 << 20, f"{sent} bytes were sent before the server answered"
        assert grown < 20 * 1024 and peak_grown < 20 * 1024, f"the server grew by {grown} KiB (peak {peak_grown})"

        # 1,000 small headers.
        many = httpx.get(f"{server.base}/ping", headers=[(f"X-H-{i}", "v") for i in range(1000)], timeout=5)
        assert_frappe_error(many, 431, "RequestHeaderFieldsTooLarge", "The request has more than 100 header fields.")
        assert many.headers["connection"] == "close"
        assert httpx.get(f"{server.base}/ping", timeout=5).json() == {"message": "pong"}

        # At each limit a request is served, one byte or one field past it is refused, however the head is cut
        # into network reads.
        value = b"a" * (MAX_HEADER_BYTES - _field_bytes([HOST, b"X-Big: "]))
        at_limit = [HOST, b"X-Big: " + value]
        assert _field_bytes(at_limit) == MAX_HEADER_BYTES
        fields = [HOST, *(b"X-H-%d: v" % i for i in range(MAX_HEADERS - 1))]
        base = b"/api/method/ping/"  # Frappe calls ping whatever follows the method's path segment
        target = base + b"x" * (MAX_TARGET - len(base))
        for pieces in (1, 64):
            assert _status(_raw(port, _head(at_limit), pieces)) == 200
            over = _raw(port, _head([HOST, b"X-Big: " + value + b"a"]), pieces)
            assert _status(over) == 431
            assert _body(over)["exc_type"] == "RequestHeaderFieldsTooLarge"
            assert _status(_raw(port, _head(fields), pieces)) == 200
            assert _status(_raw(port, _head([*fields, b"X-One-More: v"]), pieces)) == 431
            assert _status(_raw(port, _head([HOST], target), pieces)) == 200
            too_long = _raw(port, _head([HOST], target + b"x"), pieces)
            assert _status(too_long) == 414
            assert _body(too_long)["exc_type"] == "URITooLong"
        # The documented bound, the body limit plus 4 KiB, holds too.
        assert _status(_raw(port, _head([HOST], base + b"x" * (65_536 + 4096)))) == 414
        assert httpx.get(f"{server.base}/ping", timeout=5).json() == {"message": "pong"}


# --- 4. recovery ----------------------------------------------------------------------------------------------


def _set_writable(directory: Path, writable: bool) -> None:
    for path in [directory, *directory.iterdir()]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


@pytest.fixture
def sqlite_elsewhere() -> Iterator[tuple[Path, URL, Services]]:
    """A migrated SQLite database in a directory of its own outside pytest's (which only root may enter), so
    that a server running as another user can reach it."""
    directory = Path(tempfile.mkdtemp(prefix="em-readonly-"))
    url = URL.create("sqlite", database=str(directory / "shop.db"))
    services = Services.from_settings(Settings(database_url=url.render_as_string()))
    try:
        upgrade(services.store.engine)
        yield directory, url, services
    finally:
        services.close()
        _set_writable(directory, True)
        shutil.rmtree(directory)


def _update(base: str, city: str, name: str = "Ro Trading", client: str = "192.0.2.1") -> httpx.Response:
    body = {"customer_id": name, "city": city}
    return httpx.post(f"{base}/{UPDATE}", json=body, headers={"X-Forwarded-For": client}, timeout=30)


def _assert_unavailable(response: httpx.Response) -> None:
    assert_frappe_error(response, 503, "ServiceUnavailable", "The database is unavailable; try again in a moment.")
    assert _retry_after(response) > 0


@pytest.mark.slow
def test_sqlite_files_turned_read_only_give_503s_and_the_server_recovers_by_itself(sqlite_elsewhere):
    """The database files become unwritable while the server runs: writes are answered 503 (with Retry-After),
    reads go on, and once the files are writable again writes succeed without a restart.

    Under root the server runs as ``nobody``, who owns the files, so that their modes bind it (root ignores
    them). A connection opened before the change keeps its write access (modes are checked when a file is
    opened), so a burst of concurrent writes makes the pool open more connections; SQLite opens those
    read-only, and from their first failed write on the pool replaces its connections."""
    directory, url, services = sqlite_elsewhere
    seed(services, customer("Ro Trading"), address("Ro Trading", "Ro Trading"))
    user = None  # an unprivileged test run: file modes bind its own server already
    if os.geteuid() == 0:
        user = "nobody"
        account = pwd.getpwnam(user)
        for path in [directory, *directory.iterdir()]:
            os.chown(path, account.pw_uid, account.pw_gid)

    with start_server(directory, server_env(url, rate_limit="0"), user=user) as server:
        assert _update(server.base, "Before").json() == UPDATED
        _set_writable(directory, False)
        try:
            burst: list[httpx.Response] = []
            with ThreadPoolExecutor(20) as pool:
                for _ in range(5):  # until a write meets a connection opened read-only
                    burst += pool.map(lambda i: _update(server.base, f"Burst {i}"), range(20))
                    if any(r.status_code == 503 for r in burst):
                        break
            for response in burst:
                if response.status_code != 200:
                    _assert_unavailable(response)
            assert any(r.status_code == 503 for r in burst)
            for i in range(5):
                _assert_unavailable(_update(server.base, f"Refused {i}"))
            readable = httpx.get(f"{server.base}/{FETCH}", params={"name": "ro trad"}, timeout=10)
            assert [c["name"] for c in readable.json()["message"]] == ["Ro Trading"]
        finally:
            _set_writable(directory, True)

        after = [_update(server.base, f"After {i}") for i in range(12)]
        output = server.output()
    print(
        f"read-only SQLite: burst {dict(Counter(r.status_code for r in burst))}, after {[r.status_code for r in after]}"
    )
    # One connection opened read-only may still wait in the pool; its failure makes the pool drop the rest.
    failed = [r for r in after if r.status_code != 200]
    assert len(failed) <= 1, [r.text for r in failed]
    for response in failed:
        _assert_unavailable(response)
    succeeded = [i for i, r in enumerate(after) if r.status_code == 200]
    assert all(after[i].json() == UPDATED for i in succeeded)
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": f"After {succeeded[-1]}"}]
    assert "Traceback" not in output


def _terminate_connections(backend: str, database: str) -> int:
    """End every session the service has open on ``database``, as an administrator (or a failover) would."""
    admin = create_engine(ADMIN_URLS[backend], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                return len(
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).all()
                )
            ids = conn.execute(
                text("SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"),
                {"db": database},
            ).scalars()
            ended = 0
            for session in list(ids):
                try:
                    conn.execute(text(f"KILL {int(session)}"))
                    ended += 1
                except OperationalError as exc:  # the session ended by itself meanwhile
                    if getattr(exc.orig, "args", (None,))[0] != 1094:
                        raise
            return ended
    finally:
        admin.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", CONNECTION_BACKENDS, indirect=True)
def test_terminated_database_sessions_cost_at_most_one_503(fresh_db, tmp_path):
    """The database ends every session of the service (an administrator, a restart, a failover) three times
    while it serves a steady load: the calls cut off in flight are answered 503 (Retry-After), never 500, and
    a client's next calls succeed, with at most one 503 among them."""
    url, services = fresh_db
    seed(services, *(customer(n) for n in ("Ro Trading", "Busy Co")), address("Ro Trading", "Ro Trading"))
    seed(services, address("Busy Co", "Busy Co"))
    env = server_env(url, rate_limit="0", trusted_proxies="127.0.0.1")  # each client its own search slots
    with start_server(tmp_path, env) as server:
        stop = threading.Event()
        load: list[httpx.Response] = []
        dropped = 0

        def steady(worker: int) -> None:
            nonlocal dropped
            with httpx.Client(timeout=30, headers={"X-Forwarded-For": f"198.51.100.{worker + 1}"}) as http:
                for i in range(100_000):
                    if stop.is_set():
                        return
                    try:
                        if i % 2:
                            body = {"customer_id": "Busy Co", "city": f"Load {worker}-{i}"}
                            load.append(http.post(f"{server.base}/{UPDATE}", json=body))
                        else:
                            load.append(http.get(f"{server.base}/{FETCH}", params={"name": "busy"}))
                    except httpx.TransportError:
                        dropped += 1

        workers = [threading.Thread(target=steady, args=(w,)) for w in range(4)]
        for worker in workers:
            worker.start()
        rounds = []
        try:
            for round_ in range(3):
                time.sleep(0.3)
                assert _terminate_connections(url.get_backend_name(), str(url.database)) > 0
                answers = []
                for i in range(4):
                    answers.append(_update(server.base, f"Round {round_}-{i}"))
                    search = httpx.get(f"{server.base}/{FETCH}?name=ro", headers={"X-Forwarded-For": "192.0.2.1"})
                    answers.append(search)
                rounds.append(answers)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        output = server.output()
    print(
        f"terminated sessions: load {dict(Counter(r.status_code for r in load))}, next calls per round "
        f"{[[r.status_code for r in answers] for answers in rounds]}"
    )
    assert dropped == 0 and len(load) > 30
    for response in load:
        if response.status_code != 200:
            _assert_unavailable(response)
    for answers in rounds:
        failed = [r for r in answers if r.status_code != 200]
        assert len(failed) <= 1, [(r.status_code, r.text) for r in failed]
        for response in failed:
            _assert_unavailable(response)
        assert all(r.status_code == 200 for r in answers[-6:])
    assert rows(services, 'SELECT city FROM "tabAddress" WHERE name = :n', n="Ro Trading-Billing") == [
        {"city": "Round 2-3"}
    ]
    assert " 500 " not in output


# --- 5. a 500 keeps the connection usable ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", BACKENDS, indirect=True)
def test_an_unexpected_error_is_a_500_on_a_connection_that_stays_usable(fresh_db, tmp_path):
    """A search fails in a way nobody planned for (a column it reads was dropped behind the service's back):
    the answer is a Frappe-shaped 500 naming the request id, and the same kept-alive connection serves the
    next request, 30 times over."""
    url, services = fresh_db
    seed(services, customer("Kept Alive Co"))
    with start_server(tmp_path, server_env(url, rate_limit="0")) as server:
        assert httpx.get(f"{server.base}/{FETCH}", params={"name": "kept"}, timeout=10).status_code == 200
        execute(services, 'ALTER TABLE "tabCustomer" DROP COLUMN email_id')
        errors, pongs, closed, dropped = [], [], 0, 0
        with httpx.Client(timeout=10) as http:
            for _ in range(30):
                try:
                    failed = http.get(f"{server.base}/{FETCH}", params={"name": "kept"})
                    closed += failed.headers.get("connection") == "close"
                    errors.append(failed)
                    pongs.append(http.get(f"{server.base}/ping"))
                except httpx.TransportError:
                    dropped += 1
    print(f"500s: {dropped} of 30 calls ended in a transport error, {closed} answers closed the connection")
    assert dropped == 0, f"{dropped} of 30 calls ended in a transport error"
    for failed in errors:
        assert_frappe_error(failed, 500, "Exception", "Something went wrong. The error was logged on the server.")
        assert re.fullmatch(r"[0-9a-f]{32}", failed.headers["X-Request-Id"])
    assert [p.json() for p in pongs] == [{"message": "pong"}] * 30
    assert closed == 0, "the 500s closed their connections"


# --- 6. guessing API keys -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_300_guessed_api_keys_from_one_address_are_cut_off_after_the_failure_limit(fresh_db, tmp_path):
    """Random ``token key:secret`` headers from one address: after ERPNEXT_MEDUSA_AUTH_FAILURE_LIMIT (20)
    failures the answer is 429 with Retry-After and no credential is checked any more, not even a valid
    one; a valid key from another address works all along."""
    url, services = fresh_db
    key = create_api_key(services.keys, "ops@example.com", services.now())
    valid = f"token {key.api_key}:{key.api_secret}"
    env = server_env(url, trusted_proxies="127.0.0.1")
    guesser, colleague = {"X-Forwarded-For": "203.0.113.50"}, {"X-Forwarded-For": "198.51.100.77"}
    with start_server(tmp_path, env) as server, httpx.Client(base_url=server.base, timeout=10) as http:
        guesses = []
        for _ in range(300):
            guess = f"token {secrets.token_hex(8)}:{secrets.token_urlsafe(32)}"
            guesses.append(http.get(f"/{LOGGED_USER}", headers={**guesser, "Authorization": guess}))
        guesser_with_a_valid_key = http.get(f"/{LOGGED_USER}", headers={**guesser, "Authorization": valid})
        other_address = http.get(f"/{LOGGED_USER}", headers={**colleague, "Authorization": valid})

    assert [r.status_code for r in guesses] == [401] * 20 + [429] * 280
    for refused in guesses[:20]:  # Frappe's bare 401: no message, nothing about the key
        assert refused.json()["exc_type"] == "AuthenticationError" and "_server_messages" not in refused.json()
    for refused in guesses[20:]:
        assert refused.json()["exc_type"] == "TooManyRequestsError"
        assert 0 < _retry_after(refused) <= 60
    assert guesser_with_a_valid_key.status_code == 429
    assert other_address.json() == {"message": "ops@example.com"}


# --- 7. cross-site requests -----------------------------------------------------------------------------------

SHOP, EVIL = "https://shop.example", "https://evil.example"


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_page_on_another_site_cannot_change_an_address_through_a_visitors_browser(fresh_db, tmp_path):
    """In ``open`` guest mode, a form-like POST (text/plain, no preflight) that a browser marks as coming from
    another site is refused 403 and changes nothing; the allowed origin, the service's own site and clients
    that are not browsers are served; OPTIONS is an empty 200 everywhere, with CORS headers only for the
    allowed origin."""
    url, services = fresh_db
    seed(services, customer("Xsite Co"), address("Xsite Co", "Xsite Co"))
    env = server_env(url, rate_limit="0", allow_cors=SHOP)

    def post(city: str, **headers: str) -> httpx.Response:
        body = json.dumps({"customer_id": "Xsite Co", "city": city})
        headers = {"Content-Type": "text/plain", **headers}
        return httpx.post(f"{server.base}/{UPDATE}", content=body, headers=headers, timeout=10)

    def city() -> str:
        return str(rows(services, 'SELECT city FROM "tabAddress"')[0]["city"])

    with start_server(tmp_path, env) as server:
        for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
            refused = post("Evil", **headers)
            assert_frappe_error(refused, 403, "PermissionError", "Requests from another site are not allowed.")
            assert "Access-Control-Allow-Origin" not in refused.headers
            assert city() == "Dubai"

        allowed = post("Shop", Origin=SHOP)
        assert allowed.json() == UPDATED
        assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
        assert "Origin" in allowed.headers["Vary"]
        assert city() == "Shop"
        own_site = post("Own", Origin=f"http://127.0.0.1:{server.port}", **{"Sec-Fetch-Site": "same-origin"})
        assert own_site.json() == UPDATED
        assert "Access-Control-Allow-Origin" not in own_site.headers
        curl_like = post("Curl")
        assert curl_like.json() == UPDATED
        assert city() == "Curl"

        for path in (f"/api/method/{UPDATE}", "/api/method/no.such.method", "/", "/any/path"):
            target = f"http://127.0.0.1:{server.port}{path}"
            preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
            for origin in (SHOP, EVIL, None):
                headers = {**preflight, "Origin": origin} if origin else {}
                answer = httpx.options(target, headers=headers, timeout=10)
                assert (answer.status_code, answer.content) == (200, b""), (path, origin)
                if origin == SHOP:
                    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
                    assert answer.headers["Access-Control-Allow-Methods"] == "POST"
                    assert answer.headers["Access-Control-Allow-Headers"] == "content-type"
                else:
                    assert not any(h.startswith("access-control-") for h in answer.headers), (path, origin)
    assert city() == "Curl"


# --- 8. paging and argument types -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_paging_numbers_follow_one_rule_and_stay_within_the_cap(fresh_db, tmp_path):
    """``true`` (or 1.5) is not a page size in JSON any more than in a query; a page must lie within the first
    ERPNEXT_MEDUSA_FETCH_MAX_RESULTS matches (the message says so), and the deepest page it allows is served."""
    url, services = fresh_db
    seed(services, *(customer(f"Page {i:02}") for i in range(60)))
    cap = 50
    beyond = (
        f"limit_start must be less than {cap}: a search reaches only its first {cap} customers; "
        "type more of the name to narrow it."
    )
    with start_server(tmp_path, server_env(url, rate_limit="0", fetch_max_results=str(cap))) as server:
        fetch = f"{server.base}/{FETCH}"
        with httpx.Client(timeout=10) as http:
            for body in ({"limit": True}, {"limit": 1.5}, {"limit": "true"}):
                r = http.post(fetch, json={"name": "page", **body})
                assert_frappe_error(r, 417, "ValidationError", "limit must be a whole number")
            for query in ("limit=true", "limit=1.5", "limit_page_length=false"):
                r = http.get(f"{fetch}?name=page&{query}")
                key = query.split("=")[0]
                assert_frappe_error(r, 417, "ValidationError", f"{key} must be a whole number")
            assert_frappe_error(
                http.post(fetch, json={"limit_start": True}), 417, "ValidationError",
                "limit_start must be a whole number",
            )  # fmt: skip
            for start in (cap, cap + 1, 2**31 - 1):
                assert_frappe_error(http.get(f"{fetch}?limit_start={start}"), 417, "ValidationError", beyond)
                assert_frappe_error(http.post(fetch, json={"limit_start": start}), 417, "ValidationError", beyond)
            assert_frappe_error(
                http.get(f"{fetch}?limit_start=45&limit=10"), 417, "ValidationError",
                f"limit_start + limit must be at most {cap}: a search reaches only its first {cap} customers "
                "(ask for limit 5 or less here).",
            )  # fmt: skip
            assert_frappe_error(http.get(f"{fetch}?limit=2147483648"), 417, "ValidationError", "limit is too large")

            def names(response: httpx.Response) -> list[str]:
                assert response.status_code == 200, response.text
                return [row["name"] for row in response.json()["message"]]

            deepest = [f"Page {cap - 1:02}"]
            assert names(http.get(f"{fetch}?limit_start={cap - 1}&limit=1")) == deepest
            assert names(http.post(fetch, json={"limit_start": cap - 1, "limit": 1})) == deepest
            assert names(http.post(fetch, data={"limit_start": str(cap - 1), "limit": "1"})) == deepest
            assert names(http.get(f"{fetch}?limit_start=40")) == [f"Page {i}" for i in range(40, cap)]
            assert names(http.get(f"{fetch}?limit=0")) == [f"Page {i:02}" for i in range(cap)]


# --- 9. request ids -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_the_audit_row_holds_the_servers_request_id_and_the_clients_beside_it(fresh_db, tmp_path):
    """A client cannot choose the id its write is audited and logged under: the answer's X-Request-Id is the
    server's, the audit row holds it, and a sane id the client sent is kept beside it (an odd one is not)."""
    url, services = fresh_db
    seed(services, customer("Rid Co"), address("Rid Co", "Rid Co"))
    with start_server(tmp_path, server_env(url, rate_limit="0")) as server:
        sent = {"customer_id": "Rid Co", "city": "Fujairah"}
        sane = httpx.post(f"{server.base}/{UPDATE}", json=sent, headers={"X-Request-Id": "storefront-42"}, timeout=10)
        odd = httpx.post(
            f"{server.base}/{UPDATE}", json={**sent, "city": "Khor Fakkan"},
            headers={"X-Request-Id": "spaces are not kept"}, timeout=10,
        )  # fmt: skip
        output = server.output()
    assert sane.json() == odd.json() == UPDATED
    ids = [sane.headers["X-Request-Id"], odd.headers["X-Request-Id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids) and ids[0] != ids[1]
    entries = services.audit.list_audit(customer="Rid Co", since=None, limit=10)
    assert [(e.request_id, e.client_request_id) for e in sorted(entries, key=lambda e: e.id)] == [
        (ids[0], "storefront-42"),
        (ids[1], None),
    ]
    for rid in ids:  # the log lines of each call carry the server's id
        assert f"[{rid}] access: " in output
