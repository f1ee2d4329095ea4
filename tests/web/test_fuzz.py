"""Hostile input on every argument of the three endpoints: never a 5xx, and never a change the request was
not allowed to make (each call's effect is checked against a snapshot of the tables taken just before)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.store.sql import tables as t
from tests.helpers import address, customer, lead, rows, seed

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"
#: Examples per endpoint and backend: a fixed budget that keeps CI short.
EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = ["Acme Trading", "Bolt Foods", "Cleo Shop", 'Dana\'s "Deli"', "عبد الله"]
NASTY = [
    "' OR '1'='1",
    '\'; DROP TABLE "tabCustomer"; --',
    '" OR ""="',
    "`name`",
    "%",
    "%%",
    "_",
    "\\",
    "\\%",
    "/%",
    "*",
    "?",
    "[a-z]",
    "NULL",
    "null",
    "None",
    "0",
    "-1",
    "99999999999999999999999",
    "1e309",
    "\x00",
    "Acme\x00",
    "\u202eevil",
    "\ufeffAcme Trading",
    "ACME TRADING",
    "acme trading",
    "İstanbul",
    "ß",
    "ﬁ",
    "😀" * 10,
    "<script>alert(1)</script>",
    "..\\..\\etc\\passwd",
    "\r\n\t",
    " ",
    "",
]
TEXT = st.one_of(
    st.sampled_from(NASTY + NAMES + ["CRM-LEAD-0001", "CRM-LEAD-0002"]),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=130, max_size=300),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "%", "'", "é", " x"]), st.integers(100, 3000)),
)
#: Query strings and form fields must be encodable: no lone surrogates there.
URL_TEXT = TEXT.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))
JSON_VALUE = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities too: Python's JSON writes them and its reader takes them
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
LEADS = st.sampled_from(["CRM-LEAD-0001", "CRM-LEAD-0002", "crm-lead-0001"])


def mostly(good: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three draws in four from ``good`` (so that writes happen), the rest hostile."""
    return st.integers(0, 3).flatmap(lambda i: good if i else hostile)


TABLES = (t.customer, t.lead, t.address, t.dynamic_link, t.audit)


