"""Alembic environment: run with the connection that :func:`erpnext_medusa.store.sql.migrate.upgrade` passes."""

from alembic import context

from erpnext_medusa.store.sql.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
