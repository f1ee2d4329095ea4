"""The back office's list of Medusa Leads: those carrying a medusa_id, the ones no Customer carries yet first.

A search is a literal, case-insensitive substring of the Lead's lead_name, email_id or medusa_id: both sides are
folded by the database (``lower()``; on SQLite the service's Unicode fold, on MariaDB compared code point by code
point) and matched with ``LIKE`` with its wildcards escaped. Pages are small and bounded by the domain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, FromClause, Select, String, and_, case, func, literal, literal_column, or_, select

from erpnext_medusa.domain.models import MedusaLead
from erpnext_medusa.store.sql import tables as t
from erpnext_medusa.store.sql.catalog import Catalog
from erpnext_medusa.store.sql.search import like_literal


def _holder_condition(catalog: Catalog) -> Any:
    """A Customer carries the Lead's medusa_id (compared as the unique indexes compare it)."""
    lead, customer = t.lead.c, t.customer.c
    if catalog.mariadb:  # the binary-collated generated key columns: exact, and indexed on tabCustomer
        key = t.MEDUSA_ID_KEY_COLUMN
        return literal_column(f"`{t.customer.name}`.`{key}`") == literal_column(f"`{t.lead.name}`.`{key}`")
    return and_(customer.medusa_id == lead.medusa_id, customer.medusa_id.is_not(None), customer.medusa_id != "")


def _folded(catalog: Catalog, col: Any) -> Any:
    folded = func.lower(func.coalesce(col, ""))
    return folded.collate("utf8mb4_bin") if catalog.mariadb else folded


def search_medusa_leads(
    catalog: Catalog, conn: Connection, text: str, *, unlinked_only: bool, limit: int, offset: int, name: str | None
) -> list[MedusaLead]:
    lead, customer = t.lead.c, t.customer.c
    holder = (
        select(customer.name)
        .select_from(t.customer)
        .where(_holder_condition(catalog))
        .order_by(customer.name)
        .limit(1)
        .correlate(t.lead)
        .scalar_subquery()
    )
    match = None
    if text:
        pattern = func.lower(literal(like_literal(text), String))
        match = or_(
            *(
                _folded(catalog, col).like(pattern, escape="/")
                for col in (lead.lead_name, lead.email_id, lead.medusa_id)
            )
        )
    if name is not None:
        match = lead.name == name if match is None else and_(match, lead.name == name)
    query = medusa_leads_page(t.lead, holder, match, unlinked_only=unlinked_only, limit=limit, offset=offset)
    return [medusa_lead(r) for r in conn.execute(query).mappings()]


def medusa_leads_page(
    leads: FromClause, holder: Any, match: Any | None, *, unlinked_only: bool, limit: int, offset: int
) -> Select[Any]:
    """The list's rule, for any table of Leads (``tabLead``, or the site's mirror of it): the Leads that carry a
    medusa_id and ``match`` (None: all), each with ``holder`` (the name of the Customer carrying its medusa_id,
    or NULL), those held by none first, then newest first, then by name."""
    lead = leads.c
    conditions = [lead.medusa_id.is_not(None), lead.medusa_id != ""]
    if match is not None:
        conditions.append(match)
    inner = (
        select(
            lead.name,
            lead.lead_name,
            lead.email_id,
            lead.mobile_no,
            lead.medusa_id,
            lead.creation,
            holder.label("holder"),
        )
        .select_from(leads)
        .where(*conditions)
        .subquery("medusa_leads")
    )
    c = inner.c
    query = select(inner)
    if unlinked_only:
        query = query.where(c.holder.is_(None))
    return query.order_by(case((c.holder.is_(None), 0), else_=1), c.creation.desc(), c.name).limit(limit).offset(offset)


def medusa_lead(row: Any) -> MedusaLead:
    """A row of :func:`medusa_leads_page`."""
    return MedusaLead(
        name=row["name"],
        lead_name=row["lead_name"] or None,
        email_id=row["email_id"] or None,
        medusa_id=row["medusa_id"],
        customer=row["holder"],
        mobile_no=row["mobile_no"] or None,
        creation=row["creation"],
    )
