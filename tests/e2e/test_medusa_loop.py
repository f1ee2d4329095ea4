"""The whole loop with a real Medusa v2 server (``examples/medusa``) and this service, each its own process:

1. ``npm ci`` of the example (kept in a cache folder between runs, see ``tests/e2e/medusa.py``);
2. a fresh PostgreSQL database for Medusa, ``medusa db:migrate``, an admin user, ``medusa start``; this service
   on a fresh SQLite database with the demo data, in ``medusa-token`` mode with Medusa's JWT secret and the
   webhook secret Medusa signs with;
3. a shopper signs up through Medusa's store API -> the subscriber's signed webhook makes their Lead;
4. a back-office user signs in to ``/admin`` in Debian's Chromium, finds a demo Customer by typing part of its
   name and links the shopper's Lead to it;
5. the shopper changes their billing address through the example's store route -> the Customer's billing
   Address changes and the audit trail names the shopper's Medusa id; a second shopper, not linked, can change
   neither their own (not linked yet) nor the first one's address, and nothing changes;
6. every process, the Medusa database and the temporary folders go away.

Nothing is skipped: without Node.js 20, npm's registry, PostgreSQL or Chromium the test fails saying so. Each
stage's duration is printed (``pytest -s`` shows them as they happen)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import make_url

from tests.e2e import medusa
from tests.e2e.browser import ARGS, CHROMIUM
from tests.e2e.medusa import Shopper
from tests.helpers import message_text, query, server_env, start_server

#: An unlinked Customer of the demo data (src/erpnext_medusa/data/demo.json), with a Billing address of its own.
CUSTOMER = "Acme Trading LLC"
TYPED = "acme trad"  # what the back-office user types to find it
UPDATE = "/api/method/medusa_integration.api.update_address"
NOT_LINKED = "Your account is not linked to an ERPNext customer yet; please try again later or contact the shop."


class Stages:
    """Times the test's stages and prints each as it ends."""

    def __init__(self) -> None:
        self.done: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        seconds = time.monotonic() - started
        self.done.append((name, seconds))
        print(f"[{seconds:6.1f} s] {name}", flush=True)

    def report(self) -> None:
        total = sum(seconds for _, seconds in self.done)
        print("\nstage durations:")
        for name, seconds in self.done:
            print(f"  {seconds:7.1f} s  {name}")
        print(f"  {total:7.1f} s  in all", flush=True)


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """``python -m erpnext_medusa ARGS`` on the service's database; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "erpnext_medusa", *args], env=env, input=stdin, capture_output=True, text=True
    )
    assert done.returncode == 0, f"erpnext-medusa {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def wait_for_lead(db: Path, medusa_id: str, medusa_log: Path) -> tuple[str, str]:
    """The Lead the webhook made for this Medusa customer (name, lead_name), polled for up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        found = query(db, 'SELECT name, lead_name FROM "tabLead" WHERE medusa_id = ?', medusa_id)
        if found:
            return found[0]
        assert time.monotonic() < deadline, (
            f"no Lead for {medusa_id} after 30 s; Medusa's log:\n{medusa_log.read_text(errors='replace')[-3000:]}"
        )
        time.sleep(0.2)


