"""The admin pages in a real browser (Debian's Chromium driven by Playwright) against a real server process:
sign in with the keyboard alone (Tab, typing, Enter), search a customer, open it, link a Medusa Lead after the
confirmation, and read the audit trail. Screenshots of each page at a laptop and a phone size are taken into the
test's temporary folder, or into the folder ``ERPNEXT_MEDUSA_TEST_SCREENSHOTS`` names (``docs/screenshots`` to
refresh the documentation's). Fails, never skips, when Chromium is missing."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.e2e.test_browser_cors import ARGS, CHROMIUM
from tests.helpers import TestDatabases, address, customer, lead, rows, seed, server_env, start_server

#: Where screenshots go when they should be kept (e.g. docs/screenshots); otherwise the test's tmp folder.
KEEP_SCREENSHOTS = os.environ.get("ERPNEXT_MEDUSA_TEST_SCREENSHOTS")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
USER = "backoffice@example.com"
PASSWORD = "a long enough password"


def shoot(page: Page, folder: Path, name: str) -> None:
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        shot = folder / f"admin-{name}-{size}.png"
        page.screenshot(path=str(shot), full_page=size == "laptop")
        assert shot.stat().st_size > 1000  # a picture, not an empty file
    page.set_viewport_size(SIZES["laptop"])


def test_admin_in_a_browser(databases: TestDatabases, tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    screenshots = Path(KEEP_SCREENSHOTS) if KEEP_SCREENSHOTS else tmp_path / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    url = databases.new()
    services = Services.from_settings(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        upgrade(services.store.engine)
        seed(
            services,
            customer("CUST-0001", customer_name="Acme Trading LLC", email_id="accounts@acme.example",
                     mobile_no="+971 50 123 4567"),
            customer("CUST-0002", customer_name="Acme Logistics", email_id="ops@acmelog.example"),
            customer("CUST-0003", customer_name="Blue Palm Cafe"),
            address("Acme Warehouse", "CUST-0001", address_type="Shipping", city="Jebel Ali"),
            address("Acme Head Office", "CUST-0001", address_line1="12 Sheikh Zayed Road", city="Dubai"),
            lead("CRM-LEAD-2026-00001", lead_name="Jane Doe", email_id="jane@acme.example", medusa_id="cus_01JANE"),
            lead("CRM-LEAD-2026-00002", lead_name="Omar Saleh", email_id="omar@example.com", medusa_id="cus_01OMAR"),
        )  # fmt: skip
        services.accounts.add_user(USER, "Back Office", PASSWORD, services.now())
        with start_server(tmp_path, server_env(url)) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport=SIZES["laptop"])
                base = f"http://127.0.0.1:{server.port}"
                page.goto(base + "/admin")
                assert page.url == base + "/admin/login"
                shoot(page, screenshots, "sign-in")

                # The keyboard alone: the user field has the focus, Tab moves to the password, Enter submits.
                assert page.evaluate("document.activeElement.id") == "usr"
                page.keyboard.type(USER)
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.id") == "pwd"
                page.keyboard.type(PASSWORD)
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                assert page.url == base + "/admin"

                page.fill("#customer-search", "acme trad")
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                links = page.locator("a.customer-link")
                assert links.all_inner_texts() == ["Acme Trading LLC"]
                page.fill("#customer-search", "acme")
                page.get_by_role("button", name="Search").click()
                page.wait_for_load_state()
                assert page.locator("a.customer-link").all_inner_texts() == ["Acme Logistics", "Acme Trading LLC"]
                shoot(page, screenshots, "customers")

                page.get_by_role("link", name="Acme Trading LLC").click()
                page.wait_for_url("**/admin/customers/CUST-0001")
                assert page.locator(".billing-mark").count() == 1
                page.fill("#lead-search", "jane")
                page.get_by_role("button", name="Find leads").click()
                page.wait_for_load_state()
                shoot(page, screenshots, "customer")
                page.locator("a.link-lead").first.click()
                page.wait_for_url("**/link?lead=CRM-LEAD-2026-00001")
                assert "Link Lead CRM-LEAD-2026-00001 (cus_01JANE) to Customer Acme Trading LLC" in page.inner_text(
                    "main"
                )
                shoot(page, screenshots, "confirmation")
                page.click("#confirm-link")
                page.wait_for_url("**/admin/customers/CUST-0001")
                assert "Linked" in page.inner_text(".flash.success")
                shoot(page, screenshots, "linked")

                page.get_by_role("link", name="Leads").click()
                page.wait_for_url("**/admin/leads")
                shoot(page, screenshots, "leads")
                page.get_by_role("link", name="Audit").click()
                page.wait_for_url("**/admin/audit")
                assert "link_medusa_lead" in page.inner_text("main")
                shoot(page, screenshots, "audit")

                page.get_by_role("button", name="Sign out").click()
                page.wait_for_url("**/admin/login")
            finally:
                browser.close()
        linked = rows(services, 'SELECT medusa_id, lead_name FROM "tabCustomer" WHERE name = :n', n="CUST-0001")
        assert linked == [{"medusa_id": "cus_01JANE", "lead_name": "CRM-LEAD-2026-00001"}]
        assert [r["user"] for r in rows(services, 'SELECT "user" FROM erpnext_medusa_audit')] == [USER]
    finally:
        services.close()
