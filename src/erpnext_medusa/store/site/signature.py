"""The ``X-Frappe-Webhook-Signature`` of a Frappe v15 Webhook, as ``get_webhook_headers`` in
frappe/integrations/doctype/webhook/webhook.py computes it:

    base64( HMAC-SHA256( key = webhook_secret.encode("utf8"), msg = json.dumps(data).encode("utf8") ) )

``data`` is the webhook's payload (its ``webhook_data`` rows or its rendered ``webhook_json``), and the body
Frappe sends is ``json.dumps(data, default=str)``: for the JSON values a payload holds, the two dumps are the
same bytes, so the signature covers exactly the raw request body. The receiver must therefore verify the body
as received, before parsing it.

Frappe signs no timestamp and no nonce, so a captured request stays valid for ever: a signature proves who
sent the body, not when. A receiver defends against replay by treating every delivery as "this document looked
like this at ``modified``" and ignoring any whose ``modified`` is not newer than what it already holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER = "X-Frappe-Webhook-Signature"


def sign(secret: str, body: bytes) -> str:
    """The header value Frappe would send with ``body`` for a Webhook whose secret is ``secret``."""
    digest = hmac.new(secret.encode("utf8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, header_value: str | None) -> bool:
    """Whether ``header_value`` is Frappe's signature of ``body`` under ``secret`` (compared in constant time).
    An empty secret verifies nothing: Frappe refuses to save a secured Webhook without one."""
    if not secret or not header_value:
        return False
    expected = sign(secret, body).encode("ascii")
    return hmac.compare_digest(expected, header_value.strip().encode("utf8", "replace"))
