"""Operations endpoints through the real ASGI app: /healthz, /readyz and /metrics (off, open, token), and the
metrics' labels staying bounded whatever paths callers send."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql.migrate import VERSION_TABLE, upgrade
from erpnext_medusa.web.app import create_app
from tests.helpers import TEST_HOST, address, customer, execute, seed

FETCH = "/api/method/medusa_integration.api.fetch_all_customers"
UPDATE = "/api/method/medusa_integration.api.update_address"
TOKEN = "metrics-token-0123456789"


def samples(client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The current values of one metric family, by label set."""
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    found = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_healthz_answers_without_the_database(client):
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database(client):
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_while_the_schema_is_behind_and_ready_again_after_an_upgrade(services, client):
    execute(services, f'UPDATE "{VERSION_TABLE}" SET version_num = :v', v="0003")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "unavailable",
        "reason": "the schema is behind the migrations' head: run `erpnext-medusa db upgrade`",
    }
    upgrade(services.store.engine)
    assert client.get("/readyz").status_code == 200


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_with_a_token_refuse_other_callers(client_with):
    c = client_with(metrics="token", metrics_token=TOKEN)
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "erpnext_medusa_requests_total" in r.text


def test_requests_refusals_plans_and_audit_rows_are_counted(services, client_with):
    seed(services, customer("Ali Hassan"), address("Ali Hassan", "Ali Hassan"))
    c = client_with(metrics="token", metrics_token=TOKEN, rate_limit=2)
    key = (("method", "medusa_integration.api.fetch_all_customers"), ("outcome", "ok"), ("status", "200"))
    limited = (("method", "medusa_integration.api.fetch_all_customers"), ("outcome", "limited"), ("status", "429"))
    before = samples(c, "erpnext_medusa_requests_total")
    refusals = samples(c, "erpnext_medusa_refusals_total").get((("reason", "rate_limit"),), 0)
    plans = sum(samples(c, "erpnext_medusa_search_plans_total").values())
    audited = samples(c, "erpnext_medusa_audit_rows_total").get((), 0)

    statuses = [c.get(FETCH, params={"name": "ali"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert c.post(UPDATE, json={"customer_id": "Ali Hassan", "city": "Ajman"}).json() == {
        "message": "Address updated successfully"
    }

    after = samples(c, "erpnext_medusa_requests_total")
    assert after[key] - before.get(key, 0) == 2
    assert after[limited] - before.get(limited, 0) == 1
    assert samples(c, "erpnext_medusa_refusals_total")[(("reason", "rate_limit"),)] - refusals == 1
    assert sum(samples(c, "erpnext_medusa_search_plans_total").values()) - plans == 2
    assert samples(c, "erpnext_medusa_audit_rows_total")[()] - audited == 1
    durations = samples(c, "erpnext_medusa_request_duration_seconds_count")
    assert durations[(("method", "medusa_integration.api.fetch_all_customers"),)] >= 3


def test_ten_thousand_junk_paths_add_no_label_values(tmp_path):
    """Labels do not depend on the database: one backend is enough."""
    services = Services.from_settings(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'junk.db'}",
            metrics="token",
            metrics_token=TOKEN,
            rate_limit=0,
            allowed_hosts=TEST_HOST,
        )
    )
    upgrade(services.store.engine)
    with TestClient(create_app(services=services)) as c:
        _junk(c)


def _junk(c) -> None:
    for i in range(10_000):
        path = f"/api/method/junk.{i}" if i % 2 else f"/junk/{i}/{'x' * (i % 50)}"
        assert c.get(path).status_code in (403, 404, 417)
    labels = {dict(k)["method"] for k in samples(c, "erpnext_medusa_requests_total")}
    assert "other" in labels
    assert not [label for label in labels if re.search(r"junk|\d", label)], labels
    assert len(labels) <= 12  # the registry's methods and a handful of fixed routes
