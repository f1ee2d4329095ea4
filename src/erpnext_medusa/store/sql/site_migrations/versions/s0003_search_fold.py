"""Fold the mirror's search keys again for the search fold that ignores accents, compatibility forms, Arabic
spelling variants and digit scripts (``Élodie`` and ``elodie``, ``أحمد`` and ``احمد``, ``١٢٣`` and ``123``).

The mirror is written only by the service, which stores each search key folded by the domain's ``fold``; the
keys stored before this revision were case-folded only. Each row whose key the fold changes is rewritten, a
batch of names at a time in name order, so a large mirror is refolded in bounded memory. The fold is the
one the service had on this revision's day, frozen below (``domain/text.py`` holds the live one).

Revision ID: s0003
Revises: s0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None

_BATCH = 5_000
#: mirror table -> (folded key column -> the column it folds)
_KEYS = {
    "erpnext_medusa_site_customer": {"folded": "customer_name"},
    "erpnext_medusa_site_lead": {
        "folded_lead_name": "lead_name",
        "folded_email_id": "email_id",
        "folded_medusa_id": "medusa_id",
    },
}

_SPELLINGS = str.maketrans(
    {"\u0671": "\u0627", "\u0629": "\u0647", "\u0649": "\u064a"}
    | {chr(0x0660 + d): str(d) for d in range(10)}
    | {chr(0x06F0 + d): str(d) for d in range(10)}
)
_ARABIC_MARKS = frozenset(chr(c) for c in (0x0640, 0x0670, *range(0x064B, 0x0660)))


def _unmarked(value: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch) and ch not in _ARABIC_MARKS
    )


def fold(value: str) -> str:
    return _unmarked(_unmarked(value).casefold()).translate(_SPELLINGS)


def _refold(bind: sa.Connection, name: str, keys: dict[str, str], folding: Callable[[str], str]) -> None:
    table = sa.table(name, *(sa.column(c) for c in ("name", *keys, *keys.values())))
    columns = [table.c.name, *(table.c[source] for source in keys.values()), *(table.c[key] for key in keys)]
    batch = sa.select(*columns).where(table.c.name > sa.bindparam("after")).order_by(table.c.name).limit(_BATCH)
    update = (
        sa.update(table)
        .where(table.c.name == sa.bindparam("key_name"))
        .values({key: sa.bindparam(f"new_{key}") for key in keys})
    )
    after = ""
    while rows := bind.execute(batch, {"after": after}).mappings().all():
        changed = []
        for row in rows:
            new = {f"new_{key}": folding(row[source] or "") for key, source in keys.items()}
            if any(new[f"new_{key}"] != row[key] for key in keys):
                changed.append({"key_name": row["name"], **new})
        if changed:
            bind.execute(update, changed)
        after = rows[-1]["name"]


def upgrade() -> None:
    bind = op.get_bind()
    for name, keys in _KEYS.items():
        _refold(bind, name, keys, fold)


def downgrade() -> None:
    """Back to the case fold alone of s0001's day."""
    bind = op.get_bind()
    for name, keys in _KEYS.items():
        _refold(bind, name, keys, str.casefold)
