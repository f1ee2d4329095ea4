"""Contract tests: the double answers as Frappe v15 does (the literals live in wire_facts.py, with sources)."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from erpnext_medusa.store.site.signature import verify
from tests.erpnext_site import Site, address, serve, transport
from tests.erpnext_site import wire_facts as facts

SALES = ("Sales User",)


def server_messages(body: dict) -> list[dict]:
    """Frappe's double-encoded ``_server_messages``: a JSON list of JSON strings, one message dict each."""
    outer = json.loads(body["_server_messages"])
    assert isinstance(outer, list) and all(isinstance(entry, str) for entry in outer)
    return [json.loads(entry) for entry in outer]


def token(user) -> dict[str, str]:
    return {"Authorization": f"token {user.api_key}:{user.api_secret}"}


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
def http(site):
    with httpx.Client(base_url="http://site.test", transport=transport(site)) as client:
        yield client


@pytest.fixture
def sales(site):
    return site.add_user("sales@shop.test", roles=SALES)


def like(expected: dict, actual: dict) -> None:
    """``actual`` has exactly ``expected``'s keys in its order; values compared unless expected is None."""
    assert list(actual) == list(expected)
    for key, value in expected.items():
        if value is not None:
            assert actual[key] == value, key


# Authentication --------------------------------------------------------------------------------------------


def test_a_wrong_secret_is_a_bare_401(site, http, sales):
    r = http.get("/api/resource/Customer", headers={"Authorization": f"token {sales.api_key}:wrong"})
    assert r.status_code == facts.BAD_KEY["status"]
    like(facts.BAD_KEY["body"], r.json())
    assert json.loads(r.json()["exc"])[0].startswith("Traceback (most recent call last):")


def test_without_tracebacks_a_wrong_key_is_only_its_type():
    quiet = Site(tracebacks=False)
    with httpx.Client(base_url="http://site.test", transport=transport(quiet)) as client:
        r = client.get("/api/resource/Customer", headers={"Authorization": "token nobody:nothing"})
    assert (r.status_code, r.json()) == (facts.BAD_KEY_NO_TRACEBACK["status"], facts.BAD_KEY_NO_TRACEBACK["body"])


def test_basic_auth_carries_the_same_key_and_a_disabled_user_is_refused(site, http, sales):
    basic = base64.b64encode(f"{sales.api_key}:{sales.api_secret}".encode()).decode()
    r = http.get("/api/method/frappe.auth.get_logged_user", headers={"Authorization": f"Basic {basic}"})
    assert r.json() == {"message": "sales@shop.test"}
    sales.enabled = False
    assert http.get("/api/method/frappe.auth.get_logged_user", headers=token(sales)).status_code == 401


def test_ping_and_a_guest_asking_who_it_is(http):
    r = http.get("/api/method/ping")
    assert (r.status_code, r.json()) == (facts.PONG["status"], facts.PONG["body"])
    r = http.get("/api/method/frappe.auth.get_logged_user")
    assert (r.status_code, r.json()["exc_type"]) == (facts.GUEST_LOGGED_USER["status"], "PermissionError")
    (entry,) = server_messages(r.json())
    assert (entry["message"], entry["title"]) == (facts.GUEST_LOGGED_USER["message"], "Method Not Allowed")


def test_login_sets_frappes_cookies_and_a_failure_says_why_first(site, http):
    site.add_user("owner@shop.test", roles=SALES, password="s3cret", full_name="Shop Owner")
    r = http.post("/api/method/login", json={"usr": "owner@shop.test", "pwd": "s3cret"})
    assert r.json() == facts.LOGIN_OK
    assert {c.split("=")[0] for c in r.headers.get_list("set-cookie")} == set(facts.LOGIN_COOKIES)
    sid = next(c for c in r.headers.get_list("set-cookie") if c.startswith("sid=")).split(";")[0]
    assert "HttpOnly" in next(c for c in r.headers.get_list("set-cookie") if c.startswith("sid="))
    r = http.get("/api/method/frappe.auth.get_logged_user", headers={"Cookie": sid})
    assert r.json() == {"message": "owner@shop.test"}
    r = http.post("/api/method/login", data={"usr": "owner@shop.test", "pwd": "wrong"})
    assert r.status_code == facts.LOGIN_FAILED["status"]
    assert next(iter(r.json())) == facts.LOGIN_FAILED["first_key"]
    assert (r.json()["message"], r.json()["exc_type"]) == (facts.LOGIN_FAILED["message"], "AuthenticationError")


