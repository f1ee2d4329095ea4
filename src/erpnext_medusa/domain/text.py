"""What text the databases can store and compare faithfully."""

from __future__ import annotations

import re

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


def fold(value: str) -> str:
    """The service's case fold for searching: the same function folds a stored name and a typed word, so a word
    typed as it is stored is always found. ``casefold``, not ``lower``: ``lower`` depends on context (a final
    Greek sigma), which breaks substring tests."""
    return value.casefold()


def is_email(value: str) -> bool:
    """Whether ``value`` looks like one e-mail address (local part, ``@``, a domain with a dot; no spaces or
    list separators), as the import and the signup intake both require of ``email_id``."""
    return bool(_EMAIL.match(value))
