"""Log lines carry the request id and never a secret or readable contact data."""

from __future__ import annotations

import io
import logging
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from erpnext_medusa import logs
from erpnext_medusa.config import Settings
from erpnext_medusa.web.app import create_app
from tests.helpers import address, customer, seed

UPDATE = "/api/method/medusa_integration.api.update_address"


@pytest.mark.parametrize(
    ("line", "leaked"),
    [
        ("Authorization: token 0123abcd:s3cr3t-Value", "s3cr3t-Value"),
        ("header Bearer eyJhbGciOiJIUzI1NiJ9.eyJhY3Rvcl9pZCI6ImN1c18xIn0.c2lnbmF0dXJl", "eyJhY3Rvcl9pZCI6"),
        ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("contact ali.hassan@example.com now", "ali.hassan@example.com"),
        ("mobile +962 79 555 0123 given", "555 0123"),
        ("number 0795550123 given", "0795550123"),
        ('"GET /api/method/x?name=Ali%20Hassan&limit=5 HTTP/1.1"', "Ali%20Hassan"),
        ("postgresql+psycopg://shop:hunter2@db/shop", "hunter2"),
        ("x-storefront-key: abcdefgh12345678", "abcdefgh12345678"),
    ],
)
def test_redact_removes_secrets_and_contact_data(line, leaked):
    assert leaked not in logs.redact(line)


def test_registered_secrets_are_scrubbed_wherever_they_appear():
    logs.add_secrets(["my-storefront-secret-123"])
    assert "my-storefront-secret-123" not in logs.redact("key=my-storefront-secret-123;")


def test_mask_shows_only_a_hint():
    assert logs.mask("Ali Hassan") == "A…(10)"
    assert logs.mask(None) == "-"


def test_an_unexpected_error_is_logged_with_its_request_id_and_without_personal_data(services, caplog, monkeypatch):
    seed(services, customer("Acme"), address("Acme", "Acme"))

    def explode(*_args, **_kwargs):
        raise RuntimeError("failed for ali.hassan@example.com with token abc:def and +971 50 123 4567")

    monkeypatch.setattr("erpnext_medusa.web.methods.update_billing_address", explode)
    secret = "storefront-secret-abcdef"
    settings = Settings(
        database_url=services.settings.database_url, guest_access="key", storefront_keys=f"web:{secret}"
    )
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)  # present when the app starts, as a server's handlers are
    try:
        app = create_app(services=replace(services, settings=settings))
        with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
            r = client.post(
                UPDATE,
                json={"customer_id": "Acme", "city": "X"},
                headers={"X-Storefront-Key": secret, "X-Request-Id": "boom-1"},
            )
    finally:
        logging.getLogger().removeHandler(handler)
    assert r.status_code == 500
    assigned = r.headers["X-Request-Id"]  # the server's own id; the client's is kept beside it
    assert assigned != "boom-1" and len(assigned) == 32
    assert "ali.hassan" not in r.text and "RuntimeError" not in r.text
    (record,) = [rec for rec in caplog.records if rec.name == "erpnext_medusa.web.middleware"]
    assert record.request_id == assigned
    written = handler.stream.getvalue()
    assert "RuntimeError: failed for <email> with token *** and <phone>" in written
    for leaked in ("ali.hassan@example.com", "abc:def", "123 4567", secret):
        assert leaked not in written
