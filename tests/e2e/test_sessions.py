"""Sessions and browsers (issue 18): each finding of the attack run, reproduced against a real ``erpnext-medusa
serve`` process on loopback, bounded in time and in count.

The browser findings run in Chromium (Playwright): the visitor signs in on the service at ``127.0.0.1``; the
attacker's pages are served from ``localhost`` (another site) and from another port of ``127.0.0.1`` (the same
site, another origin). Each test gets its own fresh database, on SQLite and PostgreSQL, and on MariaDB too where
the finding concerns the database.
"""

from __future__ import annotations

import http.server
import json
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
import redis
from playwright.sync_api import sync_playwright

from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from tests.e2e.browser import ARGS, CHROMIUM
from tests.helpers import (
    BACKENDS,
    REDIS_URL,
    assert_frappe_error,
    customer,
    free_port,
    lead,
    rows,
    seed,
    server_env,
    start_server,
    start_servers,
)

LINK = "medusa_integration.utils.link_medusa_lead"
FETCH = "medusa_integration.api.fetch_all_customers"
WHO = "frappe.auth.get_logged_user"
USER, PASSWORD = "clerk@example.com", "a long enough password"
ATTACKER, ATTACKER_PASSWORD = "mallory@example.com", "the attacker's own password"
VICTIM, LEAD = "Victim", "CRM-LEAD-2026-00002"
#: SQLite and PostgreSQL; MariaDB joins where the finding concerns the database.
DATABASES = [b for b in BACKENDS if b != "mariadb"]


def _users(services: Services) -> None:
    services.accounts.add_user(USER, "Counter Clerk", PASSWORD, services.now())
    services.accounts.add_user(ATTACKER, "Mallory", ATTACKER_PASSWORD, services.now())


def _linked(services: Services) -> list[dict[str, object]]:
    return rows(services, 'SELECT medusa_id, lead_name FROM "tabCustomer" WHERE name = :n', n=VICTIM)


# --- 1-3. another site's page, a visitor's browser ------------------------------------------------------------


