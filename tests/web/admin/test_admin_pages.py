"""The admin pages through the ASGI app on every backend: sign-in and sign-out on the API's sessions, the
redirects without a session, CSRF on every POST, the customer typeahead and its paging, the customer page,
the Medusa Leads list, linking (confirmation, success, each refusal's exact message) and the audit trail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from starlette.routing import Route

from erpnext_medusa.domain.addresses import update_billing_address
from erpnext_medusa.domain.backoffice import audit_trail
from erpnext_medusa.domain.leads import link_medusa_lead
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.web.admin import intake, outbox
from erpnext_medusa.web.admin import routes as admin
from tests.helpers import address, customer, execute, lead, rows, seed
from tests.web.admin.pages import PASSWORD, USER, flash, plain, sign_in, token_of


def customer_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="customer-link" href="([^"]+)"[^>]*>([^<]+)</a>', html)


# --- sessions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/leads", "/admin/audit", "/admin/customers/Acme", "/admin/customers/Acme/link?lead=L"]
)
def test_pages_redirect_to_sign_in_without_a_session(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"


@pytest.mark.parametrize("path", ["/admin/logout", "/admin/customers/Acme/link"])
def test_posts_redirect_to_sign_in_without_a_session(client, path):
    r = client.post(path, data={"lead": "L", "csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"


def test_every_page_of_a_visitor_sends_a_browser_without_a_session_to_sign_in(client, services):
    """Each route of the admin routers but the sign-in page, read from the routers (a page added later is
    covered): without a session it answers the redirect, with the pages' headers, and changes
    nothing."""
    seed(services, customer("Acme"), lead("L", medusa_id="cus_1"))
    checked = []
    for route in [*admin.router.routes, *intake.router.routes, *outbox.router.routes]:
        if not isinstance(route, Route) or route.path == "/admin/login":
            continue
        path = route.path.replace("{name:path}", "Acme").replace("{event_id:path}", "e1").replace("{event_id:int}", "1")
        for verb in sorted(route.methods or ()):
            if verb == "HEAD":
                continue
            r = client.request(verb, path, data={"csrf_token": "x"}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/admin/login", (verb, path, r.text)
            assert r.headers["x-frame-options"] == "DENY", (verb, path)
            checked.append((verb, route.path))
    assert ("GET", "/admin") in checked and ("POST", "/admin/logout") in checked and len(checked) >= 15, checked
    assert audit_trail(services.audit, limit=10) == []
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer" WHERE name = :n', n="Acme") == [{"medusa_id": None}]


def test_sign_in_form_and_the_session_it_opens(client, services):
    page = client.get("/admin/login")
    assert page.status_code == 200
    assert '<input id="usr" name="usr"' in page.text
    assert '<input id="pwd" name="pwd" type="password"' in page.text
    assert '<button type="submit">Sign in</button>' in page.text
    assert (
        page.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    sign_in(client, services)
    assert "sid" in client.cookies
    # The session is the API's: the same cookie answers get_logged_user.
    assert client.get("/api/method/frappe.auth.get_logged_user").json() == {"message": USER}
    assert client.get("/admin/login", follow_redirects=False).headers["location"] == "/admin"


@pytest.mark.parametrize(("usr", "pwd", "message"), [
    (USER, "wrong password", "Invalid login credentials"),
    ("nobody@example.com", PASSWORD, "Invalid login credentials"),
    (USER, "", "Incomplete login details"),
])  # fmt: skip
def test_refused_sign_in_shows_the_login_methods_message(client, services, usr, pwd, message):
    services.accounts.add_user(USER, "The Boss", PASSWORD, services.now())
    r = client.post("/admin/login", data={"usr": usr, "pwd": pwd}, follow_redirects=False)
    assert r.status_code == 401
    assert flash(r.text) == ("error", message)
    assert "sid" not in client.cookies
    api = client.post("/api/method/login", data={"usr": usr, "pwd": pwd})
    assert api.json()["message"] == message  # the same words as the API's login


def test_locked_account_is_refused_with_the_lock_message(client_with, services):
    services.accounts.add_user(USER, "The Boss", PASSWORD, services.now())
    c = client_with(login_max_failures=2, login_lock_seconds=60)
    for _ in range(2):
        assert c.post("/admin/login", data={"usr": USER, "pwd": "wrong"}).status_code == 401
    r = c.post("/admin/login", data={"usr": USER, "pwd": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429
    kind, text = flash(r.text) or ("", "")
    assert kind == "error" and text.startswith("Your account has been locked and will resume after")
    assert "sid" not in c.cookies


def test_sign_out_needs_the_token_and_ends_the_session(client, services):
    token = sign_in(client, services)
    refused = client.post("/admin/logout", data={}, follow_redirects=False)
    assert refused.status_code == 400 and flash(refused.text) == ("error", "Invalid Request")
    assert client.get("/admin", follow_redirects=False).status_code == 200
    r = client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"
    assert rows(services, "SELECT * FROM erpnext_medusa_session") == []


def test_expired_session_goes_back_to_sign_in(client, services):
    sign_in(client, services)
    execute(services, "UPDATE erpnext_medusa_session SET expires_at = :t", t=services.now() - timedelta(seconds=1))
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"


# --- customers --------------------------------------------------------------------------------------------------


def test_typeahead_has_the_meaning_of_fetch_all_customers(client, services):
    seed(
        services,
        customer("C1", customer_name="Acme Trading"),
        customer("C2", customer_name="Trading Acme & Sons"),
        customer("C3", customer_name="Beta"),
        customer("C4", customer_name="Acme Linked", medusa_id="cus_x"),
        customer("C5", customer_name="Acme Off", disabled=1),
        customer("C6", customer_name="100% Acme_"),
    )
    sign_in(client, services)
    page = client.get("/admin", params={"q": "acme TRAD"})
    assert '<input id="customer-search" name="q"' in page.text and '<button type="submit">Search</button>' in page.text
    found = customer_links(page.text)
    assert found == [("/admin/customers/C1", "Acme Trading"), ("/admin/customers/C2", "Trading Acme &amp; Sons")]
    api = client.get("/api/method/medusa_integration.api.fetch_all_customers", params={"name": "acme TRAD"})
    assert [c["name"] for c in api.json()["message"]] == ["C1", "C2"]
    assert [name for _, name in customer_links(client.get("/admin", params={"q": "0% acme_"}).text)] == ["100% Acme_"]
    assert customer_links(client.get("/admin", params={"q": "%"}).text) == [("/admin/customers/C6", "100% Acme_")]
    empty = client.get("/admin", params={"q": "zzz"})
    assert customer_links(empty.text) == [] and "No relevant customers found" in empty.text


def test_customer_names_are_url_quoted_in_links(client, services):
    seed(services, customer("A/B & C?", customer_name="Slash Co"))
    sign_in(client, services)
    ((href, text),) = customer_links(client.get("/admin").text)
    assert href == "/admin/customers/A%2FB%20%26%20C%3F" and text == "Slash Co"
    assert "A/B &amp; C?" in client.get(href).text


def test_paging_within_the_cap(client, services):
    assert services.settings.fetch_max_results == 50
    seed(services, *(customer(f"C{i:02}", customer_name=f"Shop {i:02}") for i in range(55)))
    sign_in(client, services)

    def page(start: str) -> tuple[list[str], str]:
        html = client.get("/admin", params={"q": "shop", "start": start}).text
        return [n for _, n in customer_links(html)], html

    names, html = page("")
    assert names == [f"Shop {i:02}" for i in range(20)]
    assert 'start=20" rel="next">Next</a>' in html and "Previous" not in html
    names, html = page("20")
    assert names == [f"Shop {i:02}" for i in range(20, 40)] and 'start=40" rel="next">Next</a>' in html
    names, html = page("40")
    assert names == [f"Shop {i:02}" for i in range(40, 50)]
    assert 'rel="next"' not in html and 'start=20" rel="prev">Previous</a>' in html
    assert "only its first 50 customers" in html
    names, html = page("50")
    assert names == [] and flash(html)[0] == "error"
    assert flash(client.get("/admin", params={"start": "-1"}).text) == (
        "error",
        "start must be a whole number, 0 or more",
    )


def test_customer_page_shows_contact_billing_address_and_history(client, services):
    seed(
        services,
        customer("Acme", customer_name="Acme Trading", email_id="hello@acme.example", mobile_no="+971 50 000"),
        address("Acme Shipping", "Acme", address_type="Shipping", city="Sharjah"),
        address("Acme Billing", "Acme", city="Dubai"),
        customer("Other"),
        lead("L1", medusa_id="cus_1"),
    )
    link_medusa_lead(services.store, "Other", "L1", Stamp("someone@example.com", services.now()))
    execute(services, 'UPDATE "tabCustomer" SET medusa_id = NULL, lead_name = NULL WHERE name = :n', n="Other")
    update_billing_address(services.store, "Acme", {"city": "Abu Dhabi"}, Stamp("shop@example.com", services.now()))
    sign_in(client, services)
    page = client.get("/admin/customers/Acme").text
    assert "Acme Trading" in page and "hello@acme.example" in page and "+971 50 000" in page
    assert "not linked" in page
    billing = re.search(r'<li class="billing">\s*<strong><bdi>([^<]+)</bdi></strong>', page)
    assert billing and billing.group(1) == "Acme Billing"
    assert page.count('class="badge billing-mark"') == 1
    assert page.count('class="audit-row"') == 1 and "update_address" in page and "Abu Dhabi" in page
    assert "link_medusa_lead" not in page  # another customer's history is not this one's
    missing = client.get("/admin/customers/Nope")
    assert missing.status_code == 404 and flash(missing.text) == ("error", "Customer Nope not found")


# --- Medusa Leads ---------------------------------------------------------------------------------------------


def leads_in(html: str) -> list[str]:
    row = r'<tr class="lead-row">\s*<td><a class="lead-link"[^>]*><bdi>[^<]*</bdi></a>\s*<span class="muted">([^<]+)'
    return re.findall(row, html)


def test_leads_unlinked_first_and_searchable(client, services):
    seed(
        services,
        customer("Holder"),
        lead("L-old", lead_name="Old Unlinked", medusa_id="cus_old", email_id="old@example.com"),
        lead("L-linked", lead_name="Linked Lead", medusa_id="cus_linked", email_id="x@example.com"),
        lead("L-none", lead_name="No Medusa", email_id="none@example.com"),
        lead("L-pct", lead_name="50% off_", medusa_id="cus_PCT", email_id="pct@example.com"),
    )
    execute(services, 'UPDATE "tabLead" SET creation = :t WHERE name = :n', t=datetime(2020, 1, 1), n="L-old")
    link_medusa_lead(services.store, "Holder", "L-linked", Stamp("x", services.now()))
    sign_in(client, services)
    page = client.get("/admin/leads").text
    assert leads_in(page) == ["L-pct", "L-old", "L-linked"]  # unlinked (newest first), then linked
    assert '<a href="/admin/customers/Holder"><bdi>Holder</bdi></a>' in page
    assert leads_in(client.get("/admin/leads", params={"q": "OLD@EXAMPLE"}).text) == ["L-old"]
    assert leads_in(client.get("/admin/leads", params={"q": "cus_pct"}).text) == ["L-pct"]
    assert leads_in(client.get("/admin/leads", params={"q": "%"}).text) == ["L-pct"]
    assert leads_in(client.get("/admin/leads", params={"q": "_"}).text) == ["L-pct", "L-old", "L-linked"]  # in ids
    assert leads_in(client.get("/admin/leads", params={"q": "f_"}).text) == ["L-pct"]
    assert leads_in(client.get("/admin/leads", params={"q": "no medusa"}).text) == []
    too_long = client.get("/admin/leads", params={"q": "x" * 141}).text
    assert flash(too_long) == ("error", "search is too long: at most 140 characters are allowed.")


def test_leads_are_paged(client, services):
    seed(services, *(lead(f"L{i:02}", medusa_id=f"cus_{i:02}") for i in range(23)))
    sign_in(client, services)
    first = client.get("/admin/leads")
    assert len(leads_in(first.text)) == 20 and 'start=20" rel="next">Next</a>' in first.text
    second = client.get("/admin/leads", params={"start": "20"})
    assert len(leads_in(second.text)) == 3 and 'rel="next"' not in second.text
    assert set(leads_in(first.text)).isdisjoint(leads_in(second.text))


# --- linking --------------------------------------------------------------------------------------------------


def test_link_with_confirmation(client, services):
    seed(services, customer("Acme", customer_name="Acme Trading"), lead("L1", lead_name="Jane", medusa_id="cus_1"))
    sign_in(client, services)
    page = client.get("/admin/customers/Acme", params={"lead_q": "jane"}).text
    assert '<input id="lead-search" name="lead_q"' in page and "Find leads" in page
    assert re.search(r'<a class="link-lead button" href="/admin/customers/Acme/link\?lead=L1"[^>]*>Link</a>', page)
    confirm = client.get("/admin/customers/Acme/link", params={"lead": "L1"}).text
    assert "Link Lead L1 (cus_1) to Customer Acme Trading (Acme)?" in plain(confirm)
    assert '<button id="confirm-link" type="submit">Link</button>' in confirm
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": None}]  # a GET changes nothing
    r = client.post(
        "/admin/customers/Acme/link", data={"lead": "L1", "csrf_token": token_of(confirm)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/customers/Acme"
    shown = client.get(r.headers["location"]).text
    assert flash(shown) == ("success", "Linked Lead L1 to Customer Acme.")
    assert "cus_1" in shown and "lead-search" not in shown  # linked: no more Leads to link
    assert flash(client.get("/admin/customers/Acme").text) is None  # the message is shown once
    assert rows(services, 'SELECT medusa_id, lead_name FROM "tabCustomer"') == [
        {"medusa_id": "cus_1", "lead_name": "L1"}
    ]
    (entry,) = rows(services, 'SELECT "user", action, customer, request_id FROM erpnext_medusa_audit')
    assert entry["user"] == USER and entry["action"] == "link_medusa_lead" and entry["customer"] == "Acme"
    assert entry["request_id"]


def test_link_without_token_is_refused(client, services):
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    sign_in(client, services)
    for data in ({"lead": "L1"}, {"lead": "L1", "csrf_token": "0" * 64}):
        r = client.post("/admin/customers/Acme/link", data=data, follow_redirects=False)
        assert r.status_code == 400 and flash(r.text) == ("error", "Invalid Request")
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": None}]
    assert rows(services, "SELECT id FROM erpnext_medusa_audit") == []


@pytest.mark.parametrize(("target", "chosen", "message"), [
    ("Acme", "Nope", "Lead Nope not found"),
    ("Acme", "L-plain", "Selected Lead does not have a Medusa ID"),
    ("Acme", "L-taken", "This Medusa Lead is already linked to another Customer: Holder"),
    ("Linked", "L1", "Customer Linked is already linked to a different Medusa ID: cus_other"),
    ("Ghost", "L1", "Customer Ghost not found"),
])  # fmt: skip
def test_each_refusal_shows_the_exact_message(client, services, target, chosen, message):
    seed(
        services,
        customer("Acme"),
        customer("Holder", medusa_id="cus_taken"),
        customer("Linked", medusa_id="cus_other"),
        lead("L1", medusa_id="cus_1"),
        lead("L-plain"),
        lead("L-taken", medusa_id="cus_taken"),
    )
    token = sign_in(client, services)
    before = rows(services, 'SELECT name, medusa_id, lead_name FROM "tabCustomer" ORDER BY name')
    r = client.post(
        f"/admin/customers/{target}/link", data={"lead": chosen, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    if target == "Ghost":
        assert page.status_code == 404 and flash(page.text) == ("error", message)
        return
    assert flash(page.text) == ("error", message)
    assert rows(services, 'SELECT name, medusa_id, lead_name FROM "tabCustomer" ORDER BY name') == before
    assert rows(services, "SELECT id FROM erpnext_medusa_audit") == []


# --- the audit trail --------------------------------------------------------------------------------------------


def test_audit_filters_by_customer_and_time_newest_first(client, services):
    seed(services, customer("A"), customer("B"), lead("LA", medusa_id="cus_a"), lead("LB", medusa_id="cus_b"))
    early = services.now() - timedelta(days=3)
    link_medusa_lead(services.store, "A", "LA", Stamp("early@example.com", early))
    link_medusa_lead(services.store, "B", "LB", Stamp("late@example.com", services.now()))
    sign_in(client, services)

    def users(**params: str) -> list[str]:
        html = client.get("/admin/audit", params=params).text
        return re.findall(r"<strong>link_medusa_lead</strong> by <bdi>([^<]+)</bdi>", html)

    assert users() == ["late@example.com", "early@example.com"]
    assert users(customer="A") == ["early@example.com"]
    assert users(since=(services.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")) == ["late@example.com"]
    assert users(since=(early - timedelta(days=1)).strftime("%Y-%m-%d"), customer="B") == ["late@example.com"]
    assert users(customer="Nobody") == []
    bad = client.get("/admin/audit", params={"since": "yesterday"}).text
    assert flash(bad) == ("error", "Since must be a date (YYYY-MM-DD) or a date and time")


def test_navigation_and_sign_out_on_every_page(client, services):
    seed(services, customer("Acme"))
    sign_in(client, services)
    for path in ("/admin", "/admin/leads", "/admin/audit", "/admin/customers/Acme"):
        html = client.get(path).text
        for href, text in (("/admin", "Customers"), ("/admin/leads", "Leads"), ("/admin/audit", "Audit")):
            assert re.search(rf'<a href="{href}"[^>]*>{text}</a>', html), (path, text)
        assert re.search(
            r'<form class="signout" method="post" action="/admin/logout">\s*<input type="hidden" name="csrf_token"',
            html,
        )
        assert '<button type="submit">Sign out</button>' in html
    css = client.get("/admin/static/admin.css")
    assert (
        css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ":focus-visible" in css.text
    )
