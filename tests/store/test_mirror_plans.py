"""The mirror's typeahead through the planner (store/sql/search.py over store/sql/mirror_grams.py), on SQLite,
PostgreSQL and MariaDB: every plan answers as a Python filter over the same rows, through inserts, renames,
links and deletes; the gram index and the gram ranges the writes keep agree with grams.py's rules; revision
s0004 builds both for rows written before it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpnext_medusa.domain.text import fold
from erpnext_medusa.store.sql import site_tables
from erpnext_medusa.store.sql.grams import name_grams, pair_tokens
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.store.sql.mirror import Mirror
from tests.store.mirrored import ALPHABET, NAMES, NOW, T0, cust
from tests.store.plans import plan

CHANGES = st.one_of(
    st.tuples(st.just("insert"), NAMES),
    st.tuples(st.just("rename"), NAMES),
    st.tuples(st.just("delete"), st.just("")),
    st.tuples(st.just("link"), st.just("")),
    st.tuples(st.just("disable"), st.just("")),
)


def _names(mirror: Mirror, query: str, **page: int) -> list[str]:
    limit, offset = page.get("limit", 50), page.get("offset", 0)
    return [c.name for c in mirror.search_unlinked_customers(query.split(), limit=limit, offset=offset)]


def _in_order(engine: sa.Engine) -> list[tuple[str, str]]:
    c = site_tables.customer.c
    query = sa.select(c.name, c.customer_name).where(c.searchable == 1).order_by(c.sort_name, c.name)
    with engine.connect() as conn:
        return [(r.name, r.customer_name) for r in conn.execute(query)]


def _every_plan_answers(mirror: Mirror, engine: sa.Engine, query: str) -> None:
    words = query.split()
    expected = [n for n, cn in _in_order(engine) if all(fold(w) in fold(cn) for w in words)]
    answers: dict[str, list[str]] = {"default": _names(mirror, query)}
    for which in ("grams", "ordered"):
        with plan(mirror.search, which):
            answers[which] = _names(mirror, query)
            assert _names(mirror, query, limit=2, offset=1) == answers[which][1:3], which
    assert answers == {"default": expected, "grams": expected, "ordered": expected}, query


def _clear(mirror: Mirror) -> None:
    mirror.delete_customers(mirror.customer_names(after=None, limit=10_000))


def _query(data: st.DataObject, population: dict[str, tuple[str, bool, bool]]) -> str:
    fragments = [n[a:b] for n, _, _ in population.values() for a in range(len(n)) for b in range(a + 1, len(n) + 1)]
    choices = st.text(ALPHABET, max_size=8)
    return data.draw(st.one_of(st.sampled_from(fragments), choices) if fragments else choices, label="query")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    initial=st.lists(st.tuples(NAMES, st.booleans(), st.booleans()), min_size=1, max_size=8),
    changes=st.lists(st.tuples(CHANGES, st.integers(0, 20)), max_size=3),
)
def test_every_plan_answers_as_the_python_reference_through_writes(
    site_engine: sa.Engine, data: st.DataObject, initial: list[tuple[str, bool, bool]],
    changes: list[tuple[tuple[str, str], int]],
) -> None:  # fmt: skip
    mirror = Mirror(site_engine, clock=lambda: NOW)
    _clear(mirror)
    population = {f"C{i:02d}": row for i, row in enumerate(initial)}

    def write(name: str, version: int) -> None:
        customer_name, linked, disabled = population[name]
        medusa_id = f"cus_{name}" if linked else None
        mirror.upsert_customers([cust(name, customer_name, modified=T0 + timedelta(seconds=version),
                                      medusa_id=medusa_id, disabled=disabled)])  # fmt: skip

    for name in population:
        write(name, 0)
    _every_plan_answers(mirror, site_engine, _query(data, population))
    inserted = 0
    for version, ((change, customer_name), pick) in enumerate(changes, start=1):
        existing = sorted(population)
        target = existing[pick % len(existing)] if existing else None
        if change == "insert" or target is None:
            target = f"N{inserted:02d}"
            inserted += 1
            population[target] = (customer_name, False, False)
        elif change == "rename":
            population[target] = (customer_name, *population[target][1:])
        elif change == "delete":
            mirror.delete_customers([target])
            del population[target]
            target = None
        else:
            name, linked, disabled = population[target]
            population[target] = (name, linked or change == "link", disabled or change == "disable")
        if target is not None:
            write(target, version)
        _every_plan_answers(mirror, site_engine, _query(data, population))
    _the_index_agrees(site_engine)


def _the_index_agrees(engine: sa.Engine) -> None:
    """The gram index holds each row's keys by grams.py's rules, and every gram's range bounds every row."""
    c, r = site_tables.customer.c, site_tables.gram_range.c
    dialect = engine.dialect.name
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.literal_column("rowid") if dialect == "sqlite" else sa.literal(0),
                                      c.name, c.folded, c.sort_name, c.grams)).all()  # fmt: skip
        for rowid, name, folded, sort_name, grams in rows:
            assert folded is not None
            if dialect == "postgresql":
                assert grams == sorted(name_grams(folded)), name
            elif dialect == "sqlite":
                assert grams is None
                for token in pair_tokens(folded):
                    fts = site_tables.CUSTOMER_GRAMS_FTS
                    hits = conn.execute(sa.text(f'SELECT rowid FROM "{fts}" WHERE "{fts}" MATCH :t'), {"t": token})
                    assert rowid in set(hits.scalars()), (name, token)
            else:
                assert grams == " ".join(pair_tokens(folded)), name
            for gram in name_grams(folded):
                bounded = sa.select(sa.literal(sort_name).between(r.first_name, r.last_name)).where(r.gram == gram)
                assert conn.execute(bounded).scalar_one(), (name, gram)


