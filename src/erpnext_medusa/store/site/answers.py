"""Reading a Frappe v15 site's answers: the success envelopes and the error bodies, turned into domain errors.

An error body (frappe/app.py ``handle_exception``, frappe/utils/response.py ``report_error``) carries
``exc_type`` (the exception's class name, always present in v15), optionally ``exception`` (the last line of
the traceback), ``_server_messages`` (a JSON string holding a list of JSON strings, one message dict each;
the one that raised has ``raise_exception``) and ``_error_message`` (permission failures). The status is the
exception's ``http_status_code``.

ERPNext's own message is kept, as plain text: Frappe messages are HTML (``Customer <strong>X</strong> already
exists``, with the user's input unescaped inside), so tags are dropped and entities decoded, and the web layer
escapes the text again when it renders it.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from erpnext_medusa.domain.errors import (
    AuthenticationError,
    DoesNotExistError,
    DuplicateEntryError,
    NotPermittedError,
    ServiceError,
    SiteRefusedError,
    StaleDocumentError,
)

#: Statuses that say the site cannot answer now (and a retry may succeed).
UNAVAILABLE = frozenset({429, 500, 502, 503, 504})
#: Of those, the ones a gateway sends when the site may have run the request anyway.
GATEWAY = frozenset({502, 504})
#: The reason an error carries when the site refused the service's own API key.
KEY_REFUSED = "erpnext_key_refused"
UNAVAILABLE_REASON = "erpnext_unavailable"

_TAG = re.compile(r"<[^>]*>")


def plain(text: str) -> str:
    """A Frappe message (HTML) as one line of plain text."""
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def json_body(content: bytes) -> Any:
    """The body parsed as JSON, or None when it is not JSON (a proxy's HTML page, an empty body)."""
    try:
        return json.loads(content) if content.strip() else None
    except ValueError:
        return None


def server_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The message dicts of ``_server_messages`` (double-encoded), skipping any entry that is not one."""
    raw = body.get("_server_messages")
    try:
        entries = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            item = json.loads(entry) if isinstance(entry, str) else entry
        except ValueError:
            continue
        if isinstance(item, dict):
            found.append(item)
    return found


def site_message(body: Any) -> str:
    """ERPNext's own message for an error: the message that raised, else the first message, else
    ``_error_message``, else the text of ``exception`` after its class name."""
    if not isinstance(body, dict):
        return ""
    messages = server_messages(body)
    chosen = next((m for m in messages if m.get("raise_exception")), messages[0] if messages else None)
    if chosen is not None and isinstance(chosen.get("message"), str):
        return plain(chosen["message"])
    if isinstance(body.get("_error_message"), str) and body["_error_message"]:
        return plain(body["_error_message"])
    exception = body.get("exception")
    if isinstance(exception, str):
        _, sep, rest = exception.partition(": ")
        return plain(rest if sep else "")
    return ""


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def site_error(status: int, body: Any) -> ServiceError:
    """The domain error for a refused request (any status that is not in :data:`UNAVAILABLE`)."""
    exc_type = body.get("exc_type") if isinstance(body, dict) else None
    exc_type = exc_type if isinstance(exc_type, str) and exc_type else None
    message = site_message(body)
    if status == 401:
        # Only the service's own key is sent with these requests: the site no longer accepts it.
        return AuthenticationError(
            "The ERPNext site refused the service's API key (wrong, revoked, or its user is disabled)",
            reason=KEY_REFUSED,
            exc_type=exc_type,
        )
    if status == 403:
        return NotPermittedError(message or "The ERPNext site did not permit this", exc_type=exc_type)
    if status == 404:
        return DoesNotExistError(message or "Not found on the ERPNext site", exc_type=exc_type)
    if status == 409:
        return DuplicateEntryError(message or "Already exists on the ERPNext site", exc_type=exc_type)
    if exc_type == "TimestampMismatchError":
        return StaleDocumentError(message or "The document changed on the ERPNext site", exc_type=exc_type)
    return SiteRefusedError(message or f"The ERPNext site refused the request ({status})", exc_type=exc_type)
