"""Limits on argument values, checked before any query runs (each breach is a 417 that names the argument).

The request's overall size is held by :mod:`erpnext_medusa.web.middleware`; update_address's fields are
held to their columns' lengths by the domain.
"""

from __future__ import annotations

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.text import check_length


def check_search(name: str | None, settings: Settings) -> str | None:
    """The typeahead text: no longer than a customer_name column, and at most ``max_search_words`` words."""
    if name is None:
        return None
    check_length("name", name, min(settings.max_text_length, NAME_LENGTH))
    if len(name.split()) > settings.max_search_words:
        raise ValidationFailedError(f"name has too many words: at most {settings.max_search_words} are allowed.")
    return name


def check_name(label: str, value: str | None) -> str | None:
    """A document's name: Customer and Lead names are varchar(140) in ERPNext, so a longer one cannot exist."""
    return None if value is None else check_length(label, value, NAME_LENGTH)
