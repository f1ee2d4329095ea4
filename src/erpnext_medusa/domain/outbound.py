"""ERPNext -> Medusa: what of a linked Customer is sent to its Medusa customer, and how a delivery's answer is
judged. Pure rules; the outbox (store/sql/outbox.py) keeps the events and the worker (web/outbox_worker.py)
sends them.

* A **snapshot** is what Medusa should hold of one linked Customer: the fields ERPNext owns (by default all of
  them: first and last name, e-mail, phone, the billing address), taken from the site's Customer and the
  Address :func:`~erpnext_medusa.domain.addresses.choose_address` picks (the one ``update_address`` changes).
* A change is sent when a snapshot differs from the last one recorded for that Customer and is at least as new
  by the site's ``modified``. A change the service itself wrote on the site (it came from Medusa) is recorded
  without being sent: Medusa has it already.
* Each event carries the whole snapshot, so the newest event of a Customer makes Medusa right on its own: older
  events still waiting are superseded by it, and an event never overwrites a newer one already delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from erpnext_medusa.domain.countries import Country
from erpnext_medusa.domain.models import Address, Customer

#: The fields of a Medusa customer the service can set, with the snapshot key of each.
FIELDS = ("first_name", "last_name", "email", "phone", "billing_address")
CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone")

# An event's states.
PENDING = "pending"  # waiting for its first delivery
SENDING = "sending"  # claimed by a worker
FAILED = "failed"  # a delivery failed; tried again at next_attempt_at
DELIVERED = "delivered"
DEAD = "dead"  # no more automatic attempts (Medusa's last answer is kept); `outbox retry` sends it again
SUPERSEDED = "superseded"  # a newer event of the same Customer carries everything it had
STATES = (PENDING, SENDING, FAILED, DELIVERED, DEAD, SUPERSEDED)
#: The states a worker sends.
DUE = (PENDING, FAILED)
#: The states the back office may send again: ``retry`` (failures) and ``replay`` (delivered ones too).
RETRYABLE = (FAILED, DEAD)
REPLAYABLE = (FAILED, DEAD, DELIVERED, SUPERSEDED)
#: What a change recorded without an event was: the site's (first sight) or the service's own write.
BASELINE = "baseline"
FROM_MEDUSA = "medusa"


def split_name(customer_name: str) -> tuple[str, str]:
    """A Customer's one name as Medusa's two: the last word is the last name (``"Ada"`` -> ``("Ada", "")``)."""
    words = customer_name.split()
    if len(words) < 2:
        return (words[0] if words else "", "")
    return " ".join(words[:-1]), words[-1]


def _code(country: str | None, countries: Iterable[Country]) -> str | None:
    if not country:
        return None
    wanted = country.lower()
    for c in countries:
        if c.name.lower() == wanted or (c.code or "").lower() == wanted:
            return (c.code or "").lower() or None
    return None


def address_fields(address: Address, countries: Iterable[Country]) -> dict[str, Any]:
    """An ERPNext Address as a Medusa customer address's fields."""
    return {
        "address_1": address.address_line1,
        "address_2": address.address_line2,
        "city": address.city,
        "province": address.state,
        "postal_code": address.pincode,
        "country_code": _code(address.country, countries),
        "metadata": {"erpnext_address": address.name},
    }


def snapshot(
    customer: Customer, address: Address | None, owned: frozenset[str], countries: Iterable[Country]
) -> dict[str, Any]:
    """What Medusa should hold of ``customer`` (only the fields ERPNext owns; no e-mail when ERPNext has none)."""
    first, last = split_name(customer.customer_name)
    values: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "email": customer.email_id,
        "phone": customer.mobile_no,
        "billing_address": None if address is None else address_fields(address, countries),
    }
    if not values["email"]:  # a registered shopper's e-mail is their Medusa login: never cleared from ERPNext
        del values["email"]
    return {k: v for k, v in values.items() if k in owned}


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """The snapshot keys whose values differ (all of ``new``'s when there was none)."""
    if old is None:
        return list(new)
    return [k for k in FIELDS if (k in old or k in new) and old.get(k) != new.get(k)]


