"""link_medusa_lead: checks in order, the success path, idempotence, guests, atomicity and the unique index."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.leads import link_medusa_lead
from tests.helpers import as_datetime, assert_exception_line, customer, execute, lead, message_text, rows, seed, stamp

URL = "/api/method/medusa_integration.utils.link_medusa_lead"
SEEDED_AT = stamp().at


def call(client, headers: dict[str, str] | None, how: str = "json", **args: str):
    if how == "query":
        return client.get(URL, params=args, headers=headers or {})
    if how == "form":
        return client.post(URL, data=args, headers=headers or {})
    return client.post(URL, json=args, headers=headers or {})


def snapshot(services) -> dict[str, list[dict[str, Any]]]:
    return {
        "customers": rows(services, 'SELECT * FROM "tabCustomer" ORDER BY name'),
        "leads": rows(services, 'SELECT * FROM "tabLead" ORDER BY name'),
    }


def get_customer(services, name: str) -> dict[str, Any]:
    (row,) = rows(services, 'SELECT * FROM "tabCustomer" WHERE name = :n', n=name)
    return row


def assert_error(response, status: int, exc_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["exc_type"] == exc_type
    assert_exception_line(body)
    return message_text(response)


# --- the checks, in order -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_missing_customer_is_404(client, services, auth_header, how):
    seed(services, lead("LEAD-1", medusa_id="cus_1"))
    before = snapshot(services)
    r = call(client, auth_header, how, customer="Nobody Here", lead="LEAD-1")
    assert assert_error(r, 404, "DoesNotExistError") == "Customer Nobody Here not found"
    assert snapshot(services) == before


def test_missing_customer_is_checked_before_missing_lead(client, services, auth_header):
    r = call(client, auth_header, customer="Nobody", lead="No Lead")
    assert assert_error(r, 404, "DoesNotExistError") == "Customer Nobody not found"


@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_missing_lead_is_404_as_on_erpnext(client, services, auth_header, how):
    """As on a real ERPNext with the original app: Frappe's DoesNotExistError, "Lead <name> not found"."""
    seed(services, customer("Ali Hassan"))
    before = snapshot(services)
    r = call(client, auth_header, how, customer="Ali Hassan", lead="No Such Lead")
    assert assert_error(r, 404, "DoesNotExistError") == "Lead No Such Lead not found"
    assert snapshot(services) == before


def test_lead_without_medusa_id_is_417(client, services, auth_header):
    seed(services, customer("Ali Hassan"), lead("LEAD-1"), lead("LEAD-2", medusa_id=""))
    before = snapshot(services)
    for name in ("LEAD-1", "LEAD-2"):
        r = call(client, auth_header, customer="Ali Hassan", lead=name)
        assert assert_error(r, 417, "ValidationError") == "Selected Lead does not have a Medusa ID"
    assert snapshot(services) == before


def test_medusa_id_already_on_another_customer_is_417(client, services, auth_header):
    seed(
        services,
        customer("CUST-0001", customer_name="Holder Trading", medusa_id="cus_1"),
        customer("Ali Hassan"),
        lead("LEAD-1", medusa_id="cus_1"),
    )
    before = snapshot(services)
    r = call(client, auth_header, customer="Ali Hassan", lead="LEAD-1")
    message = assert_error(r, 417, "ValidationError")
    assert message == "This Medusa Lead is already linked to another Customer: CUST-0001"
    assert snapshot(services) == before


def test_customer_already_linked_to_a_different_medusa_id_is_417(client, services, auth_header):
    seed(
        services,
        customer("Ali Hassan", medusa_id="cus_old"),
        lead("LEAD-1", medusa_id="cus_new"),
    )
    before = snapshot(services)
    r = call(client, auth_header, customer="Ali Hassan", lead="LEAD-1")
    message = assert_error(r, 417, "ValidationError")
    assert "Ali Hassan" in message
    assert snapshot(services) == before
    assert get_customer(services, "Ali Hassan")["medusa_id"] == "cus_old"


