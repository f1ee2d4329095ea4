"""The DocTypes the ERPNext double knows: fields (labels, types, mandatory, defaults), naming, sort order and
role permissions, as Frappe v15 / ERPNext v15 define them.

Sources: Customer erpnext/selling/doctype/customer/customer.json; Lead erpnext/crm/doctype/lead/lead.json
(a v15 copy, modified 2025-01-31); Address and Dynamic Link frappe/contacts/doctype/address/address.json and
frappe/core/doctype/dynamic_link; Webhook frappe/integrations/doctype/webhook/webhook.py (its typed fields).
Only the fields the service and its tests touch are listed; Frappe drops every other key of a body (a
document keeps only its valid columns), and so does the double.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from erpnext_medusa.domain.doctypes import ADDRESS_TYPES, CUSTOMER_TYPES, LEAD_STATUSES

STANDARD = ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx")
CHILD_STANDARD = ("parent", "parentfield", "parenttype")
#: Columns every non-child table has besides its fields (frappe/model/__init__.py ``optional_fields``).
OPTIONAL = ("_user_tags", "_comments", "_assign", "_liked_by")
READ, WRITE, CREATE, DELETE = "read", "write", "create", "delete"
RW = frozenset({READ, WRITE, CREATE})
ALL = frozenset({READ, WRITE, CREATE, DELETE})


@dataclass
class DocField:
    fieldname: str
    label: str
    fieldtype: str = "Data"  # Data, Select, Link, Dynamic Link, Check, Text, Table, Password, Int, Code
    options: str = ""
    reqd: bool = False
    default: object = None
    unique: bool = False
    length: int = 140


@dataclass
class DocType:
    name: str
    fields: dict[str, DocField]
    #: "series:<prefix>", "field:<fieldname>", "hash", or a controller's own ("customer", "address", ...).
    autoname: str = "hash"
    sort: tuple[str, str] = ("modified", "desc")
    permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    istable: bool = False
    track_changes: bool = False

    def tables(self) -> list[DocField]:
        return [f for f in self.fields.values() if f.fieldtype == "Table"]

    def columns(self) -> list[str]:
        return [f.fieldname for f in self.fields.values() if f.fieldtype != "Table"]


def _f(fieldname: str, label: str, fieldtype: str = "Data", **kw: object) -> DocField:
    return DocField(fieldname, label, fieldtype, **kw)  # type: ignore[arg-type]


def _doctype(name: str, fields: list[DocField], **kw: object) -> DocType:
    return DocType(name, {f.fieldname: f for f in fields}, **kw)  # type: ignore[arg-type]


def _base() -> dict[str, DocType]:
    sales = {"Sales User": RW, "System Manager": RW}
    return {
        "Customer": _doctype(
            "Customer",
            [
                _f("naming_series", "Series", "Select", options="CUST-.YYYY.-"),
                _f("customer_name", "Customer Name", reqd=True),
                _f(
                    "customer_type",
                    "Customer Type",
                    "Select",
                    options="\n".join(CUSTOMER_TYPES),
                    reqd=True,
                    default="Company",
                ),
                _f("customer_group", "Customer Group"),
                _f("territory", "Territory"),
                _f("salutation", "Salutation"),
                _f("gender", "Gender"),
                _f("lead_name", "From Lead", "Link", options="Lead"),
                _f("customer_primary_address", "Customer Primary Address", "Link", options="Address"),
                _f("primary_address", "Primary Address", "Text"),
                _f("customer_primary_contact", "Customer Primary Contact", "Link", options="Contact"),
                _f("mobile_no", "Mobile No"),
                _f("email_id", "Email Id"),
                _f("website", "Website"),
                _f("tax_id", "Tax ID"),
                _f("customer_details", "Customer Details", "Text"),
                _f("disabled", "Disabled", "Check", default=0),
                _f("is_frozen", "Is Frozen", "Check", default=0),
            ],
            autoname="customer",
            sort=("modified", "asc"),
            # customer.json: Sales User create/read/write, Sales Manager read, Sales Master Manager all.
            permissions={
                "Sales User": RW,
                "Sales Manager": frozenset({READ}),
                "Sales Master Manager": ALL,
                "Stock User": frozenset({READ}),
                "Accounts User": frozenset({READ}),
            },
            track_changes=True,
        ),
        "Lead": _doctype(
            "Lead",
            [
                _f("naming_series", "Series", "Select", options="CRM-LEAD-.YYYY.-", default="CRM-LEAD-.YYYY.-"),
                _f("salutation", "Salutation"),
                _f("first_name", "First Name"),
                _f("middle_name", "Middle Name"),
                _f("last_name", "Last Name"),
                _f("lead_name", "Full Name"),
                _f("title", "Title"),
                _f("company_name", "Organization Name"),
                _f("email_id", "Email"),
                _f("mobile_no", "Mobile No"),
                _f("phone", "Phone"),
                _f("lead_owner", "Lead Owner", "Link", options="User"),
                _f("status", "Status", "Select", options="\n".join(LEAD_STATUSES), reqd=True, default="Lead"),
                _f(
                    "qualification_status",
                    "Qualification Status",
                    "Select",
                    options="Unqualified\nIn Process\nQualified",
                    default="Unqualified",
                ),
                _f("customer", "From Customer", "Link", options="Customer"),
                _f("city", "City"),
                _f("state", "State"),
                _f("country", "Country", "Link", options="Country"),
                _f("disabled", "Disabled", "Check", default=0),
                _f("unsubscribed", "Unsubscribed", "Check", default=0),
            ],
            autoname="series:naming_series",
            # lead.json: Sales User create/read/write, Sales Manager all, System Manager create/read/write.
            permissions={"Sales User": RW, "Sales Manager": ALL, "System Manager": RW},
            track_changes=True,
        ),
        "Address": _doctype(
            "Address",
            [
                _f("address_title", "Address Title"),
                _f(
                    "address_type",
                    "Address Type",
                    "Select",
                    options="\n".join(ADDRESS_TYPES),
                    reqd=True,
                    default="Billing",
                ),
                _f("address_line1", "Address Line 1", reqd=True, length=240),
                _f("address_line2", "Address Line 2", length=240),
                _f("city", "City/Town", reqd=True),
                _f("county", "County"),
                _f("state", "State/Province"),
                _f("country", "Country", "Link", options="Country", reqd=True),
                _f("pincode", "Postal Code"),
                _f("email_id", "Email Address"),
                _f("phone", "Phone"),
                _f("fax", "Fax"),
                _f("is_primary_address", "Preferred Billing Address", "Check", default=0),
                _f("is_shipping_address", "Preferred Shipping Address", "Check", default=0),
                _f("disabled", "Disabled", "Check", default=0),
                _f("links", "Links", "Table", options="Dynamic Link"),
            ],
            autoname="address",
            # address.json: Sales/Purchase/Maintenance/Accounts User create/read/write; System Manager all.
            permissions={"Sales User": RW, "Purchase User": RW, "Accounts User": RW, "System Manager": ALL},
            track_changes=True,
        ),
        "Dynamic Link": _doctype(
            "Dynamic Link",
            [
                _f("link_doctype", "Link Document Type", reqd=True),
                _f("link_name", "Link Name", "Dynamic Link", options="link_doctype", reqd=True),
                _f("link_title", "Link Title"),
            ],
            istable=True,
        ),
        "Contact": _doctype(
            "Contact",
            [
                _f("first_name", "First Name"),
                _f("last_name", "Last Name"),
                _f("email_id", "Email Address"),
                _f("mobile_no", "Mobile No"),
                _f("is_primary_contact", "Is Primary Contact", "Check", default=0),
                _f("links", "Links", "Table", options="Dynamic Link"),
            ],
            autoname="contact",
            permissions=dict(sales),
        ),
        "Country": _doctype(
            "Country",
            [_f("country_name", "Country Name", reqd=True), _f("code", "Code")],
            autoname="field:country_name",
            sort=("name", "asc"),
            permissions={"All": frozenset({READ}), "System Manager": ALL},
        ),
        "Custom Field": _doctype(
            "Custom Field",
            [
                _f("dt", "DocType", reqd=True),
                _f("fieldname", "Fieldname"),
                _f("label", "Label"),
                _f("fieldtype", "Field Type", default="Data"),
                _f("options", "Options", "Text"),
                _f("insert_after", "Insert After"),
                _f("reqd", "Mandatory", "Check", default=0),
                _f("unique", "Unique", "Check", default=0),
                _f("read_only", "Read Only", "Check", default=0),
                _f("default", "Default", "Text"),
            ],
            autoname="custom_field",
            permissions={"System Manager": ALL},
        ),
        "Webhook": _doctype(
            "Webhook",
            [
                _f("webhook_doctype", "DocType", reqd=True),
                _f(
                    "webhook_docevent",
                    "Doc Event",
                    "Select",
                    reqd=True,
                    options="after_insert\non_update\n"
                    "on_submit\non_cancel\non_trash\non_update_after_submit\non_change",
                ),
                _f("enabled", "Enabled", "Check", default=1),
                _f("condition", "Condition", "Text"),
                _f("request_url", "Request URL", "Text", reqd=True),
                _f("request_method", "Request Method", "Select", options="POST\nPUT\nDELETE", default="POST"),
                _f("request_structure", "Request Structure", "Select", options="\nForm URL-Encoded\nJSON"),
                _f("webhook_json", "JSON Request Body", "Code"),
                _f("enable_security", "Enable Security", "Check", default=0),
                _f("webhook_secret", "Webhook Secret", "Password"),
                _f("timeout", "Request Timeout", "Int", default=5),
                _f("webhook_data", "Data", "Table", options="Webhook Data"),
                _f("webhook_headers", "Headers", "Table", options="Webhook Header"),
            ],
            permissions={"System Manager": ALL},
        ),
        "Webhook Data": _doctype(
            "Webhook Data", [_f("fieldname", "Fieldname", reqd=True), _f("key", "Key", reqd=True)], istable=True
        ),
        "Webhook Header": _doctype("Webhook Header", [_f("key", "Key"), _f("value", "Value", "Text")], istable=True),
        "Deleted Document": _doctype(
            "Deleted Document",
            [
                _f("deleted_name", "Deleted Name"),
                _f("deleted_doctype", "Deleted DocType"),
                _f("restored", "Restored", "Check", default=0),
                _f("new_name", "New Name"),
                _f("data", "Data", "Code"),
            ],
            sort=("creation", "desc"),
            permissions={"System Manager": frozenset({READ, DELETE})},
        ),
        "Version": _doctype(
            "Version",
            [_f("ref_doctype", "Ref DocType"), _f("docname", "Docname"), _f("data", "Data", "Code")],
            permissions={"System Manager": frozenset({READ})},
        ),
        "User": _doctype(
            "User",
            [
                _f("email", "Email", reqd=True),
                _f("first_name", "First Name"),
                _f("last_name", "Last Name"),
                _f("full_name", "Full Name"),
                _f("enabled", "Enabled", "Check", default=1),
                _f("user_type", "User Type", default="System User"),
                _f("api_key", "API Key"),
            ],
            autoname="field:email",
            permissions={"System Manager": RW},
        ),
    }


_BASE = _base()


def doctypes() -> dict[str, DocType]:
    """A fresh copy for one site (Custom Fields change a site's DocTypes, not another's)."""
    return copy.deepcopy(_BASE)
