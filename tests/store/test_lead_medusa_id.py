"""Migration 0005: one Lead per non-empty medusa_id, enforced by the database on every backend, and refused with a
listing while existing Leads share an id. Each test on a throw-away database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import MigrationError, current_revision, pending, upgrade
from tests.store.erpnext_db import execute, fetch, index_names, insert

UNIQUE = "lead_medusa_id_unique"


@pytest.fixture
def at_0004(databases) -> Iterator[sa.Engine]:
    """A database whose schema stops at the revision before the Lead rule."""
    engine = make_engine(databases.new())
    upgrade(engine, revision="0004")
    yield engine
    engine.dispose()


def _lead(name: str, medusa_id: str | None) -> dict[str, Any]:
    return {"name": name, "lead_name": name, "medusa_id": medusa_id, "status": "Lead"}


def test_leads_sharing_a_medusa_id_stop_the_upgrade_with_a_listing(at_0004):
    insert(
        at_0004,
        "tabLead",
        _lead("CRM-LEAD-2026-00001", "cus_DUP"),
        _lead("CRM-LEAD-2026-00002", "cus_DUP"),
        _lead("CRM-LEAD-2026-00003", "cus_OK"),
        _lead("CRM-LEAD-2026-00004", ""),
        _lead("CRM-LEAD-2026-00005", ""),
        _lead("CRM-LEAD-2026-00006", None),
        _lead("CRM-LEAD-2026-00007", None),
        _lead("CRM-LEAD-2026-00008", "CUS_DUP"),  # differs in case only: not a duplicate
    )
    before = fetch(at_0004, 'SELECT name, medusa_id FROM "tabLead" ORDER BY name')

    with pytest.raises(MigrationError) as caught:
        upgrade(at_0004)
    message = str(caught.value)
    assert message.startswith("Cannot enforce one Lead per medusa_id")
    assert "medusa_id 'cus_DUP': Leads CRM-LEAD-2026-00001, CRM-LEAD-2026-00002" in message
    assert "cus_OK" not in message and "CUS_DUP" not in message and "00004" not in message
    assert "erpnext-medusa db upgrade" in message
    assert current_revision(at_0004) == "0004"
    assert UNIQUE not in index_names(at_0004, "tabLead")
    assert fetch(at_0004, 'SELECT name, medusa_id FROM "tabLead" ORDER BY name') == before

    execute(at_0004, """UPDATE "tabLead" SET medusa_id = NULL WHERE name = 'CRM-LEAD-2026-00002'""")
    upgrade(at_0004)
    assert pending(at_0004) is False
    assert UNIQUE in index_names(at_0004, "tabLead")


def test_the_database_allows_one_lead_per_non_empty_medusa_id(at_0004):
    upgrade(at_0004)
    insert(at_0004, "tabLead", _lead("A", "cus_1"), _lead("B", "cus_2"))
    with pytest.raises(IntegrityError):
        insert(at_0004, "tabLead", _lead("C", "cus_1"))
    with pytest.raises(IntegrityError):
        execute(at_0004, """UPDATE "tabLead" SET medusa_id = 'cus_1' WHERE name = 'B'""")
    # Empty strings and NULLs repeat freely; ids that differ in case or accents are different ids.
    insert(at_0004, "tabLead", *(_lead(f"E{i}", "") for i in range(3)), *(_lead(f"N{i}", None) for i in range(3)))
    insert(at_0004, "tabLead", _lead("U", "CUS_1"), _lead("V", "cüs_1"))
    assert len(fetch(at_0004, 'SELECT name FROM "tabLead"')) == 10


def test_the_upgrade_can_be_run_again_after_stopping_half_way(at_0004):
    upgrade(at_0004)
    with at_0004.begin() as conn:  # as a MariaDB run that stopped after its first statement would leave it
        conn.exec_driver_sql("DROP TABLE erpnext_medusa_intake_event")
        conn.exec_driver_sql("UPDATE erpnext_medusa_alembic_version SET version_num = '0004'")
    assert pending(at_0004) is True
    upgrade(at_0004)
    assert pending(at_0004) is False
    assert "erpnext_medusa_intake_event" in sa.inspect(at_0004).get_table_names()
    assert UNIQUE in index_names(at_0004, "tabLead")
