"""Property-based tests of every documented operation, generated from the app's own ``/openapi.json``: no 5xx,
and every response matches the document (status code, content type, body schema)."""

from __future__ import annotations

from dataclasses import replace

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.apikeys import create_api_key
from erpnext_medusa.web.app import create_app
from tests.helpers import TEST_HOST, address, customer, lead, seed

#: Examples per operation and backend: a fixed budget that keeps CI short.
EXAMPLES = 75
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_matches_its_schema(services):
    seed(
        services,
        customer("Acme Trading"),
        customer("Bolt Foods", medusa_id="cus_bolt"),
        address("Acme Trading", "Acme Trading"),
        lead("CRM-LEAD-0001", medusa_id="cus_lead_1"),
    )
    app_settings = Settings(database_url=services.settings.database_url, rate_limit=0, allowed_hosts=TEST_HOST)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(services=replace(services, settings=app_settings))
    )
    key = create_api_key(services.keys, "schema@example.com", services.now())
    api_key = {"Authorization": f"token {key.api_key}:{key.api_secret}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # GET+POST: ping, logout, get_logged_user, fetch, link, medusa_customer; POST: update_address, login
    assert len(operations) == 14

    for operation in operations:

        @given(case=operation.as_strategy(), with_key=st.booleans())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case, with_key):
            # With a valid API key half the time, so that login-only operations get past authentication.
            case.call_and_validate(checks=CHECKS, headers=api_key if with_key else None)

        check()
