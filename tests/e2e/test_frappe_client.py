"""The real ``frappe-client`` (PyPI) against a real server process: ``login()`` + ``get_api``, ``authenticate()``
+ each endpoint, every error raised with its message; sessions that survive a restart; a login lock that two
processes share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from frappeclient import FrappeClient
from frappeclient.frappeclient import AuthError, FrappeException
from sqlalchemy.engine import URL

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.helpers import TestDatabases, address, customer, lead, seed, server_env, start_server, start_servers

ME = "clerk@example.com"
PASSWORD = "a long enough password"
FETCH = "medusa_integration.api.fetch_all_customers"
UPDATE = "medusa_integration.api.update_address"
LINK = "medusa_integration.utils.link_medusa_lead"


@pytest.fixture
def site(databases: TestDatabases) -> Iterator[tuple[URL, Services]]:
    url = databases.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    upgrade(services.store.engine)
    services.accounts.add_user(ME, "Counter Clerk", PASSWORD, services.now())
    seed(services, customer("Acme"), address("Acme", "Acme"), lead("L1", medusa_id="m1"))
    yield url, services
    services.close()


def test_login_get_api_and_logout(site, tmp_path: Path):
    """frappe-client logs in with a form POST to ``/`` (``cmd=login``), which works as on Frappe. Its session
    writes by POST (``post_api``); a GET that writes in a session, such as ``get_api`` of link_medusa_lead or
    its ``logout()`` (``GET /?cmd=logout``), carries no proof of where it comes from and is refused, changing
    nothing: a session is ended by POST."""
    url, _ = site
    with start_server(tmp_path, server_env(url)) as server:
        root = f"http://127.0.0.1:{server.port}"
        client = FrappeClient(root, ME, PASSWORD)  # POST / with cmd=login, as Frappe's legacy RPC
        assert client.get_api("frappe.auth.get_logged_user") == ME
        assert client.get_api(FETCH, {"name": "acme"})[0]["name"] == "Acme"
        with pytest.raises(FrappeException, match="send it with POST"):
            client.get_api(LINK, {"customer": "Acme", "lead": "L1"})
        assert client.post_api(LINK, {"customer": "Acme", "lead": "L1"}) == {"status": "success"}
        client.logout()  # GET: refused, the session stays
        assert client.get_api("frappe.auth.get_logged_user") == ME
        client.post_request({"cmd": "logout"})
        with pytest.raises(FrappeException, match="is not whitelisted"):
            client.get_api("frappe.auth.get_logged_user")
        with pytest.raises(AuthError):
            FrappeClient(root, ME, "wrong password")


def test_authenticate_and_each_endpoint_and_errors(site, tmp_path: Path):
    url, services = site
    key = create_api_key(services.keys, ME, services.now())
    with start_server(tmp_path, server_env(url)) as server:
        client = FrappeClient(f"http://127.0.0.1:{server.port}")
        client.authenticate(key.api_key, key.api_secret)
        assert client.get_api("ping") == "pong"
        assert client.get_api("frappe.auth.get_logged_user") == ME
        assert client.get_api(FETCH, {"name": "acme"})[0]["customer_name"] == "Acme"
        answer = client.session.post(f"{client.url}/api/method/{UPDATE}", json={"customer_id": "Acme", "city": "Ajman"})
        assert client.post_process(answer) == "Address updated successfully"
        assert client.post_api(LINK, {"customer": "Acme", "lead": "L1"}) == {"status": "success"}
        with pytest.raises(FrappeException, match="Customer Nope not found"):  # 404
            client.get_api(LINK, {"customer": "Nope", "lead": "L1"})
        with pytest.raises(FrappeException, match="limit must be a whole number"):  # 417
            client.get_api(FETCH, {"limit": "x"})
        with pytest.raises(FrappeException, match=r"Failed to get method for command no\.such"):  # 417
            client.get_api("no.such")
        client.authenticate(key.api_key, "wrong")
        with pytest.raises(FrappeException, match="AuthenticationError"):  # 401
            client.get_api("frappe.auth.get_logged_user")
        guest = FrappeClient(f"http://127.0.0.1:{server.port}")
        with pytest.raises(FrappeException, match="PermissionError"):  # 403
            guest.get_api(LINK)


def test_sessions_survive_a_restart(site, tmp_path: Path):
    url, _ = site
    env = server_env(url)
    with start_server(tmp_path, env) as server:
        r = requests.post(
            f"http://127.0.0.1:{server.port}/api/method/login", data={"usr": ME, "pwd": PASSWORD}, timeout=10
        )
        sid = r.cookies["sid"]
    with start_server(tmp_path, env) as again:
        r = requests.get(
            f"http://127.0.0.1:{again.port}/api/method/frappe.auth.get_logged_user", cookies={"sid": sid}, timeout=10
        )
        assert r.json() == {"message": ME}


def test_a_lock_holds_across_two_processes(site, tmp_path: Path):
    url, _ = site
    env = server_env(url, login_max_failures="3", login_lock_seconds="120")
    with start_servers(tmp_path, env, 2) as (first, second):
        for server in (first, second, first):
            r = requests.post(
                f"http://127.0.0.1:{server.port}/api/method/login", data={"usr": ME, "pwd": "x"}, timeout=10
            )
            assert r.status_code == 401
        r = requests.post(
            f"http://127.0.0.1:{second.port}/api/method/login", data={"usr": ME, "pwd": PASSWORD}, timeout=10
        )
        assert r.status_code == 429 and r.json()["exc_type"] == "SecurityException"