def snapshot(services) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of the tables the endpoints could touch, by table and primary key."""
    result = {}
    for table in TABLES:
        key = "id" if table is t.audit else "name"
        result[table.name] = {str(r[key]): r for r in rows(services, f'SELECT * FROM "{table.name}"')}
    return result


def changed(before, after, table: str) -> set[str]:
    old, new = before[table], after[table]
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


@pytest.fixture
def shop(services, client_with):
    seed(
        services,
        *(customer(n) for n in NAMES[:4]),
        customer(NAMES[4], medusa_id="cus_arabic"),
        customer("Old Co", disabled=1),
        address(NAMES[0], NAMES[0]),
        address(NAMES[1], NAMES[1], address_type="Shipping"),
        address(NAMES[4], NAMES[4]),
        lead("CRM-LEAD-0001", medusa_id="cus_lead_1"),
        lead("CRM-LEAD-0002"),
    )
    return client_with(rate_limit=0)


def _ok(response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    json.loads(response.text)


@FUZZ
@given(
    args=st.dictionaries(st.sampled_from(["name", "limit", "limit_page_length", "limit_start"]), URL_TEXT, max_size=4),
    json_args=st.dictionaries(st.sampled_from(["name", "limit", "limit_page_length", "limit_start"]), JSON_VALUE),
    how=st.sampled_from(["query", "form", "json"]),
)
def test_fetch_all_customers_never_fails_and_never_writes(services, shop, args, json_args, how):
    before = snapshot(services)
    if how == "query":
        r = shop.get(FETCH, params=args)
    elif how == "form":
        r = shop.post(FETCH, data=args)
    else:
        r = shop.post(FETCH, content=json.dumps(json_args), headers={"Content-Type": "application/json"})
    _ok(r)
    assert snapshot(services) == before
    if r.status_code == 200 and isinstance(r.json()["message"], list):
        unlinked_enabled = set(NAMES[:4])
        assert {row["name"] for row in r.json()["message"]} <= unlinked_enabled


ADDRESS_KEYS = ["customer_id", "address_line1", "address_line2", "city", "state", "country", "pincode", "name"]


PLAIN = st.sampled_from(["12 Side Road", "Flat 3", "Sharjah", "Muscat", "Dubai", "12345", "", None, "ae", "om"])
BODY = st.fixed_dictionaries(
    {"customer_id": mostly(st.sampled_from(NAMES), JSON_VALUE)},
    optional={
        **{field: mostly(PLAIN, JSON_VALUE) for field in ADDRESS_KEYS[1:]},
        "country": mostly(st.sampled_from(["ae", "OM", "United Arab Emirates", "oman"]), JSON_VALUE),
    },
)


@FUZZ
@given(body=BODY, shape=st.sampled_from(["object"] * 5 + ["array", "scalar", "broken", "form"]))
def test_update_address_changes_at_most_one_customers_own_address(services, shop, body, shape):
    before = snapshot(services)
    as_json = {"Content-Type": "application/json"}
    if shape == "object":
        r = shop.post(UPDATE, content=json.dumps(body), headers=as_json)
    elif shape == "array":
        r = shop.post(UPDATE, content=json.dumps([body]), headers=as_json)
    elif shape == "scalar":
        r = shop.post(UPDATE, content=json.dumps(body.get("customer_id")), headers=as_json)
    elif shape == "broken":
        r = shop.post(UPDATE, content=json.dumps(body)[:-1], headers=as_json)
    else:
        r = shop.post(UPDATE, data={k: v for k, v in body.items() if isinstance(v, str) and "\x00" not in v})
    _ok(r)
    event(f"{shape}: {r.status_code} {str(r.json())[:40]}")
    after = snapshot(services)
    assert changed(before, after, t.lead.name) == set()
    if r.json() != {"message": "Address updated successfully"}:
        assert after == before  # a refusal changes nothing
        return
    customers = changed(before, after, t.customer.name)
    audits = changed(before, after, t.audit.name)
    addresses = changed(before, after, t.address.name)
    if not addresses:  # nothing to change: nothing written at all
        assert after == before
        return
    (entry_id,) = audits
    entry = after[t.audit.name][entry_id]
    owner = entry["customer"]
    assert customers <= {owner}
    for name in customers:  # only the primary-address pointer and its text, plus the stamp
        old, new = before[t.customer.name][name], after[t.customer.name][name]
        differing = {k for k in old if old[k] != new[k]}
        assert differing <= {"customer_primary_address", "primary_address", "modified", "modified_by"}
    links = after[t.dynamic_link.name].values()
    for name in addresses:  # every changed or new address belongs to that one Customer
        assert any(link["parent"] == name and link["link_name"] == owner for link in links), name
    assert set(json.loads(entry["documents"])) >= {f"Address/{name}" for name in addresses}


@FUZZ
@given(
    args=st.fixed_dictionaries(
        {}, optional={"customer": mostly(st.sampled_from(NAMES), URL_TEXT), "lead": mostly(LEADS, URL_TEXT)}
    ),
    json_args=st.fixed_dictionaries(
        {}, optional={"customer": mostly(st.sampled_from(NAMES), JSON_VALUE), "lead": mostly(LEADS, JSON_VALUE)}
    ),
    how=st.sampled_from(["query", "form", "json"]),
)
def test_link_medusa_lead_sets_at_most_one_customers_id(services, shop, args, json_args, how):
    key = create_api_key(services.keys, "fuzz@example.com", services.now())
    headers = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
    before = snapshot(services)
    if how == "query":
        r = shop.get(LINK, params=args, headers=headers)
    elif how == "form":
        r = shop.post(LINK, data=args, headers=headers)
    else:
        r = shop.post(LINK, content=json.dumps(json_args), headers={**headers, "Content-Type": "application/json"})
    _ok(r)
    event(f"{how}: {r.status_code}")
    after = snapshot(services)
    for table in (t.lead.name, t.address.name, t.dynamic_link.name):
        assert changed(before, after, table) == set()
    customers = changed(before, after, t.customer.name)
    if r.status_code != 200:
        assert after == before
        return
    assert len(customers) <= 1
    assert len(changed(before, after, t.audit.name)) == len(customers)
    for name in customers:
        old, new = before[t.customer.name][name], after[t.customer.name][name]
        assert new["medusa_id"] == "cus_lead_1" and new["lead_name"] == "CRM-LEAD-0001"
        differing = {k for k in old if old[k] != new[k]}
        assert differing <= {"medusa_id", "medusa_id_key", "lead_name", "modified", "modified_by"}
    ids = [c["medusa_id"] for c in after[t.customer.name].values() if c["medusa_id"]]
    assert len(ids) == len(set(ids))
