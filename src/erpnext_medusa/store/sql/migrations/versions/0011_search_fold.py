"""Index every Customer again on SQLite for the search fold that ignores accents, compatibility forms, Arabic
spelling variants and digit scripts (``Élodie`` and ``elodie``, ``أحمد`` and ``احمد``, ``١٢٣`` and ``123``).

On SQLite the service folds the names it indexes (the key table's folded names, their FTS5 tokens and the gram
ranges), so the index built with the earlier fold is emptied and every Customer queued; the service indexes the
queue right after the upgrade (and before any search that finds it not empty). PostgreSQL and MariaDB fold in
the database and are left as they are.

Names below are this revision's own, frozen: those 0002 and 0007 created.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CUSTOMER = "tabCustomer"
_QUEUE = "erpnext_medusa_search_queue"
_RANGE = "erpnext_medusa_gram_range"
_FTS_TABLE = "erpnext_medusa_customer_search"
_KEY_TABLE = "erpnext_medusa_customer_search_key"


def _reindex() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    tables = set(sa.inspect(bind).get_table_names())
    if not {_QUEUE, _RANGE, _FTS_TABLE, _KEY_TABLE, _CUSTOMER} <= tables:
        return
    op.execute(f"""INSERT INTO "{_FTS_TABLE}" ("{_FTS_TABLE}") VALUES ('delete-all')""")
    op.execute(f'DELETE FROM "{_KEY_TABLE}"')
    op.execute(f'DELETE FROM "{_RANGE}"')
    op.execute(f'INSERT OR IGNORE INTO "{_QUEUE}" (name) SELECT name FROM "{_CUSTOMER}"')


def upgrade() -> None:
    _reindex()


def downgrade() -> None:
    # The index is rebuilt with whatever fold the service that runs next uses.
    _reindex()
