"""The plugin's customer widget in Medusa's own admin dashboard, in a real browser (Debian's Chromium driven by
Playwright): the example built with its admin on (``medusa build``, cached) and started from the build, the
service in the erpnext shape against the ERPNext double, listening on a real port for the plugin's admin route.
A Medusa customer linked to an ERPNext Customer shows the Customer's name, its billing address and the state of
the last change sent to Medusa; a customer no Customer carries shows "Not linked to ERPNext". One Medusa server
serves both pages. Screenshots go to the test's temporary folder, or to the folder
``ERPNEXT_MEDUSA_TEST_SCREENSHOTS`` names (``docs/screenshots`` to refresh the documentation's). Fails, never
skips, when Chromium, Node.js or npm's registry is missing."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from erpnext_medusa.domain import outbound as o
from erpnext_medusa.domain.apikeys import create_api_key
from tests.e2e import medusa
from tests.e2e.browser import ARGS, CHROMIUM
from tests.e2e.test_browser_admin import KEEP_SCREENSHOTS
from tests.e2e.test_medusa_outbox import _admin, _link, _listening, _wait
from tests.helpers import free_port
from tests.site.world import world

EMAIL, PASSWORD = "admin@example.com", "e2e-" + uuid.uuid4().hex
VIEWPORT = {"width": 1366, "height": 900}
#: ``medusa start`` runs in production mode, where the admin's session cookie is Secure: express-session sets
#: it only on https, which it reads from a TLS proxy's X-Forwarded-Proto. The browser says so itself, as
#: behind such a proxy, and talks to ``localhost``, where Chromium keeps Secure cookies over plain http.
BEHIND_TLS = {"X-Forwarded-Proto": "https"}


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/app/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Continue with Email").click()
    page.wait_for_url(lambda url: "/app/" in url and "/login" not in url, timeout=60_000)


def customer_widget(page: Page, base: str, customer: str, shot: Path, *texts: str) -> str:
    """The customer's page: the widget's heading and these texts in it, once loaded; a screenshot; its text."""
    page.goto(f"{base}/app/customers/{customer}")
    widget = page.get_by_test_id("erpnext-customer-widget")
    expect(widget.get_by_role("heading", name="ERPNext")).to_be_visible(timeout=60_000)
    for shown in texts:
        expect(widget).to_contain_text(shown, timeout=30_000)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000  # a picture, not an empty file
    return widget.inner_text()


@pytest.mark.slow
def test_the_customer_widget_in_medusas_admin(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    screenshots = Path(KEEP_SCREENSHOTS) if KEEP_SCREENSHOTS else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    node_modules, _ = medusa.installed_node_modules()
    build = medusa.admin_build(node_modules)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = medusa.built_copy(tmp, build, node_modules)
        service_db = f"sqlite:///{tmp / 'service.db'}"
        # The service's API key the plugin's admin route asks with, made before Medusa starts with it.
        with world(service_db) as w:
            key = create_api_key(w.services.keys, EMAIL, w.services.now())
        with medusa.medusa_database(tmp) as database_url:
            service_port, webhook_secret = free_port(), uuid.uuid4().hex * 2
            env = medusa.medusa_env(
                database_url, f"http://127.0.0.1:{service_port}", uuid.uuid4().hex * 2, webhook_secret
            )
            env.update(MEDUSA_ADMIN="on", ERPNEXT_MEDUSA_API_KEY=f"{key.api_key}:{key.api_secret}")
            medusa.medusa_cli(server, env, "db:migrate")
            medusa.medusa_cli(server, env, "user", "-e", EMAIL, "-p", PASSWORD)
            with medusa.start_medusa(server, env, tmp) as m:
                token = medusa.admin_token(m.base, EMAIL, PASSWORD)
                secret = _admin(m.base, token, "POST", "/admin/api-keys", json={"title": "sync", "type": "secret"})
                settings = {
                    "medusa_url": m.base,
                    "medusa_api_key": str(secret["api_key"]["token"]),
                    "webhook_secret": webhook_secret,
                }
                with world(service_db, **settings) as w, _listening(w, service_port) as hooks:
                    box = w.services.outbox
                    assert box is not None
                    ada, bo = (
                        _admin(m.base, token, "POST", "/admin/customers",
                               json={"email": f"{n}@example.com", "first_name": n, "last_name": "Shopper"})[
                            "customer"]["id"]
                        for n in ("ada", "bo")
                    )  # fmt: skip
                    _wait(lambda: len([h for h in hooks if h["type"] == "customer.created"]) == 2, 60, "the Leads")
                    address = _link(w, "Ada Lovelace", ada)
                    w.reconcile(full=True)
                    # A desk change of the billing address, sent to Medusa: the widget's last sync.
                    w.desk("PUT", "Address", address, {"city": "Manchester", "pincode": "M1"})
                    w.deliver()
                    (sent,) = _wait(lambda: box.events(states=(o.DELIVERED,)), 30, "the delivery")
                    assert sent.customer == "Ada Lovelace"

                    with sync_playwright() as pw:
                        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                        try:
                            page = browser.new_page(viewport=VIEWPORT, extra_http_headers=BEHIND_TLS)
                            base = f"http://localhost:{m.port}"
                            log_in(page, base)
                            linked = customer_widget(
                                page, base, ada, screenshots / "medusa-widget-linked.png",
                                "Customer: Ada Lovelace (Ada Lovelace)", "1 Old St, Manchester, M1",
                                "Last sync: delivered at", "UTC (1 attempt)",
                            )  # fmt: skip
                            assert "Not linked" not in linked and "Cannot reach" not in linked, linked
                            unlinked = customer_widget(
                                page, base, bo, screenshots / "medusa-widget-unlinked.png", "Not linked to ERPNext"
                            )
                            assert "Customer:" not in unlinked, unlinked
                        finally:
                            browser.close()
