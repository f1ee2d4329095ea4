"""A client of Medusa v2's admin API, for what the outbox sends: a customer's fields and its default billing
address. It authenticates with a secret API key, which Medusa takes as HTTP Basic credentials (the key as the
user name, no password). Every outcome is an :class:`~erpnext_medusa.domain.outbound.Answer`, never an
exception: the outbox keeps it and decides.

A push is idempotent: the customer's fields are set (setting them again changes nothing), and the billing
address is the customer's default billing address when it has one (updated) or a new one made the default; so
a push whose answer was lost, sent again, finds the address the first one created and updates it. A snapshot
without a billing address (the site's was deleted or disabled) removes the default billing address the service
made.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx

from erpnext_medusa.domain import outbound as o

#: Addresses of one customer read to find its default billing one.
_ADDRESSES = 100
#: What the listing must hold besides its default fields (the flags are not among them).
_LISTED = "+is_default_billing,+is_default_shipping,+metadata"


class MedusaAdmin:
    def __init__(
        self, url: str, api_key: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Basic {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # never the key
        return f"MedusaAdmin({self._http.base_url!s})"

    def close(self) -> None:
        self._http.close()

    def push(self, medusa_id: str, snapshot: dict[str, Any]) -> o.Answer:
        """Make the Medusa customer hold ``snapshot``; the last answer (2xx when everything was accepted)."""
        path = f"/admin/customers/{_segment(medusa_id)}"
        fields = {k: snapshot[k] for k in o.CUSTOMER_FIELDS if k in snapshot}
        answer = self._send("POST", path, json=_blank_to_null(fields)) if fields else self._send("GET", path)
        if not _ok(answer) or "billing_address" not in snapshot:
            return answer
        listed = self._send("GET", f"{path}/addresses", params={"limit": _ADDRESSES, "fields": _LISTED})
        if not _ok(listed):
            return listed
        current = next((a for a in _json(listed).get("addresses", []) if a.get("is_default_billing")), None)
        if not snapshot["billing_address"]:
            return answer if current is None else self._no_billing(path, current, answer)
        address = _blank_to_null(dict(snapshot["billing_address"]))
        if current is not None:
            return self._send("POST", f"{path}/addresses/{_segment(str(current['id']))}", json=address)
        return self._send("POST", f"{path}/addresses", json={**address, "is_default_billing": True})

    def _no_billing(self, path: str, current: dict[str, Any], answer: o.Answer) -> o.Answer:
        """The Customer has no billing address on the site any more: the default billing address the service
        made (it names an ERPNext Address in its metadata) is deleted, or only un-defaulted when it is the
        default shipping address too; one the shopper made in Medusa stays."""
        if not (current.get("metadata") or {}).get("erpnext_address"):
            return answer
        at = f"{path}/addresses/{_segment(str(current['id']))}"
        if current.get("is_default_shipping"):
            return self._send("POST", at, json={"is_default_billing": False})
        return self._send("DELETE", at)

    def _send(self, method: str, path: str, **kwargs: Any) -> o.Answer:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            return o.Answer(None, "Medusa did not answer in time.")
        except httpx.HTTPError as exc:
            return o.Answer(None, f"Medusa could not be reached ({type(exc).__name__}).")
        return o.Answer(response.status_code, response.text, o.parse_retry_after(response.headers.get("Retry-After")))


def _ok(answer: o.Answer) -> bool:
    return answer.status is not None and 200 <= answer.status < 300


def _json(answer: o.Answer) -> dict[str, Any]:
    try:
        data = json.loads(answer.text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _blank_to_null(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == "" else v) for k, v in values.items()}


def _segment(value: str) -> str:
    return quote(value, safe="")
