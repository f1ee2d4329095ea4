"""The three endpoints, the intake and the change feed in the erpnext shape, against the ERPNext double, with the
service's own database on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import inspect

from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.intake import Kept, retry_kept
from erpnext_medusa.store.site import signature
from erpnext_medusa.web import webhooks
from tests.helpers import assert_frappe_error
from tests.site.world import World, world

SEARCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"


def _key(shape: World) -> dict[str, str]:
    key = create_api_key(shape.services.keys, "admin@example.com", shape.services.now())
    return {"Authorization": f"token {key.api_key}:{key.api_secret}"}


def test_the_service_database_holds_only_its_own_tables(shape: World):
    tables = set(inspect(shape.services.store.engine).get_table_names())
    assert tables, "the site track created no tables"
    assert all(name.startswith("erpnext_medusa_") for name in tables), sorted(tables)
    assert "tabCustomer" not in tables


def test_setup_runs_again_without_writing(shape: World):
    from erpnext_medusa.store.site.setup import Target, setup

    assert shape.services.site is not None
    posts = shape.site.count("POST", "/api/resource/Custom Field") + shape.site.count("POST", "/api/resource/Webhook")
    findings = setup(Target(shape.services.site.client, "http://testserver", shape.services.site.webhook_secret))
    assert all(f.ok for f in findings)
    again = shape.site.count("POST", "/api/resource/Custom Field") + shape.site.count("POST", "/api/resource/Webhook")
    assert again == posts
    hooks = shape.site.all("Webhook")
    assert {(h["webhook_doctype"], h["webhook_docevent"]) for h in hooks} == {
        (d, e) for d in ("Customer", "Lead", "Address") for e in ("after_insert", "on_update", "on_trash")
    }
    fields = {(f["dt"], f["fieldname"], f["unique"]) for f in shape.site.all("Custom Field")}
    assert ("Customer", "medusa_id", 1) in fields and ("Lead", "medusa_id", 0) in fields


def test_sync_fills_the_mirror_and_the_search_reads_it(shape: World):
    shape.site.insert("Customer", {"customer_name": "Ali Hassan", "email_id": "ali@example.com"})
    shape.site.insert("Customer", {"customer_name": "Alina Petrova"})
    shape.site.insert("Customer", {"customer_name": "Bob Ali", "disabled": 1})
    shape.site.insert("Customer", {"customer_name": "Ali Linked", "medusa_id": "cus_1"})
    shape.site.insert("Customer", {"customer_name": "Zed"})
    assert shape.names("ali") == []  # nothing mirrored yet
    shape.reconcile(full=True)
    assert shape.names("ali") == ["Ali Hassan", "Alina Petrova"]
    assert shape.search("hassan")[0]["email_id"] == "ali@example.com"
    gets = shape.site.count("GET", "/api/resource/Customer")
    assert shape.names("al 100%") == []  # wildcards are literal; the site is never asked
    assert shape.site.count("GET", "/api/resource/Customer") == gets


def test_a_desk_edit_reaches_the_search_through_its_webhook(shape: World):
    shape.site.insert("Customer", {"customer_name": "Noor Textiles"})
    shape.reconcile(full=True)
    stored = shape.site.doc("Customer", "Noor Textiles")
    assert stored is not None
    shape.desk("PUT", "Customer", "Noor Textiles", {"customer_name": "Noor Silk"})
    assert shape.names("silk") == []
    answered = shape.deliver()
    assert answered and all(d.status == 200 for d in answered)
    assert shape.names("silk") == ["Noor Textiles"]


def test_forged_and_unsigned_webhooks_are_refused(shape: World):
    body = json.dumps({"doctype": "Customer", "name": "X"}).encode()
    forged = signature.sign("not the secret", body)
    for headers in ({}, {"X-Frappe-Webhook-Signature": forged}):
        r = shape.client.post("/webhooks/erpnext", content=body, headers=headers)
        assert r.status_code == 401 and r.json()["exc_type"] == "AuthenticationError", r.text
    assert shape.site.count("GET", "/api/resource/Customer/X") == 0


def test_reconciliation_catches_a_missed_webhook_a_delete_a_rename_and_an_sql_edit(shape: World):
    for name in ("Acme Trading", "Beta Foods", "Gamma Steel", "Delta Oil"):
        shape.site.insert("Customer", {"customer_name": name})
    shape.reconcile(full=True)
    assert shape.names("a") == ["Acme Trading", "Beta Foods", "Delta Oil", "Gamma Steel"]
    shape.site.drop_webhooks(10)
    shape.desk("PUT", "Customer", "Acme Trading", {"customer_name": "Acme Ltd"})
    shape.desk("DELETE", "Customer", "Beta Foods", None)
    shape.reconcile()  # the watermark pass and the Deleted Document records
    assert shape.names("acme") == ["Acme Trading"] and shape.search("acme")[0]["customer_name"] == "Acme Ltd"
    assert "Beta Foods" not in shape.names("a")
    shape.site.sql_update("Customer", "Gamma Steel", {"customer_name": "Gamma Iron"}, bump_modified=False)
    shape.site.sql_delete("Customer", "Delta Oil")
    shape.reconcile()
    assert shape.names("iron") == []  # modified untouched: only a full pass can see it
    shape.reconcile(full=True)
    assert shape.names("iron") == ["Gamma Steel"]
    assert shape.names("delta") == []


def test_link_writes_through_the_site_with_its_history_and_leaves_the_search(shape: World):
    shape.site.insert("Customer", {"customer_name": "Victim Co"})
    lead = shape.site.insert("Lead", {"lead_name": "Shopper", "medusa_id": "cus_01"})
    shape.reconcile(full=True)
    r = shape.client.get(LINK, params={"customer": "Victim Co", "lead": lead["name"]}, headers=_key(shape))
    assert r.status_code == 200, r.text
    assert r.json() == {"message": {"status": "success"}}
    stored = shape.site.doc("Customer", "Victim Co")
    assert stored is not None and stored["medusa_id"] == "cus_01" and stored["lead_name"] == lead["name"]
    versions = [v for v in shape.site.all("Version") if v["docname"] == "Victim Co"]
    assert versions, "the site keeps the link in the Customer's history"
    assert shape.names("victim") == []  # linked: out of the typeahead at once


def test_link_to_an_id_another_customer_holds_is_refused(shape: World):
    shape.site.insert("Customer", {"customer_name": "Holder", "medusa_id": "cus_02"})
    shape.site.insert("Customer", {"customer_name": "Other"})
    lead = shape.site.insert("Lead", {"lead_name": "Shopper", "medusa_id": "cus_02"})
    r = shape.client.get(LINK, params={"customer": "Other", "lead": lead["name"]}, headers=_key(shape))
    assert_frappe_error(r, 417, "ValidationError")
    assert "Holder" in r.text
    other = shape.site.doc("Customer", "Other")
    assert other is not None and not other.get("medusa_id")


def test_update_address_changes_the_sites_address_and_erpnext_renders_the_customers_copy(shape: World):
    shape.site.insert("Customer", {"customer_name": "Acme"})
    address = shape.site.insert(
        "Address",
        {"address_title": "Acme", "address_type": "Billing", "address_line1": "1 Old St", "city": "Dubai",
         "country": "United Arab Emirates", "links": [{"link_doctype": "Customer", "link_name": "Acme"}]},
    )  # fmt: skip
    shape.desk("PUT", "Customer", "Acme", {"customer_primary_address": address["name"]})
    r = shape.client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah", "country": "ae"})
    assert r.json() == {"message": "Address updated successfully"}, r.text
    stored = shape.site.doc("Address", address["name"])
    assert stored is not None and stored["city"] == "Sharjah" and stored["address_line1"] == "1 Old St"
    customer = shape.site.doc("Customer", "Acme")
    assert customer is not None and "Sharjah" in (customer.get("primary_address") or "")


def test_update_address_creates_one_with_its_link_in_one_insert(shape: World):
    shape.site.insert("Customer", {"customer_name": "Fresh"})
    before = shape.site.count("POST", "/api/resource/Address")
    r = shape.client.post(
        UPDATE, json={"customer_id": "Fresh", "address_line1": "2 New St", "city": "Amman", "country": "Jordan"}
    )
    assert r.json() == {"message": "Address updated successfully"}, r.text
    assert shape.site.count("POST", "/api/resource/Address") == before + 1
    (created,) = [a for a in shape.site.all("Address") if a["address_line1"] == "2 New St"]
    assert [(link["link_doctype"], link["link_name"]) for link in created["links"]] == [("Customer", "Fresh")]
    customer = shape.site.doc("Customer", "Fresh")
    assert customer is not None and customer["customer_primary_address"] == created["name"]


def test_the_sites_own_mandatory_field_is_its_refusal_and_nothing_is_written(shape: World):
    shape.site.insert("Customer", {"customer_name": "Strict"})
    shape.site.require("Address", "address_line2")
    r = shape.client.post(
        UPDATE, json={"customer_id": "Strict", "address_line1": "3 St", "city": "Amman", "country": "Jordan"}
    )
    error = r.json()["message"]["error"]
    assert "Address Line 2" in error, r.text
    assert [a for a in shape.site.all("Address") if a["address_line1"] == "3 St"] == []


MEDUSA_SECRET = "medusa-webhook-secret-0123456789abcdef"


def _signup(shape: World, medusa_id: str, event_id: str, **fields: str):
    body = json.dumps({"id": event_id, "type": "customer.created", "data": {"id": medusa_id, **fields}}).encode()
    header = webhooks.sign(MEDUSA_SECRET, body, int(time.time()))
    return shape.client.post(webhooks.PATH, content=body, headers={webhooks.SIGNATURE_HEADER: header})


def test_signups_become_leads_named_by_the_site(site_engine):
    with world(site_engine.url, webhook_secret=MEDUSA_SECRET) as shape:
        r = _signup(shape, "cus_A1", "evt_1", first_name="Khalid", email="khalid@example.sa")
        assert r.status_code == 200, r.text
        name = r.json()["message"]["lead"]
        lead = shape.site.doc("Lead", name)
        assert name.startswith("CRM-LEAD-") and lead is not None
        assert lead["medusa_id"] == "cus_A1" and lead["email_id"] == "khalid@example.sa"
        assert lead["qualification_status"]  # the site's own defaults applied
        again = _signup(shape, "cus_A1", "evt_1", first_name="Khalid", email="khalid@example.sa")
        assert again.json()["message"] == {"lead": name, "created": False}
        assert shape.site.count("POST", "/api/resource/Lead") == 1


def test_a_lead_the_site_refuses_is_kept_and_created_by_a_retry(site_engine):
    with world(site_engine.url, webhook_secret=MEDUSA_SECRET) as shape:
        shape.site.require("Lead", "mobile_no")
        r = _signup(shape, "cus_B2", "evt_2", first_name="Noor")
        assert r.status_code == 202, r.text
        kept = r.json()["message"]
        assert kept["kept"] is True and kept["exc_type"] == "MandatoryError" and "Mobile" in kept["reason"]
        assert shape.site.all("Lead") == []
        site = shape.services.site
        assert site is not None
        (failure,) = site.mirror.intake_failures(("failed",), limit=10)
        assert failure.event_id == "evt_2" and failure.medusa_id == "cus_B2"
        shape.site.documents.required["Lead"].discard("mobile_no")  # the site's rule is lifted
        outcome = retry_kept(
            shape.services.store, site.mirror, "evt_2", shape.services.stamp("Administrator"),
            stale_before=shape.services.now(),
        )  # fmt: skip
        assert outcome is not None and not isinstance(outcome, Kept) and outcome.created
        assert [lead["medusa_id"] for lead in shape.site.all("Lead")] == ["cus_B2"]
        assert site.mirror.intake_failures(("failed", "retrying"), limit=10) == []


def test_the_site_unavailable_is_a_503_and_the_search_still_answers(shape: World):
    shape.site.insert("Customer", {"customer_name": "Steady"})
    shape.reconcile(full=True)
    shape.site.fail_next("503", 10, retry_after=1)
    r = shape.client.get(LINK, params={"customer": "Steady", "lead": "CRM-LEAD-2026-00001"}, headers=_key(shape))
    assert r.status_code == 503, r.text
    assert "retry-after" in r.headers
    assert shape.names("steady") == ["Steady"]


def test_an_erpnext_api_key_is_decided_by_the_site(shape: World):
    user = shape.site.add_user("clerk@example.com", roles=["Sales User"])
    header = {"Authorization": f"token {user.api_key}:{user.api_secret}"}
    r = shape.client.get("/api/method/frappe.auth.get_logged_user", headers=header)
    assert r.json() == {"message": "clerk@example.com"}, r.text
    user.enabled = False
    r = shape.client.get("/api/method/frappe.auth.get_logged_user", headers=header)
    assert r.status_code == 401


def test_refused_signups_are_listed_in_admin_and_retried_there(site_engine):
    from tests.web.admin.pages import sign_in

    with world(site_engine.url, webhook_secret=MEDUSA_SECRET) as shape:
        shape.site.require("Lead", "mobile_no")
        assert _signup(shape, "cus_C3", "evt_3", first_name="Rana").status_code == 202
        token = sign_in(shape.client, shape.services)
        page = shape.client.get("/admin/intake")
        assert page.status_code == 200 and "evt_3" in page.text and "Mobile" in page.text
        shape.site.documents.required["Lead"].discard("mobile_no")
        done = shape.client.post("/admin/intake/evt_3/retry", data={"csrf_token": token}, follow_redirects=True)
        assert "created" in done.text, done.text
        assert [lead["medusa_id"] for lead in shape.site.all("Lead")] == ["cus_C3"]
        assert "evt_3" not in shape.client.get("/admin/intake").text


def test_the_cli_speaks_to_the_site(site_engine, monkeypatch):
    """``erpnext check``, ``sync`` and ``serve --demo`` through the real command line, on the double."""
    from typer.testing import CliRunner

    from erpnext_medusa.cli import commands
    from erpnext_medusa.services import Services

    with world(site_engine.url) as shape:
        shape.site.insert("Customer", {"customer_name": "Cli Customer"})
        settings = shape.services.settings
        monkeypatch.setattr(commands, "load_settings", lambda: settings)
        monkeypatch.setattr(Services, "from_settings", classmethod(lambda cls, s, **_: _Unclosed(shape.services)))
        runner = CliRunner()
        checked = runner.invoke(commands.app, ["erpnext", "check"])
        assert "mirror Customer" in checked.output and checked.exit_code == 1, checked.output  # not synced yet
        synced = runner.invoke(commands.app, ["erpnext", "sync"])
        assert synced.exit_code == 0, synced.output
        assert "Customer: 1 read, 1 changed, 0 removed" in synced.output
        assert runner.invoke(commands.app, ["erpnext", "check"]).exit_code == 0
        demo = runner.invoke(commands.app, ["serve", "--demo"])
        assert demo.exit_code == 1 and "standalone" in demo.output


class _Unclosed:
    """The world's services for every command; closing them is the world's business."""

    def __init__(self, services: Any) -> None:
        self._services = services

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)

    def close(self) -> None:
        pass


def test_a_site_whose_field_is_custom_medusa_id_is_served_under_that_name(site_engine):
    """Frappe v15's Customize Form names the field custom_medusa_id: the service reads and writes that field."""
    with world(site_engine.url, erpnext_medusa_id_field="custom_medusa_id") as shape:
        shape.site.insert("Customer", {"customer_name": "Custom Co"})
        lead = shape.site.insert("Lead", {"lead_name": "Shopper", "custom_medusa_id": "cus_07"})
        shape.reconcile(full=True)
        assert shape.names("custom") == ["Custom Co"]
        r = shape.client.get(LINK, params={"customer": "Custom Co", "lead": lead["name"]}, headers=_key(shape))
        assert r.json() == {"message": {"status": "success"}}, r.text
        stored = shape.site.doc("Customer", "Custom Co")
        assert stored is not None and stored["custom_medusa_id"] == "cus_07" and "medusa_id" not in stored
        assert shape.names("custom") == []


