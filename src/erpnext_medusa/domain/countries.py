"""ERPNext's default country list (the keys of Frappe v15's country_info.json, with ISO-2 codes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class Country:
    name: str
    code: str


@cache
def default_countries() -> tuple[Country, ...]:
    raw = json.loads(files("erpnext_medusa").joinpath("data/countries.json").read_text(encoding="utf-8"))
    return tuple(Country(name=item["name"], code=item["code"]) for item in raw)


def match_country(value: str, countries: Iterable[Country]) -> str | None:
    """The canonical name among ``countries`` for a name or an ISO-2 code: the exact spelling first, then any
    letter case, then the code (any case)."""
    wanted = value.lower()
    candidates = [c for c in countries if c.name.lower() == wanted or (c.code or "").lower() == wanted]
    for test in (
        lambda c: c.name == value,
        lambda c: c.name.lower() == wanted,
        lambda c: (c.code or "").lower() == wanted,
    ):
        for country in candidates:
            if test(country):
                return country.name
    return None
