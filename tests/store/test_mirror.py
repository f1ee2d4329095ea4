"""The site mirror (store/sql/mirror.py) on a database built by the site track, on SQLite, PostgreSQL and
MariaDB: last write wins by ``modified``, names paging, sync state, intake failures, and the searches, which must
answer exactly as a plain Python filter over the same rows."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import site_tables
from erpnext_medusa.store.sql.mirror import Mirror, MirrorCustomer, MirrorLead, SyncState
from tests.store.mirrored import ALPHABET, NAMES, NOW, T0, cust


@pytest.fixture
def mirror(site_engine: sa.Engine) -> Mirror:
    return Mirror(site_engine, clock=lambda: NOW)


def found(mirror: Mirror, query: str, *, limit: int = 50, offset: int = 0) -> list[str]:
    return [c.name for c in mirror.search_unlinked_customers(query.split(), limit=limit, offset=offset)]


def customer_names(mirror: Mirror, query: str) -> set[str]:
    return {c.customer_name for c in mirror.search_unlinked_customers(query.split(), limit=50, offset=0)}


# --- writes: last write wins ----------------------------------------------------------------------------------


def test_a_customer_round_trips_exactly(mirror: Mirror) -> None:
    row = cust("CUST-1", "Acme Trading", email_id="a@x.example", mobile_no="+971 5", medusa_id="cus_1",
               lead_name="CRM-LEAD-1", disabled=True)  # fmt: skip
    assert mirror.upsert_customers([row]) == 1
    assert mirror.get_customer("CUST-1") == row
    assert mirror.get_customer("CUST-2") is None
    assert mirror.count("Customer") == 1


def test_an_older_version_never_overwrites_a_newer_one(mirror: Mirror) -> None:
    newer = cust("CUST-1", "Newer Name", modified=T0)
    mirror.upsert_customers([newer])
    assert mirror.upsert_customers([cust("CUST-1", "Older Name", modified=T0 - timedelta(microseconds=1))]) == 0
    assert mirror.get_customer("CUST-1") == newer
    same_time = cust("CUST-1", "Same Time", modified=T0)
    assert mirror.upsert_customers([same_time]) == 1  # an equal modified replaces
    assert mirror.get_customer("CUST-1") == same_time
    later = cust("CUST-1", "Later", modified=T0 + timedelta(seconds=1), medusa_id="cus_9")
    assert mirror.upsert_customers([later]) == 1
    assert mirror.get_customer("CUST-1") == later
    assert mirror.upsert_customers([later]) == 0  # nothing to change: nothing written


def test_the_newest_of_one_name_in_a_batch_wins(mirror: Mirror) -> None:
    rows = [cust("C", "Second", modified=T0 + timedelta(1)), cust("C", "First", modified=T0), cust("D", "Dee")]
    assert mirror.upsert_customers(rows) == 2
    assert mirror.get_customer("C") == rows[0]


def test_the_condition_holds_in_the_write_itself(mirror: Mirror, site_engine: sa.Engine) -> None:
    """A newer version written after the mirror read what was stored (another writer) is not overwritten: the
    upsert statement itself keeps the newer row."""
    older, newer = cust("C", "Older", modified=T0), cust("C", "Newer", modified=T0 + timedelta(1))
    mirror.upsert_customers([older])
    with site_engine.begin() as conn:
        rows = [r for r in mirror._changing(conn, site_tables.customer, [_row(older, "Stale")], _fields())]
        assert len(rows) == 1  # it would change the stored row...
        mirror.upsert_customers([newer])  # ...but another writer stores a newer version first (own transaction)
    with site_engine.begin() as conn:
        conn.execute(mirror._upsert(site_tables.customer), [_row(cust("C", "Stale", modified=T0), "Stale")])
    assert mirror.get_customer("C") == newer


def _fields() -> list[str]:
    return [c.name for c in site_tables.customer.columns if c.name not in ("synced_at", "grams")]


def _row(row: MirrorCustomer, customer_name: str) -> dict[str, Any]:
    from erpnext_medusa.store.sql.mirror import _customer_row

    return _customer_row(row, NOW, lambda _folded: None) | {"customer_name": customer_name}


def test_delete_forgets_the_named_customers(mirror: Mirror) -> None:
    mirror.upsert_customers([cust("A"), cust("B"), cust("C")])
    assert mirror.delete_customers(["A", "C", "missing"]) == 2
    assert mirror.count("Customer") == 1
    assert mirror.get_customer("B") is not None
    assert mirror.delete_customers([]) == 0


def test_names_are_paged_in_code_point_order(mirror: Mirror) -> None:
    names = ["b", "B", "a", "é", "Z", "CUST-10", "CUST-9", "ä", "محمد", "z "]
    mirror.upsert_customers([cust(n, "x") for n in names])
    pages, after = [], None
    while page := mirror.customer_names(after=after, limit=3):
        pages.append(page)
        after = page[-1]
    assert [n for page in pages for n in page] == sorted(names)
    assert all(len(page) == 3 for page in pages[:-1])


def test_a_long_customer_name_is_kept_and_found(mirror: Mirror) -> None:
    long_latin = "Trading Company " * 30 + "End"  # 483 characters
    long_wide = "𝒜" * 700 + "ب" * 300  # 1,000 characters, most outside the BMP
    mirror.upsert_customers([cust("L1", long_latin), cust("L2", long_wide)])
    assert mirror.get_customer("L1").customer_name == long_latin  # type: ignore[union-attr]
    assert mirror.get_customer("L2").customer_name == long_wide  # type: ignore[union-attr]
    assert found(mirror, "company end") == ["L1"]
    assert found(mirror, "𝒜ب") == ["L2"]


def test_customer_with_medusa_id_is_exact(mirror: Mirror) -> None:
    mirror.upsert_customers([cust("B", medusa_id="cus_A"), cust("A", medusa_id="cus_A"), cust("C", medusa_id="cus_a"),
                             cust("D", medusa_id="")])  # fmt: skip
    assert mirror.customer_with_medusa_id("cus_A") == "A"  # the site should hold one; the first by name if not
    assert mirror.customer_with_medusa_id("cus_a") == "C"
    assert mirror.customer_with_medusa_id("cus_á") is None
    assert mirror.customer_with_medusa_id("") is None


def test_leads_last_write_wins_and_delete(mirror: Mirror) -> None:
    lead = MirrorLead("CRM-LEAD-1", "Ann Lee", "Lee Co", "ann@x.example", "+1", "+2", "cus_1", T0, T0)
    assert mirror.upsert_leads([lead]) == 1
    assert (
        mirror.upsert_leads([MirrorLead(**{**lead.__dict__, "lead_name": "Old", "modified": T0 - timedelta(1)})]) == 0
    )
    assert mirror.lead_names(after=None, limit=10) == ["CRM-LEAD-1"]
    assert mirror.search_medusa_leads("ann", unlinked_only=False, limit=10, offset=0)[0].lead_name == "Ann Lee"
    assert mirror.delete_leads(["CRM-LEAD-1"]) == 1
    assert mirror.count("Lead") == 0
    with pytest.raises(ValueError, match="Address"):
        mirror.count("Address")


# --- sync state ---------------------------------------------------------------------------------------------


def test_sync_state_round_trips_and_is_updated_in_place(mirror: Mirror, site_engine: sa.Engine) -> None:
    assert mirror.sync_state("Customer") is None
    first = SyncState(watermark_modified=T0, watermark_name="CUST-0001")
    mirror.save_sync_state("Customer", first)
    assert mirror.sync_state("Customer") == first
    second = SyncState(T0 + timedelta(1), "CUST-0002", T0, "DEL-1", NOW, "ERPNext answered 502", NOW)
    mirror.save_sync_state("Customer", second)
    mirror.save_sync_state("Lead", SyncState())
    assert mirror.sync_state("Customer") == second
    assert mirror.sync_state("Lead") == SyncState()
    with site_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(site_tables.sync_state)).scalar_one() == 2


# --- intake failures ----------------------------------------------------------------------------------------

PAYLOAD = {"first_name": "Ann", "last_name": "Lee", "email": "ann@x.example", "phone": None, "company_name": "Ö Co"}


def test_an_intake_failure_is_kept_retried_and_settled(site_engine: sa.Engine) -> None:
    clock = [T0]
    mirror = Mirror(site_engine, clock=lambda: clock[0])
    failure = mirror.record_intake_failure("evt_1", "cus_1", PAYLOAD, "Email Address must be unique", "ValidationError")
    assert (failure.payload, failure.attempts, failure.state, failure.first_attempt_at) == (PAYLOAD, 1, "failed", T0)
    assert mirror.intake_failure("evt_1") == failure

    clock[0] = T0 + timedelta(minutes=1)
    again = mirror.record_intake_failure("evt_1", "cus_1", PAYLOAD, "Still refused", "ValidationError")  # redelivered
    assert (again.attempts, again.message, again.last_attempt_at, again.first_attempt_at) == (2, "Still refused",
                                                                                              clock[0], T0)  # fmt: skip

    clock[0] = T0 + timedelta(minutes=2)
    assert mirror.claim_intake_retry("evt_1", stale_before=T0) is True
    assert mirror.claim_intake_retry("evt_1", stale_before=T0) is False  # another retrier holds it
    assert mirror.intake_failure("evt_1").state == "retrying"  # type: ignore[union-attr]
    failed = mirror.record_intake_failure("evt_1", "cus_1", PAYLOAD, "Refused on retry", None)
    assert (failed.state, failed.attempts) == ("failed", 3)  # the retry counted when it was claimed

    assert mirror.claim_intake_retry("evt_1", stale_before=T0) is True
    assert mirror.claim_intake_retry("evt_1", stale_before=clock[0] + timedelta(seconds=1)) is True  # stale claim
    assert mirror.settle_intake_failure("evt_1", "done") is True
    done = mirror.intake_failure("evt_1")
    assert done is not None and (done.state, done.payload, done.attempts) == ("done", None, 5)
    assert mirror.settle_intake_failure("evt_1", "dismissed") is False
    assert mirror.record_intake_failure("evt_1", "cus_1", PAYLOAD, "late", None) == done  # settled stays settled


def test_intake_failures_are_listed_by_state_newest_first(site_engine: sa.Engine) -> None:
    clock = [T0]
    mirror = Mirror(site_engine, clock=lambda: clock[0])
    for i in range(3):
        clock[0] = T0 + timedelta(minutes=i)
        mirror.record_intake_failure(f"evt_{i}", f"cus_{i}", PAYLOAD, "refused", "ValidationError")
    assert mirror.settle_intake_failure("evt_1", "dismissed") is True
    assert mirror.intake_failure("evt_1").payload is None  # type: ignore[union-attr]
    assert [f.event_id for f in mirror.intake_failures(["failed"], limit=10)] == ["evt_2", "evt_0"]
    assert [f.event_id for f in mirror.intake_failures(["failed"], limit=1, offset=1)] == ["evt_0"]
    assert [f.event_id for f in mirror.intake_failures(["dismissed"], limit=10)] == ["evt_1"]
    with pytest.raises(ValueError, match="settled"):
        mirror.settle_intake_failure("evt_0", "failed")


# --- the customer search ------------------------------------------------------------------------------------


def test_only_enabled_unlinked_customers_are_searched(mirror: Mirror) -> None:
    mirror.upsert_customers([cust("Alpha Co"), cust("Beta Co", medusa_id="cus_b"), cust("Gamma Co", disabled=True),
                             cust("Delta Co", medusa_id="cus_d", disabled=True),
                             cust("Zeta Co", medusa_id="")])  # fmt: skip
    assert found(mirror, "") == ["Alpha Co", "Zeta Co"]
    mirror.upsert_customers([cust("Alpha Co", medusa_id="cus_a", modified=T0 + timedelta(1))])  # linked on the site
    mirror.upsert_customers([cust("Beta Co", modified=T0 + timedelta(1))])  # unlinked on the site
    assert found(mirror, "co") == ["Beta Co", "Zeta Co"]


def test_every_word_is_a_case_insensitive_substring(mirror: Mirror) -> None:
    mirror.upsert_customers([cust(n) for n in ("Ali Hassan", "Alina", "Hassan Omar", "Bob")])
    mirror.upsert_customers([cust("CUST-1", "Acme Trading")])
    assert customer_names(mirror, "ALI") == {"Ali Hassan", "Alina"}
    assert customer_names(mirror, "SSAN") == {"Ali Hassan", "Hassan Omar"}
    assert customer_names(mirror, "has ali") == {"Ali Hassan"}
    assert customer_names(mirror, "ali omar") == set()
    assert customer_names(mirror, "alihassan") == set()
    assert found(mirror, "CUST") == []  # customer_name is searched, not the name


def test_arabic_and_non_ascii_folding(mirror: Mirror) -> None:
    names = ["محمد علي", "أحمد محمد", "محمود حسن", "Ärger GmbH", "ωμέγα", "İstanbul Ticaret", "ΟΔΟΣΤΑΣ Shipping",
             "STRAẞE GmbH", "Café"]  # fmt: skip
    mirror.upsert_customers([cust(f"C{i}", n) for i, n in enumerate(names)])
    assert customer_names(mirror, "محمد") == {"محمد علي", "أحمد محمد"}
    assert customer_names(mirror, "علي محمد") == {"محمد علي"}
    assert customer_names(mirror, "ärger") == customer_names(mirror, "ÄRGER") == {"Ärger GmbH"}
    assert customer_names(mirror, "ΩΜΈΓΑ") == customer_names(mirror, "Μέγ") == {"ωμέγα"}
    for typed, stored in (("İstanbul", "İstanbul Ticaret"), ("İSTANBUL", "İstanbul Ticaret"),
                          ("ΟΔΟΣ", "ΟΔΟΣΤΑΣ Shipping"), ("STRAẞE", "STRAẞE GmbH")):  # fmt: skip
        assert customer_names(mirror, typed) == {stored}, typed
    assert customer_names(mirror, "cafe") == customer_names(mirror, "CAFÉ") == {"Café"}  # accents are folded away


def test_accents_arabic_spellings_and_digits_are_folded(mirror: Mirror) -> None:
    names = ["Élodie Dupont", "Ångström AB", "شركة ١٢٣", "أحمد", "أسامة", "مصطفى", "مُحَمَّد", "محـمد", "Office ۴۵"]
    mirror.upsert_customers([cust(f"C{i}", n) for i, n in enumerate(names)])
    for typed, stored in (("elodie", {"Élodie Dupont"}), ("ELODIE dup", {"Élodie Dupont"}),
                          ("angstrom", {"Ångström AB"}), ("123", {"شركة ١٢٣"}), ("شركه", {"شركة ١٢٣"}),
                          ("احمد", {"أحمد"}), ("اسامه", {"أسامة"}), ("مصطفي", {"مصطفى"}),
                          ("محمد", {"مُحَمَّد", "محـمد"}), ("مُحمد", {"مُحَمَّد", "محـمد"}), ("45", {"Office ۴۵"}),
                          ("٤٥", {"Office ۴۵"})):  # fmt: skip
        assert customer_names(mirror, typed) == stored, typed


@pytest.mark.parametrize(
    ("query", "expected"),
    [("%", {"100% Juice"}), ("0%", {"100% Juice"}), ("1%e", set()), ("_", {"a_b"}), ("a_b", {"a_b"}),
     ("x_", set()), ("\\", {"Back\\slash"}), ("k\\s", {"Back\\slash"}), ("\\_", set()), ("/", {"a/b"}),
     ("!", {"a!b"}), ("^", {"a^b"}), ("'", {"O'Brien"}), ("%%", set())],
)  # fmt: skip
def test_wildcards_are_literal(mirror: Mirror, query: str, expected: set[str]) -> None:
    names = ["100% Juice", "Plain Juice", "a_b", "axb", "ab", "Back\\slash", "a/b", "a!b", "a^b", "O'Brien"]
    mirror.upsert_customers([cust(f"C{i}", n) for i, n in enumerate(names)])
    assert customer_names(mirror, query) == expected


def test_order_is_customer_name_then_name_and_pages_cover_it_once(mirror: Mirror) -> None:
    mirror.upsert_customers([cust("CUST-3", "Same Co"), cust("CUST-1", "Same Co"), cust("CUST-2", "Same Co"),
                             cust("CUST-0", "Zulu Co"), cust("CUST-9", "Alpha Co")])  # fmt: skip
    every = ["CUST-9", "CUST-1", "CUST-2", "CUST-3", "CUST-0"]
    assert found(mirror, "co") == every
    assert [n for start in (0, 2, 4) for n in found(mirror, "co", limit=2, offset=start)] == every
    assert found(mirror, "", limit=2, offset=4) == ["CUST-0"]
    assert found(mirror, "", limit=2, offset=5) == []


def test_the_answer_shows_the_four_fields(mirror: Mirror) -> None:
    mirror.upsert_customers([cust("CUST-1", "Acme", email_id="a@x.example", mobile_no="+971")])
    (row,) = mirror.search_unlinked_customers(["acm"], limit=5, offset=0)
    assert (row.name, row.customer_name, row.email_id, row.mobile_no) == ("CUST-1", "Acme", "a@x.example", "+971")


def test_a_search_past_its_time_is_stopped(site_engine: sa.Engine, backend: str) -> None:
    """The mirror's reads run under the statement time limit, each database its own way; the connection is
    usable afterwards."""
    mirror = Mirror(site_engine, statement_timeout_ms=200)
    slow = {
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
        "SELECT count(*) FROM n",
        "postgresql": "SELECT pg_sleep(5)",
    }.get(backend, "SELECT SLEEP(5)")
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError), mirror._searching() as conn:
        conn.execute(sa.text(slow))
    assert time.monotonic() - started < 3
    assert found(mirror, "") == []


def test_a_search_held_up_past_its_time_raises_query_timeout(site_engine: sa.Engine, backend: str) -> None:
    """A real search, stuck behind another session's lock on the table (PostgreSQL and MariaDB wait for it; an
    SQLite reader never waits for a writer)."""
    mirror = Mirror(site_engine, statement_timeout_ms=300)
    mirror.upsert_customers([cust("Alpha Co")])
    if backend == "sqlite":
        with site_engine.begin() as conn:
            conn.execute(sa.delete(site_tables.customer))
            assert found(mirror, "alpha") == ["Alpha Co"]  # the committed snapshot, at once
        return
    lock = "LOCK TABLE erpnext_medusa_site_customer IN ACCESS EXCLUSIVE MODE" if backend == "postgresql" else (
        "LOCK TABLES erpnext_medusa_site_customer WRITE")  # fmt: skip
    with site_engine.connect() as holder:
        holder.execute(sa.text(lock))
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            found(mirror, "alpha")
        with pytest.raises(QueryTimeoutError):
            mirror.search_medusa_leads("x", unlinked_only=False, limit=5, offset=0)
        assert time.monotonic() - started < 3
        holder.rollback()
        if backend != "postgresql":
            holder.execute(sa.text("UNLOCK TABLES"))
    assert found(mirror, "alpha") == ["Alpha Co"]


# --- the search equals a Python filter ----------------------------------------------------------------------


def database_order(engine: sa.Engine) -> list[tuple[str, str]]:
    """Every searchable row as the database orders them (a plain ordered read), with its customer_name."""
    c = site_tables.customer.c
    query = sa.select(c.name, c.customer_name).where(c.searchable == 1).order_by(c.sort_name, c.name)
    with engine.connect() as conn:
        return [(r.name, r.customer_name) for r in conn.execute(query)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    population=st.lists(st.tuples(NAMES, st.booleans(), st.booleans()), min_size=1, max_size=10),
)
def test_the_search_answers_as_the_python_reference(
    mirror: Mirror, site_engine: sa.Engine, data: st.DataObject, population: list[tuple[str, bool, bool]]
) -> None:
    mirror.delete_customers(mirror.customer_names(after=None, limit=10_000))
    rows = {f"C{i:02d}": row for i, row in enumerate(population)}
    mirror.upsert_customers([cust(name, cn, medusa_id="cus_" + name if linked else None, disabled=disabled)
                             for name, (cn, linked, disabled) in rows.items()])  # fmt: skip
    fragments = [n[a:b] for n, _, _ in population for a in range(len(n)) for b in range(a + 1, min(len(n), a + 4) + 1)]
    query = data.draw(st.one_of(st.sampled_from(fragments), st.text(ALPHABET, max_size=8)), label="query")
    words = query.split()
    expected = [name for name, customer_name in database_order(site_engine)
                if all(fold(w) in fold(customer_name) for w in words)]  # fmt: skip
    assert set(expected) == {n for n, (cn, linked, disabled) in rows.items() if not linked and not disabled
                             and all(fold(w) in fold(cn) for w in words)}  # fmt: skip
    assert found(mirror, query) == expected
    assert found(mirror, query, limit=2, offset=1) == expected[1:3]


# --- the Lead search ----------------------------------------------------------------------------------------


def lead(name: str, lead_name: str, medusa_id: str | None, creation: datetime, email: str | None = None) -> MirrorLead:
    return MirrorLead(name, lead_name, None, email, None, None, medusa_id, creation, creation)


def test_leads_unlinked_first_then_newest_and_searchable(mirror: Mirror) -> None:
    mirror.upsert_leads([
        lead("L1", "Ann Old", "cus_1", T0),
        lead("L2", "Bob Held", "cus_2", T0 + timedelta(2)),
        lead("L3", "Cy New", "cus_3", T0 + timedelta(1), email="CY@X.example"),
        lead("L4", "No Id", "", T0 + timedelta(3)),
        lead("L5", "100% Lead", "cus_5", T0 - timedelta(1)),
    ])  # fmt: skip
    mirror.upsert_customers([cust("CUST-2", medusa_id="cus_2")])
    listed = mirror.search_medusa_leads("", unlinked_only=False, limit=10, offset=0)
    assert [(x.name, x.customer) for x in listed] == [("L3", None), ("L1", None), ("L5", None), ("L2", "CUST-2")]
    assert [x.name for x in mirror.search_medusa_leads("", unlinked_only=True, limit=10, offset=0)] == [
        "L3",
        "L1",
        "L5",
    ]
    assert [x.name for x in mirror.search_medusa_leads("", unlinked_only=False, limit=2, offset=1)] == ["L1", "L5"]
    assert [x.name for x in mirror.search_medusa_leads("cy@x", unlinked_only=False, limit=10, offset=0)] == ["L3"]
    assert [x.name for x in mirror.search_medusa_leads("CUS_2", unlinked_only=False, limit=10, offset=0)] == ["L2"]
    assert [x.name for x in mirror.search_medusa_leads("%", unlinked_only=False, limit=10, offset=0)] == ["L5"]
    assert mirror.search_medusa_leads("_", unlinked_only=False, limit=10, offset=0)[0].name == "L3"  # cus_3...
    assert [x.name for x in mirror.search_medusa_leads("0% l", unlinked_only=False, limit=10, offset=0)] == ["L5"]
