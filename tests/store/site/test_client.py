"""The Frappe REST client against the ERPNext double: verbs, errors, retries, and what it never does."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from erpnext_medusa.domain.errors import (
    AuthenticationError,
    DoesNotExistError,
    DuplicateEntryError,
    NotPermittedError,
    ServiceUnavailableError,
    StaleDocumentError,
    UncertainWriteError,
    ValidationFailedError,
)
from erpnext_medusa.store.site import FrappeClient, SiteLogin
from tests.erpnext_site import Site, address, serve, transport

SECRET = "s3cret-not-for-logs"
RESOURCE = "/api/resource/Customer"


@pytest.fixture
def site() -> Site:
    site = Site()
    site.add_user("api@shop.test", roles=["Sales User", "Sales Master Manager"], api_key="k1", api_secret=SECRET)
    return site


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(site, waits):
    client = FrappeClient("http://site.test", "k1", SECRET, transport=transport(site), sleep=waits.append)
    yield client
    client.close()


def test_every_verb(client, site):
    made = client.insert("Customer", {"customer_name": "ACME"})
    assert (made["name"], made["owner"]) == ("ACME", "api@shop.test")
    assert client.get_doc("Customer", "ACME")["customer_type"] == "Company"
    saved = client.update("Customer", "ACME", {"tax_id": "T1"})
    assert saved["tax_id"] == "T1" and saved["modified"] > made["modified"]
    assert client.get_list("Customer", fields=["name", "tax_id"]) == [{"name": "ACME", "tax_id": "T1"}]
    assert client.call("ping") == "pong"
    client.delete("Customer", "ACME")
    assert site.doc("Customer", "ACME") is None
    assert [d["deleted_name"] for d in site.all("Deleted Document")] == ["ACME"]


def test_filters_paging_and_order(client, site):
    for name in ("Delta", "Alpha", "Charlie", "Bravo"):
        site.insert("Customer", {"customer_name": name, "customer_type": "Individual" if name < "C" else "Company"})
    names = lambda **kw: [r["name"] for r in client.get_list("Customer", fields=["name"], **kw)]  # noqa: E731
    assert names(filters={"customer_type": "Individual"}, order_by="name asc") == ["Alpha", "Bravo"]
    assert names(filters=[["name", "like", "%a%"]], or_filters=[["name", "=", "Delta"], ["name", "=", "Charlie"]],
                 order_by="name desc") == ["Delta", "Charlie"]  # fmt: skip
    assert names(order_by="name asc", start=1, page_length=2) == ["Bravo", "Charlie"]
    assert len(names(page_length=0)) == 4


def test_names_with_spaces_and_slashes_are_escaped(client, site):
    site.insert("Customer", {"customer_name": "ACME"})
    made = client.insert("Address", address("A/B & Co 100%", links=[{"link_doctype": "Customer", "link_name": "ACME"}]))
    assert made["name"] == "A/B & Co 100%-Billing"
    assert client.get_doc("Address", made["name"])["address_title"] == "A/B & Co 100%"
    assert client.update("Address", made["name"], {"city": "Bonn"})["city"] == "Bonn"
    admin = site.users["Administrator"]  # only a System Manager may delete an Address
    FrappeClient("http://site.test", admin.api_key, admin.api_secret, transport=transport(site)).delete(
        "Address", made["name"]
    )
    assert site.doc("Address", made["name"]) is None
    assert client.get_list("Address", fields=["name"], filters=[["Dynamic Link", "link_name", "=", "ACME"]]) == []


def test_refusals_become_domain_errors_with_erpnexts_message_and_type(client, site):
    with pytest.raises(DoesNotExistError) as missing:
        client.get_doc("Customer", "Nobody")
    assert (missing.value.message, missing.value.exc_type) == ("Customer Nobody not found", "DoesNotExistError")
    site.require("Address", "address_line2")
    with pytest.raises(ValidationFailedError) as mandatory:
        client.insert("Address", address())
    assert mandatory.value.exc_type == "MandatoryError"
    assert mandatory.value.message == "Error: Value missing for Address: Address Line 2"
    with pytest.raises(ValidationFailedError) as link:
        client.insert("Address", address(address_line2="x", country="Atlantis"))
    assert (link.value.exc_type, link.value.message) == ("LinkValidationError", "Could not find Country: Atlantis")
    with pytest.raises(NotPermittedError) as denied:
        client.insert("Webhook", {"webhook_doctype": "Customer"})
    assert denied.value.message == "No permission for Webhook"
    site.insert("Country", {"country_name": "Freedonia"})
    admin = site.users["Administrator"]
    as_admin = FrappeClient("http://site.test", admin.api_key, admin.api_secret, transport=transport(site))
    with pytest.raises(DuplicateEntryError) as taken:
        as_admin.insert("Country", {"country_name": "Freedonia"})
    assert (taken.value.message, taken.value.http_status) == ("Country Freedonia already exists", 409)


def test_a_stale_write_is_a_stale_document_error(client, site):
    read = client.insert("Customer", {"customer_name": "ACME"})
    client.update("Customer", "ACME", {"tax_id": "T1", "modified": read["modified"]})
    with pytest.raises(StaleDocumentError) as stale:
        client.update("Customer", "ACME", {"tax_id": "T2", "modified": read["modified"]})
    assert stale.value.exc_type == "TimestampMismatchError" and stale.value.http_status == 417
    assert stale.value.message.startswith("Error: Document has been modified after you have opened it")
    assert site.doc("Customer", "ACME")["tax_id"] == "T1"


def test_a_refused_key_says_so(site):
    client = FrappeClient("http://site.test", "k1", "wrong", transport=transport(site))
    with pytest.raises(AuthenticationError) as refused:
        client.get_doc("Customer", "ACME")
    assert refused.value.reason == "erpnext_key_refused" and "API key" in refused.value.message
    site.users["api@shop.test"].enabled = False
    with pytest.raises(AuthenticationError):
        FrappeClient("http://site.test", "k1", SECRET, transport=transport(site)).call("ping")


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "504", "timeout", "drop", "refuse"])
def test_reads_are_retried_through_passing_faults(client, site, waits, kind):
    site.insert("Customer", {"customer_name": "ACME"})
    site.fail_next(kind, 2)
    assert client.get_doc("Customer", "ACME")["name"] == "ACME"
    assert site.count("GET", f"{RESOURCE}/ACME") == 3
    assert waits == [0.5, 1.0]  # the backoff doubles


def test_retry_after_is_honoured_up_to_the_cap(client, site, waits):
    site.insert("Customer", {"customer_name": "ACME"})
    site.fail_next("429", retry_after=3)
    site.fail_next("503", retry_after=120)
    client.update("Customer", "ACME", {"tax_id": "T1"})
    assert waits == [3.0, 10.0]
    assert site.count("PUT", f"{RESOURCE}/ACME") == 3 and site.doc("Customer", "ACME")["tax_id"] == "T1"


def test_after_the_retries_the_site_is_unavailable_with_its_retry_after(client, site, waits):
    site.fail_next("503", 4, retry_after=7)
    with pytest.raises(ServiceUnavailableError) as down:
        client.get_list("Customer", fields=["name"])
    assert (down.value.reason, down.value.retry_after, down.value.http_status) == ("erpnext_unavailable", 7, 503)
    assert not isinstance(down.value, UncertainWriteError)
    assert site.count("GET", RESOURCE) == 4 and waits == [7.0, 7.0, 7.0]


@pytest.mark.parametrize("kind", ["timeout", "drop"])
def test_an_insert_whose_answer_is_lost_is_never_sent_again(client, site, waits, kind):
    site.fail_next(kind, applied=True)
    with pytest.raises(UncertainWriteError) as unsure:
        client.insert("Customer", {"customer_name": "ACME"})
    assert unsure.value.reason == "erpnext_unavailable"
    assert site.count("POST", RESOURCE) == 1 and waits == []
    assert [c["name"] for c in site.all("Customer")] == ["ACME"]  # it was applied once, and only once


@pytest.mark.parametrize(("kind", "uncertain"), [("429", False), ("500", False), ("503", False), ("502", True)])
def test_an_insert_that_met_an_error_answer_is_not_sent_again(client, site, waits, kind, uncertain):
    site.fail_next(kind)
    with pytest.raises(ServiceUnavailableError) as failed:
        client.insert("Customer", {"customer_name": "ACME"})
    assert isinstance(failed.value, UncertainWriteError) is uncertain
    assert site.count("POST", RESOURCE) == 1 and waits == []


def test_an_insert_that_could_not_connect_is_tried_again(client, site, waits):
    site.fail_next("refuse", 2)
    assert client.insert("Customer", {"customer_name": "ACME"})["name"] == "ACME"
    assert site.count("POST", RESOURCE) == 3 and len(site.all("Customer")) == 1


def test_a_delete_whose_answer_was_lost_and_then_finds_nothing_is_done(client, site):
    site.insert("Customer", {"customer_name": "ACME"})
    site.fail_next("timeout", applied=True)
    client.delete("Customer", "ACME")
    assert site.count("DELETE", f"{RESOURCE}/ACME") == 2 and site.doc("Customer", "ACME") is None
    with pytest.raises(DoesNotExistError):
        client.delete("Customer", "ACME")  # no lost answer this time: gone means gone


def test_logged_user_asks_with_the_callers_header(client, site):
    shop = site.add_user("shop@shop.test", roles=["Sales User"])
    assert client.logged_user(f"token {shop.api_key}:{shop.api_secret}") == "shop@shop.test"
    basic = base64.b64encode(f"{shop.api_key}:{shop.api_secret}".encode()).decode()
    assert client.logged_user(f"Basic {basic}") == "shop@shop.test"
    assert client.logged_user("token nobody:nothing") is None
    assert client.logged_user("Bearer x y") is None  # three parts: ignored, so Guest, so 403


def test_login_checks_a_password_and_keeps_no_session(client, site):
    site.add_user("owner@shop.test", roles=["Sales User"], password="pw", full_name="Shop Owner")
    assert client.login("owner@shop.test", "pw") == SiteLogin(user="owner@shop.test", full_name="Shop Owner")
    assert site.sessions == {}  # logged out at once
    assert client.login("owner@shop.test", "wrong") is None
    assert site.count("POST", "/api/method/login") == 2
    # No cookie of the site sticks to the client: later calls are still the service's own key.
    assert client.call("frappe.auth.get_logged_user") == "api@shop.test"


def test_the_host_override_reaches_the_site(site):
    client = FrappeClient("http://10.0.0.5:8000", "k1", SECRET, host="shop.erpnext.test", transport=transport(site))
    client.call("ping")
    assert site.requests[-1].host == "shop.erpnext.test"


def test_the_secret_is_in_no_log_line_and_not_in_repr(site, caplog):
    caplog.set_level(logging.DEBUG, logger="erpnext_medusa.store.site.client")
    client = FrappeClient("http://site.test", "k1", SECRET, transport=transport(site), sleep=lambda s: None)
    site.fail_next("500")
    client.get_list("Customer", fields=["name"], filters={"customer_name": "Private Person"})
    with pytest.raises(DoesNotExistError):
        client.get_doc("Customer", "Private Person")
    text = caplog.text + repr(client)
    assert caplog.records and "GET Customer -> 500" in caplog.text
    assert SECRET not in text and "Private Person" not in text
    assert repr(client) == "FrappeClient('http://site.test', api_key='k1')"


def test_the_client_works_over_a_real_socket(site):
    with serve(site) as url:
        client = FrappeClient(url, "k1", SECRET, timeout=0.5, retries=1, sleep=lambda s: None)
        assert client.insert("Customer", {"customer_name": "ACME"})["name"] == "ACME"
        site.fail_next("timeout", delay=2)
        assert client.get_doc("Customer", "ACME")["name"] == "ACME"  # the first attempt timed out
        client.close()
    assert site.count("GET", f"{RESOURCE}/ACME") == 2


def test_unreadable_success_answers_are_unavailable_not_crashes():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>")

    client = FrappeClient("http://site.test", "k1", SECRET, transport=httpx.MockTransport(handler))
    with pytest.raises(ServiceUnavailableError):
        client.get_doc("Customer", "ACME")