# Documents -------------------------------------------------------------------------------------------------


def test_a_missing_document_is_404_with_frappes_message(http, sales):
    r = http.get("/api/resource/Customer/X", headers=token(sales))
    assert r.status_code == facts.NOT_FOUND_STATUS
    assert list(r.json()) == facts.NOT_FOUND_KEYS
    (entry,) = server_messages(r.json())
    like(facts.NOT_FOUND_MESSAGE, entry)
    assert re.fullmatch(r"[0-9a-f]{56}", entry["__frappe_exc_id"])


def test_a_user_without_the_role_gets_403_shapes(site, http):
    nobody = site.add_user("nobody@shop.test")
    for r in (http.get("/api/resource/Customer", headers=token(nobody)),
              http.get("/api/resource/Customer/X", headers=token(nobody)),
              http.post("/api/resource/Customer", json={"customer_name": "X"}, headers=token(nobody))):  # fmt: skip
        assert r.status_code == facts.NO_PERMISSION["status"]
        assert (r.json()["exc_type"], r.json()["_error_message"]) == ("PermissionError", "No permission for Customer")
        assert "_server_messages" not in r.json()


def test_delete_is_202_ok_and_leaves_a_deleted_document(site, http, sales):
    manager = site.add_user("boss@shop.test", roles=["Sales Master Manager"])
    site.insert("Customer", {"customer_name": "X"})
    r = http.delete("/api/resource/Customer/X", headers=token(sales))
    assert r.status_code == 403
    assert server_messages(r.json())[0]["message"] == facts.NOT_ALLOWED_TO_DELETE
    r = http.delete("/api/resource/Customer/X", headers=token(manager))
    assert (r.status_code, r.json()) == (facts.DELETED["status"], facts.DELETED["body"])
    (record,) = site.all("Deleted Document")
    assert (record["deleted_doctype"], record["deleted_name"], record["owner"]) == ("Customer", "X", "boss@shop.test")
    assert json.loads(record["data"])["customer_name"] == "X"
    assert http.delete("/api/resource/Customer/X", headers=token(manager)).status_code == 404


def test_a_document_omits_nulls_but_a_list_row_keeps_them(site, http, sales):
    site.insert("Customer", {"customer_name": "ACME"})
    doc = http.get("/api/resource/Customer/ACME", headers=token(sales)).json()["data"]
    assert "tax_id" not in doc and doc["customer_type"] == "Company" and doc["doctype"] == "Customer"
    assert re.fullmatch(facts.MODIFIED_PATTERN, doc["modified"])
    (row,) = http.get("/api/resource/Customer", params={"fields": '["*"]'}, headers=token(sales)).json()["data"]
    assert row["tax_id"] is None and row["name"] == "ACME"
    (row,) = http.get("/api/resource/Customer", headers=token(sales)).json()["data"]
    assert row == {"name": "ACME"}


def test_paging_defaults_to_20_and_0_means_all(site, http, sales):
    for i in range(25):
        site.insert("Lead", {"first_name": f"Person {i:02d}"})
    get = lambda **p: http.get("/api/resource/Lead", params=p, headers=token(sales)).json()["data"]  # noqa: E731
    assert len(get()) == facts.DEFAULT_PAGE_LENGTH
    assert len(get(limit_page_length=0)) == 25
    names = [r["lead_name"] for r in get(fields='["lead_name"]', order_by="lead_name asc", limit_start=20)]
    assert names == [f"Person {i:02d}" for i in range(20, 25)]


