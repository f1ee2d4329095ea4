"""``db upgrade`` on an ERPNext site's database says, object by object, what it took off the site's tables and
what to set next; then ``serve`` and every command that writes documents stop with one clear message."""

from __future__ import annotations

import json

import pytest

from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.site import ERPNEXT_SITE_REFUSAL
from tests.helpers import TestDatabases, assert_clean_exit, assert_clean_failure, flat, invoke
from tests.store.test_leave_erpnext import expected_removed, old_deployment


@pytest.fixture
def site(databases: TestDatabases, db_file, monkeypatch):
    """A site's database as today's head left it, named by the environment as a user would."""
    url = databases.new()
    engine = make_engine(url)
    try:
        old_deployment(engine)
        removed = set() if engine.dialect.name == "sqlite" else expected_removed(engine)  # no SQLite sites
    finally:
        engine.dispose()
    monkeypatch.setenv("ERPNEXT_MEDUSA_DATABASE_URL", url.render_as_string(hide_password=False))
    return removed


def test_db_upgrade_lists_what_it_removed_and_what_to_set_next(site):
    result = invoke("db", "upgrade")
    assert_clean_exit(result)
    lines = result.output.splitlines()
    assert lines[0] == "Upgraded from 0007 to 0013; new tables erpnext_medusa_outbound, erpnext_medusa_outbox."
    listed = [line.removeprefix("  - ") for line in lines if line.startswith("  - ")]
    kept = [entry for entry in listed if entry.startswith("column ")]
    assert set(listed) - set(kept) == site
    if site:
        assert "Removed from the ERPNext site's tables:" in lines
        assert [k.split(",")[0] for k in kept] == ["column tabCustomer.medusa_id", "column tabLead.medusa_id"]
    assert flat(result.output).endswith(f"Next: {ERPNEXT_SITE_REFUSAL}")

    again = invoke("db", "upgrade")
    assert_clean_exit(again)
    assert flat(again.output) == f"Schema is up to date (revision 0013). Next: {ERPNEXT_SITE_REFUSAL}"


@pytest.mark.parametrize("command", [["serve"], ["demo"], ["import", "docs.json"]])
def test_serving_or_writing_documents_is_refused_on_a_site(site, tmp_path, command):
    (tmp_path / "docs.json").write_text(json.dumps([{"doctype": "Customer", "customer_name": "Nadia"}]))
    assert_clean_exit(invoke("db", "upgrade"))
    result = invoke(*command)
    assert_clean_failure(result)
    assert flat(result.output) == f"error: {ERPNEXT_SITE_REFUSAL}"
