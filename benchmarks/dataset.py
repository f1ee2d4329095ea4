"""A deterministic population of Customers for the benchmark: English and Arabic people and companies.

``documents(n, seed)`` yields the same Frappe-style documents for the same ``n`` and ``seed`` on every
machine. One Customer in ten is already linked to Medusa. Every name is explicit (as in an ERPNext export),
and repeated customer names get ERPNext's `` - N`` suffix.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENGLISH_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Edward Sharon Jason Laura Jeffrey Cynthia Ryan Kathleen"
).split()
ENGLISH_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim"
).split()
ARABIC_FIRST = (
    "محمد أحمد علي حسن حسين عمر خالد يوسف إبراهيم عبدالله سعيد طارق كريم مصطفى محمود سامي ماجد فيصل "
    "ناصر وليد فاطمة عائشة مريم زينب خديجة سارة نور ليلى هدى رنا سلمى منى ياسمين دينا هالة رقية"
).split()
ARABIC_LAST = (
    "الحسن العلي الأحمد المصري الشامي القحطاني العتيبي الزهراني الغامدي الدوسري الشمري الحربي المطيري "
    "البلوشي الكعبي النعيمي الهاشمي التميمي الخطيب السيد الجبوري العبيدي الربيعي الخزرجي"
).split()
COMPANY_STEMS = (
    "Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Tyrell Cyberdyne Wonka Oceanic Gringotts "
    "Sterling Pinnacle Summit Horizon Evergreen Bluewater Redstone Silverline Goldleaf Ironbridge Northwind "
    "Southgate Eastport Westfield Crescent Falcon Phoenix Atlas Orion Zenith Apex Vertex Nova Lumen"
).split()
COMPANY_KINDS = (
    "Trading Holdings Group Logistics Foods Textiles Electronics Motors Pharma Builders Consulting Imports "
    "Exports Supplies Industries Partners Ventures Systems Solutions Retail"
).split()
COMPANY_SUFFIXES = ("LLC", "Ltd", "Inc", "Co", "FZE", "WLL", "")
ARABIC_COMPANY_PREFIX = ("شركة", "مؤسسة", "مجموعة", "مصنع", "مكتب")
ARABIC_COMPANY_KIND = (
    "للتجارة", "للمقاولات", "للخدمات", "للاستيراد", "للتصدير", "للأغذية", "للإلكترونيات", "للسيارات", "للأدوية",
)  # fmt: skip
ARABIC_COMPANY_STEM = ("النور", "الأمل", "الرواد", "الخليج", "الصفا", "المستقبل", "البركة", "الفجر", "السلام")

LINKED_SHARE = 10  # one Customer in ten already carries a medusa_id


def _customer_name(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.40:
        return f"{rng.choice(ENGLISH_FIRST)} {rng.choice(ENGLISH_FIRST)} {rng.choice(ENGLISH_LAST)}"
    if kind < 0.65:
        suffix = rng.choice(COMPANY_SUFFIXES)
        name = f"{rng.choice(COMPANY_STEMS)} {rng.choice(COMPANY_KINDS)}"
        name = f"{name} {suffix}" if rng.random() < 0.7 else f"{rng.choice(ENGLISH_LAST)} {name} {suffix}"
        return name.rstrip()
    if kind < 0.85:
        return f"{rng.choice(ARABIC_FIRST)} {rng.choice(ARABIC_FIRST)} {rng.choice(ARABIC_LAST)}"
    return f"{rng.choice(ARABIC_COMPANY_PREFIX)} {rng.choice(ARABIC_COMPANY_STEM)} {rng.choice(ARABIC_COMPANY_KIND)}"


def documents(n: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    """``n`` Customer documents, always the same ones for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    for i in range(n):
        customer_name = _customer_name(rng)
        seen[customer_name] += 1
        count = seen[customer_name]
        name = customer_name if count == 1 else f"{customer_name} - {count - 1}"
        doc: dict[str, Any] = {
            "doctype": "Customer",
            "name": name,
            "customer_name": customer_name,
            "customer_type": "Company" if rng.random() < 0.4 else "Individual",
            "customer_group": "Commercial",
            "territory": "All Territories",
        }
        if rng.random() < 0.5:
            doc["email_id"] = f"customer{i}@example.com"
        if rng.random() < 0.5:
            doc["mobile_no"] = f"+9715{i:08d}"
        if i % LINKED_SHARE == 0:
            doc["medusa_id"] = f"cus_bench{i:09d}"
        yield doc


def write_jsonl(path: Path, n: int, seed: int = 2026) -> Path:
    """The population as JSON lines (the import format), written once per (n, seed)."""
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for doc in documents(n, seed):
                out.write(json.dumps(doc, ensure_ascii=False))
                out.write("\n")
        tmp.replace(path)
    return path
