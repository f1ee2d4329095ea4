"""The typeahead's gram index: kept by the database for any writer, and never changing an answer.

Both plans (the ordered walk and the gram index) are forced in turn and must give exactly what a plain
Python filter gives: every word of the query a case-insensitive substring of customer_name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.grams import fold, pair_tokens
from erpnext_medusa.store.sql.search import CustomerSearch
from tests.helpers import execute, rows

INSERT = (
    'INSERT INTO "tabCustomer" (name, customer_name, medusa_id, disabled, creation, modified, owner, '
    "modified_by, docstatus, idx) VALUES (:name, :customer_name, :medusa_id, :disabled, "
    "'2026-01-02 03:04:05', '2026-01-02 03:04:05', 'Administrator', 'Administrator', 0, 0)"
)


@contextmanager
def plan(search: CustomerSearch, which: str) -> Iterator[None]:
    """Force one plan: ``grams`` (the gram index alone) or ``ordered`` (a walk through every row)."""
    saved = search.probe_rows, search.walk_cost, search.gram_cost
    search.refresh_statistics()
    if which == "grams":
        search.probe_rows, search.gram_cost = 0, 0.0
    else:
        search.probe_rows, search.walk_cost = 10**9, 0.0
    try:
        yield
    finally:
        search.probe_rows, search.walk_cost, search.gram_cost = saved


def names(services: Services, query: str, *, limit: int = 50, offset: int = 0) -> list[str]:
    found = services.store.search_unlinked_customers(query.split(), limit=limit, offset=offset)
    return [c.name for c in found]


def insert(services: Services, name: str, customer_name: str, medusa_id: str | None = None, disabled: int = 0) -> None:
    execute(services, INSERT, name=name, customer_name=customer_name, medusa_id=medusa_id, disabled=disabled)


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
    for i, sample in enumerate(samples):
        if dialect in t.MARIADB:
            (row,) = rows(services, 'SELECT lower(customer_name) AS f, "medusa_search_grams" AS g FROM "tabCustomer" '
                          "WHERE name = :n", n=f"CUST-{i}")  # fmt: skip
            stored = set(row["g"].split()) - {"b"}
            assert stored == set(pair_tokens(row["f"])), sample
        elif dialect == "postgresql":
            (row,) = rows(services, 'SELECT lower(customer_name) AS f, erpnext_medusa_grams(lower(customer_name)) AS g '
                          'FROM "tabCustomer" WHERE name = :n', n=f"CUST-{i}")  # fmt: skip
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


def test_a_sqlite_writer_without_the_fold_function_is_refused(services: Services, backend: str) -> None:
    """On SQLite the triggers need the service's fold; another program is stopped, not left with a stale index."""
    if backend != "sqlite":
        return
    import sqlite3

    path = services.store.engine.url.database
    assert path
    raw = sqlite3.connect(path)
    try:
        raw.execute(INSERT.replace(":name", "'X'").replace(":customer_name", "'Y'").replace(":medusa_id", "NULL")
                    .replace(":disabled", "0"))  # fmt: skip
    except sqlite3.OperationalError as exc:
        assert "erpnext_medusa_search_grams" in str(exc)
    else:
        raise AssertionError("the insert went through without the search index")
    finally:
        raw.close()
    assert rows(services, 'SELECT name FROM "tabCustomer"') == []


# Characters every backend folds the way Python's lower() does (SQLite: casefold), plus LIKE's own specials.
ALPHABET = st.sampled_from(list("aAbBzZéÉöÖñÑßçÇ") + list("محمدعلي") + list("%_/\\'\"-.0 ") + ["\t"])
NAMES = st.text(ALPHABET, min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def reference(name: str, query: str, backend: str) -> bool:
    folded = (lambda s: s.casefold()) if backend == "sqlite" else (lambda s: s.lower())
    return all(folded(word) in folded(name) for word in query.split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    population=st.lists(st.tuples(NAMES, st.booleans(), st.booleans()), min_size=1, max_size=8),
)
def test_every_plan_answers_as_the_python_reference(services: Services, backend: str, data: st.DataObject,
                                                     population: list[tuple[str, bool, bool]]) -> None:  # fmt: skip
    with services.store.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {services.store.engine.dialect.identifier_preparer.quote('tabCustomer')}"))
    for i, (customer_name, linked, disabled) in enumerate(population):
        insert(services, f"C{i:02d}", customer_name, f"cus_{i}" if linked else None, int(disabled))
    fragments = [n[a:b] for n, _, _ in population for a in range(len(n)) for b in range(a + 1, min(len(n), a + 4) + 1)]
    query = data.draw(st.one_of(st.sampled_from(fragments), st.text(ALPHABET, max_size=8)), label="query")
    expected = {
        f"C{i:02d}"
        for i, (customer_name, linked, disabled) in enumerate(population)
        if not linked and not disabled and reference(customer_name, query, backend)
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
