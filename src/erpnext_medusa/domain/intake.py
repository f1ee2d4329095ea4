"""Signup intake: each Medusa customer becomes one ERPNext Lead carrying its ``medusa_id``.

- ``customer.created``: the Lead is created, named from ERPNext's ``CRM-LEAD-.YYYY.-#####`` series, with status
  Lead and the configured source; for a customer that already has its Lead, nothing changes.
- ``customer.updated``: the Lead's contact fields (names, lead_name and the title ERPNext derives with it,
  e-mail, mobile, company) follow the customer; nothing else of the Lead changes. A customer whose Lead does not
  exist yet gets one, as on ``customer.created``.
- Every event is remembered by its id: a re-delivery of an event already handled changes nothing, even after
  later events for the same customer.
One Lead per medusa_id is the database's rule: of two concurrent deliveries for one customer, the one that
loses the race runs again, finds the winner's Lead and reports it as not created.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from erpnext_medusa.domain import naming
from erpnext_medusa.domain.audit import CREATE_LEAD, UPDATE_LEAD, AuditEntry
from erpnext_medusa.domain.doctypes import NAME_LENGTH, field_length
from erpnext_medusa.domain.errors import SiteRefusedError, ValidationFailedError
from erpnext_medusa.domain.leads import lead_titles
from erpnext_medusa.domain.models import Stamp
from erpnext_medusa.domain.ports import Store, Transaction
from erpnext_medusa.domain.text import check_length, is_email, required_name, storable

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
EVENT_TYPES = (CUSTOMER_CREATED, CUSTOMER_UPDATED)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"

#: The Lead fields the intake sets from a Medusa customer, and the only ones ``customer.updated`` changes.
CONTACT_FIELDS = ("first_name", "last_name", "lead_name", "title", "email_id", "mobile_no", "company_name")
#: Each Medusa field, the Lead field it fills and how messages name it.
_SOURCES = (
    ("first_name", "first_name", "first_name"),
    ("last_name", "last_name", "last_name"),
    ("email", "email_id", "email"),
    ("phone", "mobile_no", "phone"),
    ("company_name", "company_name", "company_name"),
)


@dataclass(frozen=True)
class MedusaCustomer:
    """The fields of a Medusa customer the intake reads (Medusa's own names)."""

    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company_name: str | None = None


@dataclass(frozen=True)
class CustomerEvent:
    id: str
    type: str
    customer: MedusaCustomer


#: Whether a Medusa customer's values are only what the service itself last sent it.
Echo = Callable[[MedusaCustomer], bool]


@dataclass(frozen=True)
class IntakeResult:
    lead: str
    created: bool
    #: created, updated or unchanged.
    outcome: str


def lead_contact(customer: MedusaCustomer, lengths: Mapping[str, int] | None = None) -> dict[str, str | None]:
    """The Lead's contact fields for a Medusa customer: the mapping, checked, and nothing else (pure).

    Text is stripped and blank is None; ``phone`` becomes ``mobile_no`` and ``email`` ``email_id``; lead_name and
    title follow ERPNext's rules (the full name, else the company, else the e-mail's local part). A value longer
    than its column (``lengths``, never more than the DocType allows), an e-mail that is not one, or a customer
    with nothing to call the Lead by is a ValidationError naming the Medusa field.
    """
    lengths = lengths or {}
    fields: dict[str, str | None] = {}
    for source, target, label in _SOURCES:
        text = (getattr(customer, source) or "").strip() or None
        if text is not None:
            storable(label, text)
            allowed = field_length("Lead", target)
            check_length(label, text, min(allowed, lengths.get(target, allowed)))
            if target == "email_id" and not is_email(text):
                raise ValidationFailedError(f"email {text!r} is not a valid e-mail address.")
        fields[target] = text
    titles = lead_titles(fields, min(NAME_LENGTH, lengths.get("lead_name", NAME_LENGTH)))
    if titles is None:
        raise ValidationFailedError("The customer has no first name, company name or e-mail to name a Lead by.")
    fields["lead_name"], title = titles
    fields["title"] = title[: lengths.get("title", NAME_LENGTH)]
    return {name: fields[name] for name in CONTACT_FIELDS}


def check_event(event: CustomerEvent) -> CustomerEvent:
    """The event unchanged, or a ValidationError: a known type, and ids that are non-blank, storable text of at
    most 140 characters (a medusa_id column's length)."""
    if event.type not in EVENT_TYPES:
        raise ValidationFailedError(f"type must be one of {', '.join(EVENT_TYPES)}.")
    for label, value in (("id", event.id), ("data.id", event.customer.id)):
        required_name(label, value)
        check_length(label, value, NAME_LENGTH)
        if value != value.strip():
            raise ValidationFailedError(f"{label} must not begin or end with spaces.")
    return event


def receive_customer_event(
    store: Store, event: CustomerEvent, stamp: Stamp, *, source: str | None = None, echo: Echo | None = None
) -> IntakeResult:
    """Create or update the Lead of the event's Medusa customer, all or nothing (see the module docstring).
    ``echo``: whether a ``customer.updated`` only carries what the service itself sent to Medusa (it is then no
    new change, and nothing is written)."""
    check_event(event)
    contact = lead_contact(event.customer, store.column_lengths("Lead"))
    medusa_id = event.customer.id

    def work(tx: Transaction) -> IntakeResult:
        handled = tx.intake_event(event.id)
        if handled is not None:
            return IntakeResult(handled, created=False, outcome=UNCHANGED)
        current = tx.lead_with_medusa_id(medusa_id)
        if current is None:
            result = _create(tx, medusa_id, contact, source, stamp)
        elif event.type == CUSTOMER_CREATED or (echo is not None and echo(event.customer)):
            result = IntakeResult(current.name, created=False, outcome=UNCHANGED)
        else:
            diff = {k: v for k, v in contact.items() if current.contact.get(k) != v}
            if diff:
                tx.update_lead(current.name, diff, stamp)
                tx.record_audit(
                    AuditEntry.start(UPDATE_LEAD, stamp, None).touch("Lead", current.name, current.contact, diff)
                )
            result = IntakeResult(current.name, created=False, outcome=UPDATED if diff else UNCHANGED)
        tx.record_intake_event(event.id, medusa_id, result.lead, result.outcome, stamp)
        return result

    return store.write(work)


def _create(
    tx: Transaction, medusa_id: str, contact: dict[str, str | None], source: str | None, stamp: Stamp
) -> IntakeResult:
    row: dict[str, Any] = {
        "naming_series": naming.LEAD_SERIES,
        **{k: v for k, v in contact.items() if v is not None},
        "status": "Lead",
        "medusa_id": medusa_id,
    }
    if source:
        row["source"] = source
    name = tx.insert_lead(row, stamp)
    tx.record_audit(AuditEntry.start(CREATE_LEAD, stamp, None).touch("Lead", name, {}, dict(row)))
    return IntakeResult(name, created=True, outcome=CREATED)


# --- a live site that refuses a Lead ------------------------------------------------------------------------


class IntakeFailures(Protocol):
    """Where the events a live site refused are kept until a retry succeeds or someone dismisses them."""

    def record_intake_failure(
        self, event_id: str, medusa_id: str, payload: dict[str, Any], message: str, exc_type: str | None
    ) -> Any:
        """Keep (or count one more attempt of) a refused event, with what a retry needs."""

    def claim_intake_retry(self, event_id: str, *, stale_before: datetime) -> bool:
        """Take a kept event for a retry; False when it is not open or another retry holds it."""

    def settle_intake_failure(self, event_id: str, state: str) -> bool:
        """Close a kept event (``done`` or ``dismissed``); its contact data is dropped."""

    def intake_failure(self, event_id: str) -> Any:
        """The kept event (its ``payload`` holds the event's type and customer), or None."""


@dataclass(frozen=True)
class Kept:
    """An event the site refused, kept to be retried: the site's reason."""

    event_id: str
    message: str
    exc_type: str | None


def receive_or_keep(
    store: Store,
    failures: IntakeFailures,
    event: CustomerEvent,
    stamp: Stamp,
    *,
    source: str | None = None,
    echo: Echo | None = None,
) -> IntakeResult | Kept:
    """As :func:`receive_customer_event`, but an event the live site refuses by its own rules (a mandatory field
    of its own, say) is kept with the site's reason instead of being lost: a retry, once the site or the data
    is fixed, creates the Lead. Events the service itself refuses stay refused."""
    try:
        return receive_customer_event(store, event, stamp, source=source, echo=echo)
    except SiteRefusedError as exc:
        payload = {"type": event.type, "customer": asdict(event.customer)}
        failures.record_intake_failure(event.id, event.customer.id, payload, exc.message, exc.exc_type)
        return Kept(event.id, exc.message, exc.exc_type)


def retry_kept(
    store: Store, failures: IntakeFailures, event_id: str, stamp: Stamp, *, stale_before: datetime,
    source: str | None = None,
) -> IntakeResult | Kept | None:  # fmt: skip
    """Run a kept event again; None when there is no open one to retry (or another retry holds it)."""
    kept = failures.intake_failure(event_id)
    if kept is None or kept.payload is None or not failures.claim_intake_retry(event_id, stale_before=stale_before):
        return None
    payload = kept.payload
    event = CustomerEvent(event_id, str(payload["type"]), MedusaCustomer(**payload["customer"]))
    outcome = receive_or_keep(store, failures, event, stamp, source=source)
    if isinstance(outcome, IntakeResult):
        failures.settle_intake_failure(event_id, "done")
    return outcome
