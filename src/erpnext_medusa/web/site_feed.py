"""``POST /webhooks/erpnext``: the live site's Webhooks tell the service that a Customer or Lead changed; and
the reconciliation pass each process runs every ``ERPNEXT_MEDUSA_ERPNEXT_SYNC_INTERVAL`` seconds.

A delivery must carry ``X-Frappe-Webhook-Signature``, Frappe's base64 HMAC-SHA256 of the body with the
Webhook's secret (``erpnext setup`` creates the Webhooks with it). Its JSON body names the document
(``{"doctype": "Customer", "name": "..."}``); the document is then read from the site, so nothing in the body
but its name is believed, and a replayed delivery only makes the mirror read the current document again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from erpnext_medusa import metrics
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import AuthenticationError, ServiceError, ValidationFailedError
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe

log = logging.getLogger(__name__)

PATH = "/webhooks/erpnext"
SIGNATURE_HEADER = "X-Frappe-Webhook-Signature"
DOCTYPES = ("Customer", "Lead", "Address")


def read_notice(body: bytes) -> tuple[str, str]:
    """The DocType and name a delivery names, or a ValidationError."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailedError("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ValidationFailedError("The body must be a JSON object.")
    doctype, name = data.get("doctype"), data.get("name")
    if doctype not in DOCTYPES:
        raise ValidationFailedError(f"doctype must be one of {', '.join(DOCTYPES)}.")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LENGTH:
        raise ValidationFailedError(f"name must be a document name of at most {NAME_LENGTH} characters.")
    return doctype, name


async def erpnext_webhook(request: Request) -> Response:
    services: Services = request.app.state.services
    site = services.site
    assert site is not None  # the route exists only in the erpnext shape
    body = await request.body()
    if not site.verify_webhook(body, request.headers.get(SIGNATURE_HEADER)):
        raise AuthenticationError("The webhook's signature does not match its body.", reason="webhook_signature")
    doctype, name = read_notice(body)
    outcome = await run_in_threadpool(site.feed.document_changed, doctype, name)
    if services.settings.metrics_on:
        metrics.SITE_CHANGES.labels(source="webhook", outcome=outcome).inc()
    return frappe.message({"status": outcome})


async def reconcile_periodically(services: Services) -> None:
    """Every sync interval (the first one interval after start: ``erpnext sync`` fills a new mirror, and
    webhooks carry what changes meanwhile), bring the mirror up to date with the site. A failure is logged and
    tried again at the next interval; searches keep answering from the mirror meanwhile."""
    site = services.site
    assert site is not None
    while True:
        await asyncio.sleep(services.settings.erpnext_sync_interval)
        try:
            reports = await run_in_threadpool(site.reconcile, services.now())
            if services.settings.metrics_on:
                for report in reports:
                    metrics.SITE_CHANGES.labels(source="pass", outcome="updated").inc(report.changed)
                    metrics.SITE_CHANGES.labels(source="pass", outcome="removed").inc(report.removed)
                metrics.SITE_SYNC_FAILING.set(0)
        except ServiceError as exc:
            log.warning("reconciliation with the ERPNext site failed: %s", exc.message or type(exc).__name__)
            if services.settings.metrics_on:
                metrics.SITE_SYNC_FAILING.set(1)
        except Exception:
            log.exception("reconciliation with the ERPNext site failed")
