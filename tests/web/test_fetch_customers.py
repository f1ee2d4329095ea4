"""``fetch_all_customers``: the typeahead over enabled Customers not yet linked to Medusa (issue 2, section 5a)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from erpnext_medusa.web.app import create_app
from tests.helpers import assert_exception_line, customer, execute, message_text, seed, server_messages

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
NO_MATCH = {"message": "No relevant customers found"}


def fetch(client: Any, **params: Any) -> Any:
    r = client.get(FETCH, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def fetch_names(client: Any, **params: Any) -> list[str]:
    body = fetch(client, **params)
    message = body["message"]
    assert isinstance(message, list), body
    return [row["name"] for row in message]


def found(client: Any, name: str) -> set[str]:
    body = fetch(client, name=name)
    if body == NO_MATCH:
        return set()
    return {row["customer_name"] for row in body["message"]}


def assert_417(r: Any) -> None:
    assert r.status_code == 417, r.text
    body = r.json()
    assert body["exc_type"] == "ValidationError"
    assert_exception_line(body)
    (msg,) = server_messages(body)
    assert msg["message"]


# --- which customers --------------------------------------------------------------------------------------


def test_only_unlinked_enabled_customers(client, services):
    seed(
        services,
        customer("Alpha Co"),
        customer("Beta Co", medusa_id="cus_beta"),
        customer("Gamma Co", disabled=1),
        customer("Delta Co", medusa_id="cus_delta", disabled=1),
        customer("Epsilon Co", disabled=0),
        customer("Zeta Co", medusa_id="cus_zeta_to_blank"),
    )
    execute(services, "UPDATE \"tabCustomer\" SET medusa_id = '' WHERE name = :n", n="Zeta Co")
    assert fetch_names(client) == ["Alpha Co", "Epsilon Co", "Zeta Co"]


def test_row_shape_is_exactly_four_keys(client, services):
    seed(
        services,
        customer("Alpha Co", email_id="alpha@example.com", mobile_no="+971500000001"),
        customer("Beta Co"),
    )
    assert fetch(client) == {
        "message": [
            {
                "name": "Alpha Co",
                "customer_name": "Alpha Co",
                "email_id": "alpha@example.com",
                "mobile_no": "+971500000001",
            },
            {"name": "Beta Co", "customer_name": "Beta Co", "email_id": None, "mobile_no": None},
        ]
    }


def test_name_and_customer_name_are_distinct_fields(client, services):
    seed(services, customer("CUST-0001", customer_name="Acme Trading"))
    assert fetch(client, name="acme")["message"] == [
        {"name": "CUST-0001", "customer_name": "Acme Trading", "email_id": None, "mobile_no": None}
    ]
    # The filter is on customer_name, not on the document name.
    assert fetch(client, name="CUST") == NO_MATCH


def test_no_customers_at_all(client):
    assert fetch(client) == NO_MATCH


def test_all_linked_gives_no_match_message(client, services):
    seed(services, customer("Alpha Co", medusa_id="cus_a"), customer("Beta Co", disabled=1))
    assert fetch(client) == NO_MATCH


def test_customer_linked_by_plain_sql_disappears(client, services):
    seed(services, customer("Alpha Co"), customer("Beta Co"))
    assert fetch_names(client) == ["Alpha Co", "Beta Co"]
    execute(services, "UPDATE \"tabCustomer\" SET medusa_id = 'cus_x' WHERE name = :n", n="Alpha Co")
    assert fetch_names(client) == ["Beta Co"]
    execute(services, 'UPDATE "tabCustomer" SET disabled = 1 WHERE name = :n', n="Beta Co")
    assert fetch(client) == NO_MATCH


def test_customer_unlinked_by_plain_sql_reappears(client, services):
    seed(services, customer("Alpha Co", medusa_id="cus_a"))
    assert fetch(client) == NO_MATCH
    execute(services, 'UPDATE "tabCustomer" SET medusa_id = NULL WHERE name = :n', n="Alpha Co")
    assert fetch_names(client) == ["Alpha Co"]


# --- the name filter ----------------------------------------------------------------------------------------


@pytest.fixture
def people(services: Any) -> None:
    seed(
        services,
        customer("Ali Hassan"),
        customer("Alina"),
        customer("Hassan Omar"),
        customer("Bob"),
        customer("Ali Linked", medusa_id="cus_ali"),
        customer("Ali Disabled", disabled=1),
    )


def test_name_is_case_insensitive_substring(client, people):
    assert found(client, "ALI") == {"Ali Hassan", "Alina"}
    assert found(client, "ali") == {"Ali Hassan", "Alina"}
    assert found(client, "lin") == {"Alina"}
    assert found(client, "SSAN") == {"Ali Hassan", "Hassan Omar"}


def test_every_word_must_match(client, people):
    assert found(client, "ali has") == {"Ali Hassan"}
    assert found(client, "has ali") == {"Ali Hassan"}
    assert found(client, "ALI HASSAN") == {"Ali Hassan"}
    assert found(client, "ali omar") == set()


def test_words_split_on_any_whitespace(client, people):
    assert found(client, "  ali\thas\n ") == {"Ali Hassan"}


def test_word_must_be_contiguous_substring(client, people):
    # "Ali Hassan" contains "ali" and "hassan" but not the single word "alihassan".
    assert fetch(client, name="alihassan") == NO_MATCH


@pytest.mark.parametrize("blank", ["", " ", "   \t  "])
def test_blank_name_means_no_filter(client, people, blank):
    assert found(client, blank) == {"Ali Hassan", "Alina", "Hassan Omar", "Bob"}


def test_no_match_message(client, people):
    assert fetch(client, name="zzz") == NO_MATCH


def test_arabic_substring(client, services):
    seed(services, customer("محمد علي"), customer("أحمد محمد"), customer("محمود حسن"), customer("Mohammed Ali"))
    assert found(client, "محمد") == {"محمد علي", "أحمد محمد"}
    assert found(client, "علي محمد") == {"محمد علي"}
    assert found(client, "حسن") == {"محمود حسن"}


def test_non_ascii_case_folding(client, services):
    seed(services, customer("Ärger GmbH"), customer("ωμέγα"), customer("Other GmbH"))
    assert found(client, "ÄRGER") == {"Ärger GmbH"}
    assert found(client, "ärger") == {"Ärger GmbH"}
    assert found(client, "ΩΜΈΓΑ") == {"ωμέγα"}
    assert found(client, "Μέγ") == {"ωμέγα"}


def test_percent_is_literal(client, services):
    seed(services, customer("100% Juice"), customer("Plain Juice"))
    assert found(client, "%") == {"100% Juice"}
    assert found(client, "0%") == {"100% Juice"}
    assert found(client, "1%e") == set()


def test_percent_does_not_match_names_without_it(client, services):
    seed(services, customer("Plain Juice"), customer("Alpha Co"))
    assert fetch(client, name="%") == NO_MATCH
    assert fetch(client, name="%%") == NO_MATCH


def test_underscore_is_literal(client, services):
    seed(services, customer("a_b"), customer("axb"), customer("ab"))
    assert found(client, "_") == {"a_b"}
    assert found(client, "a_b") == {"a_b"}
    assert found(client, "x_") == set()


def test_underscore_does_not_match_arbitrary_characters(client, services):
    seed(services, customer("axb"), customer("Alpha Co"))
    assert fetch(client, name="_") == NO_MATCH
    assert fetch(client, name="a_b") == NO_MATCH


def test_backslash_is_literal(client, services):
    seed(services, customer("Back\\slash Co"), customer("Plain Co"), customer("a_b"), customer("100% Juice"))
    assert found(client, "\\") == {"Back\\slash Co"}
    assert found(client, "k\\s") == {"Back\\slash Co"}
    assert found(client, "\\_") == set()
    assert found(client, "\\%") == set()


def test_escape_characters_used_by_the_service_are_literal(client, services):
    # Whatever escape character the implementation picks for LIKE, it must itself be matched literally.
    seed(services, customer("a/b"), customer("ab"), customer("a!b"), customer("a^b"))
    assert found(client, "/") == {"a/b"}
    assert found(client, "a/b") == {"a/b"}
    assert found(client, "!") == {"a!b"}
    assert found(client, "^") == {"a^b"}


def test_name_from_post_json_body(client, people):
    r = client.post(FETCH, json={"name": "ali has"})
    assert r.status_code == 200
    assert [row["name"] for row in r.json()["message"]] == ["Ali Hassan"]


# --- order and paging ---------------------------------------------------------------------------------------


@pytest.fixture
def five(services: Any) -> list[str]:
    seed(
        services,
        customer("Gamma Co"),
        customer("Alpha Co"),
        customer("Epsilon Co"),
        customer("Beta Co"),
        customer("Delta Co"),
    )
    return ["Alpha Co", "Beta Co", "Delta Co", "Epsilon Co", "Gamma Co"]


def test_order_is_by_customer_name(client, five):
    assert fetch_names(client) == five


def test_order_ties_broken_by_name(client, services):
    seed(
        services,
        customer("CUST-3", customer_name="Same Co"),
        customer("CUST-1", customer_name="Same Co"),
        customer("CUST-2", customer_name="Same Co"),
        customer("CUST-0", customer_name="Zulu Co"),
        customer("CUST-9", customer_name="Alpha Co"),
    )
    assert fetch_names(client) == ["CUST-9", "CUST-1", "CUST-2", "CUST-3", "CUST-0"]


def test_order_is_not_insertion_or_name_order(client, services):
    seed(services, customer("A-2", customer_name="Beta Co"), customer("A-1", customer_name="Gamma Co"))
    seed(services, customer("A-3", customer_name="Alpha Co"))
    assert fetch_names(client) == ["A-3", "A-2", "A-1"]


def test_limit(client, five):
    assert fetch_names(client, limit=2) == five[:2]


def test_limit_page_length_alias(client, five):
    assert fetch_names(client, limit_page_length=3) == five[:3]


def test_limit_start(client, five):
    assert fetch_names(client, limit=2, limit_start=2) == five[2:4]
    assert fetch_names(client, limit_page_length=2, limit_start=4) == five[4:]
    assert fetch_names(client, limit_start=1) == five[1:]


def test_pages_cover_everything_once(client, five):
    pages = [fetch_names(client, limit=2, limit_start=start) for start in (0, 2, 4)]
    assert [n for page in pages for n in page] == five


def test_limit_zero_means_no_limit(client, five):
    assert fetch_names(client, limit=0) == five
    assert fetch_names(client, limit_page_length=0) == five


def test_limit_with_name_filter(client, five):
    assert fetch_names(client, name="co", limit=1, limit_start=1) == ["Beta Co"]
    assert fetch_names(client, name="a co", limit=10) == ["Alpha Co", "Beta Co", "Delta Co", "Gamma Co"]


def test_page_past_the_end(client, five):
    assert fetch(client, limit=2, limit_start=5) == NO_MATCH
    assert fetch(client, limit_start=49) == NO_MATCH


def test_blank_limit_is_no_limit(client, five):
    assert fetch_names(client, limit="", limit_start="") == five


@pytest.mark.parametrize("value", ["abc", "-1", "1x"])
@pytest.mark.parametrize("key", ["limit", "limit_page_length", "limit_start"])
def test_invalid_paging_is_417(client, five, key, value):
    assert_417(client.get(FETCH, params={key: value}))


def test_invalid_limit_in_json_body_is_417(client, five):
    assert_417(client.post(FETCH, json={"limit": "abc"}))
    assert_417(client.post(FETCH, json={"limit": -1}))


@pytest.fixture
def sixty(services: Any) -> list[str]:
    names = [f"Customer {i:02d}" for i in range(60)]
    seed(services, *(customer(n) for n in reversed(names)))
    return names


def test_unpaged_answer_is_capped(client, sixty):
    assert services_cap_is_50(client)
    assert fetch_names(client) == sixty[:50]


def test_limit_above_cap_is_capped(client, sixty):
    assert fetch_names(client, limit=100) == sixty[:50]
    assert fetch_names(client, limit=0) == sixty[:50]


def test_pages_reach_the_first_cap_matches_and_no_further(client, sixty):
    assert fetch_names(client, limit_start=40) == sixty[40:50]
    assert fetch_names(client, limit=10, limit_start=40) == sixty[40:50]
    pages = [fetch_names(client, limit=25, limit_start=start) for start in (0, 25)]
    assert pages[0] + pages[1] == sixty[:50]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit_start": 50}, "limit_start must be less than 50: a search reaches only its first 50 customers; "
                              "type more of the name to narrow it."),
        ({"limit_start": 2147483647, "limit": 50}, None),
        ({"limit": 20, "limit_start": 40}, "limit_start + limit must be at most 50: a search reaches only its first "
                                           "50 customers (ask for limit 10 or less here)."),
        ({"limit": 100, "limit_start": 1}, None),
    ],
)  # fmt: skip
def test_a_page_beyond_the_cap_is_417(client, sixty, params, message):
    r = client.get(FETCH, params=params)
    assert_417(r)
    if message is not None:
        assert message_text(r) == message


def services_cap_is_50(client: Any) -> bool:
    return client.app.state.services.settings.fetch_max_results == 50


# --- case folding is the database's, on both sides ------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("İstanbul Ticaret", "İstanbul"),  # dotted capital I: Python and the databases lower it differently
        ("İstanbul Ticaret", "İSTANBUL"),
        ("ΟΔΟΣΤΑΣ Shipping", "ΟΔΟΣ"),  # Python's lower() would make the final sigma ς here
        ("STRAẞE GmbH", "STRAẞE"),
    ],
)
def test_a_word_typed_as_stored_is_always_found(client, services, stored, typed):
    seed(services, customer(stored), customer("Unrelated Co"))
    assert found(client, typed) == {stored}


def test_repeated_query_argument_keeps_the_first_value_as_frappe_does(client, services):
    seed(services, customer("Ali Hassan"), customer("Zed Zee"))
    r = client.get(f"{FETCH}?name=ali&name=zed")
    assert [row["name"] for row in r.json()["message"]] == ["Ali Hassan"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "--5"},
        {"limit": "²"},
        {"limit": "1e3"},
        {"limit_start": "99999999999999999999"},
        {"limit": "1" * 5000},  # past Python's own limit for int() of a string
    ],
    ids=["double minus", "superscript digit", "exponent", "huge offset", "5000 digits"],
)
def test_odd_paging_numbers_are_417_not_500(client, services, params):
    seed(services, customer("Ali Hassan"))
    assert_417(client.get(FETCH, params=params))


@pytest.mark.parametrize("value", [True, False, 1.5, [3], {"n": 3}])
@pytest.mark.parametrize("key", ["limit", "limit_page_length", "limit_start"])
def test_paging_arguments_follow_one_rule_in_json_too(client, five, key, value):
    """true in a JSON body is refused as limit=true in a query is, rather than meaning "no limit"."""
    assert_417(client.post(FETCH, json={key: value}))
    assert_417(client.get(FETCH, params={key: str(value).lower()}))


def test_paging_numbers_as_json_numbers_or_strings_mean_the_same(client, five):
    assert fetch_names(client, limit=2) == five[:2]
    assert [r["name"] for r in client.post(FETCH, json={"limit": 2}).json()["message"]] == five[:2]
    assert [r["name"] for r in client.post(FETCH, json={"limit": "2"}).json()["message"]] == five[:2]


# --- the planner's statistics ---------------------------------------------------------------------------------


def test_the_server_samples_the_names_as_it_starts(services):
    """Before its first search: else that search (and every one until a background sample is in) would walk a
    few rows in order, then turn to the gram index whatever its words."""
    seed(services, *(customer(f"Sampled {i:02d}") for i in range(30)))
    plans: list[str] = []
    services.store.search.on_plan = plans.append
    with TestClient(create_app(services=services)) as c:
        assert services.store.search._stats.names  # (SQLite and MariaDB: the key rows as last indexed)
        assert len(fetch_names(c, name="sampled 1")) == 12  # 01, 10 to 19, 21
    assert plans in (["ordered"], ["gram"])


def test_a_server_starts_when_the_names_cannot_be_sampled(services, caplog):
    services.store.search.sample = _unreachable
    with TestClient(create_app(services=services)) as c:
        assert c.get("/api/method/ping").json() == {"message": "pong"}
    assert "could not sample customer names for search statistics" in caplog.text


def _unreachable() -> Any:
    raise OSError("the database does not answer")
