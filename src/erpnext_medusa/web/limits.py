"""The search's limits, built from the settings.

The request's overall size is held by :mod:`erpnext_medusa.web.middleware`; every limit on an argument's value
is the domain's: the search's text and paging (:class:`~erpnext_medusa.domain.customers.SearchLimits`), a
link's names (:func:`~erpnext_medusa.domain.leads.link_name`), update_address's Customer and fields.
"""

from __future__ import annotations

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.customers import SearchLimits


def search_limits(settings: Settings) -> SearchLimits:
    """The search's limits from the settings (``max_search_words``, ``max_text_length``, ``fetch_max_results``)."""
    return SearchLimits.of(settings.max_search_words, settings.max_text_length, settings.fetch_max_results)