def is_echo(delivered: Sequence[Mapping[str, Any]], medusa: Mapping[str, Any]) -> bool:
    """Whether a Medusa customer's values are those of one of the snapshots the service recently sent it (the
    event Medusa raised for the service's own update), so that they are no new change. Any of them, not only the
    last: Medusa's event for one delivery may arrive after the next delivery was made."""

    def sent_as(snapshot: Mapping[str, Any]) -> bool:
        sent = [k for k in CUSTOMER_FIELDS if k in snapshot]
        return bool(sent) and all((medusa.get(k) or None) == (snapshot.get(k) or None) for k in sent)

    return any(sent_as(s) for s in delivered)


# --- delivery answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How often and how long an event is tried: ``max_attempts`` deliveries, ``base`` seconds after the first
    failure, doubling up to ``cap``; a ``Retry-After`` (429, 503) is honoured up to ``cap``."""

    max_attempts: int = 8
    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return min(self.base * 2 ** max(attempts - 1, 0), self.cap)


@dataclass(frozen=True)
class Answer:
    """What a delivery got: Medusa's status (None: no answer, the connection failed or timed out), its body
    (kept, shortened, for the operator) and its Retry-After in seconds."""

    status: int | None
    text: str
    retry_after: float | None = None


#: Answers that cannot get better by waiting: the event is dead at once (404: the Medusa customer was deleted;
#: 400: Medusa refused the values).
_FINAL = frozenset({400, 404, 422})
#: Medusa rejects the service's API key: every event fails alike until the key is fixed, so these are tried
#: again (at the longest backoff) without ever becoming dead, and the message says what to fix.
_KEY_REJECTED = frozenset({401, 403})
KEY_REJECTED = "Medusa rejects the API key (ERPNEXT_MEDUSA_MEDUSA_API_KEY): "


def verdict(answer: Answer, attempts: int, policy: Policy) -> tuple[str, float]:
    """The state an event goes to after its ``attempts``-th delivery got ``answer``, and the seconds until the
    next attempt (when it is FAILED)."""
    if answer.status is not None and 200 <= answer.status < 300:
        return DELIVERED, 0.0
    if answer.status in _KEY_REJECTED:
        return FAILED, policy.delay(attempts, None)
    if answer.status in _FINAL or attempts >= policy.max_attempts:
        return DEAD, 0.0
    return FAILED, policy.delay(attempts, answer.retry_after)


def explained(answer: Answer) -> str:
    """Medusa's answer as an event keeps it for the operator (what to fix first, when it is the key)."""
    text = KEY_REJECTED + answer.text if answer.status in _KEY_REJECTED else answer.text
    return shortened(text)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta form; an HTTP date is not used by Medusa and is ignored)."""
    if not value:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None


def shortened(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(counts: Mapping[str, int], states: Sequence[str] = STATES) -> dict[str, int]:
    """Every state's count, zero where there is none."""
    return {s: int(counts.get(s, 0)) for s in states}


# --- delivery --------------------------------------------------------------------------------------------


class Claimed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def medusa_id(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class OutboxPort(Protocol):
    def due(self, *, limit: int = 50) -> list[int]: ...
    def claim(self, event_id: int) -> Claimed | None: ...
    def settle(self, event_id: int, answer: Answer, policy: Policy) -> str: ...


class MedusaPort(Protocol):
    def push(self, medusa_id: str, snapshot: dict[str, Any]) -> Answer: ...


def deliver_due(outbox: OutboxPort, medusa: MedusaPort, policy: Policy, *, limit: int = 50) -> dict[str, int]:
    """Send the events due now, each after the previous one of its Customer; how many ended in each state."""
    outcomes: dict[str, int] = {}
    for event_id in outbox.due(limit=limit):
        event = outbox.claim(event_id)
        if event is None:  # no longer due, covered by a newer event, or its Customer is being sent elsewhere
            continue
        state = outbox.settle(event.id, medusa.push(event.medusa_id, event.payload), policy)
        outcomes[state] = outcomes.get(state, 0) + 1
    return outcomes
