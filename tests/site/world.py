"""The erpnext shape under test: an ERPNext double, the service wired to it (its own database on SQLite, or on
PostgreSQL/MariaDB through the suite's databases), the site prepared by ``erpnext setup`` and the mirror filled.

Webhooks the double queues are delivered only when a test asks (``deliver``), to the service's own ASGI app,
so that a test can also lose them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL

from erpnext_medusa.config import Settings
from erpnext_medusa.services import Services
from erpnext_medusa.store.site.setup import Target, setup
from erpnext_medusa.store.sql.migrate import upgrade
from erpnext_medusa.web.app import create_app
from tests.erpnext_site.http import transport
from tests.erpnext_site.site import Delivery, Site
from tests.erpnext_site.site import Request as SiteRequest
from tests.helpers import TEST_HOST

SERVICE_URL = "http://testserver"
SYNC_ROLES = ("Sales Manager", "Sales User", "System Manager")


@dataclass
class World:
    site: Site
    services: Services
    client: TestClient

    def deliver(self) -> list[Delivery]:
        """Send the webhooks the site has queued to the service; the deliveries, answered."""
        pending = self.site.pending()
        self.site.deliver_pending(self._send)
        return pending

    def _send(self, delivery: Delivery) -> int:
        path = delivery.url.removeprefix(SERVICE_URL)
        return self.client.post(path, content=delivery.body, headers=delivery.headers).status_code

    def desk(self, method: str, doctype: str, name: str, body: dict[str, Any] | None = None) -> Any:
        """A desk user's save or delete on the site (Administrator through the site's own API): validated,
        hooked, versioned, and its webhooks queued."""
        admin = self.site.users["Administrator"]
        answer = self.site.handle(
            SiteRequest(
                method,
                f"/api/resource/{doctype}/{name}",
                {},
                {"authorization": f"token {admin.api_key}:{admin.api_secret}", "content-type": "application/json"},
                json.dumps(body or {}).encode(),
            )
        )
        assert answer.status < 300, answer.body
        return json.loads(answer.body)

    def reconcile(self, *, full: bool = False) -> Any:
        assert self.services.site is not None
        return self.services.site.feed.reconcile(full=full)

    def search(self, name: str = "", **params: Any) -> list[dict[str, Any]]:
        r = self.client.get("/api/method/medusa_integration.api.fetch_all_customers", params={"name": name, **params})
        assert r.status_code == 200, r.text
        found = r.json()["message"]
        return found if isinstance(found, list) else []  # the contract's "nothing found" is a sentence

    def names(self, name: str = "") -> list[str]:
        return [row["name"] for row in self.search(name)]


def site_settings(site: Site, database_url: str, **values: Any) -> Settings:
    user = site.add_user("sync@example.com", roles=list(SYNC_ROLES), full_name="Sync")
    return Settings(
        database_url=database_url,
        backend="erpnext",
        erpnext_url="http://erp.example.com",
        erpnext_api_key=user.api_key,
        erpnext_api_secret=user.api_secret,
        public_url=SERVICE_URL,
        erpnext_auth_cache_seconds=0,
        fetch_max_results=50,
        allowed_hosts=TEST_HOST,
        **values,
    )


@contextmanager
def world(
    database_url: URL | str, *, medusa_transport: httpx.BaseTransport | None = None, **values: Any
) -> Iterator[World]:
    site = Site()
    url = database_url if isinstance(database_url, str) else database_url.render_as_string(hide_password=False)
    settings = site_settings(site, url, **values)
    services = Services.from_settings(settings, site_transport=transport(site), medusa_transport=medusa_transport)
    upgrade(services.store.engine, track="site")
    assert services.site is not None
    target = Target(services.site.client, SERVICE_URL, services.site.webhook_secret, settings.erpnext_medusa_id_field)
    findings = setup(target)
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    app = create_app(services=services)
    with TestClient(app) as client:
        yield World(site, services, client)