# --- success ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_link_succeeds_and_updates_the_customer(client, services, auth_header, how):
    seed(
        services,
        customer("Ali Hassan", customer_name="Ali Hassan Trading"),
        customer("Other"),
        lead("CRM-LEAD-2026-00007", first_name="Ali", medusa_id="cus_01ABC"),
    )
    leads_before = snapshot(services)["leads"]
    other_before = get_customer(services, "Other")
    before = services.now()
    r = call(client, auth_header, how, customer="Ali Hassan", lead="CRM-LEAD-2026-00007")
    after = services.now()
    assert r.status_code == 200, r.text
    assert r.json() == {"message": {"status": "success"}}

    row = get_customer(services, "Ali Hassan")
    assert row["medusa_id"] == "cus_01ABC"
    assert row["lead_name"] == "CRM-LEAD-2026-00007"
    assert row["customer_name"] == "Ali Hassan Trading"
    assert row["modified_by"] == "admin@example.com"
    assert as_datetime(row["modified"]) != SEEDED_AT
    assert before <= as_datetime(row["modified"]) <= after
    assert as_datetime(row["creation"]) == SEEDED_AT
    # Nothing else moved.
    assert snapshot(services)["leads"] == leads_before
    assert get_customer(services, "Other") == other_before


def test_link_when_customer_has_empty_medusa_id(client, services, auth_header):
    seed(services, customer("Ali Hassan"), lead("LEAD-1", medusa_id="cus_1"))
    execute(services, """UPDATE "tabCustomer" SET medusa_id = '' WHERE name = 'Ali Hassan'""")
    r = call(client, auth_header, customer="Ali Hassan", lead="LEAD-1")
    assert r.json() == {"message": {"status": "success"}}
    assert get_customer(services, "Ali Hassan")["medusa_id"] == "cus_1"


def test_customer_already_carrying_the_leads_medusa_id_gets_the_lead(client, services, auth_header):
    seed(services, customer("Ali Hassan", medusa_id="cus_1"), lead("LEAD-1", medusa_id="cus_1"))
    r = call(client, auth_header, customer="Ali Hassan", lead="LEAD-1")
    assert r.json() == {"message": {"status": "success"}}
    row = get_customer(services, "Ali Hassan")
    assert (row["medusa_id"], row["lead_name"], row["modified_by"]) == ("cus_1", "LEAD-1", "admin@example.com")


def test_linking_the_same_pair_again_changes_nothing(client, services, auth_header):
    seed(services, customer("Ali Hassan"), lead("LEAD-1", medusa_id="cus_1"))
    first = call(client, auth_header, customer="Ali Hassan", lead="LEAD-1")
    assert first.json() == {"message": {"status": "success"}}
    linked = snapshot(services)
    assert get_customer(services, "Ali Hassan")["medusa_id"] == "cus_1"

    for how in ("query", "form", "json"):
        again = call(client, auth_header, how, customer="Ali Hassan", lead="LEAD-1")
        assert again.status_code == 200
        assert again.json() == {"message": {"status": "success"}}
    assert snapshot(services) == linked


def test_guest_gets_403_and_nothing_changes(client, services):
    seed(services, customer("Ali Hassan"), lead("LEAD-1", medusa_id="cus_1"))
    before = snapshot(services)
    for how in ("query", "form", "json"):
        r = call(client, None, how, customer="Ali Hassan", lead="LEAD-1")
        message = assert_error(r, 403, "PermissionError")
        assert "not whitelisted" in message
        assert "medusa_integration.utils.link_medusa_lead" in message
    assert snapshot(services) == before


def test_wrong_credentials_get_401_and_nothing_changes(client, services, auth_header):
    seed(services, customer("Ali Hassan"), lead("LEAD-1", medusa_id="cus_1"))
    before = snapshot(services)
    key = auth_header["Authorization"].split()[1].split(":")[0]
    r = call(client, {"Authorization": f"token {key}:wrong"}, customer="Ali Hassan", lead="LEAD-1")
    assert r.status_code == 401
    assert r.json()["exc_type"] == "AuthenticationError"
    assert snapshot(services) == before