def test_filters_in_every_form_frappe_reads(site, http, sales):
    site.insert("Customer", {"customer_name": "ACME"})
    site.insert("Customer", {"customer_name": "Globex", "customer_type": "Individual"})
    site.insert("Address", address("Shared", links=[{"link_doctype": "Customer", "link_name": "ACME"},
                                                    {"link_doctype": "Customer", "link_name": "Globex"}]))  # fmt: skip
    site.insert("Address", address("Own", city="Paris", links=[{"link_doctype": "Customer", "link_name": "Globex"}]))

    def names(doctype, **params):
        params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()}
        rows = http.get(f"/api/resource/{doctype}", params=params, headers=token(sales)).json()["data"]
        return sorted(r["name"] for r in rows)

    assert names("Customer", filters={"customer_type": "Individual"}) == ["Globex"]
    assert names("Customer", filters={"customer_type": ["!=", "Individual"]}) == ["ACME"]
    assert names("Customer", filters=[["customer_name", "like", "%lob%"]]) == ["Globex"]
    assert names("Customer", filters=[["Customer", "name", "in", ["ACME", "Nobody"]]]) == ["ACME"]
    assert names("Customer", filters=[["name", "not in", "ACME,Nobody"]]) == ["Globex"]
    assert names("Customer", filters=[["tax_id", "is", "not set"]]) == ["ACME", "Globex"]
    assert names("Customer", filters={"name": "acme"}) == ["ACME"]  # MariaDB's collation ignores case
    assert names("Customer", or_filters=[["name", "=", "ACME"], ["name", "=", "Globex"]]) == ["ACME", "Globex"]
    assert names("Address", filters=[["Dynamic Link", "link_name", "=", "Globex"]]) == ["Own-Billing", "Shared-Billing"]
    assert names("Address", filters=[["Dynamic Link", "link_name", "=", "ACME"], ["city", "=", "Berlin"]]) == [
        "Shared-Billing"
    ]
    r = http.get("/api/resource/Customer", params={"filters": '[["name", "~", "x"]]'}, headers=token(sales))
    assert r.status_code == 417 and server_messages(r.json())[0]["message"].startswith("Operator must be one of")


def test_insert_takes_each_body_form_and_drops_unknown_keys(site, http, sales):
    r = http.post("/api/resource/Customer", json={"customer_name": "A", "medusa_id": "m1"}, headers=token(sales))
    assert r.status_code == 200 and "medusa_id" not in r.json()["data"]
    r = http.post("/api/resource/Customer", json={"data": {"customer_name": "B"}}, headers=token(sales))
    assert r.json()["data"]["name"] == "B"
    r = http.post("/api/resource/Customer", data={"data": json.dumps({"customer_name": "C"})}, headers=token(sales))
    assert r.json()["data"]["name"] == "C"


def test_names_follow_erpnexts_defaults(site, http, sales):
    first = http.post("/api/resource/Customer", json={"customer_name": "ACME"}, headers=token(sales)).json()
    second = http.post("/api/resource/Customer", json={"customer_name": "ACME"}, headers=token(sales)).json()
    assert (first["data"]["name"], second["data"]["name"]) == ("ACME", facts.SECOND_CUSTOMER_NAME)
    assert "Changed customer name to 'ACME - 1'" in server_messages(second)[0]["message"]
    made = [
        http.post("/api/resource/Address", json=address(), headers=token(sales)).json()["data"]["name"]
        for _ in facts.ADDRESS_NAMES
    ]
    assert tuple(made) == facts.ADDRESS_NAMES
    lead = http.post("/api/resource/Lead", json={"first_name": "Ann"}, headers=token(sales)).json()["data"]
    assert re.fullmatch(facts.LEAD_NAME_PATTERN, lead["name"])
    assert (lead["status"], lead["qualification_status"], lead["lead_name"]) == ("Lead", "Unqualified", "Ann")
    assert first["data"]["modified"] < second["data"]["modified"]


