"""Fetch unlinked customers: the typeahead behind ``fetch_all_customers``."""

from __future__ import annotations

from dataclasses import dataclass

from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.models import CustomerSummary
from erpnext_medusa.domain.ports import Store
from erpnext_medusa.domain.text import check_length, storable


@dataclass(frozen=True)
class SearchLimits:
    """What one search may ask for: at most ``words`` words and ``length`` characters of text, and only its first
    ``cap`` matches (every page lies within them)."""

    words: int
    length: int
    cap: int

    @classmethod
    def of(cls, max_search_words: int, max_text_length: int, fetch_max_results: int) -> SearchLimits:
        """The limits the settings of those names give (the text is never longer than a customer_name column)."""
        return cls(words=max_search_words, length=min(max_text_length, NAME_LENGTH), cap=fetch_max_results)

    def check(self, name: str | None) -> str | None:
        """The typeahead text unchanged, or a ValidationError naming ``name`` when it breaks a limit."""
        if name is None:
            return None
        check_length("name", name, self.length)
        if len(name.split()) > self.words:
            raise ValidationFailedError(f"name has too many words: at most {self.words} are allowed.")
        return name


def search_words(name: str | None) -> list[str]:
    """The words of a typeahead query: split on any whitespace; a blank query has none (no filter)."""
    return storable("name", name).split() if name else []


def page_bounds(limit: int | None, offset: int | None, cap: int) -> tuple[int, int]:
    """(limit, offset) for one page. A search reaches its first ``cap`` matches and no further, so that every
    search has a bounded cost: the page must lie within them. No limit (or 0, as in Frappe) means the rest of
    them; a limit above ``cap`` counts as ``cap``."""
    if limit is not None and limit < 0:
        raise ValidationFailedError("limit must be a whole number, 0 or more")
    if offset is not None and offset < 0:
        raise ValidationFailedError("limit_start must be a whole number, 0 or more")
    offset = offset or 0
    if offset >= cap:
        raise ValidationFailedError(
            f"limit_start must be less than {cap}: a search reaches only its first {cap} customers; "
            "type more of the name to narrow it."
        )
    if not limit:
        return cap - offset, offset
    limit = min(limit, cap)
    if offset + limit > cap:
        raise ValidationFailedError(
            f"limit_start + limit must be at most {cap}: a search reaches only its first {cap} customers "
            f"(ask for limit {cap - offset} or less here)."
        )
    return limit, offset


def fetch_unlinked_customers(
    store: Store, name: str | None, *, limit: int | None = None, offset: int | None = None, limits: SearchLimits
) -> list[CustomerSummary]:
    """Enabled Customers without a medusa_id whose customer_name contains every word of ``name``
    (case-insensitive, literal substring), ordered by customer_name then name; ``name`` and the page are held
    to ``limits`` first."""
    name = limits.check(name)
    page_limit, page_offset = page_bounds(limit, offset, limits.cap)
    return store.search_unlinked_customers(search_words(name), limit=page_limit, offset=page_offset)
