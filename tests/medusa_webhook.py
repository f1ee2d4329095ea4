"""Medusa's customer webhook as the storefront's subscriber sends it: the event body and its signature header
(HMAC-SHA256 of ``<t>.<body>`` under the shared secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SECRET = "webhook-secret-0123456789abcdef-0123456789"
HEADER = "X-ERPNext-Medusa-Signature"


def signature(body: bytes, *, secret: str = SECRET, at: float | None = None) -> str:
    """The signature header's value for ``body``, signed ``at`` (now unless told) with ``secret``."""
    t = int(time.time() if at is None else at)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def medusa_customer(**fields: Any) -> dict[str, Any]:
    """A Medusa customer as the event carries it, with ``fields`` over it."""
    return {
        "id": "cus_01ALI",
        "email": "ali@example.com",
        "first_name": "Ali",
        "last_name": "Hassan",
        "phone": "+971501234567",
        "company_name": None,
        "metadata": None,
        **fields,
    }


def event_body(event_id: str = "evt_1", kind: str = "customer.created", **fields: Any) -> bytes:
    """The JSON body of one customer event."""
    return json.dumps({"id": event_id, "type": kind, "data": medusa_customer(**fields)}).encode()