def test_sqlite_forgets_the_tokens_of_deleted_and_renamed_rows(site_engine: sa.Engine) -> None:
    """A contentless FTS5 row is forgotten only when told its tokens: after renames and deletes no token of
    an old name is left behind (checked as row counts per token; elsewhere the index follows the rows)."""
    mirror = Mirror(site_engine, clock=lambda: NOW)
    _clear(mirror)
    mirror.upsert_customers([cust("A", "Zed Qux"), cust("B", "Zed Other")])
    mirror.upsert_customers([cust("A", "Plain", modified=T0 + timedelta(1))])
    mirror.delete_customers(["B"])
    assert _names(mirror, "zed") == []
    with plan(mirror.search, "grams"):
        assert _names(mirror, "zed") == [] and _names(mirror, "plain") == ["A"]
    if site_engine.dialect.name == "sqlite":
        fts = site_tables.CUSTOMER_GRAMS_FTS
        with site_engine.connect() as conn:
            for token in pair_tokens("zed"):
                hits = conn.execute(sa.text(f'SELECT count(*) FROM "{fts}" WHERE "{fts}" MATCH :t'), {"t": token})
                assert hits.scalar_one() == 0, token
    _the_index_agrees(site_engine)


def test_revision_s0004_indexes_the_rows_already_there(new_engine: Any) -> None:
    engine = new_engine()
    upgrade(engine, track="site", revision="s0003")
    names = {"C1": "Élodie Dupont", "C2": "شركة ١٢٣", "C3": "Zed", "C4": "Élan Vital", "C5": ""}
    with engine.begin() as conn:
        conn.execute(sa.insert(site_tables.customer), [
            {"name": n, "customer_name": cn, "folded": fold(cn), "sort_name": cn, "disabled": 0, "searchable": 1,
             "modified": T0, "synced_at": NOW} for n, cn in names.items()
        ])  # fmt: skip
    assert upgrade(engine, track="site").applied == ("s0004", "s0005")
    _the_index_agrees(engine)
    mirror = Mirror(engine, clock=lambda: NOW)
    for which in ("grams", "ordered"):
        with plan(mirror.search, which):
            assert _names(mirror, "el") == ["C4", "C1"], which  # Élan before Élodie
            assert _names(mirror, "123") == ["C2"], which
            assert _names(mirror, "zz") == [], which
    _downgrade(engine, "s0003")  # and back: the index and ranges are gone
    tables = set(sa.inspect(engine).get_table_names())
    assert site_tables.gram_range.name not in tables and site_tables.CUSTOMER_GRAMS_FTS not in tables
    assert "grams" not in {col["name"] for col in sa.inspect(engine).get_columns(site_tables.customer.name)}


def test_the_ordered_walk_reads_only_its_index_on_sqlite(new_engine: Any) -> None:
    """Revision s0005: on SQLite the walk's index holds the folded name, so the walk never reads the table; the
    other databases keep the index of s0001."""
    engine = new_engine()
    upgrade(engine, track="site")
    index = site_tables.CUSTOMER_SEARCH_INDEX
    columns = {ix["name"]: ix["column_names"] for ix in sa.inspect(engine).get_indexes(site_tables.customer.name)}
    if engine.dialect.name != "sqlite":
        assert columns[index] == ["searchable", "sort_name", "name"]
        return
    assert columns[index] == ["searchable", "sort_name", "name", "folded"]
    search = Mirror(engine, clock=lambda: NOW).search
    values = {"limit": 20, "offset": 0, "first": "a", "last": "z", "w0": "an", "grams": "b00610062"}

    def steps(plan: str) -> list[str]:
        statement = search._statement(plan, 1).compile(engine)
        bound = statement.construct_params(values)
        with engine.connect() as conn:
            sql, args = f"EXPLAIN QUERY PLAN {statement.string}", [bound[k] for k in statement.positiontup or ()]
            return [row[-1] for row in conn.exec_driver_sql(sql, tuple(args))]

    assert any(f"USING COVERING INDEX {index} " in step for step in steps("ordered")), steps("ordered")
    # The gram plan fetches its candidates by rowid: the covering index must not tempt SQLite to walk it.
    mirror_table = site_tables.customer.name
    assert f"SEARCH {mirror_table} USING INTEGER PRIMARY KEY (rowid=?)" in steps("gram"), steps("gram")
    assert not any(index in step for step in steps("gram")), steps("gram")


def test_revision_s0005_rebuilds_the_walks_index_and_back(new_engine: Any) -> None:
    engine = new_engine()
    upgrade(engine, track="site", revision="s0004")
    index = site_tables.CUSTOMER_SEARCH_INDEX
    walked = ["searchable", "sort_name", "name"]

    def columns() -> list[str]:
        found = sa.inspect(engine).get_indexes(site_tables.customer.name)
        return next(ix["column_names"] for ix in found if ix["name"] == index)

    assert columns() == walked
    assert upgrade(engine, track="site").applied == ("s0005",)
    assert columns() == ([*walked, "folded"] if engine.dialect.name == "sqlite" else walked)
    _downgrade(engine, "s0004")
    assert columns() == walked


def _downgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(site_tables.__file__).with_name("site_migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