def test_a_site_mandatory_field_gives_frappes_mandatory_error(site, http, sales):
    site.require("Address", "address_line2")
    r = http.post("/api/resource/Address", json=address(), headers=token(sales))
    assert (r.status_code, r.json()["exc_type"]) == (417, "MandatoryError")
    (entry,) = server_messages(r.json())
    assert entry == {"message": facts.MANDATORY_MESSAGE, "title": "Message"}  # printed, not raised
    assert r.json()["exception"].startswith(facts.MANDATORY_EXCEPTION_PREFIX)
    assert r.json()["exception"].endswith("]: address_line2")
    assert site.all("Address") == []


def test_a_link_to_no_country_and_a_taken_name(site, http, sales):
    r = http.post("/api/resource/Address", json=address(country="Atlantis"), headers=token(sales))
    assert (r.status_code, r.json()["exc_type"]) == (facts.BAD_COUNTRY["status"], facts.BAD_COUNTRY["exc_type"])
    assert server_messages(r.json())[-1]["message"] == facts.BAD_COUNTRY["message"]
    admin = site.users["Administrator"]
    r = http.post("/api/resource/Country", json={"country_name": "Germany"}, headers=token(admin))
    assert (r.status_code, r.json()["exc_type"]) == (facts.DUPLICATE["status"], facts.DUPLICATE["exc_type"])
    assert server_messages(r.json()) == [facts.DUPLICATE["message"]]


def test_a_custom_field_adds_the_field_and_unique_is_enforced(site, http, sales):
    admin = site.users["Administrator"]
    field = {"dt": "Customer", "fieldname": "medusa_id", "label": "Medusa ID", "fieldtype": "Data", "unique": 1}
    assert http.post("/api/resource/Custom Field", json=field, headers=token(admin)).json()["data"]["name"] == (
        "Customer-medusa_id"
    )
    r = http.post("/api/resource/Customer", json={"customer_name": "A", "medusa_id": "m1"}, headers=token(sales))
    assert r.json()["data"]["medusa_id"] == "m1"
    r = http.post("/api/resource/Customer", json={"customer_name": "B", "medusa_id": "m1"}, headers=token(sales))
    assert (r.status_code, r.json()["exc_type"]) == (facts.UNIQUE["status"], facts.UNIQUE["exc_type"])
    assert server_messages(r.json())[-1]["message"] == facts.UNIQUE["message"]
    assert site.doc("Customer", "B") is None


def test_a_stale_modified_is_refused_and_a_save_keeps_a_version(site, http, sales):
    doc = site.insert("Customer", {"customer_name": "ACME"})
    put = lambda body: http.put("/api/resource/Customer/ACME", json=body, headers=token(sales))  # noqa: E731
    fresh = put({"tax_id": "T1", "modified": doc["modified"]})
    assert fresh.status_code == 200 and fresh.json()["data"]["modified"] > doc["modified"]
    r = put({"tax_id": "T2", "modified": doc["modified"]})
    assert (r.status_code, r.json()["exc_type"]) == (417, "TimestampMismatchError")
    text = server_messages(r.json())[0]["message"]
    assert text.startswith(facts.STALE_PREFIX + fresh.json()["data"]["modified"]) and text.endswith(facts.STALE_SUFFIX)
    assert put({"tax_id": "T3"}).status_code == 200  # without modified, the write is unconditional
    versions = [json.loads(v["data"])["changed"] for v in site.all("Version")]
    assert versions == [[["tax_id", None, "T1"]], [["tax_id", "T1", "T3"]]]


