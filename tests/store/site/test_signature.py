"""X-Frappe-Webhook-Signature: base64 of HMAC-SHA256 over the body (frappe webhook.py get_webhook_headers)."""

from __future__ import annotations

import json

from erpnext_medusa.store.site.signature import sign, verify

SECRET = "webhook-secret"
# json.dumps(data) of {"name": "ACME", "modified": ...} with Python's default separators, as Frappe signs it.
BODY = json.dumps({"name": "ACME", "modified": "2026-12-07 10:00:00.123456"}).encode("utf8")
# Computed outside Python: printf '%s' "$BODY" | openssl dgst -sha256 -hmac webhook-secret -binary | base64
VECTOR = "26ig9/XHH1BVfCGRe7LpXTDcHKV5L8RJLeoG/mX3Imw="


def test_the_signature_of_a_known_body_is_the_one_computed_by_hand():
    assert BODY == b'{"name": "ACME", "modified": "2026-12-07 10:00:00.123456"}'
    assert sign(SECRET, BODY) == VECTOR


def test_a_signed_body_verifies():
    assert verify(SECRET, BODY, sign(SECRET, BODY))
    assert verify(SECRET, b"", sign(SECRET, b""))


def test_forged_truncated_or_missing_signatures_are_refused():
    assert not verify(SECRET, BODY, sign("another-secret", BODY))
    assert not verify(SECRET, BODY + b" ", VECTOR)
    assert not verify(SECRET, BODY, VECTOR[:-4])
    assert not verify(SECRET, BODY, VECTOR[:-1] + ("A" if VECTOR[-2] != "A" else "B"))
    assert not verify(SECRET, BODY, "")
    assert not verify(SECRET, BODY, None)
    assert not verify("", BODY, sign("", BODY))  # a secured webhook always has a secret
    assert not verify(SECRET, BODY, "é" * 44)


def test_other_separators_are_other_bytes():
    compact = json.dumps({"name": "ACME", "modified": "2026-12-07 10:00:00.123456"}, separators=(",", ":"))
    assert not verify(SECRET, compact.encode(), VECTOR)