def billing_address(db: Path, customer: str) -> dict[str, object]:
    """The Customer's preferred Billing Address (the one update_address changes when, as in the demo data, no
    primary address is set), with the columns a shopper may change."""
    cols = ("name", "address_type", "address_line1", "address_line2", "city", "state", "country", "pincode")
    found = query(
        db,
        f"""SELECT {", ".join("a." + c for c in cols)} FROM "tabAddress" a
            JOIN "tabDynamic Link" d ON d.parent = a.name AND d.parenttype = 'Address'
            WHERE d.link_doctype = 'Customer' AND d.link_name = ? AND a.address_type = 'Billing'
            ORDER BY a.is_primary_address DESC, a.modified DESC, a.name""",
        customer,
    )
    assert found, f"{customer} has no Billing address"
    return dict(zip(cols, found[0], strict=True))


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Everything an address change could touch."""
    tables = ("tabAddress", "tabDynamic Link", "tabCustomer", "tabLead", "erpnext_medusa_audit")
    return {table: query(db, f'SELECT * FROM "{table}" ORDER BY 1') for table in tables}


def link_in_admin(service: str, user: str, password: str, lead: str, lead_query: str) -> None:
    """A back-office user, in Chromium: signs in, finds the Customer by typing part of its name, opens it, finds
    the shopper's Lead and links it (with the confirmation step)."""
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            first = page.goto(f"{service}/admin")
            status = first.status if first else None
            assert urlsplit(page.url).path == "/admin/login", f"GET /admin: HTTP {status} at {page.url}"  # no session
            page.fill("#usr", user)
            page.fill("#pwd", password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{service}/admin")

            page.locator("#customer-search").press_sequentially(TYPED)
            page.get_by_role("button", name="Search").click()
            found = page.locator("a.customer-link", has_text=CUSTOMER)
            expect(found).to_have_count(1)
            assert found.get_attribute("href") == f"/admin/customers/{quote(CUSTOMER)}"
            found.click()
            page.wait_for_url(f"{service}/admin/customers/{quote(CUSTOMER)}")

            page.locator("#lead-search").press_sequentially(lead_query)
            page.get_by_role("button", name="Find leads").click()
            link = page.locator(f'a.link-lead[href$="link?lead={quote(lead)}"]')
            expect(link).to_have_count(1)
            expect(link).to_have_text("Link")
            link.click()
            page.locator("#confirm-link").click()
            expect(page.locator(".flash.success")).to_contain_text("Linked")
            print(f"admin: linked {lead} to {CUSTOMER}; the page says {page.locator('.flash.success').inner_text()!r}")
        finally:
            browser.close()


@pytest.mark.slow
def test_signup_link_and_billing_address_through_a_real_medusa() -> None:
    stages = Stages()
    run = uuid.uuid4().hex[:8]
    jwt_secret = f"medusa-jwt-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    webhook_secret = f"medusa-webhook-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    admin_email, admin_password = f"admin-{run}@example.com", f"admin-pw-{run}"
    clerk, clerk_password = f"clerk-{run}@example.com", f"clerk-pw-{run}"
    # Names that match no demo Customer or Lead.
    ada = Shopper(f"shopper-{run}@example.com", f"shop-pw-{run}", "Nadira", f"Quillfeather{run}")
    bob = Shopper(f"other-{run}@example.com", f"other-pw-{run}", "Osric", f"Brambleton{run}")

    try:
        with ExitStack() as stack:
            work = Path(tempfile.mkdtemp(prefix="erpnext-medusa-loop-"))  # the project copy, databases, logs
            stack.callback(shutil.rmtree, work, ignore_errors=True)
            with stages("Node.js, npm ci of examples/medusa (or the cached install)"):
                node = medusa.check_node()
                node_modules, installed = medusa.installed_node_modules()
                project = medusa.project_copy(work, node_modules)
                print(f"node {node}; node_modules {'installed now' if installed else 'from the cache'}: {node_modules}")

            with stages("the service: SQLite database, back-office user, serve --demo"):
                db = work / "service.db"
                env = server_env(
                    make_url(f"sqlite:///{db}"),
                    guest_access="medusa-token",
                    medusa_jwt_secret=jwt_secret,
                    webhook_secret=webhook_secret,
                )
                cli(env, "db", "upgrade")
                cli(env, "user", "create", clerk, stdin=clerk_password + "\n")
                service = stack.enter_context(start_server(work, env, args=["--demo"]))
                service_url = f"http://127.0.0.1:{service.port}"
                before = billing_address(db, CUSTOMER)
                print(f"service at {service_url}; {CUSTOMER}'s billing address: {before}")

            with stages("Medusa: fresh PostgreSQL database, db:migrate"):
                database_url = stack.enter_context(medusa.medusa_database(work))
                menv = medusa.medusa_env(database_url, service_url, jwt_secret, webhook_secret)
                medusa.medusa_cli(project, menv, "db:migrate", timeout=600)
                print(f"Medusa's database: {database_url}")

            with stages("Medusa: admin user"):
                medusa.medusa_cli(project, menv, "user", "-e", admin_email, "-p", admin_password)

            with stages("Medusa: start"):
                shop = stack.enter_context(medusa.start_medusa(project, menv, work))
                print(f"Medusa (pid {shop.proc.pid}) at {shop.base}")

            with stages("shopper signs up through the store API -> their Lead"):
                key = medusa.publishable_key(shop.base, medusa.admin_token(shop.base, admin_email, admin_password))
                medusa.register(shop.base, key, ada)
                lead, lead_name = wait_for_lead(db, ada.id, shop.log)
                print(f"shopper {ada.id} -> Lead {lead} ({lead_name!r})")
                assert lead_name == f"{ada.first_name} {ada.last_name}"
                token = medusa.login(shop.base, ada)
                r = medusa.change_billing_address(shop.base, key, token, city="Sharjah")
                assert (r.status_code, r.json()) == (422, {"ok": False, "error": NOT_LINKED})  # not linked yet

            with stages("back office links the Lead in /admin (Chromium)"):
                link_in_admin(service_url, clerk, clerk_password, lead, ada.last_name)
                linked = query(db, 'SELECT medusa_id, lead_name FROM "tabCustomer" WHERE name = ?', CUSTOMER)
                assert linked == [(ada.id, lead)]

            with stages("shopper changes their billing address through Medusa"):
                token = medusa.login(shop.base, ada)
                change = {"address_line1": "12 Loop Street", "city": "Sharjah", "pincode": "61234"}
                r = medusa.change_billing_address(shop.base, key, token, **change)
                assert (r.status_code, r.json()) == (200, {"ok": True}), r.text
                after = billing_address(db, CUSTOMER)
                assert after == {**before, **change}
                trail = [json.loads(line) for line in cli(env, "audit", "--json", "--customer", CUSTOMER).splitlines()]
                mine = [a for a in trail if a["action"] == "update_address" and a["medusa_actor"] == ada.id]
                assert len(mine) == 1, trail
                assert mine[0]["changes"][f"Address/{after['name']}"]["city"] == [before["city"], "Sharjah"]
                print(f"{CUSTOMER}'s billing address: {after}")
                print(f"audit: {mine[0]['action']} by {mine[0]['user']} medusa_actor={mine[0]['medusa_actor']}")

            with stages("a second shopper cannot change it"):
                medusa.register(shop.base, key, bob)
                other_lead, _ = wait_for_lead(db, bob.id, shop.log)
                unchanged = snapshot(db)
                bob_token = medusa.login(shop.base, bob)
                r = medusa.change_billing_address(shop.base, key, bob_token, city="Ajman")
                assert (r.status_code, r.json()) == (422, {"ok": False, "error": NOT_LINKED})
                direct = httpx.post(
                    f"{service_url}{UPDATE}",
                    json={"customer_id": CUSTOMER, "city": "Ajman"},
                    headers={"Authorization": f"Bearer {bob_token}"},
                )
                assert direct.status_code == 403, direct.text
                assert message_text(direct) == "You may change only your own customer's address."
                assert snapshot(db) == unchanged
                print(f"second shopper {bob.id} (Lead {other_lead}): route 422 {NOT_LINKED!r}; direct call 403")

            with stages("clean-up: Medusa, the service, Medusa's database, the work folder"):
                stack.close()
            assert shop.proc.poll() is not None and service.proc.poll() is not None
            assert not work.exists()
            assert not medusa.database_exists(database_url)
    finally:
        stages.report()