def test_check_names_the_setting_when_the_site_has_the_field_under_another_name(site_engine):
    from erpnext_medusa.store.site.setup import Target, check

    with world(site_engine.url) as shape:  # the site now has medusa_id
        assert shape.services.site is not None
        target = Target(shape.services.site.client, "http://testserver", "x", medusa_id_field="custom_medusa_id")
        problems = {f.what: f.detail for f in check(target) if not f.ok}
        assert problems["field Customer"].endswith("set ERPNEXT_MEDUSA_ERPNEXT_MEDUSA_ID_FIELD=medusa_id")


def test_check_names_each_permission_the_api_user_lacks(site_engine):
    from erpnext_medusa.store.site.client import FrappeClient
    from erpnext_medusa.store.site.setup import Target, check
    from tests.erpnext_site.http import transport

    with world(site_engine.url) as shape:
        clerk = shape.site.add_user("clerk@example.com", roles=["Sales User"])
        client = FrappeClient(
            "http://erp.example.com", clerk.api_key, clerk.api_secret, transport=transport(shape.site)
        )
        missing = {f.what for f in check(Target(client, "http://testserver", "x")) if not f.ok}
        assert {"read Deleted Document", "create Custom Field", "create Webhook"} <= missing
        assert "read Customer" not in missing  # a Sales User reads Customers
