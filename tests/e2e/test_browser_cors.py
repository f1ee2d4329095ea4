"""A real browser (Debian's Chromium driven by Playwright): a page served from another origin (another loopback
port) calls fetch_all_customers and update_address with fetch(). The allowed origin works; for any other
origin the browser itself blocks the answer. The test fails, never skips, when Chromium is missing
(``.ci/run`` installs it)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.e2e.browser import ARGS, CHROMIUM
from tests.helpers import TestDatabases, address, customer, free_port, rows, seed, server_env, start_server

SCRIPT = """async (api) => {
  const out = {};
  try {
    const r = await fetch(api + "/api/method/medusa_integration.api.fetch_all_customers?name=acme");
    out.fetch = (await r.json()).message;
  } catch (e) { out.fetch = "blocked: " + e.name; }
  try {
    const r = await fetch(api + "/api/method/medusa_integration.api.update_address", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({customer_id: "Acme", city: "Fujairah"}),
    });
    out.update = (await r.json()).message;
  } catch (e) { out.update = "blocked: " + e.name; }
  return out;
}"""


@pytest.fixture
def page_origin(tmp_path: Path) -> Iterator[str]:
    """A static page server on another loopback port: another origin than the service's."""
    (tmp_path / "index.html").write_text("<!doctype html><title>shop</title><p>shop</p>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_browser_cross_origin_fetch(databases: TestDatabases, page_origin: str, tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    url = databases.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        upgrade(services.store.engine)
        seed(services, customer("Acme"), address("Acme", "Acme", city="Dubai"))
        with (
            start_server(tmp_path, server_env(url, allow_cors="http://shop.invalid")) as other,
            start_server(tmp_path, server_env(url, allow_cors=page_origin)) as allowed,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                page.goto(page_origin + "/index.html")
                ok = page.evaluate(SCRIPT, f"http://127.0.0.1:{allowed.port}")
                assert ok["fetch"][0]["name"] == "Acme"
                assert ok["update"] == "Address updated successfully"
                city = rows(services, 'SELECT city FROM "tabAddress"')[0]["city"]
                assert city == "Fujairah"
                blocked = page.evaluate(SCRIPT, f"http://127.0.0.1:{other.port}")
                assert blocked == {"fetch": "blocked: TypeError", "update": "blocked: TypeError"}
            finally:
                browser.close()
        # The preflight of the blocked POST never let it through: the address is as the allowed call left it.
        assert rows(services, 'SELECT city FROM "tabAddress"')[0]["city"] == "Fujairah"
    finally:
        services.close()
