"""The fields of each DocType that documents may carry on import, with ERPNext's rules for them."""

from __future__ import annotations

from dataclasses import dataclass

#: Frappe's varchar(140): a document's name, and every Data, Link and Select field unless it says otherwise.
NAME_LENGTH = 140


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "data"  # data | check | select | link | text | email
    length: int = NAME_LENGTH
    required: bool = False
    options: tuple[str, ...] = ()
    target: str | None = None  # the DocType a Link points to
    default: object = None


def _data(*names: str) -> list[Field]:
    return [Field(n) for n in names]


CUSTOMER_TYPES = ("Company", "Individual")
ADDRESS_TYPES = ("Billing", "Shipping", "Office", "Personal", "Plant", "Postal", "Shop", "Subsidiary",
                 "Warehouse", "Current", "Permanent", "Other")  # fmt: skip
LEAD_STATUSES = ("Lead", "Open", "Replied", "Opportunity", "Quotation", "Lost Quotation", "Interested",
                 "Converted", "Do Not Contact")  # fmt: skip
#: Link targets the import can check: these are the DocTypes whose tables the service knows.
LINKABLE = ("Customer", "Lead", "Address", "Country")

FIELDS: dict[str, tuple[Field, ...]] = {
    "Customer": (
        Field("customer_name", required=True),
        Field("customer_type", "select", options=CUSTOMER_TYPES, default="Company"),
        Field("naming_series", default="CUST-.YYYY.-"),
        *_data(
            "salutation",
            "customer_group",
            "territory",
            "gender",
            "mobile_no",
            "website",
            "tax_id",
            "language",
            "default_currency",
            "market_segment",
            "industry",
            "medusa_id",
        ),
        Field("email_id", "email"),
        Field("lead_name", "link", target="Lead"),
        Field("customer_primary_address", "link", target="Address"),
        Field("customer_details", "text"),
        Field("disabled", "check"),
        Field("is_frozen", "check"),
    ),
    "Lead": (
        Field("naming_series", default="CRM-LEAD-.YYYY.-"),
        *_data(
            "salutation",
            "first_name",
            "middle_name",
            "last_name",
            "job_title",
            "gender",
            "source",
            "lead_owner",
            "mobile_no",
            "whatsapp_no",
            "phone",
            "company_name",
            "website",
            "city",
            "state",
            "territory",
            "medusa_id",
            "lead_name",
            "title",
        ),
        Field("email_id", "email"),
        Field("status", "select", options=LEAD_STATUSES, default="Lead"),
        Field("country", "link", target="Country"),
        Field("customer", "link", target="Customer"),
        Field(
            "qualification_status", "select", options=("Unqualified", "In Process", "Qualified"), default="Unqualified"
        ),
        Field("disabled", "check"),
        Field("unsubscribed", "check"),
    ),
    "Address": (
        Field("address_title"),
        Field("address_type", "select", required=True, options=ADDRESS_TYPES, default="Billing"),
        Field("address_line1", length=240, required=True),
        Field("address_line2", length=240),
        Field("city", required=True),
        *_data("county", "state", "pincode", "phone", "fax"),
        Field("country", "link", required=True, target="Country"),
        Field("email_id", "email"),
        Field("is_primary_address", "check"),
        Field("is_shipping_address", "check"),
        Field("disabled", "check"),
    ),
    "Country": (
        Field("country_name", required=True),
        Field("code"),
        Field("date_format"),
        Field("time_format"),
        Field("time_zones", "text"),
    ),
}

#: Keys Frappe puts on every exported document; the import accepts and ignores them (``name`` excepted).
STANDARD_KEYS = frozenset({"doctype", "name", "owner", "creation", "modified", "modified_by", "docstatus",
                           "idx", "parent", "parentfield", "parenttype", "_user_tags", "_comments",
                           "_assign", "_liked_by", "_seen"})  # fmt: skip


def field_length(doctype: str, name: str) -> int:
    """The most characters the DocType's field may hold (a database column may allow fewer)."""
    return next(field.length for field in FIELDS[doctype] if field.name == name)
