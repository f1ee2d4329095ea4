"""The audit trail: one entry per write, recorded by the write's own transaction.

An entry answers "who changed this customer, when, from where, and from what to what": the actor (the API
key's user, or Guest with the client address and the storefront key id or Medusa customer; for the signup
intake, Guest with the Medusa customer whose event it was), the request id,
the documents touched and, per document, each changed field as ``[old, new]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erpnext_medusa.domain.models import Origin, Stamp

UPDATE_ADDRESS = "update_address"
CREATE_ADDRESS = "create_address"
FORK_ADDRESS = "fork_address"
LINK_LEAD = "link_medusa_lead"
UNLINK_LEAD = "unlink_medusa_lead"
CREATE_LEAD = "create_lead"
UPDATE_LEAD = "update_lead"
#: On a live site: an operation that stopped after the site had confirmed some of its writes (those are named).
INCOMPLETE_WRITE = "incomplete_write"

#: A field's change: [old value, new value].
Change = list[Any]


def document_key(doctype: str, name: str) -> str:
    return f"{doctype}/{name}"


@dataclass
class AuditEntry:
    at: datetime
    action: str
    user: str
    origin: Origin
    customer: str | None
    #: "DocType/name" -> {field: [old, new]}; a document touched without field changes maps to {}.
    changes: dict[str, dict[str, Change]] = field(default_factory=dict)

    @classmethod
    def start(cls, action: str, stamp: Stamp, customer: str | None) -> AuditEntry:
        return cls(at=stamp.at, action=action, user=stamp.user, origin=stamp.origin, customer=customer)

    def touch(self, doctype: str, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> AuditEntry:
        """Record that a document changed: the fields of ``new`` whose value differs from ``old``."""
        fields = self.changes.setdefault(document_key(doctype, name), {})
        for key, value in new.items():
            before = old.get(key)
            if key in fields:  # touched twice in one write: keep the first old value
                before = fields[key][0]
            if before != value:
                fields[key] = [before, value]
            else:
                fields.pop(key, None)
        return self

    @property
    def documents(self) -> list[str]:
        return list(self.changes)


@dataclass(frozen=True)
class AuditRecord:
    """A stored entry, as listed by ``erpnext-medusa audit``."""

    id: int
    at: datetime
    action: str
    user: str
    client: str | None
    storefront_key: str | None
    medusa_actor: str | None
    request_id: str | None
    customer: str | None
    documents: list[str]
    changes: dict[str, dict[str, Change]]
    #: The id the client sent with the request, kept beside the server's own.
    client_request_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(sep=" "),
            "action": self.action,
            "user": self.user,
            "client": self.client,
            "storefront_key": self.storefront_key,
            "medusa_actor": self.medusa_actor,
            "request_id": self.request_id,
            "client_request_id": self.client_request_id,
            "customer": self.customer,
            "documents": self.documents,
            "changes": self.changes,
        }
