"""How ERPNext names new documents (Customer by customer_name, Lead by series, Address by title and type)."""

from __future__ import annotations

import re
from datetime import datetime

from erpnext_medusa.store.base import Transaction

NAME_LENGTH = 140
LEAD_SERIES = "CRM-LEAD-.YYYY.-"


def customer_name(tx: Transaction, customer_name: str) -> str:
    """ERPNext's default "Customer Name" naming: the name itself, or ``<name> - N`` on a clash, where N is
    one more than the highest numeric suffix in use."""
    base = customer_name.strip()[:NAME_LENGTH]
    if not tx.existing_names("Customer", [base]):
        return base
    prefix = f"{base} - "
    suffixes = [
        int(rest)
        for existing in tx.names_with_prefix("Customer", prefix)
        if (rest := existing[len(prefix) :]).isdigit()
    ]
    candidate = f"{base} - {max(suffixes, default=0) + 1}"
    if len(candidate) > NAME_LENGTH:  # keep the suffix, shorten the base
        candidate = f"{base[: NAME_LENGTH - len(candidate)]} - {max(suffixes, default=0) + 1}"
    return candidate


def lead_name(tx: Transaction, at: datetime) -> str:
    """``CRM-LEAD-YYYY-#####`` from ERPNext's naming-series counter, skipping names already in use."""
    prefix = LEAD_SERIES.replace(".YYYY.", f"{at.year:04d}")
    while True:  # skip numbers taken by Leads that were named by hand (or imported with their names)
        candidate = f"{prefix}{tx.next_series_value(prefix):05d}"
        if not tx.existing_names("Lead", [candidate]):
            return candidate


def address_name(tx: Transaction, title: str, address_type: str) -> str:
    """``<title>-<type>``; on a clash ``<title>-<type>-N`` from the tabSeries counter ``<title>-<type>-``."""
    kind = address_type.strip()
    # Leave room for "-<type>-<counter>" so the name always fits varchar(140).
    room = NAME_LENGTH - len(kind) - 1 - 8
    clean_title = re.sub(r"\s+", " ", title.strip())[:room].strip()
    base = f"{clean_title}-{kind}"
    if not tx.existing_names("Address", [base]):
        return base
    while True:
        candidate = f"{base}-{tx.next_series_value(f'{base}-')}"
        if not tx.existing_names("Address", [candidate]):
            return candidate
