"""Whether a database is an ERPNext site's own, and what the standalone shape says when it is.

The standalone shape writes its documents by SQL, which is right for the service's own database and wrong for
a live site (it skips Frappe's validation, naming, hooks and history, and what it added to the site's tables
broke restoring backups and ERPNext's own inserts). So a site's database is recognised by Frappe's framework
tables, which every site has from its installation on and which the service itself never creates (its
migrations create only the DocType tables it serves, ``tabSeries`` and tables prefixed ``erpnext_medusa_``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect

#: Frappe's own registry of DocTypes and of the fields added to them: on every site, never in ours.
FRAMEWORK_TABLES = ("tabDocType", "tabCustom Field")

#: The revision that takes the service's additions off a site's tables (migrations/versions/0009_*).
LEAVE_REVISION = "0009"

#: Where the operator reads the whole migration path.
GUIDE = "docs/operations.md#moving-off-an-erpnext-database"

#: What every command that would serve or write documents says on a site's database, and what /readyz reports.
ERPNEXT_SITE_REFUSAL = (
    "This database is an ERPNext site's own: the standalone shape does not serve it, because it would write the "
    "site's tables by SQL. Serve the site through its REST API instead: set ERPNEXT_MEDUSA_BACKEND=erpnext, "
    "ERPNEXT_MEDUSA_ERPNEXT_URL to the site's address with an API user's key, and ERPNEXT_MEDUSA_DATABASE_URL "
    f"to a database of the service's own; see {GUIDE}."
)


def is_erpnext_site(bind: Connection | Engine) -> bool:
    """Whether ``bind``'s database is an ERPNext (Frappe) site's own."""
    inspector = inspect(bind)
    return any(inspector.has_table(table) for table in FRAMEWORK_TABLES)
