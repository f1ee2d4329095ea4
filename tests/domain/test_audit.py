"""The audit trail: a row per write, in the write's own transaction; request ids; retention; the migration."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.domain.audit import AuditEntry
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.store.sql import migrate
from erpnext_medusa.store.sql.engine import make_engine
from erpnext_medusa.store.sql.migrate import upgrade
from tests.helpers import BARE_AUTHENTICATIONERROR, address, customer, execute, lead, rows, seed

UPDATE = "/api/method/medusa_integration.api.update_address"
LINK = "/api/method/medusa_integration.utils.link_medusa_lead"
PING = "/api/method/ping"


def audit(services, customer_name=None):
    return services.audit.list_audit(customer=customer_name, since=None, limit=1000)


def test_an_address_update_records_actor_request_and_old_and_new_values(services, client):
    seed(services, customer("Acme"), address("Acme", "Acme", state="Dubai Emirate"))
    r = client.post(
        UPDATE,
        json={"customer_id": "Acme", "city": "Sharjah", "state": None, "pincode": "12345", "country": "ae"},
        headers={"X-Request-Id": "req-42"},
    )
    assert r.json() == {"message": "Address updated successfully"}
    (entry,) = audit(services)
    assert (entry.action, entry.user, entry.client, entry.customer) == ("update_address", "Guest", "testclient", "Acme")
    # The server's own id, as the answer names it; the client's id is kept beside it, not instead of it.
    assert (entry.request_id, entry.client_request_id) == (r.headers["X-Request-Id"], "req-42")
    # country was already the United Arab Emirates: unchanged fields are not listed.
    assert entry.changes == {
        "Address/Acme-Billing": {
            "city": ["Dubai", "Sharjah"],
            "state": ["Dubai Emirate", None],
            "pincode": [None, "12345"],
        }
    }
    assert entry.documents == ["Address/Acme-Billing"]
    (row,) = rows(services, 'SELECT modified FROM "tabAddress"')
    assert str(entry.at) == str(row["modified"])  # the audit time is the write's own stamp


def test_creating_an_address_records_every_field_and_the_new_primary(services, client, auth_header):
    seed(services, customer("Acme"))
    body = {"customer_id": "Acme", "address_line1": "1 Road", "city": "Muscat", "country": "om"}
    assert client.post(UPDATE, json=body, headers=auth_header).status_code == 200
    (entry,) = audit(services)
    assert (entry.action, entry.user) == ("create_address", "admin@example.com")
    assert entry.changes == {
        "Address/Acme-Billing": {
            "address_title": [None, "Acme"],
            "address_type": [None, "Billing"],
            "address_line1": [None, "1 Road"],
            "city": [None, "Muscat"],
            "country": [None, "Oman"],
        },
        "Customer/Acme": {
            "customer_primary_address": [None, "Acme-Billing"],
            "primary_address": [None, "1 Road<br>Muscat<br>Oman<br>"],
        },
    }


def test_updating_the_primary_address_records_the_customers_copy_of_its_text(services, client):
    seed(services, customer("Acme", customer_primary_address="Acme-Billing"), address("Acme", "Acme"))
    client.post(UPDATE, json={"customer_id": "Acme", "address_line1": "1 Road", "city": "Dubai"})  # the text, stored
    client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"})
    entry = audit(services)[-1]
    assert entry.changes == {
        "Address/Acme-Billing": {"city": ["Dubai", "Sharjah"]},
        "Customer/Acme": {
            "primary_address": [
                "1 Road<br>Dubai<br>United Arab Emirates<br>",
                "1 Road<br>Sharjah<br>United Arab Emirates<br>",
            ]
        },
    }


def test_forking_a_shared_address_records_the_copy_and_the_link_taken_off_the_original(services, client):
    seed(services, customer("Acme"), customer("Bolt"), address("Shared", "Acme", "Bolt", city="Dubai"))
    assert client.post(UPDATE, json={"customer_id": "Acme", "city": "Ajman"}).status_code == 200
    (entry,) = audit(services)
    assert entry.action == "fork_address"
    assert entry.changes == {
        "Address/Shared-Billing-1": {"copy_of": [None, "Shared-Billing"], "city": ["Dubai", "Ajman"]},
        "Address/Shared-Billing": {"link": ["Customer/Acme", None]},
    }


def test_a_link_records_the_customers_old_and_new_ids(services, client, auth_header):
    seed(services, customer("Acme"), lead("L1", medusa_id="cus_1"))
    params = {"customer": "Acme", "lead": "L1"}
    assert client.get(LINK, params=params, headers=auth_header).json() == {"message": {"status": "success"}}
    assert client.get(LINK, params=params, headers=auth_header).status_code == 200  # again: nothing changes
    (entry,) = audit(services, "Acme")
    assert (entry.action, entry.user) == ("link_medusa_lead", "admin@example.com")
    assert entry.changes == {"Customer/Acme": {"medusa_id": [None, "cus_1"], "lead_name": [None, "L1"]}}


def test_refused_and_unchanged_writes_leave_no_audit_row(services, client, auth_header):
    seed(services, customer("Acme"), address("Acme", "Acme"), lead("L0"))
    client.post(UPDATE, json={"customer_id": "Acme", "city": "Dubai"})  # the value it already has
    client.post(UPDATE, json={"customer_id": "Acme", "country": "Narnia"})
    client.post(UPDATE, json={"customer_id": "Nobody", "city": "X"})
    client.get(LINK, params={"customer": "Acme", "lead": "L0"}, headers=auth_header)  # lead without an id
    assert audit(services) == []


def test_the_audit_row_is_rolled_back_with_a_write_that_fails(services):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    stamp = Stamp("Guest", datetime(2026, 1, 1), Origin(request_id="doomed"))

    def work(tx):
        tx.update_address("Acme-Billing", {"city": "Nowhere"}, stamp)
        tx.record_audit(AuditEntry.start("update_address", stamp, "Acme").touch("Address", "Acme-Billing", {}, {}))
        raise ValidationFailedError("a later step fails")

    with pytest.raises(ValidationFailedError):
        services.store.write(work)
    assert audit(services) == []
    assert rows(services, 'SELECT city FROM "tabAddress"') == [{"city": "Dubai"}]


def test_audit_filters_by_customer_and_time_and_keeps_the_newest(services, client):
    seed(services, customer("Acme"), customer("Bolt"), address("Acme", "Acme"), address("Bolt", "Bolt"))
    for city in ("A1", "A2", "A3"):
        client.post(UPDATE, json={"customer_id": "Acme", "city": city})
    client.post(UPDATE, json={"customer_id": "Bolt", "city": "B1"})
    assert [e.customer for e in audit(services)] == ["Acme", "Acme", "Acme", "Bolt"]
    assert len(audit(services, "Bolt")) == 1
    newest = services.audit.list_audit(customer="Acme", since=None, limit=2)
    assert [e.changes["Address/Acme-Billing"]["city"][1] for e in newest] == ["A2", "A3"]
    execute(services, "UPDATE \"erpnext_medusa_audit\" SET at = :at WHERE customer = 'Bolt'", at=datetime(2020, 1, 1))
    assert [e.customer for e in services.audit.list_audit(customer=None, since=datetime(2021, 1, 1), limit=9)] == [
        "Acme"
    ] * 3


def test_retention_prunes_only_rows_older_than_it(services, client):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    for city in ("Old", "New"):
        client.post(UPDATE, json={"customer_id": "Acme", "city": city})
    old_time = services.now() - timedelta(days=31)
    first = min(e.id for e in audit(services))
    execute(services, 'UPDATE "erpnext_medusa_audit" SET at = :at WHERE id = :id', at=old_time, id=first)
    assert services.prune_audit() == 0  # no retention set: kept forever
    keeping = replace(services, settings=Settings(database_url=services.settings.database_url, audit_retention_days=30))
    assert keeping.prune_audit() == 1
    assert [e.changes["Address/Acme-Billing"]["city"][1] for e in audit(services)] == ["New"]


# --- request ids ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["abc-123", "A.b_c-9", "x" * 64])
def test_the_server_assigns_every_request_id_and_keeps_a_sane_one_of_the_clients_beside_it(services, client, sent):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    first = client.post(UPDATE, json={"customer_id": "Acme", "city": "Ajman"}, headers={"X-Request-Id": sent})
    second = client.post(UPDATE, json={"customer_id": "Acme", "city": "Sharjah"}, headers={"X-Request-Id": sent})
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert sent not in ids and ids[0] != ids[1]  # a client cannot make two writes share an id
    assert [(e.request_id, e.client_request_id) for e in audit(services)] == [(ids[0], sent), (ids[1], sent)]


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "has space", "semi;colon", "ünïcode".encode(), "a\tb"])
def test_an_odd_request_id_of_the_clients_is_not_kept(services, client, sent):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    headers = {} if sent is None else {"X-Request-Id": sent}
    first = client.get(PING, headers=headers).headers["X-Request-Id"]
    second = client.post(UPDATE, json={"customer_id": "Acme", "city": "Ajman"}, headers=headers)
    assert first != sent and first != second.headers["X-Request-Id"]
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)
    (entry,) = audit(services)
    assert (entry.request_id, entry.client_request_id) == (second.headers["X-Request-Id"], None)


def test_errors_carry_the_request_id_too(client):
    r = client.get("/api/method/no.such.method", headers={"X-Request-Id": "err-1"})
    assert r.status_code == 417
    assert len(r.headers["X-Request-Id"]) == 32
    assert len(client.get("/api/nothing").headers["X-Request-Id"]) == 32


# --- API key expiry ------------------------------------------------------------------------------------------


def test_an_expired_key_is_refused_like_an_invalid_one(services, client):
    now = services.now()
    live = create_api_key(services.keys, "live@example.com", now, now + timedelta(hours=1))
    dying = create_api_key(services.keys, "dying@example.com", now, now + timedelta(seconds=1))
    execute(services, 'UPDATE "erpnext_medusa_api_key" SET expires_at = :t WHERE api_key = :k', t=now, k=dying.api_key)
    who = "/api/method/frappe.auth.get_logged_user"
    r = client.get(who, headers={"Authorization": f"token {live.api_key}:{live.api_secret}"})
    assert r.json() == {"message": "live@example.com"}
    r = client.get(who, headers={"Authorization": f"token {dying.api_key}:{dying.api_secret}"})
    assert r.status_code == 401
    assert r.json() == BARE_AUTHENTICATIONERROR
    with pytest.raises(ValidationFailedError):
        create_api_key(services.keys, "late@example.com", now, now - timedelta(days=1))


def test_a_revoked_key_is_refused_even_before_it_expires(services, client):
    now = services.now()
    key = create_api_key(services.keys, "u@example.com", now, now + timedelta(days=30))
    assert services.keys.revoke_api_key(key.api_key, now)
    r = client.get(PING, headers={"Authorization": f"token {key.api_key}:{key.api_secret}"})
    assert r.status_code == 401
    assert r.json() == BARE_AUTHENTICATIONERROR


# --- the migration ---------------------------------------------------------------------------------------------


def test_upgrading_a_baseline_database_adds_expiry_and_the_audit_table_keeping_keys(databases):
    engine = make_engine(databases.new())
    try:
        upgrade(engine, revision="0001")
        assert "expires_at" not in {c["name"] for c in sa.inspect(engine).get_columns("erpnext_medusa_api_key")}
        quote = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO {quote}erpnext_medusa_api_key{quote} (api_key, {quote}user{quote}, secret_sha256, "
                    "created_at) VALUES ('k1', 'old@example.com', 'ab', :at)"
                ),
                {"at": datetime(2025, 5, 5)},
            )
        assert "erpnext_medusa_audit" not in sa.inspect(engine).get_table_names()
        upgrade(engine)
        inspector = sa.inspect(engine)
        assert "expires_at" in {c["name"] for c in inspector.get_columns("erpnext_medusa_api_key")}
        assert "erpnext_medusa_audit" in inspector.get_table_names()
        with engine.connect() as conn:
            kept = conn.execute(sa.text(f"SELECT api_key, expires_at FROM {quote}erpnext_medusa_api_key{quote}")).all()
        assert [tuple(r) for r in kept] == [("k1", None)]
        assert migrate.pending(engine) is False
    finally:
        engine.dispose()


def test_audit_changes_are_stored_as_json_text(services, client):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    client.post(UPDATE, json={"customer_id": "Acme", "city": "دبي"})
    (row,) = rows(services, 'SELECT documents, changes FROM "erpnext_medusa_audit"')
    assert json.loads(row["documents"]) == ["Address/Acme-Billing"]
    assert json.loads(row["changes"]) == {"Address/Acme-Billing": {"city": ["Dubai", "دبي"]}}


def test_a_server_with_a_retention_prunes_old_rows_when_it_starts(services, client, client_with):
    seed(services, customer("Acme"), address("Acme", "Acme"))
    for city in ("Old", "New"):
        client.post(UPDATE, json={"customer_id": "Acme", "city": city})
    first = min(e.id for e in audit(services))
    execute(services, 'UPDATE "erpnext_medusa_audit" SET at = :at WHERE id = :id', at=datetime(2020, 1, 1), id=first)
    client_with(audit_retention_days=365)  # its start-up runs the first pruning round
    deadline = time.monotonic() + 10
    while len(audit(services)) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.changes["Address/Acme-Billing"]["city"][1] for e in audit(services)] == ["New"]


def test_a_server_forgets_webhook_event_ids_older_than_thirty_days(services, client_with):
    now = services.now()
    for name, age in (("evt_old", 31), ("evt_recent", 29)):
        execute(
            services,
            'INSERT INTO "erpnext_medusa_intake_event" (name, received_at, medusa_id, lead, outcome) '
            "VALUES (:n, :at, 'cus_1', 'CRM-LEAD-2026-00001', 'created')",
            n=name,
            at=now - timedelta(days=age),
        )
    client_with()  # its start-up runs the first pruning round, with or without an audit retention
    deadline = time.monotonic() + 10
    kept = ["evt_old", "evt_recent"]
    while kept != ["evt_recent"] and time.monotonic() < deadline:
        kept = [r["name"] for r in rows(services, 'SELECT name FROM "erpnext_medusa_intake_event" ORDER BY name')]
        time.sleep(0.05)
    assert kept == ["evt_recent"]
