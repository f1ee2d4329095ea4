"""How ERPNext names new documents (Customer by customer_name, Lead by series, Address by title and type)."""

from __future__ import annotations

from datetime import datetime

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.ports import NameSource

#: Longest base that still fits " - " and a six-digit suffix.
_SUFFIXED_LENGTH = NAME_LENGTH - 9
LEAD_SERIES = "CRM-LEAD-.YYYY.-"


def _taken(tx: NameSource, doctype: str, name: str) -> bool:
    return bool(tx.stored_names(doctype, [name]))


def customer_name(tx: NameSource, customer_name: str) -> str:
    """ERPNext's default "Customer Name" naming: the name itself, or ``<name> - N`` on a clash, where N is
    one more than the highest numeric suffix in use. A name too long for a suffix is shortened first."""
    base = customer_name.strip()[:NAME_LENGTH]
    if not _taken(tx, "Customer", base):
        return base
    stem = base[:_SUFFIXED_LENGTH]
    prefix = f"{stem} - "
    suffixes = [
        int(rest)
        for existing in tx.names_with_prefix("Customer", prefix)
        if (rest := existing[len(prefix) :]).isascii() and rest.isdigit()
    ]
    number = max(suffixes, default=0) + 1
    while _taken(tx, "Customer", f"{prefix}{number}"):
        number += 1
    return f"{prefix}{number}"


def lead_name(tx: NameSource, at: datetime) -> str:
    """``CRM-LEAD-YYYY-#####`` from ERPNext's naming-series counter, skipping names already in use."""
    prefix = LEAD_SERIES.replace(".YYYY.", f"{at.year:04d}")
    while True:  # skip numbers taken by Leads that were named by hand (or imported with their names)
        candidate = f"{prefix}{tx.next_series_value(prefix):05d}"
        if not _taken(tx, "Lead", candidate):
            return candidate


def address_name(tx: NameSource, title: str, address_type: str) -> str:
    """``<title>-<type>``; on a clash ``<title>-<type>-N`` from the tabSeries counter ``<title>-<type>-``.
    The title is stripped (as ERPNext does) and shortened so the name always fits varchar(140)."""
    kind = address_type.strip()
    room = NAME_LENGTH - len(kind) - 1 - 8  # "-<type>" and "-<counter>"
    base = f"{title.strip()[:room].strip()}-{kind}"
    if not _taken(tx, "Address", base):
        return base
    while True:
        candidate = f"{base}-{tx.next_series_value(f'{base}-')}"
        if not _taken(tx, "Address", candidate):
            return candidate
