"""The back office's duplicates: Customers sharing an e-mail (case-folded) or a phone (its last 9 digits, so
that ``+966 50 123 4567`` and ``050-123-4567`` meet), and Leads sharing an e-mail, for any table of Customers
and Leads (``tabCustomer``/``tabLead``, or the site's mirror of them). Each kind is one grouping query and one
query for the members of its largest groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, FromClause, func, select

from erpnext_medusa.domain.backoffice import PHONE_DIGITS
from erpnext_medusa.domain.models import DuplicateGroup

#: Characters a typed phone number is written with besides its digits.
_PHONE_SEPARATORS = (" ", "-", "+", "(", ")", ".", "/")


def _email_key(col: Any) -> Any:
    return func.lower(func.trim(col))


def _phone_key(dialect: str, col: Any) -> Any:
    digits = col
    for ch in _PHONE_SEPARATORS:
        digits = func.replace(digits, ch, "")
    if dialect == "sqlite":
        return func.substr(digits, -PHONE_DIGITS)
    return func.right(digits, PHONE_DIGITS)


def _groups(
    conn: Connection, rows: FromClause, key: Any, title: Any, field: Any, least: int, limit: int, kind: str
) -> list[DuplicateGroup]:
    c = rows.c
    wanted = [field.is_not(None), field != "", func.length(key) >= least]
    keys = (
        select(key.label("key"))
        .select_from(rows)
        .where(*wanted)
        .group_by(key)
        .having(func.count() > 1)
        .order_by(func.count().desc(), key)
        .limit(limit)
    )
    found = [r.key for r in conn.execute(keys)]
    if not found:
        return []
    members = select(key.label("key"), c.name, title.label("title"), field.label("value")).where(
        *wanted, key.in_(found)
    )
    groups: dict[str, DuplicateGroup] = {k: DuplicateGroup(kind, k, []) for k in found}
    for r in conn.execute(members.order_by(c.name)):
        groups[r.key].members.append((r.name, r.title or r.name, r.value))
    return list(groups.values())


def duplicate_groups(
    conn: Connection, dialect: str, customers: FromClause, leads: FromClause, limit: int
) -> list[DuplicateGroup]:
    """At most ``limit`` groups of each kind, the largest first."""
    cu, le = customers.c, leads.c
    return [
        *_groups(conn, customers, _email_key(cu.email_id), cu.customer_name, cu.email_id, 3, limit, "customer-email"),
        *_groups(
            conn, customers, _phone_key(dialect, cu.mobile_no), cu.customer_name, cu.mobile_no, 7, limit,
            "customer-phone",
        ),
        *_groups(conn, leads, _email_key(le.email_id), le.lead_name, le.email_id, 3, limit, "lead-email"),
    ]  # fmt: skip


__all__ = ["duplicate_groups"]
