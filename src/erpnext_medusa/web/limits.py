"""Limits on argument values, checked before any query runs (each breach is a 417 that names the argument).

The request's overall size is held by :mod:`erpnext_medusa.web.middleware`; the search's text and paging, and
update_address's Customer and fields, are held by the domain (:class:`~erpnext_medusa.domain.customers.SearchLimits`,
built here from the settings).
"""

from __future__ import annotations

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.customers import SearchLimits
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.text import check_length


def search_limits(settings: Settings) -> SearchLimits:
    """The search's limits from the settings (``max_search_words``, ``max_text_length``, ``fetch_max_results``)."""
    return SearchLimits.of(settings.max_search_words, settings.max_text_length, settings.fetch_max_results)


def check_name(label: str, value: str | None) -> str | None:
    """A document's name: Customer and Lead names are varchar(140) in ERPNext, so a longer one cannot exist."""
    return None if value is None else check_length(label, value, NAME_LENGTH)