# --- concurrency -----------------------------------------------------------------------------------------


def run_together(jobs: list) -> list[tuple[str, Any]]:
    """Run the callables in threads released together; each result is ("ok", None) or ("error", exc)."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = [("pending", None)] * len(jobs)

    def worker(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            jobs[i]()
            results[i] = ("ok", None)
        except Exception as exc:
            results[i] = ("error", exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
        assert not th.is_alive(), "a worker hung"
    return results


def test_concurrent_links_of_one_lead_to_many_customers(services):
    n = 8
    names = [f"Racer {i}" for i in range(n)]
    seed(services, *(customer(name) for name in names), lead("LEAD-RACE", medusa_id="cus_race"))

    def job(name: str):
        return lambda: link_medusa_lead(services.store, name, "LEAD-RACE", stamp())

    results = run_together([job(name) for name in names])
    winners = [names[i] for i, (status, _) in enumerate(results) if status == "ok"]
    assert len(winners) == 1, results
    winner = winners[0]
    errors = [exc for status, exc in results if status == "error"]
    assert len(errors) == n - 1
    for exc in errors:
        assert isinstance(exc, ValidationFailedError), repr(exc)
        assert exc.message == f"This Medusa Lead is already linked to another Customer: {winner}"

    holders = rows(services, """SELECT name, lead_name FROM "tabCustomer" WHERE medusa_id = 'cus_race'""")
    assert holders == [{"name": winner, "lead_name": "LEAD-RACE"}]
    unlinked = rows(services, 'SELECT name FROM "tabCustomer" WHERE medusa_id IS NULL ORDER BY name')
    assert [r["name"] for r in unlinked] == sorted(set(names) - {winner})


def test_concurrent_links_of_two_leads_to_one_customer(services):
    seed(
        services,
        customer("Ali Hassan"),
        lead("LEAD-A", medusa_id="cus_a"),
        lead("LEAD-B", medusa_id="cus_b"),
    )
    leads = {"LEAD-A": "cus_a", "LEAD-B": "cus_b"}

    def job(name: str):
        return lambda: link_medusa_lead(services.store, "Ali Hassan", name, stamp())

    results = run_together([job(name) for name in leads])
    ok = [name for name, (status, _) in zip(leads, results, strict=True) if status == "ok"]
    assert len(ok) == 1, results
    (loser_exc,) = [exc for status, exc in results if status == "error"]
    assert isinstance(loser_exc, ValidationFailedError), repr(loser_exc)
    assert "Ali Hassan" in loser_exc.message

    row = get_customer(services, "Ali Hassan")
    assert row["medusa_id"] == leads[ok[0]]
    assert row["lead_name"] == ok[0]


# --- the database enforces one Customer per non-empty medusa_id ------------------------------------------


def test_database_rejects_a_second_customer_with_the_same_medusa_id(services):
    seed(services, customer("First", medusa_id="cus_taken"), customer("Second"))
    with pytest.raises(IntegrityError):
        execute(services, """UPDATE "tabCustomer" SET medusa_id = 'cus_taken' WHERE name = 'Second'""")
    assert get_customer(services, "Second")["medusa_id"] is None
    holders = rows(services, """SELECT name FROM "tabCustomer" WHERE medusa_id = 'cus_taken'""")
    assert holders == [{"name": "First"}]


def test_database_allows_many_null_or_empty_medusa_ids(services):
    seed(services, *(customer(f"C{i}") for i in range(4)))
    execute(services, """UPDATE "tabCustomer" SET medusa_id = '' WHERE name IN ('C0', 'C1')""")
    execute(services, """UPDATE "tabCustomer" SET medusa_id = NULL WHERE name IN ('C2', 'C3')""")
    found = rows(services, 'SELECT name, medusa_id FROM "tabCustomer" ORDER BY name')
    assert found == [
        {"name": "C0", "medusa_id": ""},
        {"name": "C1", "medusa_id": ""},
        {"name": "C2", "medusa_id": None},
        {"name": "C3", "medusa_id": None},
    ]
