"""MariaDB: unique medusa_id indexes whose first column is the field, so that Frappe names it.

When ERPNext's own desk saves a Customer (or Lead) whose medusa_id another one holds, MariaDB refuses the write and
Frappe words the refusal from the index: it looks up the first column of the violated unique index and prints
"<that field's label> must be unique". The indexes of 0001 and 0005 cover only the generated key column
(``NULLIF(medusa_id, '')``), so Frappe answered "medusa_id_key must be unique", naming an internal column. They are
rebuilt over ``(medusa_id, medusa_id_key)``, under their own names: Frappe now answers "Medusa ID must be unique"
(on a standalone database; an ERPNext site's own loses them in 0009). What clashes does not change: two rows clash
only when both columns are equal, and a binary-equal key implies an equal medusa_id, so ids are still compared
exactly (in every letter case, as Medusa's own keys are), and an empty id (no key) still repeats freely. PostgreSQL
and SQLite are unchanged (partial indexes on the field itself; Frappe words no message there).

Each step checks first, so a run that stopped half-way can be run again. Names are this revision's own, frozen.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erpnext_medusa.store.sql.site import is_erpnext_site

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_MARIADB = ("mysql", "mariadb")
_KEY_COLUMN = "medusa_id_key"
_INDEXES = (("tabCustomer", "customer_medusa_id_unique"), ("tabLead", "lead_medusa_id_unique"))


def _columns(bind: sa.Connection, table: str, index: str) -> list[str] | None:
    for found in sa.inspect(bind).get_indexes(table):
        if found["name"] == index:
            return [str(name) for name in found["column_names"]]
    return None


def _rebuild(bind: sa.Connection, columns: list[str]) -> None:
    for table, index in _INDEXES:
        if _columns(bind, table, index) == columns:
            continue
        # One statement: the rule holds throughout (MariaDB builds the new index before it drops the old one).
        listed = ", ".join(f"`{name}`" for name in columns)
        op.execute(f"ALTER TABLE `{table}` DROP INDEX `{index}`, ADD UNIQUE INDEX `{index}` ({listed})")


def upgrade() -> None:
    bind = op.get_bind()
    # On an ERPNext site's own database the next revision removes these indexes: no table is rebuilt for them.
    if bind.dialect.name in _MARIADB and not is_erpnext_site(bind):
        _rebuild(bind, ["medusa_id", _KEY_COLUMN])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name in _MARIADB:
        _rebuild(bind, [_KEY_COLUMN])
