"""Mirror rows for the tests of the mirror (store/sql/mirror.py) and of its planner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from erpnext_medusa.store.sql.mirror import MirrorCustomer

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456)
NOW = datetime(2026, 3, 5, 0, 0, 0)


def cust(name: str, customer_name: str | None = None, *, modified: datetime = T0, **fields: Any) -> MirrorCustomer:
    values: dict[str, Any] = {"email_id": None, "mobile_no": None, "medusa_id": None, "lead_name": None,
                              "disabled": False} | fields  # fmt: skip
    return MirrorCustomer(name=name, customer_name=customer_name or name, modified=modified, **values)


# LIKE's own specials and characters whose folds differ between databases, all folded by the service alone.
ALPHABET = st.sampled_from(
    list("aAbBzZeéÉöÖñÑßẞçÇİıΣσςﬁ²")
    + list("محمدعليأإآٱاةهىيـَُ\u0670")
    + list("٠١۱1\u0301")
    + list("%_/\\'\"-.0 ")
    + ["\t"]
)
NAMES = st.text(ALPHABET, min_size=1, max_size=12).filter(lambda s: s.strip() != "")
