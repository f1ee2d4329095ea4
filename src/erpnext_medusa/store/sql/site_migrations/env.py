"""Alembic environment of the site track: run with the connection that
:func:`erpnext_medusa.store.sql.migrate.upgrade` passes, recording its revision in the site track's own table."""

from alembic import context

from erpnext_medusa.store.sql.migrate import SITE_VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=SITE_VERSION_TABLE, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