def test_a_put_replaces_child_tables_and_names_with_a_slash_route(site, http, sales):
    site.insert("Customer", {"customer_name": "ACME"})
    site.insert("Customer", {"customer_name": "Globex"})
    made = site.insert("Address", address("A/B Co", links=[{"link_doctype": "Customer", "link_name": "ACME"}]))
    assert made["name"] == "A/B Co-Billing"
    r = http.put("/api/resource/Address/A%2FB%20Co-Billing", json={"links": [
        {"link_doctype": "Customer", "link_name": "Globex"}]}, headers=token(sales))  # fmt: skip
    assert [(row["link_name"], row["idx"]) for row in r.json()["data"]["links"]] == [("Globex", 1)]


def test_erpnext_hooks_keep_one_preferred_address_and_the_customers_primary_text(site, http, sales):
    site.insert("Customer", {"customer_name": "ACME"})
    link = [{"link_doctype": "Customer", "link_name": "ACME"}]
    first = site.insert("Address", address(links=link, is_primary_address=1))
    site.sql_update("Customer", "ACME", {"customer_primary_address": first["name"]})
    r = http.post("/api/resource/Address", json=address("Second", links=link, is_primary_address=1),
                  headers=token(sales))  # fmt: skip
    assert r.json()["data"]["is_primary_address"] == 1
    assert site.doc("Address", first["name"])["is_primary_address"] == 0
    http.put(f"/api/resource/Address/{first['name']}", json={"city": "Bonn"}, headers=token(sales))
    assert site.doc("Customer", "ACME")["primary_address"] == "1 Main St<br>Bonn<br>Germany<br>"


def test_a_refused_write_leaves_nothing_behind(site, http):
    manager = site.add_user("boss@shop.test", roles=["Sales Master Manager", "Sales User"])
    site.insert("Customer", {"customer_name": "ACME"})
    site.insert("Customer", {"customer_name": "Globex"})
    site.insert("Address", address("Own", links=[{"link_doctype": "Customer", "link_name": "ACME"}]))
    site.insert("Address", address("Shared", links=[{"link_doctype": "Customer", "link_name": "ACME"},
                                                    {"link_doctype": "Customer", "link_name": "Globex"}]))  # fmt: skip
    r = http.delete("/api/resource/Customer/ACME", headers=token(manager))
    assert (r.status_code, r.json()["exc_type"]) == (417, "LinkExistsError")
    assert site.doc("Customer", "ACME") and site.doc("Address", "Own-Billing")  # on_trash's deletions rolled back
    assert site.all("Deleted Document") == []


def test_an_unknown_path_is_a_bare_404(http):
    r = http.get("/api/nothing-here")
    assert (r.status_code, r.json()) == (facts.UNKNOWN_PATH["status"], facts.UNKNOWN_PATH["body"])


def test_an_sql_edit_moves_no_webhook_and_may_keep_modified(site):
    doc = site.insert("Customer", {"customer_name": "ACME"})
    site.sql_update("Customer", "ACME", {"tax_id": "T9"}, bump_modified=False)
    assert site.doc("Customer", "ACME")["tax_id"] == "T9"
    assert site.doc("Customer", "ACME")["modified"] == doc["modified"]
    assert site.deliveries == []


# Webhooks and faults ---------------------------------------------------------------------------------------


def webhook(site, event, **fields):
    hook = {"webhook_doctype": "Customer", "webhook_docevent": event, "request_url": "http://svc.test/hook",
            "request_structure": "JSON", "webhook_json": '{"name": {{ doc.name | tojson }}, "modified": '
            '{{ doc.modified | tojson }}, "tax_id": {{ doc.tax_id | tojson }}}', **fields}  # fmt: skip
    return site.insert("Webhook", hook)


