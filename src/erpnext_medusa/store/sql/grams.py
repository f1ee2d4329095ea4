"""The grams of the typeahead index: how a folded name or word is cut into the keys each database indexes.

One module for what the search, the engine's SQLite functions and the index's tests share:

* PostgreSQL indexes a folded name's characters and character pairs.
* MariaDB and SQLite index pair tokens: ``b`` + two UTF-16 code units in hex (so any script becomes a word
  their full-text parsers accept), the last unit paired with :data:`END_UNIT`.
* Every database keeps, for each character and character pair of the folded names, the smallest and largest
  ``customer_name`` holding it (the gram ranges), which :func:`name_grams` and :func:`word_grams` spell.

The migrations spell the same rules in SQL, frozen as they were written; the index tests check that both
agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from erpnext_medusa.domain.text import fold

#: SQLite: the function the triggers call (registered on every connection of the service).
SQLITE_GRAMS_FUNCTION = "erpnext_medusa_search_grams"
#: MariaDB / SQLite: the marker after the last code unit, so that a name's last character starts a pair too.
END_UNIT = "FFFF"


def _units(folded: str) -> list[str]:
    data = folded.encode("utf-16-be", "surrogatepass").hex().upper()
    return [data[i : i + 4] for i in range(0, len(data), 4)]


def pair_tokens(folded: str) -> list[str]:
    """A folded name's pair tokens (MariaDB and SQLite): ``b`` + two hex UTF-16 code units, the last unit
    paired with :data:`END_UNIT`."""
    units = [*_units(folded), END_UNIT]
    return [f"b{a}{b}" for a, b in pairwise(units)]


def sqlite_grams(value: str | None) -> str:
    """What SQLite's triggers index for a customer_name: its pair tokens, space-separated."""
    return " ".join(pair_tokens(fold(value))) if value else ""


def name_grams(folded: str) -> set[str]:
    """A folded name's characters and adjacent character pairs (code points): PostgreSQL's gram index, and
    the keys of the gram ranges on every database."""
    return set(folded) | {a + b for a, b in pairwise(folded)}


def word_grams(folded: str) -> set[str]:
    """The grams every name containing the folded word holds: the word itself if it is one character, else
    its pairs (which hold its characters)."""
    return {folded} if len(folded) == 1 else {a + b for a, b in pairwise(folded)}


@dataclass(frozen=True)
class Flavour:
    """How one backend spells grams: the keys a folded word needs, and the keys a folded name holds."""

    utf16_pairs: bool  # MariaDB / SQLite; else PostgreSQL's characters and character pairs

    def word_keys(self, folded: str) -> list[str]:
        if self.utf16_pairs:
            units = _units(folded)
            if len(units) == 1:
                return [f"b{units[0]}*"]  # every pair the unit starts (the last one pairs with END_UNIT)
            return sorted({f"b{a}{b}" for a, b in pairwise(units)})
        return sorted(word_grams(folded))

    def name_keys(self, folded: str) -> set[str]:
        if self.utf16_pairs:
            units = _units(folded)
            return {f"b{u}*" for u in units} | {f"b{a}{b}" for a, b in pairwise(units)}
        return name_grams(folded)
