"""ERPNext's default country list (the keys of Frappe v15's country_info.json, with ISO-2 codes)."""

from __future__ import annotations

import json
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
