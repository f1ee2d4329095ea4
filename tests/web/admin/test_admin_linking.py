"""The back office's help with the one decision it exists for, through the ASGI app on every backend: the
confirmation's Lead details, the Lead pages, suggested Leads ranked with their reasons, the "Suggested links"
page, unlinking and linking again (and its audit row), the audit trail's addresses and part-of-a-name filter,
and right-to-left pages and values; unlinking on a live ERPNext site goes through the site."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from erpnext_medusa.domain.addresses import update_billing_address
from erpnext_medusa.domain.backoffice import name_similarity, phone_key
from erpnext_medusa.domain.leads import link_medusa_lead
from erpnext_medusa.domain.models import Stamp
from tests.helpers import address, customer, execute, lead, rows, seed
from tests.web.admin.pages import USER, flash, plain, sign_in, token_of

SIGNUP = datetime(2026, 3, 14, 9, 30)


def suggestions_in(html: str) -> list[tuple[str, str]]:
    """(Lead name, its reasons) of each suggested Lead, in the page's order."""
    found = re.findall(r'<tr class="suggestion">(.*?)</tr>', html, re.S)
    return [
        (
            re.search(r'<span class="muted">([^<]+)</span>', row).group(1),  # type: ignore[union-attr]
            plain(re.search(r'<td data-label="Why">(.*?)</td>', row, re.S).group(1)),  # type: ignore[union-attr]
        )
        for row in found
    ]


def test_phone_digits_are_compared_without_the_country_prefix():
    assert phone_key("+966 50 123 4567") == phone_key("00966501234567") == phone_key("050-123-4567") == "501234567"
    assert phone_key("+971 50 123 4567") == "501234567" and phone_key("+966 55 123 4567") != "501234567"
    assert phone_key("12 34") is None and phone_key(None) is None
    assert name_similarity("Khalid Al-Harbi", "khalid al harbi") > 0.8
    assert name_similarity("Noor Textiles", "Blue Palm Cafe") < 0.2


def test_suggestions_are_ranked_with_each_reason(client, services):
    seed(
        services,
        customer("Khalid Trading", email_id="Khalid@Example.SA", mobile_no="+966 50 123 4567"),
        lead("L-mail", lead_name="K. H.", email_id="khalid@example.sa", medusa_id="cus_mail"),
        lead("L-phone", lead_name="Someone", email_id="other@example.com", mobile_no="0501234567",
             medusa_id="cus_phone"),
        lead("L-name", lead_name="Khalid Tradings", email_id="kt@example.com", medusa_id="cus_name"),
        lead("L-none", lead_name="Unrelated Person", email_id="u@example.com", medusa_id="cus_none"),
        lead("L-plain", lead_name="Khalid Trading", email_id="khalid@example.sa"),  # no medusa_id
    )  # fmt: skip
    sign_in(client, services)
    page = client.get("/admin/customers/Khalid Trading").text
    assert suggestions_in(page) == [
        ("L-mail", "same e-mail"),
        ("L-phone", "same phone"),
        ("L-name", "similar name (96%)"),
    ]
    # Two strong matches: none is singled out.
    assert 'id="link-suggested"' not in page


def test_a_strong_unique_match_is_offered_first_with_one_confirmation(client, services):
    seed(
        services,
        customer("Noor Textiles", email_id="noor@example.ae"),
        lead("CRM-LEAD-2026-00009", lead_name="Noor Saeed", email_id="NOOR@example.ae", mobile_no="+971 50 1",
             medusa_id="cus_01NOOR"),
        lead("CRM-LEAD-2026-00010", lead_name="Noor Textile", medusa_id="cus_02NOOR"),
    )  # fmt: skip
    execute(services, 'UPDATE "tabLead" SET creation = :t', t=SIGNUP)
    sign_in(client, services)
    page = client.get("/admin/customers/Noor Textiles").text
    assert plain(page).count("Noor Textiles") >= 1 and "Noor Textiles Noor Textiles" not in plain(page)
    best = re.search(r'<a id="link-suggested" class="button" href="([^"]+)">', page)
    assert best and best.group(1) == "/admin/customers/Noor%20Textiles/link?lead=CRM-LEAD-2026-00009&amp;suggested=1"
    assert [name for name, _ in suggestions_in(page)] == ["CRM-LEAD-2026-00009", "CRM-LEAD-2026-00010"]
    confirm = client.get(best.group(1).replace("&amp;", "&")).text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", confirm))
    assert plain(facts["Name"]) == "Noor Saeed" and plain(facts["E-mail"]) == "NOOR@example.ae"
    assert plain(facts["Phone"]) == "+971 50 1" and plain(facts["Medusa ID"]) == "cus_01NOOR"
    assert plain(facts["Signed up"]) == "2026-03-14 09:30:00"
    assert "Suggested: same e-mail" in plain(confirm)
    r = client.post("/admin/customers/Noor Textiles/link", data={"lead": "CRM-LEAD-2026-00009",
                    "csrf_token": token_of(confirm)}, follow_redirects=True)  # fmt: skip
    assert flash(r.text) == ("success", "Linked Lead CRM-LEAD-2026-00009 to Customer Noor Textiles.")
    assert '<a class="lead-link" href="/admin/leads/CRM-LEAD-2026-00009"><bdi>CRM-LEAD-2026-00009</bdi></a>' in r.text
    lead_page = client.get("/admin/leads/CRM-LEAD-2026-00009").text
    assert "Linked to Customer" in lead_page and 'href="/admin/customers/Noor%20Textiles"' in lead_page
    assert client.get("/admin/leads/Nope").status_code == 404