def test_webhooks_are_sent_as_frappe_builds_them_and_signed(site, http, sales):
    received = []
    site.sender = lambda delivery: received.append(delivery) or 200
    webhook(site, "on_update", enable_security=1, webhook_secret="s3cret",
            webhook_headers=[{"key": "Content-Type", "value": "application/json"}])  # fmt: skip
    webhook(site, "on_trash")
    http.post("/api/resource/Customer", json={"customer_name": "ACME"}, headers=token(sales))
    (sent,) = received  # after_insert has no webhook; on_update fires on insert too, once
    body = json.loads(sent.body)
    assert body == {"name": "ACME", "modified": site.doc("Customer", "ACME")["modified"], "tax_id": None}
    assert sent.body == json.dumps(body).encode()
    assert verify("s3cret", sent.body, sent.headers["X-Frappe-Webhook-Signature"])
    assert sent.headers["Content-Type"] == "application/json" and sent.method == "POST"
    manager = site.add_user("boss@shop.test", roles=["Sales Master Manager"])
    http.delete("/api/resource/Customer/ACME", headers=token(manager))
    assert [d.event for d in received] == ["on_update", "on_trash"]
    assert "X-Frappe-Webhook-Signature" not in received[1].headers


def test_form_webhooks_send_the_chosen_fields_and_a_webhook_can_be_missed(site, http, sales):
    site.insert("Webhook", {"webhook_doctype": "Customer", "webhook_docevent": "after_insert",
                            "request_url": "http://svc.test/hook", "request_structure": "Form URL-Encoded",
                            "webhook_data": [{"fieldname": "name", "key": "id"}]})  # fmt: skip
    site.drop_webhooks(1)
    http.post("/api/resource/Customer", json={"customer_name": "A"}, headers=token(sales))
    http.post("/api/resource/Customer", json={"customer_name": "B"}, headers=token(sales))
    assert [d.dropped for d in site.deliveries] == [True, False]
    assert [json.loads(d.body) for d in site.pending()] == [{"id": "B"}]
    statuses = []
    site.deliver_pending(lambda d: statuses.append(d.name) or 500)
    assert statuses == ["B", "B", "B"]  # Frappe's enqueue_webhook tries three times


def test_faults_answer_as_asked_and_are_logged(site, http, sales):
    site.fail_next("429", retry_after=7)
    r = http.get("/api/method/ping")
    assert (r.status_code, r.headers["retry-after"], r.json()["exc_type"]) == (429, "7", "TooManyRequestsError")
    site.fail_next("502")
    assert http.get("/api/method/ping").status_code == 502
    site.fail_next("timeout", applied=True)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/api/resource/Customer", json={"customer_name": "Lost"}, headers=token(sales))
    assert site.doc("Customer", "Lost") is not None
    site.fail_next("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/api/method/ping")
    assert [(r.status, r.fault) for r in site.requests] == [(429, "429"), (502, "502"), (None, "timeout"),
                                                             (None, "drop")]  # fmt: skip


def test_the_double_also_serves_over_a_socket(site, sales):
    with serve(site) as url, httpx.Client(base_url=url, timeout=5) as client:
        assert client.get("/api/method/ping").json() == {"message": "pong"}
        assert client.get("/api/resource/Customer/X", headers=token(sales)).status_code == 404
        site.fail_next("drop")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/method/ping")


def test_an_update_saves_as_the_desk_does_with_its_version_and_asked_webhooks(site):
    received = []
    site.sender = lambda delivery: received.append(delivery) or 200
    webhook(site, "on_update")
    doc = site.insert("Customer", {"customer_name": "ACME"})
    saved = site.update("Customer", "ACME", {"tax_id": "T1"})
    assert saved["tax_id"] == "T1" and saved["modified"] > doc["modified"]
    assert [json.loads(v["data"])["changed"] for v in site.all("Version")] == [[["tax_id", None, "T1"]]]
    assert received == []  # no webhook unless asked
    site.update("Customer", "ACME", {"tax_id": "T2"}, webhooks=True)
    assert [(d.event, d.name) for d in received] == [("on_update", "ACME")]
    site.require("Customer", "mobile_no")
    with pytest.raises(Exception, match=r"mobile_no|Mobile"):
        site.update("Customer", "ACME", {"tax_id": "T3"})