@pytest.fixture
def attacker_site(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A static page server on another loopback port: reached as ``localhost`` it is another site than the
    service at ``127.0.0.1``; reached as ``127.0.0.1`` it is the same site, another origin."""
    folder = tmp_path / "attacker"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, server.server_address[1]
    server.shutdown()


def _navigating_page(target: str) -> str:
    return f"<!doctype html><title>prize</title><script>location = {json.dumps(target)};</script>"


def _posting_page(target: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
    form = f'<form method="post" action="{target}">{inputs}</form>'
    return f"<!doctype html>{form}<script>document.forms[0].submit()</script>"


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_page_on_another_site_cannot_link_log_in_or_log_out_through_a_visitors_browser(
    fresh_db, tmp_path, attacker_site
):
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    url, services = fresh_db
    _users(services)
    seed(services, customer(VICTIM), lead(LEAD, medusa_id="cus_01VICTIM"))
    folder, port = attacker_site
    with start_server(tmp_path, server_env(url)) as server:
        service = f"http://127.0.0.1:{server.port}"
        link = urlencode({"customer": VICTIM, "lead": LEAD})
        swap = urlencode({"usr": ATTACKER, "pwd": ATTACKER_PASSWORD})
        navigations = {
            "link": f"{service}/api/method/{LINK}?{link}",
            "cmd-link": f"{service}/?cmd={LINK}&{link}",
            "login-get": f"{service}/api/method/login?{swap}",
            "cmd-login-get": f"{service}/?cmd=login&{swap}",
            "logout": f"{service}/api/method/logout",
            "cmd-logout": f"{service}/?cmd=logout",
        }
        for name, target in navigations.items():
            (folder / f"{name}.html").write_text(_navigating_page(target))
        (folder / "login-post.html").write_text(
            _posting_page(f"{service}/api/method/login", {"usr": ATTACKER, "pwd": ATTACKER_PASSWORD})
        )
        (folder / "logout-post.html").write_text(_posting_page(f"{service}/api/method/logout", {}))
        (folder / "fetch.html").write_text("<!doctype html><title>same site</title>")
        outcomes: dict[str, int] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{service}/admin/login")
                page.fill("#usr", USER)
                page.fill("#pwd", PASSWORD)
                with page.expect_navigation():
                    page.click("button[type=submit]")
                assert page.url == f"{service}/admin"

                def who() -> str:
                    answer = page.context.request.get(f"{service}/api/method/{WHO}")
                    return str(answer.json().get("message"))

                for name in (*navigations, "login-post", "logout-post"):
                    with page.expect_navigation(url=f"{service}/**") as landed:
                        page.goto(f"http://localhost:{port}/{name}.html")
                    answer = landed.value
                    outcomes[name] = answer.status if answer is not None else 0
                    assert who() == USER, f"{name}: the visitor's session changed"
                # The same site, another origin (another port): its scripts send the SameSite=Lax cookie.
                page.goto(f"http://127.0.0.1:{port}/fetch.html")
                for name in ("link", "logout"):
                    page.evaluate(
                        "url => fetch(url, {credentials: 'include', mode: 'no-cors'}).then(() => 0, () => 1)",
                        navigations[name],
                    )
                    assert who() == USER
                assert _linked(services) == [{"medusa_id": None, "lead_name": None}]

                # The service's own origin proves itself: the same GET from its own page links.
                page.goto(f"{service}/api/method/ping")
                status = page.evaluate("url => fetch(url).then(r => r.status)", navigations["link"])
                assert status == 200
                assert _linked(services) == [{"medusa_id": "cus_01VICTIM", "lead_name": LEAD}]
            finally:
                browser.close()
    print(f"attacks from another site: {outcomes}")
    assert all(status in (403, 417) for status in outcomes.values()), outcomes


# --- 2. credentials and sids stay out of URLs -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_logins_are_posts_with_the_credentials_in_the_body_and_sids_never_come_from_urls(fresh_db, tmp_path):
    url, services = fresh_db
    _users(services)
    seed(services, customer(VICTIM), lead(LEAD, medusa_id="cus_01VICTIM"))
    key = create_api_key(services.keys, USER, services.now())
    with start_server(tmp_path, server_env(url)) as server:
        root = f"http://127.0.0.1:{server.port}"
        credentials = {"usr": USER, "pwd": PASSWORD}
        with httpx.Client(timeout=10) as http:
            for answer in (
                http.get(f"{root}/api/method/login", params=credentials),
                http.get(root + "/", params={"cmd": "login", **credentials}),
                http.post(f"{root}/api/method/login", params=credentials),
            ):
                assert answer.status_code in (403, 417) and "set-cookie" not in answer.headers, answer.text
            assert rows(services, "SELECT * FROM erpnext_medusa_session") == []
            opened = http.post(f"{root}/api/method/login", data=credentials)
            sid = opened.cookies["sid"]
        with httpx.Client(timeout=10) as stranger:
            answer = stranger.get(f"{root}/api/method/{WHO}", params={"sid": sid})
            assert answer.status_code == 403  # a guest: the sid in the URL was not read
            answer = stranger.get(f"{root}/api/method/{WHO}", cookies={"sid": sid})
            assert answer.json() == {"message": USER}
            # API keys call link_medusa_lead by GET as before.
            headers = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
            answer = stranger.get(
                f"{root}/api/method/{LINK}", params={"customer": VICTIM, "lead": LEAD}, headers=headers
            )
            assert answer.json() == {"message": {"status": "success"}}


# --- 4. the time a login takes ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_wrong_password_and_an_unknown_user_take_the_same_time(fresh_db, tmp_path):
    url, services = fresh_db
    _users(services)
    tries = 15
    env = server_env(url, login_max_failures="0", login_rate_limit="0")
    with start_server(tmp_path, env) as server, httpx.Client(timeout=10) as http:
        times: dict[str, list[float]] = {"existing": [], "unknown": []}
        for i in range(tries + 3):  # the first rounds warm the process up and are not counted
            for kind, name in (("existing", USER), ("unknown", f"nobody-{i}@example.com")):
                started = time.perf_counter()
                answer = http.post(f"{server.base}/login", data={"usr": name, "pwd": "wrong password"})
                elapsed = time.perf_counter() - started
                assert answer.status_code == 401 and answer.json()["message"] == "Invalid login credentials"
                if i >= 3:
                    times[kind].append(elapsed)
    existing, unknown = (statistics.median(times[k]) * 1000 for k in ("existing", "unknown"))
    print(f"login medians of {tries}: wrong password {existing:.1f} ms, unknown user {unknown:.1f} ms")
    assert max(existing, unknown) / min(existing, unknown) <= 1.5


# --- 5. over-long user names ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", BACKENDS, indirect=True)
def test_over_long_user_names_are_a_clear_417_and_leave_nothing_stored(fresh_db, tmp_path):
    url, services = fresh_db
    _users(services)
    with start_server(tmp_path, server_env(url, login_max_failures="3")) as server, httpx.Client(timeout=30) as http:
        for name in ("a" * 193 + "@example.com", "b" * 60_000):
            answer = http.post(f"{server.base}/login", data={"usr": name, "pwd": "wrong"})
            assert_frappe_error(answer, 417, "ValidationError", "User name is too long: at most 140 characters.")
        assert http.post(f"{server.base}/login", data={"usr": USER, "pwd": "wrong"}).status_code == 401
        output = server.output()
    stored = rows(services, 'SELECT "user", failures FROM erpnext_medusa_login_failure')
    assert [(len(str(r["user"])), r["failures"]) for r in stored] == [(64, 1)]  # one digest, for the real user
    assert "Traceback" not in output


# --- 6. slow request heads and bodies -------------------------------------------------------------------------


def _closed_within(sockets: list[socket.socket], seconds: float) -> tuple[int, list[bytes]]:
    """Wait up to ``seconds`` for the server to close each socket; how many it closed, and what each got."""
    received = {s: b"" for s in sockets}
    open_ = set(sockets)
    deadline = time.monotonic() + seconds
    while open_ and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_), [], [], max(0.0, deadline - time.monotonic()))
        for sock in ready:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                received[sock] += chunk
            else:
                open_.discard(sock)
    return len(sockets) - len(open_), [received[s] for s in sockets]


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
def test_forty_hanging_heads_are_closed_within_the_deadline_while_ping_answers(fresh_db, tmp_path):
    url, _ = fresh_db
    deadline = 2.0
    env = server_env(url, request_head_timeout=str(deadline), request_body_min_rate="100")
    with start_server(tmp_path, env) as server:
        heads = []
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /api/method/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")  # never ends
            heads.append(sock)
        body = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        body.sendall(b"POST /api/method/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789")
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # sends nothing at all
        started = time.monotonic()
        pings = [httpx.get(f"{server.base}/ping", timeout=2).status_code for _ in range(5)]
        closed, answers = _closed_within([*heads, body, idle], 2 * deadline + 3 - (time.monotonic() - started))
        waited = time.monotonic() - started
        still_open = 42 - closed
        for sock in (*heads, body, idle):
            sock.close()
        after = httpx.get(f"{server.base}/ping", timeout=2).status_code
    print(f"slow heads: {still_open} of 42 connections still open after {waited:.1f} s")
    assert pings == [200] * 5 and after == 200
    assert still_open == 0
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a[:40] for a in answers}
    assert json.loads(answers[0].partition(b"\r\n\r\n")[2])["exc_type"] == "RequestTimeout"


# --- 7. Redis keys built from user input -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_user_name_ending_in_seq_cannot_break_the_shared_login_limit(fresh_db, tmp_path, redis_prefix):
    url, services = fresh_db
    _users(services)
    limit = 5
    env = server_env(
        url, login_rate_limit=str(limit), login_max_failures="0", redis_url=REDIS_URL, redis_prefix=redis_prefix
    )
    target = "target@example.com"
    with start_servers(tmp_path, env, 2) as servers:
        statuses = []
        for i, name in enumerate([target, f"{target}:seq", f"{target}:seq", target, *[target] * 26]):
            answer = httpx.post(f"{servers[i % 2].base}/login", data={"usr": name, "pwd": "wrong"}, timeout=10)
            statuses.append(answer.status_code)
        output = "".join(s.output() for s in servers)
    admitted = sum(1 for status in statuses if status != 429)
    print(f"logins admitted by two processes sharing a limit of {limit}: {admitted} of {len(statuses)}")
    assert "Redis is unreachable" not in output
    assert admitted == limit  # every attempt from this address counts once, in Redis
    keys = [key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{redis_prefix}:*")]
    assert keys and not any("example" in key for key in keys), keys


# --- 8. Host names -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_rebound_host_name_is_refused_and_the_loopback_names_are_answered(fresh_db, tmp_path):
    url, services = fresh_db
    seed(services, customer("Acme"))
    with start_server(tmp_path, server_env(url)) as server, httpx.Client(timeout=10) as http:
        for host in ("rebind.attacker.example", f"rebind.attacker.example:{server.port}", "127.0.0.2"):
            answer = http.get(f"{server.base}/{FETCH}", params={"name": "acme"}, headers={"Host": host})
            assert_frappe_error(answer, 421, "MisdirectedRequest")
            assert "Acme" not in answer.text
        for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]"):
            answer = http.get(f"{server.base}/{FETCH}", params={"name": "acme"}, headers={"Host": host})
            assert answer.json()["message"][0]["name"] == "Acme", host
    allowed = server_env(url, allowed_hosts="shop-api.example,127.0.0.1")
    with start_server(tmp_path, allowed) as server, httpx.Client(timeout=10) as http:
        assert http.get(f"{server.base}/ping", headers={"Host": "shop-api.example"}).status_code == 200
        answer = http.get(f"{server.base}/ping", headers={"Host": "localhost"})
        assert answer.status_code == 421  # the loopback names are no longer implied


# --- 9. a Lead that does not exist -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db", DATABASES, indirect=True)
def test_a_lead_that_does_not_exist_is_frappes_404(fresh_db, tmp_path):
    url, services = fresh_db
    seed(services, customer(VICTIM))
    key = create_api_key(services.keys, USER, services.now())
    headers = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
    with start_server(tmp_path, server_env(url)) as server:
        answer = httpx.get(f"{server.base}/{LINK}?customer={quote(VICTIM)}&lead={LEAD}", headers=headers, timeout=10)
    assert_frappe_error(answer, 404, "DoesNotExistError", f"Lead {LEAD} not found")