def test_suggested_links_lists_customers_with_one_strong_unique_match(client, services):
    seed(
        services,
        customer("Solo", email_id="solo@example.com"),
        customer("By Phone", mobile_no="+966 55 000 1111"),
        customer("Twice A", email_id="shared@example.com"),
        customer("Twice B", email_id="shared@example.com"),  # the same Lead matches two Customers
        customer("Two Leads", email_id="two@example.com"),
        customer("Only Name", customer_name="Lookalike Name"),
        customer("Linked", email_id="linked@example.com", medusa_id="cus_linked"),
        lead("L-solo", email_id="SOLO@example.com", medusa_id="cus_solo"),
        lead("L-phone", mobile_no="0550001111", medusa_id="cus_phone"),
        lead("L-shared", email_id="shared@example.com", medusa_id="cus_shared"),
        lead("L-two-1", email_id="two@example.com", medusa_id="cus_two1"),
        lead("L-two-2", email_id="two@example.com", medusa_id="cus_two2"),
        lead("L-look", lead_name="Lookalike Name", medusa_id="cus_look"),
        lead("L-linked", email_id="linked@example.com", medusa_id="cus_linked"),
    )
    sign_in(client, services)
    page = client.get("/admin/suggestions").text
    found = re.findall(r'<tr class="suggested-link">.*?href="/admin/customers/([^"]+)".*?href="/admin/leads/([^"]+)"'
                       r'.*?<td data-label="Why">(.*?)</td>', page, re.S)  # fmt: skip
    assert [(c, lead_, plain(why)) for c, lead_, why in found] == [
        ("By%20Phone", "L-phone", "same phone, similar name (62%)"),
        ("Solo", "L-solo", "same e-mail, similar name (75%)"),
    ]


