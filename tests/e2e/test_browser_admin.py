"""The admin pages in a real browser (Debian's Chromium driven by Playwright) against a real server process:
sign in with the keyboard alone, find a customer by typing (the typeahead, no Enter), link its suggested Lead,
unlink it and link it again with Tab and Enter only, and read an Arabic customer's page in an Arabic browser
(right to left, its audit change and address in the right order). Screenshots of each page at a laptop
(1366x768) and a phone (390x844) size go to the test's temporary folder, or to the folder
``ERPNEXT_MEDUSA_TEST_SCREENSHOTS`` names (``docs/screenshots`` to refresh the documentation's). Fails, never
skips, when Chromium is missing."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.addresses import update_billing_address
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import upgrade
from tests.e2e.browser import ARGS, CHROMIUM
from tests.helpers import TestDatabases, address, customer, lead, rows, seed, server_env, start_server

#: Where screenshots go when they should be kept (e.g. docs/screenshots); otherwise the test's tmp folder.
KEEP_SCREENSHOTS = os.environ.get("ERPNEXT_MEDUSA_TEST_SCREENSHOTS")
SIZES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
USER = "backoffice@example.com"
PASSWORD = "a long enough password"
ARABIC = "مؤسسة النور للتجارة"


def shoot(page: Page, folder: Path, name: str) -> None:
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        shot = folder / f"admin-{name}-{size}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000  # a picture, not an empty file
    page.set_viewport_size(SIZES["laptop"])


def tab_to(page: Page, selector: str, most: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (as a keyboard user moves through the page)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def press_enter_and_wait(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


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
            customer("CUST-0004", customer_name="Acme Trading (guest)", mobile_no="00971501234567"),
            customer(ARABIC, email_id="info@alnoor.example.sa", customer_primary_address="النور-Billing"),
            address("Acme Warehouse", "CUST-0001", address_type="Shipping", city="Jebel Ali"),
            address("Acme Head Office", "CUST-0001", address_line1="12 Sheikh Zayed Road", city="Dubai"),
            address("النور", ARABIC, address_line1="12 شارع الملك فهد", city="الرياض", pincode="21577",
                    country="Saudi Arabia"),
            lead("CRM-LEAD-2026-00001", lead_name="Jane Doe", email_id="ACCOUNTS@acme.example",
                 mobile_no="050 123 4567", medusa_id="cus_01JANE"),
            lead("CRM-LEAD-2026-00002", lead_name="Acme Trading", email_id="omar@example.com",
                 medusa_id="cus_01OMAR"),
            lead("CRM-LEAD-2026-00004", lead_name="Jane D.", email_id="accounts@acme.example"),
            lead("CRM-LEAD-2026-00003", lead_name="نورة السالم", email_id="info@alnoor.example.sa",
                 medusa_id="cus_01NOORA"),
        )  # fmt: skip
        update_billing_address(services.store, ARABIC, {"city": "جدة"}, Stamp("shop@example.com", services.now()))
        services.accounts.add_user(USER, "Back Office", PASSWORD, services.now())
        with start_server(tmp_path, server_env(url)) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                base = f"http://127.0.0.1:{server.port}"
                page = browser.new_page(viewport=SIZES["laptop"], locale="en-GB")
                page.goto(base + "/admin")
                assert page.url == base + "/admin/login"
                shoot(page, screenshots, "sign-in")

                # The keyboard alone from here on: typing, Tab and Enter.
                assert page.evaluate("document.activeElement.id") == "usr"
                page.keyboard.type(USER)
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.id") == "pwd"
                page.keyboard.type(PASSWORD)
                press_enter_and_wait(page)
                assert page.url == base + "/admin"

                # The typeahead: the list follows the typing, without Enter, and the address bar follows it.
                tab_to(page, "#customer-search")
                page.keyboard.type("acme trading l")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('a.customer-link')].map(a => a.textContent).join('|')"
                    " === 'Acme Trading LLC'"
                )
                assert page.url.endswith("/admin?q=acme+trading+l")
                assert page.evaluate("document.activeElement.id") == "customer-search"  # the focus stays
                for _ in range(len("trading l")):
                    page.keyboard.press("Backspace")
                page.wait_for_function("() => document.querySelectorAll('a.customer-link').length === 3")
                shoot(page, screenshots, "customers")
                tab_to(page, "a.customer-link[href='/admin/customers/CUST-0001']")
                press_enter_and_wait(page)
                assert page.url == base + "/admin/customers/CUST-0001"

                # The strong unique match is offered first: one Tab stop, one confirmation.
                best = page.locator(".best")
                assert "same e-mail" in best.inner_text() and "same phone" in best.inner_text()
                rows_shown = page.locator("tr.suggestion").all_inner_texts()
                assert "CRM-LEAD-2026-00001" in rows_shown[0] and "similar name" in rows_shown[1]
                shoot(page, screenshots, "customer")
                tab_to(page, "#link-suggested")
                press_enter_and_wait(page)
                assert "lead=CRM-LEAD-2026-00001" in page.url
                facts = page.inner_text(".lead-facts")
                assert "Jane Doe" in facts and "050 123 4567" in facts and "cus_01JANE" in facts
                shoot(page, screenshots, "confirmation")
                tab_to(page, "#confirm-link")
                press_enter_and_wait(page)
                assert page.inner_text(".flash.success") == "Linked Lead CRM-LEAD-2026-00001 to Customer CUST-0001."
                assert page.locator("a.lead-link").inner_text() == "CRM-LEAD-2026-00001"
                shoot(page, screenshots, "linked")

                # Unlink, then link again.
                tab_to(page, "#unlink")
                press_enter_and_wait(page)
                assert "Unlink Medusa ID cus_01JANE" in page.inner_text(".question")
                shoot(page, screenshots, "unlink")
                tab_to(page, "#confirm-unlink")
                press_enter_and_wait(page)
                assert page.inner_text(".flash.success").startswith("Unlinked Medusa ID cus_01JANE")
                assert "unlink_medusa_lead" in page.inner_text("#history-h + *, .trail")
                tab_to(page, "#link-suggested")
                press_enter_and_wait(page)
                tab_to(page, "#confirm-link")
                press_enter_and_wait(page)
                assert page.inner_text(".flash.success").startswith("Linked Lead CRM-LEAD-2026-00001")

                # The Lead search on the Leads page types ahead too.
                page.goto(base + "/admin/leads")
                tab_to(page, "#lead-list-search")
                page.keyboard.type("نورة")
                page.wait_for_function("() => document.querySelectorAll('tr.lead-row').length === 1")
                assert "cus_01NOORA" in page.inner_text("#lead-list")
                page.goto(base + "/admin/leads")
                shoot(page, screenshots, "leads")
                page.goto(base + "/admin/suggestions")
                assert "info@alnoor" not in page.inner_text("main")  # e-mails are not what the list shows
                assert ARABIC in page.inner_text("main")
                shoot(page, screenshots, "suggestions")
                page.goto(base + "/admin/duplicates")
                assert "accounts@acme.example" in page.inner_text("section:has(#lead-email-h)")  # Jane's two signups
                assert "Acme Trading (guest)" in page.inner_text("section:has(#customer-phone-h)")
                shoot(page, screenshots, "duplicates")
                page.goto(base + "/admin/audit")
                shoot(page, screenshots, "audit")
                cookies = page.context.cookies()
                page.close()

                # An Arabic browser: right to left; the change from الرياض to جدة and the address read right.
                arabic = browser.new_page(viewport=SIZES["laptop"], locale="ar-SA")
                arabic.context.add_cookies(cookies)  # type: ignore[arg-type]
                arabic.goto(base + "/admin/customers/" + ARABIC)
                assert arabic.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["rtl", "ar"]
                assert arabic.locator("h1 bdi").inner_text() == ARABIC
                change = arabic.locator(".change", has=arabic.locator("code", has_text="city"))
                parts = change.locator(":scope > span").all_inner_texts()
                assert parts == ["الرياض", "←", "جدة"]  # DOM order old, arrow, new: read right to left
                old_box = change.locator(".old").bounding_box()
                new_box = change.locator(".new").bounding_box()
                assert old_box and new_box and old_box["x"] > new_box["x"]  # the old value is on the right
                lines = arabic.locator("address.postal .line")
                assert lines.all_inner_texts()[:2] == ["12 شارع الملك فهد", "جدة, 21577"]
                assert all(d == "auto" for d in lines.evaluate_all("els => els.map(e => e.getAttribute('dir'))"))
                first = lines.nth(0).bounding_box()
                assert first and first["x"] + first["width"] > SIZES["laptop"]["width"] / 2  # starts at the right
                shoot(arabic, screenshots, "arabic-customer")
                arabic.goto(base + "/admin/audit?customer=النور")
                assert arabic.locator(".audit-row").count() == 1
                shoot(arabic, screenshots, "arabic-audit")
            finally:
                browser.close()
        linked = rows(services, 'SELECT medusa_id, lead_name FROM "tabCustomer" WHERE name = :n', n="CUST-0001")
        assert linked == [{"medusa_id": "cus_01JANE", "lead_name": "CRM-LEAD-2026-00001"}]
        actions = rows(services, 'SELECT action, "user" FROM erpnext_medusa_audit WHERE customer = :n ORDER BY id',
                       n="CUST-0001")  # fmt: skip
        assert actions == [
            {"action": a, "user": USER} for a in ("link_medusa_lead", "unlink_medusa_lead", "link_medusa_lead")
        ]
    finally:
        services.close()
