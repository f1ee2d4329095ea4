"""domain/text.py: what text may be stored (no NUL, no lone surrogate; lengths; required names), what is an
e-mail address, and the search fold: the one function that folds stored names and typed words alike
(docs/search.md)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpnext_medusa.domain.errors import ValidationFailedError
from erpnext_medusa.domain.text import case_fold, check_length, fold, is_email, required_name, storable

DOCS = Path(__file__).parents[2] / "docs" / "search.md"

#: Letters, marks and digits of the scripts people type names in, and the compatibility forms.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(list("ÉéÅåßẞİıΣσςﬁ²ـًٌٍَُِّْٰ") + list("أإآٱاةهىيؤئ٠١٢۰۱۲"))
)


@given(TEXT)
def test_folding_twice_is_folding_once(value: str) -> None:
    assert fold(fold(value)) == fold(value)


@given(TEXT, TEXT)
def test_a_folded_word_of_a_name_is_in_the_folded_name(before: str, word: str) -> None:
    """Whatever surrounds a word, its fold is a substring of the name's fold: a word typed as it is stored is
    always found."""
    assert fold(word) in fold(before + word + before)


@given(TEXT)
def test_nothing_folds_to_a_mark_an_upper_case_letter_or_a_non_ascii_digit(value: str) -> None:
    folded = fold(value)
    assert not any(unicodedata.combining(ch) for ch in folded)
    replaced = "\u0640\u064b-\u065f\u0670\u0660-\u0669\u06f0-\u06f9\u0622\u0623\u0625\u0671\u0629\u0649"
    assert not re.search(f"[{replaced}]", folded)
    assert folded == case_fold(folded)


def documented_examples() -> list[tuple[str, str]]:
    """The rows of the examples table in docs/search.md: typed or stored, and its fold, both in backticks."""
    section = DOCS.read_text(encoding="utf-8").split("## Folding", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|", section, flags=re.MULTILINE)
    assert len(rows) >= 12
    return rows


@pytest.mark.parametrize(("value", "folded"), documented_examples())
def test_the_documented_examples_fold_as_documented(value: str, folded: str) -> None:
    assert fold(value) == folded


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("elodie", "Élodie Dupont"), ("angstrom", "Ångström"), ("123", "شركة ١٢٣"), ("احمد", "أحمد"),
     ("اسامة", "أسامه"), ("مصطفى", "مصطفي"), ("محمد", "مُحَمَّد"), ("محمد", "محـمد"), ("strasse", "Straße"),
     ("istanbul", "İstanbul"), ("fine", "ﬁne"), ("45", "۴۵"), ("٤٥", "45")],
)  # fmt: skip
def test_what_people_type_finds_what_is_stored(typed: str, stored: str) -> None:
    assert fold(typed) in fold(stored)


def test_letters_that_differ_stay_apart() -> None:
    assert fold("ه") != fold("ح")
    assert fold("ا") != fold("ء")  # a lone hamza is a letter, not a mark
    assert fold("e") != fold("a")
    assert fold("1") != fold("٢")


# --- what may be stored --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "Acme", "شركة النور", "a\tb\nc", "\U0001f600"])
def test_text_every_backend_keeps_is_returned_unchanged(value: str) -> None:
    assert storable("City", value) is value


@pytest.mark.parametrize("value", ["Ac\x00me", "\ud800", "x\udfff"])
def test_nul_and_lone_surrogates_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValidationFailedError) as err:
        storable("City", value)
    assert err.value.message == "City contains a character that is not allowed."


def test_a_length_is_counted_in_characters_up_to_the_limit() -> None:
    assert check_length("City", "é" * 140, 140) == "é" * 140
    with pytest.raises(ValidationFailedError) as err:
        check_length("City", "é" * 141, 140)
    assert err.value.message == "City is too long: at most 140 characters are allowed."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Lead is required."),
        (" \t ", "Lead is required."),
        ("L\x00", "Lead contains a character that is not allowed."),
    ],
)
def test_a_required_name_is_neither_blank_nor_unstorable(value: str, message: str) -> None:
    assert required_name("Lead", " CRM-LEAD-1 ") == " CRM-LEAD-1 "  # returned as given: callers strip
    with pytest.raises(ValidationFailedError) as err:
        required_name("Lead", value)
    assert err.value.message == message


@pytest.mark.parametrize("value", ["a@b.io", "ali.hassan+shop@mail.example.ae", "x@sub.domain.co"])
def test_one_address_is_an_email(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize("value", ["", "a@b", "@b.io", "a@.io", "a b@c.io", "a@b.io, c@d.io", "a@b.io;", "a@@b.io"])
def test_anything_else_is_not(value: str) -> None:
    assert not is_email(value)
