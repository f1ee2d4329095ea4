"""``erpnext-medusa audit`` and the API key expiry options, on a SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.web.app import create_app
from tests.helpers import (
    TEST_HOST,
    address,
    assert_clean_exit,
    assert_clean_failure,
    create_key,
    customer,
    flat,
    invoke,
    query,
    seed,
)

UPDATE = "/api/method/medusa_integration.api.update_address"


def _write_some(path) -> None:
    assert_clean_exit(invoke("db", "upgrade"))
    services = Services.from_settings(Settings(database_url=f"sqlite:///{path}", allowed_hosts=TEST_HOST))
    try:
        seed(services, customer("Acme"), customer("Bolt"), address("Acme", "Acme"), address("Bolt", "Bolt"))
        with TestClient(create_app(services=services)) as client:
            client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"}, headers={"X-Request-Id": "r-acme"})
            client.post(UPDATE, json={"customer_id": "Bolt", "city": "Ajman"}, headers={"X-Request-Id": "r-bolt"})
    finally:
        services.close()


def test_audit_lists_every_write_with_who_what_and_request(db_file):
    _write_some(db_file)
    result = invoke("audit")
    assert_clean_exit(result)
    text = flat(result.output)
    assert re.search(r"update_address Guest from testclient request [0-9a-f]{32} \(client's id r-acme\)", text)
    assert "Address/Acme-Billing: city: 'Dubai' -> 'Sharjah'" in text
    assert "Address/Bolt-Billing: city: 'Dubai' -> 'Ajman'" in text
    assert text.index("r-acme") < text.index("r-bolt")  # oldest first


def test_audit_json_and_filters(db_file):
    _write_some(db_file)
    result = invoke("audit", "--customer", "Bolt", "--json")
    assert_clean_exit(result)
    (line,) = result.stdout.splitlines()
    entry = json.loads(line)
    assert (entry["customer"], entry["client_request_id"], entry["user"]) == ("Bolt", "r-bolt", "Guest")
    assert len(entry["request_id"]) == 32
    assert entry["changes"] == {"Address/Bolt-Billing": {"city": ["Dubai", "Ajman"]}}
    assert len(invoke("audit", "--since", "1h", "--json").stdout.splitlines()) == 2
    assert invoke("audit", "--since", "2999-01-01", "--json").stdout == ""
    assert len(invoke("audit", "--since", "2000-01-01T00:00:00+04:00", "--json").stdout.splitlines()) == 2


def test_audit_refuses_a_since_it_cannot_read(db_file):
    assert_clean_exit(invoke("db", "upgrade"))
    result = invoke("audit", "--since", "last tuesday")
    assert_clean_failure(result)
    assert "neither a duration" in flat(result.output)


def test_audit_prune_needs_a_retention_and_deletes_older_rows(db_file, monkeypatch):
    _write_some(db_file)
    assert_clean_failure(invoke("audit", "prune"))
    old = (datetime.now() - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S")
    conn = sqlite3.connect(db_file)
    conn.execute("UPDATE erpnext_medusa_audit SET at = ? WHERE client_request_id = 'r-acme'", (old,))
    conn.commit()
    conn.close()
    monkeypatch.setenv("ERPNEXT_MEDUSA_AUDIT_RETENTION_DAYS", "30")
    result = invoke("audit", "prune")
    assert_clean_exit(result)
    assert "Deleted 1 audit rows" in flat(result.output)
    assert query(db_file, "SELECT client_request_id FROM erpnext_medusa_audit") == [("r-bolt",)]


def test_api_key_create_with_expiry_and_list_shows_it(db_file):
    created = json.loads(invoke("api-key", "create", "--user", "u@x", "--expires", "30d", "--json").stdout)
    expires = datetime.fromisoformat(created["expires"])
    assert timedelta(days=29, hours=23) < expires - datetime.now() <= timedelta(days=30)
    fixed = create_key("v@x")
    listing = invoke("api-key", "list")
    assert_clean_exit(listing)
    header, *lines = listing.stdout.splitlines()
    assert header.split() == ["api_key", "user", "created", "last", "used", "expires", "revoked"]
    by_key = {line.split()[0]: line for line in lines}
    assert f"{expires:%Y-%m-%d %H:%M}" in by_key[created["api_key"]]
    assert by_key[fixed["api_key"]].split()[-2:] == ["-", "-"]  # never expires, not revoked


def test_api_key_create_refuses_a_past_or_unreadable_expiry(db_file):
    for bad in ("2001-01-01", "soon", "-5d"):
        result = invoke("api-key", "create", "--user", "u@x", "--expires", bad)
        assert_clean_failure(result)
    assert query(db_file, "SELECT COUNT(*) FROM erpnext_medusa_api_key") == [(0,)]
