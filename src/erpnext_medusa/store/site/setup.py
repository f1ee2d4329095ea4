"""What a live site needs for the service, checked and (``erpnext setup``) created through its REST API:

* the service's API key works, and its user may read and write what the service reads and writes;
* ``medusa_id`` Custom Fields on Customer (unique: one Customer per Medusa customer, enforced by the site's own
  database) and on Lead; existing ones (the replaced app's) are reused as they are;
* Webhooks for Customer, Lead and Address inserts, updates and deletions, posting to the service's public URL
  (``/webhooks/erpnext``), signed with the service's webhook secret (never printed).
Every step looks before it writes, so running setup again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from erpnext_medusa.domain.errors import AuthenticationError, ServiceError
from erpnext_medusa.store.site.client import FrappeClient

WEBHOOK_PATH = "/webhooks/erpnext"
#: The Custom Fields the service needs: DocType -> (the field it follows on the form, unique).
CUSTOM_FIELDS = {"Customer": ("customer_name", True), "Lead": ("lead_name", False)}
MEDUSA_ID = "medusa_id"
#: The DocTypes whose changes the service follows: the mirrored ones, and Address (a linked Customer's billing
#: address, which the outbox sends to Medusa).
WEBHOOK_DOCTYPES = (*CUSTOM_FIELDS, "Address")
#: Frappe's document events a Webhook can follow, and the ones the mirror needs.
EVENTS = ("after_insert", "on_update", "on_trash")
#: The body each Webhook sends (Frappe renders it with Jinja, ``doc`` being the document).
WEBHOOK_JSON = '{"doctype": {{ doc.doctype | tojson }}, "name": {{ doc.name | tojson }}}'
#: What the service's API user must be allowed, per DocType: the documents it reads and writes, the records
#: reconciliation reads, the users whose roles it asks about, and what setup creates.
PERMISSIONS = (
    ("Customer", ("read", "write")),
    ("Lead", ("read", "create", "write")),
    ("Address", ("read", "create", "write")),
    ("Deleted Document", ("read",)),
    ("User", ("read",)),
    ("Custom Field", ("read", "create")),
    ("Webhook", ("read", "create")),
)


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``ok``, or what is wrong (``problem``) and whether setup can fix it."""

    what: str
    ok: bool
    detail: str = ""
    fixable: bool = False


@dataclass(frozen=True)
class Target:
    """The site, and where its Webhooks must post."""

    client: FrappeClient
    public_url: str
    webhook_secret: str
    #: The site's name of the Medusa ID field (ERPNEXT_MEDUSA_ERPNEXT_MEDUSA_ID_FIELD).
    medusa_id_field: str = MEDUSA_ID

    @property
    def webhook_url(self) -> str:
        return self.public_url.rstrip("/") + WEBHOOK_PATH


def check(site: Target) -> list[Finding]:
    """Everything setup would create or needs, as findings (nothing is written)."""
    findings = [_whoami(site.client)]
    if not findings[0].ok:
        return findings
    findings += [_may(site.client, doctype, perm) for doctype, perms in PERMISSIONS for perm in perms]
    allowed = {f.what for f in findings if f.ok}
    if "read Custom Field" in allowed:
        findings += [_custom_field(site, doctype) for doctype in CUSTOM_FIELDS]
        if "read Customer" in allowed:
            findings += _duplicate_ids(site)
    if not site.public_url:
        findings.append(Finding("webhooks", False, "ERPNEXT_MEDUSA_PUBLIC_URL is not set: the site cannot be told"))
    elif "read Webhook" in allowed:
        findings += [_webhook(site, doctype, event) for doctype in WEBHOOK_DOCTYPES for event in EVENTS]
    return findings


def setup(site: Target) -> list[Finding]:
    """Create what :func:`check` found missing and fixable; the findings after that."""
    for finding in check(site):
        if finding.ok or not finding.fixable:
            continue
        kind, _, rest = finding.what.partition(" ")
        if kind == "field":
            _create_custom_field(site, rest)
        elif kind == "webhook":
            doctype, _, event = rest.partition(" ")
            _create_webhook(site, doctype, event)
    return check(site)


def _whoami(client: FrappeClient) -> Finding:
    try:
        user = client.call("frappe.auth.get_logged_user")
    except AuthenticationError:
        return Finding("api key", False, "the site refuses ERPNEXT_MEDUSA_ERPNEXT_API_KEY / _API_SECRET")
    except ServiceError as exc:
        return Finding("api key", False, f"the site does not answer: {exc.message or type(exc).__name__}")
    return Finding("api key", True, f"the site knows it as {user}")


