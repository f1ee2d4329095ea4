"""Who may link from the admin pages, on an ERPNext database: the API's rule (Administrator, or an ERPNext
user with one of ERPNEXT_MEDUSA_LINK_ROLES). Others see the pages and get the API's 403 message; nothing
changes."""

from __future__ import annotations

import re

import pytest

from tests.helpers import customer, lead, rows, seed
from tests.web import test_erpnext_auth as erpnext
from tests.web.admin.pages import flash, token_of

erp_url = erpnext.erp_url
erp = erpnext.erp


def signed_in(services, user, roles):
    erpnext.add_user(services, user, roles=roles)
    c = erpnext.client_for(services)
    r = c.post("/admin/login", data={"usr": user, "pwd": erpnext.PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


@pytest.mark.parametrize(("user", "roles", "allowed"), [
    (erpnext.ME, ("Sales User",), True),
    (erpnext.ME, ("Accounts User",), False),
    ("Administrator", (), True),
])  # fmt: skip
def test_only_link_roles_may_link(erp, user, roles, allowed):
    services = erp()
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    with signed_in(services, user, roles) as c:
        page = c.get("/admin/customers/Acme").text
        assert ("linking needs one of the link roles" in page) is not allowed
        confirm = c.get("/admin/customers/Acme/link", params={"lead": "L1"}).text
        assert re.search(r'id="confirm-link"', confirm)
        r = c.post("/admin/customers/Acme/link", data={"lead": "L1", "csrf_token": token_of(confirm)})
        linked = rows(services, 'SELECT medusa_id FROM "tabCustomer"')[0]["medusa_id"]
        audit = rows(services, 'SELECT "user" FROM erpnext_medusa_audit')
        if allowed:
            assert flash(r.text) == ("success", "Linked Lead L1 to Customer Acme.")
            assert linked == "cus_1" and audit == [{"user": user}]
        else:
            assert flash(r.text) == ("error", "Insufficient Permission for Customer")
            assert linked is None and audit == []
            api = c.post(erpnext.LINK, data={"customer": "Acme", "lead": "L1", "csrf_token": token_of(confirm)})
            assert api.status_code == 403 and "Insufficient Permission for Customer" in api.text


def test_website_users_cannot_sign_in(erp):
    services = erp()
    erpnext.add_user(services, user_type="Website User")
    with erpnext.client_for(services) as c:
        r = c.post("/admin/login", data={"usr": erpnext.ME, "pwd": erpnext.PASSWORD}, follow_redirects=False)
        assert r.status_code == 403 and flash(r.text) == ("error", "Only system users may use these pages.")
        assert c.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"


@pytest.mark.parametrize(("roles", "allowed"), [(("Sales User",), True), (("Accounts User",), False)])
def test_unlinking_needs_a_link_role_too(erp, roles, allowed):
    from erpnext_medusa.domain.leads import link_medusa_lead
    from erpnext_medusa.domain.models import Stamp

    services = erp()
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    link_medusa_lead(services.store, "Acme", "L1", Stamp("Administrator", services.now()))
    with signed_in(services, erpnext.ME, roles) as c:
        confirm = c.get("/admin/customers/Acme/unlink").text
        r = c.post("/admin/customers/Acme/unlink", data={"medusa_id": "cus_1", "csrf_token": token_of(confirm)})
        linked = rows(services, 'SELECT medusa_id FROM "tabCustomer"')[0]["medusa_id"]
        actions = [a["action"] for a in rows(services, "SELECT action FROM erpnext_medusa_audit ORDER BY id")]
        if allowed:
            assert flash(r.text) == (
                "success",
                "Unlinked Medusa ID cus_1 from Customer Acme; Lead L1 may be linked again.",
            )
            assert linked is None and actions == ["link_medusa_lead", "unlink_medusa_lead"]
        else:
            assert flash(r.text) == ("error", "Insufficient Permission for Customer")
            assert linked == "cus_1" and actions == ["link_medusa_lead"]
