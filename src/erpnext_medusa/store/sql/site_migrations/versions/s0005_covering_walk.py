"""SQLite: the typeahead's ordered walk reads the folded name from its index.

The walk (store/sql/search.py, the *ordered* plan) reads the searchable Customers in result order from
``erpnext_medusa_site_customer_search (searchable, sort_name, name)`` and checks each row's ``folded`` name.
On SQLite that check went from the index to the table for every row walked; this revision rebuilds the index as
``(searchable, sort_name, name, folded)``, so the walk reads nothing but the index (the longest walks at a
million Customers 2.6 to 4.7 times faster). PostgreSQL caps a btree entry at about 2.7 kB, which a lengthened
name's folded form could pass, and MariaDB cannot index a ``TEXT`` column whole: there the index stays as it
is and this revision does nothing.

Revision ID: s0005
Revises: s0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None

_CUSTOMER = "erpnext_medusa_site_customer"
_INDEX = "erpnext_medusa_site_customer_search"
_WALKED = ["searchable", "sort_name", "name"]


def _rebuild(columns: list[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    found = {ix["name"]: ix["column_names"] for ix in sa.inspect(bind).get_indexes(_CUSTOMER)}
    if found.get(_INDEX) == columns:  # a run that stopped after the rebuild
        return
    op.execute(f'DROP INDEX IF EXISTS "{_INDEX}"')
    op.execute(f'CREATE INDEX "{_INDEX}" ON "{_CUSTOMER}" ({", ".join(columns)})')


def upgrade() -> None:
    _rebuild([*_WALKED, "folded"])


def downgrade() -> None:
    _rebuild(_WALKED)