def _may(client: FrappeClient, doctype: str, perm: str) -> Finding:
    """Ask the site (``frappe.client.has_permission``, DocType-level) whether the API user may ``perm``."""
    answer = client.call("frappe.client.has_permission", doctype=doctype, docname="", perm_type=perm)
    if isinstance(answer, dict) and answer.get("has_permission"):
        return Finding(f"{perm} {doctype}", True)
    detail = f"the API user may not {perm} {doctype}: give it a role that may (Role Permissions Manager)"
    return Finding(f"{perm} {doctype}", False, detail)


def _fields(site: Target, doctype: str) -> list[dict[str, Any]]:
    """The DocType's Custom Fields that look like the Medusa ID: the configured name, the replaced app's, or
    what Customize Form names a field labelled Medusa ID."""
    names = sorted({site.medusa_id_field, MEDUSA_ID, f"custom_{MEDUSA_ID}"})
    return site.client.get_list(
        "Custom Field",
        fields=["name", "fieldname", "unique", "label"],
        filters=[["dt", "=", doctype], ["fieldname", "in", names]],
        page_length=10,
    )


def _custom_field(site: Target, doctype: str) -> Finding:
    found = _fields(site, doctype)
    what = f"field {doctype}"
    mine = [f for f in found if f["fieldname"] == site.medusa_id_field]
    if not mine and found:  # the site has one, under another name: use it rather than add a second
        other = found[0]["fieldname"]
        return Finding(
            what, False, f"{doctype}'s Medusa ID is {other}: set ERPNEXT_MEDUSA_ERPNEXT_MEDUSA_ID_FIELD={other}"
        )
    if not mine:
        return Finding(what, False, f"{doctype} has no {site.medusa_id_field} Custom Field", fixable=True)
    if CUSTOM_FIELDS[doctype][1] and not int(mine[0].get("unique") or 0):
        return Finding(what, False, f"{doctype}.{site.medusa_id_field} is not unique: tick Unique in Customize Form")
    return Finding(what, True, str(mine[0]["name"]))


def _duplicate_ids(site: Target) -> list[Finding]:
    """Two Customers whose medusa_id is the empty string (written so by SQL or an import, where ERPNext itself
    stores nothing) stop the site from making the field unique; they are named, to be cleared in the desk."""
    if not [f for f in _fields(site, "Customer") if f["fieldname"] == site.medusa_id_field]:
        return []
    rows = site.client.get_list("Customer", fields=["name"], filters=[[MEDUSA_ID, "=", ""]], page_length=20)
    if len(rows) < 2:
        return [Finding("customer ids", True)]
    names = ", ".join(str(row["name"]) for row in rows)
    return [Finding("customer ids", False, f"Customers with an empty (not unset) Medusa ID: {names}")]


def _webhooks(site: Target, doctype: str, event: str) -> Sequence[dict[str, Any]]:
    return site.client.get_list(
        "Webhook",
        fields=["name", "enabled", "request_url", "enable_security"],
        filters=[["webhook_doctype", "=", doctype], ["webhook_docevent", "=", event]],
        page_length=100,
    )


def _webhook(site: Target, doctype: str, event: str) -> Finding:
    mine = [w for w in _webhooks(site, doctype, event) if w.get("request_url") == site.webhook_url]
    what = f"webhook {doctype} {event}"
    if not mine:
        return Finding(what, False, f"no Webhook posts {doctype} {event} to {site.webhook_url}", fixable=True)
    if not int(mine[0].get("enabled") or 0) or not int(mine[0].get("enable_security") or 0):
        return Finding(what, False, f"Webhook {mine[0]['name']} is disabled or unsigned: enable it and its security")
    return Finding(what, True, str(mine[0]["name"]))


def _create_custom_field(site: Target, doctype: str) -> None:
    insert_after, unique = CUSTOM_FIELDS[doctype]
    site.client.insert(
        "Custom Field",
        {
            "dt": doctype,
            "fieldname": site.medusa_id_field,
            "label": "Medusa ID",
            "fieldtype": "Data",
            "insert_after": insert_after,
            "unique": int(unique),
            "no_copy": 1,
            "in_standard_filter": 1,
            "read_only": 0,
        },
    )


def _create_webhook(site: Target, doctype: str, event: str) -> None:
    site.client.insert(
        "Webhook",
        {
            "webhook_doctype": doctype,
            "webhook_docevent": event,
            "enabled": 1,
            "request_url": site.webhook_url,
            "request_method": "POST",
            "request_structure": "JSON",
            "webhook_json": WEBHOOK_JSON,
            "enable_security": 1,
            "webhook_secret": site.webhook_secret,
            "webhook_headers": [{"key": "Content-Type", "value": "application/json"}],
        },
    )