def test_unlink_then_link_again_with_its_audit(client, services):
    seed(services, customer("Acme", email_id="a@example.com"), customer("Other"),
         lead("L1", lead_name="Jane", email_id="a@example.com", medusa_id="cus_1"))  # fmt: skip
    token = sign_in(client, services)
    link_medusa_lead(services.store, "Acme", "L1", Stamp(USER, services.now()))
    page = client.get("/admin/customers/Acme").text
    assert '<a id="unlink" class="button secondary" href="/admin/customers/Acme/unlink">' in page
    confirm = client.get("/admin/customers/Acme/unlink").text
    assert "Unlink Medusa ID cus_1 (Lead L1) from Customer Acme?" in plain(confirm)
    assert '<input type="hidden" name="medusa_id" value="cus_1">' in confirm
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer" WHERE name = :n', n="Acme") == [{"medusa_id": "cus_1"}]
    r = client.post("/admin/customers/Acme/unlink", data={"medusa_id": "cus_1", "csrf_token": token},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/admin/customers/Acme"
    shown = client.get("/admin/customers/Acme").text
    assert flash(shown) == ("success", "Unlinked Medusa ID cus_1 from Customer Acme; Lead L1 may be linked again.")
    assert rows(services, 'SELECT medusa_id, lead_name FROM "tabCustomer" WHERE name = :n', n="Acme") == [
        {"medusa_id": None, "lead_name": None}
    ]
    entry = rows(services, 'SELECT "user", action, customer, changes FROM erpnext_medusa_audit ORDER BY id')[-1]
    assert entry["user"] == USER and entry["action"] == "unlink_medusa_lead" and entry["customer"] == "Acme"
    assert '"medusa_id": ["cus_1", null]' in entry["changes"] and '"lead_name": ["L1", null]' in entry["changes"]
    assert "unlink_medusa_lead" in shown and ("L1", "same e-mail") in suggestions_in(shown)  # linkable again
    # Linked again, to another Customer this time.
    r = client.post("/admin/customers/Other/link", data={"lead": "L1", "csrf_token": token}, follow_redirects=True)
    assert flash(r.text) == ("success", "Linked Lead L1 to Customer Other.")


@pytest.mark.parametrize(("medusa_id", "message"), [
    ("cus_other", "Customer Acme is now linked to cus_1, not cus_other"),
    ("", "Medusa ID is required"),
])  # fmt: skip
def test_a_stale_or_blank_unlink_is_refused_and_changes_nothing(client, services, medusa_id, message):
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    link_medusa_lead(services.store, "Acme", "L1", Stamp(USER, services.now()))
    token = sign_in(client, services)
    r = client.post("/admin/customers/Acme/unlink", data={"medusa_id": medusa_id, "csrf_token": token},
                    follow_redirects=True)  # fmt: skip
    kind, text = flash(r.text) or ("", "")
    assert kind == "error" and text.startswith(message.split(" is ")[0]), text
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": "cus_1"}]
    assert [e["action"] for e in rows(services, "SELECT action FROM erpnext_medusa_audit")] == ["link_medusa_lead"]


def test_unlink_needs_the_token(client, services):
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    link_medusa_lead(services.store, "Acme", "L1", Stamp(USER, services.now()))
    sign_in(client, services)
    r = client.post("/admin/customers/Acme/unlink", data={"medusa_id": "cus_1"}, follow_redirects=False)
    assert r.status_code == 400 and flash(r.text) == ("error", "Invalid Request")
    assert rows(services, 'SELECT medusa_id FROM "tabCustomer"') == [{"medusa_id": "cus_1"}]


def test_leads_list_shows_phone_and_signup_date(client, services):
    seed(services, lead("L1", lead_name="سارة", mobile_no="+966 50 1", medusa_id="cus_1"))
    execute(services, 'UPDATE "tabLead" SET creation = :t', t=SIGNUP)
    sign_in(client, services)
    page = client.get("/admin/leads").text
    assert '<td data-label="Phone"><bdi>+966 50 1</bdi></td>' in page
    assert '<td data-label="Signed up"><time>2026-03-14</time></td>' in page
    assert '<a class="lead-link" href="/admin/leads/L1"><bdi>سارة</bdi></a>' in page


def test_audit_renders_addresses_as_lines_and_filters_by_part_of_a_name(client, services):
    seed(
        services,
        customer("مؤسسة النور", email_id="noor@example.sa", customer_primary_address="النور-Billing"),
        address("النور", "مؤسسة النور", address_line1="12 شارع الملك فهد", city="الرياض", pincode="21577",
                country="Saudi Arabia"),
        customer("Other Co"),
        address("Other", "Other Co"),
    )  # fmt: skip
    update_billing_address(services.store, "مؤسسة النور", {"city": "جدة"}, Stamp("shop@example.com", services.now()))
    update_billing_address(services.store, "Other Co", {"city": "Doha"}, Stamp("shop@example.com", services.now()))
    sign_in(client, services)
    page = client.get("/admin/audit", params={"customer": "النور"}).text
    assert page.count('class="audit-row"') == 1 and "Doha" not in page
    assert "&lt;br" not in page and "<br" not in page.split("<main")[1]
    change = re.search(r'<span class="change"><code>city</code> (.*?)</span></span>', page, re.S)
    assert change and re.sub(r"\s+", " ", plain(change.group(1))).strip() == "الرياض → جدة"
    assert '<span class="old"><bdi>الرياض</bdi></span>' in change.group(0)
    address_change = re.search(r"<code>primary_address</code> (.*?)</span></span></span>", page, re.S)
    assert address_change and '<span class="line" dir="auto">12 شارع الملك فهد</span>' in address_change.group(1)
    assert len(rows_of(client.get("/admin/audit", params={"customer": "other"}).text)) == 1  # case-insensitive
    assert rows_of(client.get("/admin/audit", params={"customer": "%"}).text) == []  # literal


def rows_of(html: str) -> list[str]:
    return re.findall(r'<li class="audit-row">', html)


def test_an_arabic_browser_gets_a_right_to_left_page(client, services):
    seed(
        services,
        customer("مؤسسة النور"),
        address("النور", "مؤسسة النور", address_line1="12 شارع الملك فهد", city="جدة", pincode="21577"),
    )
    update_billing_address(services.store, "مؤسسة النور", {"city": "الرياض"}, Stamp("shop@example.com", services.now()))
    sign_in(client, services)
    arabic = client.get("/admin/customers/مؤسسة النور", headers={"Accept-Language": "ar-SA,ar;q=0.9,en;q=0.8"}).text
    assert '<html lang="ar" dir="rtl">' in arabic
    assert '<span class="arrow" aria-label="changed to">←</span>' in arabic  # old on the right, new on the left
    assert "<h1><bdi>مؤسسة النور</bdi></h1>" in arabic
    postal = re.search(r'<address class="postal">(.*?)</address>', arabic, re.S)
    assert postal
    lines = re.findall(r'<span class="line" dir="auto">([^<]+)</span>', postal.group(1))
    assert lines[:2] == ["12 شارع الملك فهد", "الرياض, 21577"]
    english = client.get("/admin/customers/مؤسسة النور", headers={"Accept-Language": "en-GB,ar;q=0.5"}).text
    assert '<html lang="en" dir="ltr">' in english and '<span class="arrow" aria-label="changed to">→</span>' in english


def test_unlink_on_a_live_site_goes_through_the_site(site_engine):
    from tests.site.world import world

    with world(site_engine.url) as shape:
        shape.site.insert("Customer", {"customer_name": "Noor Textiles", "email_id": "noor@example.ae"})
        shape.site.insert("Lead", {"first_name": "Noor", "email_id": "noor@example.ae", "medusa_id": "cus_N"})
        shape.reconcile(full=True)
        (site_lead,) = shape.site.all("Lead")
        token = sign_in(shape.client, shape.services)
        page = shape.client.get("/admin/customers/Noor Textiles").text
        assert ("" if not suggestions_in(page) else suggestions_in(page)[0][1]).startswith("same e-mail"), page
        linked = shape.client.post(
            "/admin/customers/Noor Textiles/link",
            data={"lead": site_lead["name"], "csrf_token": token},
            follow_redirects=True,
        )
        assert flash(linked.text)[0] == "success", flash(linked.text)  # type: ignore[index]
        puts = shape.site.count("PUT", "/api/resource/Customer/Noor Textiles")
        r = shape.client.post("/admin/customers/Noor Textiles/unlink", data={"medusa_id": "cus_N",
                              "csrf_token": token}, follow_redirects=True)  # fmt: skip
        assert flash(r.text) == ("success", f"Unlinked Medusa ID cus_N from Customer Noor Textiles; Lead "
                                            f"{site_lead['name']} may be linked again.")  # fmt: skip
        assert shape.site.count("PUT", "/api/resource/Customer/Noor Textiles") == puts + 1
        stored: Any = shape.site.doc("Customer", "Noor Textiles")
        assert not stored.get("medusa_id") and not stored.get("lead_name")
        assert "unlink_medusa_lead" in r.text and suggestions_in(r.text)  # the mirror knows: linkable again
        shape.site.insert("Customer", {"customer_name": "Noor Guest", "email_id": "NOOR@example.ae"})
        shape.reconcile(full=True)
        duplicates = shape.client.get("/admin/duplicates").text
        assert groups_in(duplicates, "customer-email") == [("noor@example.ae", ["Noor%20Guest", "Noor%20Textiles"])]


def groups_in(html: str, kind: str) -> list[tuple[str, list[str]]]:
    found = re.findall(rf'<li class="duplicate-group {kind}"><bdi class="key">([^<]+)</bdi>:(.*?)</li>', html, re.S)
    return [(key, re.findall(r'<a href="[^"]+/([^"/]+)">', members)) for key, members in found]


def test_duplicates_lists_customers_sharing_an_email_or_phone_and_leads_sharing_an_email(client, services):
    seed(
        services,
        customer("Guest Khalid", email_id="Khalid@Example.SA", mobile_no="+966 50 123 4567"),
        customer("Khalid Registered", email_id="khalid@example.sa ", medusa_id="cus_k"),
        customer("Phone Twin", mobile_no="050-123-4567"),
        customer("Alone", email_id="alone@example.com", mobile_no="+966 55 999 0000"),
        customer("Short", mobile_no="123"),
        customer("Short Too", mobile_no="123"),
        lead("L-a", email_id="signup@example.com", medusa_id="cus_a"),
        lead("L-b", email_id="SIGNUP@example.com"),
        lead("L-c", email_id="other@example.com"),
    )
    sign_in(client, services)
    page = client.get("/admin/duplicates").text
    assert groups_in(page, "customer-email") == [("khalid@example.sa", ["Guest%20Khalid", "Khalid%20Registered"])]
    assert groups_in(page, "customer-phone") == [("501234567", ["Guest%20Khalid", "Phone%20Twin"])]
    assert groups_in(page, "lead-email") == [("signup@example.com", ["L-a", "L-b"])]


def test_the_typeahead_script_is_served_and_only_the_service_may_run_scripts(client, services):
    sign_in(client, services)
    page = client.get("/admin")
    assert '<script src="/admin/static/typeahead.js" defer></script>' in page.text
    assert 'data-typeahead="customer-list"' in page.text and '<div id="customer-list"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe-inline" not in policy
    script = client.get("/admin/static/typeahead.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "data-typeahead" in script.text and "replaceWith" in script.text
    leads = client.get("/admin/leads").text
    assert 'data-typeahead="lead-list"' in leads and '<div id="lead-list"' in leads
