"""What text the databases can store and compare faithfully."""

from __future__ import annotations

import re
import unicodedata

from erpnext_medusa.domain.errors import ValidationFailedError

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

# NUL is refused by PostgreSQL and ignored by MariaDB's collations (so "Ac\x00me" would match "Acme");
# lone surrogates cannot be encoded as UTF-8 at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(label: str, value: str) -> str:
    """``value`` unchanged, or a ValidationError naming ``label`` when it holds a character no backend keeps."""
    if _UNSTORABLE.search(value):
        raise ValidationFailedError(f"{label} contains a character that is not allowed.")
    return value


def check_length(label: str, value: str, limit: int) -> str:
    """``value`` unchanged, or a ValidationError when it has more than ``limit`` characters."""
    if len(value) > limit:
        raise ValidationFailedError(f"{label} is too long: at most {limit} characters are allowed.")
    return value


def required_name(label: str, value: str) -> str:
    """``value`` unchanged, or a ValidationError when it is blank or not storable."""
    if not value.strip():
        raise ValidationFailedError(f"{label} is required.")
    return storable(label, value)


#: Arabic letters written in several ways, each to the one spelling the search compares, and the Arabic-Indic
#: and Persian (extended Arabic-Indic) digits to ASCII digits.
_SPELLINGS = str.maketrans(
    {"\u0671": "\u0627", "\u0629": "\u0647", "\u0649": "\u064a"}
    | {chr(0x0660 + d): str(d) for d in range(10)}
    | {chr(0x06F0 + d): str(d) for d in range(10)}
)
#: Arabic marks the search ignores though they combine with nothing (tatweel) or may have no combining class.
_ARABIC_MARKS = frozenset(chr(c) for c in (0x0640, 0x0670, *range(0x064B, 0x0660)))


def _unmarked(value: str) -> str:
    """``value`` in compatibility decomposition, without its combining marks and Arabic marks."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch) and ch not in _ARABIC_MARKS
    )


def fold(value: str) -> str:
    """The service's fold for searching: the same function folds a stored name and a typed word, so a word
    typed as it is stored is always found, and a word typed without accents, in another case or with other
    digits finds it too (docs/search.md, "Folding").

    Compatibility forms are decomposed (``ﬁ`` to ``fi``, ``²`` to ``2``), combining marks dropped (``É`` to
    ``e``, and with them the hamza above or below alef), case folded with ``casefold`` (``ß`` to ``ss``; not
    ``lower``, which depends on context), Arabic vowel marks and tatweel dropped, alef wasla read as alef, teh
    marbuta as heh, alef maksura as yeh, and Arabic-Indic and Persian digits as ASCII digits."""
    return _unmarked(_unmarked(value).casefold()).translate(_SPELLINGS)


def case_fold(value: str) -> str:
    """Case alone folded (Unicode ``casefold``): SQLite's ``lower()`` on the service's connections, so that
    it folds what PostgreSQL and MariaDB fold."""
    return value.casefold()


def is_email(value: str) -> bool:
    """Whether ``value`` looks like one e-mail address (local part, ``@``, a domain with a dot; no spaces or
    list separators), as the import and the signup intake both require of ``email_id``."""
    return bool(_EMAIL.match(value))
