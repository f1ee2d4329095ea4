"""domain/customers.py: a search's limits (words, length, the cap), its words, and its paging: the page must lie
within the first ``cap`` matches, so that every search has a bounded cost."""

from __future__ import annotations

import pytest

from erpnext_medusa.domain.customers import SearchLimits, page_bounds, search_words
from erpnext_medusa.domain.errors import ValidationFailedError

CAP = 500


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (None, None, (CAP, 0)),  # no limit: the rest of the cap
        (0, None, (CAP, 0)),  # 0 means no limit, as in Frappe
        (20, None, (20, 0)),
        (20, 40, (20, 40)),
        (None, 120, (CAP - 120, 120)),
        (10_000, None, (CAP, 0)),  # a limit above the cap counts as the cap
        (1, CAP - 1, (1, CAP - 1)),  # the deepest page there is
        (CAP - 100, 100, (CAP - 100, 100)),
        (None, CAP - 1, (1, CAP - 1)),
    ],
)
def test_pages_within_the_cap(limit, offset, expected):
    assert page_bounds(limit, offset, CAP) == expected


@pytest.mark.parametrize("offset", [CAP, CAP + 1, 2**31 - 1])
@pytest.mark.parametrize("limit", [None, 0, 1, CAP])
def test_a_start_at_or_past_the_cap_is_refused_with_the_reason(limit, offset):
    with pytest.raises(ValidationFailedError) as refused:
        page_bounds(limit, offset, CAP)
    assert refused.value.message == (
        f"limit_start must be less than {CAP}: a search reaches only its first {CAP} customers; "
        "type more of the name to narrow it."
    )


@pytest.mark.parametrize(("limit", "offset"), [(2, CAP - 1), (CAP, 1), (10_000, 1), (100, 450)])
def test_a_page_that_ends_past_the_cap_is_refused_and_says_how_much_fits(limit, offset):
    with pytest.raises(ValidationFailedError) as refused:
        page_bounds(limit, offset, CAP)
    assert refused.value.message == (
        f"limit_start + limit must be at most {CAP}: a search reaches only its first {CAP} customers "
        f"(ask for limit {CAP - offset} or less here)."
    )


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [
        (-1, None, "limit must be a whole number, 0 or more"),
        (None, -1, "limit_start must be a whole number, 0 or more"),
    ],
)
def test_negative_numbers_are_refused(limit, offset, message):
    with pytest.raises(ValidationFailedError, match=message):
        page_bounds(limit, offset, CAP)


# --- the search's limits and words ---------------------------------------------------------------------------


def test_the_text_is_never_longer_than_a_customer_name():
    assert SearchLimits.of(5, 1000, 50) == SearchLimits(words=5, length=140, cap=50)
    assert SearchLimits.of(5, 20, 50).length == 20


def test_a_search_within_its_limits_is_returned_unchanged():
    limits = SearchLimits(words=2, length=11, cap=50)
    assert limits.check(None) is None
    assert limits.check("ali  hassan") == "ali  hassan"
    assert limits.check("") == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [("a b c", "name has too many words: at most 2 are allowed."),
     ("x" * 11, "name is too long: at most 10 characters are allowed.")],
)  # fmt: skip
def test_a_search_past_its_limits_is_refused_with_the_limit(name, message):
    with pytest.raises(ValidationFailedError) as err:
        SearchLimits(words=2, length=10, cap=50).check(name)
    assert err.value.message == message


@pytest.mark.parametrize(("name", "words"), [(None, []), ("", []), ("  ", []), (" ali\thassan\n", ["ali", "hassan"]),
                                             ("شركة  النور", ["شركة", "النور"])])  # fmt: skip
def test_the_words_are_split_on_any_whitespace(name, words):
    assert search_words(name) == words


def test_a_word_no_backend_can_store_is_refused():
    with pytest.raises(ValidationFailedError) as err:
        search_words("ac\x00me")
    assert err.value.message == "name contains a character that is not allowed."
