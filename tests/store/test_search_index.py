"""The typeahead's gram index and gram ranges: kept for any writer, and never changing an answer.

Both plans (the ordered walk between the gram ranges, and the gram index) are forced in turn and must give
exactly what a plain Python filter gives: every word of the query a case-insensitive substring of
customer_name, also after rows are written with plain SQL by another program (on SQLite, a connection
without any of the service's functions).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from erpnext_medusa.domain.errors import QueryTimeoutError
from erpnext_medusa.domain.text import fold
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import search_queue
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.grams import name_grams, pair_tokens
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.store.sql.search import standalone_search
from tests.helpers import execute, rows
from tests.store.plans import plan

INSERT = (
    'INSERT INTO "tabCustomer" (name, customer_name, medusa_id, disabled, creation, modified, owner, '
    "modified_by, docstatus, idx) VALUES (:name, :customer_name, :medusa_id, :disabled, "
    "'2026-01-02 03:04:05', '2026-01-02 03:04:05', 'Administrator', 'Administrator', 0, 0)"
)


def names(services: Services, query: str, *, limit: int = 50, offset: int = 0) -> list[str]:
    found = services.store.search_unlinked_customers(query.split(), limit=limit, offset=offset)
    return [c.name for c in found]


def insert(services: Services, name: str, customer_name: str, medusa_id: str | None = None, disabled: int = 0) -> None:
    execute(services, INSERT, name=name, customer_name=customer_name, medusa_id=medusa_id, disabled=disabled)


def other_program(services: Services, sql: str, **params: Any) -> None:
    """Write as another program would: on SQLite through a connection of its own, without the service's
    functions; elsewhere with plain SQL (the database's triggers are the same for every connection)."""
    if services.store.dialect != "sqlite":
        execute(services, sql, **params)
        return
    path = services.store.engine.url.database
    assert path
    raw = sqlite3.connect(path)
    try:
        with raw:
            raw.execute(sql, params)
    finally:
        raw.close()


def test_plain_sql_writes_are_searchable_at_once(services: Services) -> None:
    search = services.store.search
    insert(services, "CUST-1", "Zubair Qahtani Trading")
    insert(services, "CUST-2", "مؤسسة الزبير")
    with plan(search, "grams"):
        assert names(services, "qah") == ["CUST-1"]
        assert names(services, "z") == ["CUST-1"]
        assert names(services, "الزب") == ["CUST-2"]

        execute(services, 'UPDATE "tabCustomer" SET customer_name = :n WHERE name = :k', n="Yusra Foods", k="CUST-1")
        assert names(services, "qah") == []
        assert names(services, "yusra foo") == ["CUST-1"]

        execute(services, 'UPDATE "tabCustomer" SET name = :new WHERE name = :old', new="CUST-9", old="CUST-1")
        assert names(services, "yusra") == ["CUST-9"]

        execute(services, 'UPDATE "tabCustomer" SET medusa_id = :m WHERE name = :k', m="cus_01", k="CUST-9")
        assert names(services, "yusra") == []
        execute(services, 'UPDATE "tabCustomer" SET medusa_id = NULL WHERE name = :k', k="CUST-9")
        assert names(services, "yusra") == ["CUST-9"]

        execute(services, 'UPDATE "tabCustomer" SET disabled = 1 WHERE name = :k', k="CUST-9")
        assert names(services, "yusra") == []

        execute(services, 'DELETE FROM "tabCustomer" WHERE name = :k', k="CUST-2")
        assert names(services, "الزب") == []
        insert(services, "CUST-2", "Another Name")
        assert names(services, "الزب") == []
        assert names(services, "anoth") == ["CUST-2"]


def test_database_spells_the_grams_as_the_service_does(services: Services) -> None:
    """The tokens the database derives for a name are the ones the service looks up for its words."""
    samples = ["Ahmed O'Brien", "ÉCOLE Ünal", "شركة النور", "50% off_sale", "a", "𝒜bc Ω"]
    for i, sample in enumerate(samples):
        insert(services, f"CUST-{i}", sample)
    dialect = services.store.dialect
    names(services, "")  # SQLite indexes the queued rows before a search
    for i, sample in enumerate(samples):
        for gram in name_grams(fold(sample)):
            covering = rows(services, f'SELECT gram FROM "{t.GRAM_RANGE_TABLE}" WHERE gram = :g '
                            "AND first_name <= :n AND last_name >= :n", g=gram, n=sample)  # fmt: skip
            assert len(covering) == 1, (sample, gram)
        if dialect in t.MARIADB:  # the key table's folded name and its tokens, as the service spells them
            (row,) = rows(services, f'SELECT folded AS f, tokens AS g FROM "{t.SEARCH_KEY_TABLE}" WHERE name = :n',
                          n=f"CUST-{i}")  # fmt: skip
            assert row["f"] == fold(sample)
            assert row["g"].split() == pair_tokens(fold(sample)), sample
        elif dialect == "postgresql":
            (row,) = rows(services, 'SELECT erpnext_medusa_fold(customer_name) AS f, '
                          'erpnext_medusa_grams(erpnext_medusa_fold(customer_name)) AS g '
                          'FROM "tabCustomer" WHERE name = :n', n=f"CUST-{i}")  # fmt: skip
            assert row["f"] == fold(sample)
            assert set(row["g"]) == services.store.search.flavour.name_keys(row["f"]), sample
        else:  # the FTS5 row of each name answers to every one of its tokens
            for token in pair_tokens(fold(sample)):
                found = rows(services, f'SELECT k.name FROM "{t.SEARCH_FTS_TABLE}" f JOIN "{t.SEARCH_KEY_TABLE}" k '
                             f'ON k.id = f.rowid WHERE "{t.SEARCH_FTS_TABLE}" MATCH :m', m=token)  # fmt: skip
                assert f"CUST-{i}" in {r["name"] for r in found}, (sample, token)
    for sample in samples:
        for word in sample.split():
            with plan(services.store.search, "grams"):
                assert any(n.startswith("CUST-") for n in names(services, word)), (sample, word)


def test_another_program_writes_and_the_next_search_sees_it(services: Services, backend: str) -> None:
    """On SQLite the triggers use built-in functions only: a program without the service's functions (the
    sqlite3 shell, a script, Frappe) writes freely, and the service indexes its rows before it searches."""
    insert(services, "CUST-1", "Early Bird")
    assert names(services, "bird") == ["CUST-1"]
    other_program(services, INSERT, name="CUST-2", customer_name="Ärger Büro", medusa_id=None, disabled=0)
    other_program(services, INSERT, name="CUST-3", customer_name="مكتب الفجر", medusa_id=None, disabled=0)
    for which in ("grams", "ordered"):
        with plan(services.store.search, which):
            assert names(services, "ärg") == ["CUST-2"]
            assert names(services, "الفج") == ["CUST-3"]
    other_program(services, 'UPDATE "tabCustomer" SET customer_name = :n WHERE name = :k', n="Zeta Bird", k="CUST-2")
    other_program(services, 'UPDATE "tabCustomer" SET name = :new WHERE name = :old', new="CUST-4", old="CUST-3")
    other_program(services, 'DELETE FROM "tabCustomer" WHERE name = :k', k="CUST-1")
    for which in ("grams", "ordered"):
        with plan(services.store.search, which):
            assert names(services, "bird") == ["CUST-2"]
            assert names(services, "ärg") == []
            assert names(services, "الفج") == ["CUST-4"]
    if backend == "sqlite":
        assert rows(services, f'SELECT name FROM "{t.SEARCH_QUEUE_TABLE}"') == []


def test_a_gram_no_name_holds_answers_at_once(services: Services) -> None:
    """A word with a gram no name holds matches nothing, and no plan runs."""
    insert(services, "CUST-1", "Acme Trading")
    plans: list[str] = []
    services.store.search.on_plan = plans.append
    assert names(services, "acme") == ["CUST-1"]
    assert names(services, "acme zq") == []
    assert plans[-1] == "none"
    other_program(services, INSERT, name="CUST-2", customer_name="Zqa Acme", medusa_id=None, disabled=0)
    assert names(services, "acme zq") == ["CUST-2"]


# Accents, the casefold's own cases (sharp s, final sigma, the dotted capital I), compatibility forms (a
# ligature, a superscript, full-width letters), Arabic spelling variants, vowel marks and digits, plus LIKE's
# own specials.
ALPHABET = st.sampled_from(
    list("aAbBzZeéÉöÖñÑßẞçÇÅ")
    + list("İiIıΣσςﬁ²ＡａＢ")
    + list("محمدعليأاةهىـَ")
    + list("١۱1")
    + list("%_/\\'\"-.0 ")
    + ["\t", "\u0301"]
)
NAMES = st.text(ALPHABET, min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def reference(name: str, query: str) -> bool:
    return all(fold(word) in fold(name) for word in query.split())


#: What another program may do to a Customer between two searches.
CHANGES = st.one_of(
    st.tuples(st.just("insert"), NAMES),
    st.tuples(st.just("rename"), NAMES),
    st.tuples(st.just("delete"), st.just("")),
    st.tuples(st.just("link"), st.just("")),
    st.tuples(st.just("unlink"), st.just("")),
)


def answers_match(services: Services, data: st.DataObject, population: dict[str, tuple[str, bool, bool]]) -> None:
    fragments = [
        n[a:b] for n, _, _ in population.values() for a in range(len(n)) for b in range(a + 1, min(len(n), a + 4) + 1)
    ]
    choices = st.text(ALPHABET, max_size=8)
    query = data.draw(st.one_of(st.sampled_from(fragments), choices) if fragments else choices, label="query")
    expected = {
        name
        for name, (customer_name, linked, disabled) in population.items()
        if not linked and not disabled and reference(customer_name, query)
    }
    search = services.store.search
    answers = {}
    for which in ("grams", "ordered", "default"):
        if which == "default":
            answers[which] = names(services, query)
            continue
        with plan(search, which):
            answers[which] = names(services, query)
            page = names(services, query, limit=2, offset=1)
            assert page == answers[which][1:3]
    assert set(answers["default"]) == expected
    assert answers["grams"] == answers["ordered"] == answers["default"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    initial=st.lists(st.tuples(NAMES, st.booleans(), st.booleans()), min_size=1, max_size=8),
    changes=st.lists(st.tuples(CHANGES, st.integers(0, 20)), max_size=3),
)
def test_every_plan_answers_as_the_python_reference(services: Services, data: st.DataObject,
                                                    initial: list[tuple[str, bool, bool]],
                                                    changes: list[tuple[tuple[str, str], int]]) -> None:  # fmt: skip
    """Rows inserted, renamed, deleted, linked and unlinked by another program between searches: every plan
    still answers exactly (the ranges only widen, and SQLite's and MariaDB's queue is indexed before each search)."""
    with services.store.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {services.store.engine.dialect.identifier_preparer.quote('tabCustomer')}"))
    population = {f"C{i:02d}": row for i, row in enumerate(initial)}
    for name, (customer_name, linked, disabled) in population.items():
        insert(services, name, customer_name, f"cus_{name}" if linked else None, int(disabled))
    answers_match(services, data, population)
    inserted = 0
    for (change, customer_name), pick in changes:
        existing = sorted(population)
        target = existing[pick % len(existing)] if existing else None
        if change == "insert" or target is None:
            target = f"N{inserted:02d}"  # unique: a count of inserts, never reused after a delete
            inserted += 1
            other_program(services, INSERT, name=target, customer_name=customer_name or "x", medusa_id=None, disabled=0)
            population[target] = (customer_name or "x", False, False)
        elif change == "rename":
            other_program(services, 'UPDATE "tabCustomer" SET customer_name = :n WHERE name = :k', n=customer_name,
                          k=target)  # fmt: skip
            population[target] = (customer_name, *population[target][1:])
        elif change == "delete":
            other_program(services, 'DELETE FROM "tabCustomer" WHERE name = :k', k=target)
            del population[target]
        else:
            medusa_id = f"cus_x{target}" if change == "link" else None
            other_program(services, 'UPDATE "tabCustomer" SET medusa_id = :m WHERE name = :k', m=medusa_id, k=target)
            _, _, disabled = population[target]
            population[target] = (population[target][0], change == "link", disabled)
        answers_match(services, data, population)


def test_analyze_refreshes_the_planner_statistics(services: Services, backend: str) -> None:
    for i in range(30):
        insert(services, f"CUST-{i}", f"Name {i}")
    services.store.analyze(["Customer"])
    if backend == "postgresql":
        (row,) = rows(services, "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'tabCustomer'")
        assert row["last_analyze"] is not None
    elif backend in ("mysql", "mariadb"):
        (row,) = rows(services, "SELECT n_rows FROM mysql.innodb_table_stats WHERE database_name = DATABASE() "
                      "AND table_name = 'tabCustomer'")  # fmt: skip
        assert row["n_rows"] == 30
    else:  # SQLite plans without statistics: nothing is written
        assert rows(services, "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'") == []


def test_a_statement_that_runs_too_long_is_stopped(services: Services, backend: str) -> None:
    """Each database stops a search's statement at the time limit, its own way, and the search says so; the
    connection is usable afterwards."""
    search = standalone_search(services.store.catalog, statement_timeout_ms=200)
    slow = {
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
        "SELECT count(*) FROM n",
        "postgresql": "SELECT pg_sleep(5)",
    }.get(backend, "SELECT SLEEP(5)")
    started = time.monotonic()
    with search.engine.connect() as conn:
        with pytest.raises(QueryTimeoutError), search._time_limit(conn):
            conn.execute(text(slow))
        conn.rollback()
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert time.monotonic() - started < 3


def test_the_search_folds_accents_arabic_spellings_and_digits(services: Services, backend: str) -> None:
    """Every database's index folds names with the service's search fold."""
    stored = ["Élodie Dupont", "Ångström AB", "شركة ١٢٣", "أحمد", "أسامة", "مصطفى", "مُحَمَّد", "محـمد"]
    for i, customer_name in enumerate(stored):
        insert(services, f"CUST-{i}", customer_name)
    typed = {"elodie": ["CUST-0"], "ANGSTROM": ["CUST-1"], "123": ["CUST-2"], "شركه": ["CUST-2"], "احمد": ["CUST-3"],
             "اسامه": ["CUST-4"], "مصطفي": ["CUST-5"], "محمد": ["CUST-6", "CUST-7"]}  # fmt: skip
    for word, expected in typed.items():
        for which in ("grams", "ordered"):
            with plan(services.store.search, which):
                found = names(services, word)
            assert sorted(found) == expected, (word, which)
    assert names(services, "ÉLODIE") == ["CUST-0"]  # typed as stored: found on every database


def test_revision_0011_indexes_every_customer_again_with_the_search_fold(databases) -> None:
    """A SQLite index built with the earlier case fold is emptied, and the upgrade indexes every Customer."""
    engine = make_engine(databases.new())
    try:
        upgrade(engine, revision="0010")
        if databases.backend != "sqlite":  # 0011 changes SQLite only
            assert upgrade(engine, revision="0011").applied == ("0011",)
            return
        with engine.begin() as conn:
            conn.execute(text(INSERT), {"name": "C1", "customer_name": "Élodie", "medusa_id": None, "disabled": 0})
            search_queue.catch_up(conn)
            # What 0009's service stored: the case fold alone.
            conn.execute(text(f'UPDATE "{t.SEARCH_KEY_TABLE}" SET folded = :f'), {"f": "élodie"})
            conn.execute(text(f'DELETE FROM "{t.GRAM_RANGE_TABLE}"'))
        assert upgrade(engine).applied == ("0011", "0012", "0013")  # 0012 changes PostgreSQL, 0013 MariaDB
        with engine.connect() as conn:
            assert conn.execute(text(f'SELECT folded FROM "{t.SEARCH_KEY_TABLE}"')).scalars().all() == ["elodie"]
            grams = set(conn.execute(text(f'SELECT gram FROM "{t.GRAM_RANGE_TABLE}"')).scalars())
            assert not search_queue.pending(conn)
        assert grams == name_grams("elodie")
    finally:
        engine.dispose()
