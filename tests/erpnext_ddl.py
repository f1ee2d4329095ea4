"""ERPNext v15's own DDL for the tables the service shares with ERPNext, written out statement by statement.

The statements are what Frappe v15 runs when it creates these DocTypes (``MariaDBTable.create()`` /
``PostgresTable.create()``, then ``frappe.db.add_index`` from ``on_doctype_update`` and ``ALTER TABLE ... ADD
COLUMN`` for ERPNext's custom fields), limited to the columns listed in ``/work/shared/erpnext-schema.md``
(sections 2, 3 and 6). They deliberately do NOT come from the service's ``tables.py`` and carry no ``medusa_id``
column: a database built with them looks like an ERPNext site that has never seen this service.

SQLite has no ERPNext of its own; its statements are the closest equivalent (same columns, NOT NULL flags,
defaults, unique keys and indexes; SQLite type names).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

#: The tables an ERPNext site has for the DocTypes the service uses (plus Frappe's naming-series counters).
TABLES = ("tabCustomer", "tabLead", "tabAddress", "tabDynamic Link", "tabCountry", "tabSeries")

_MARIADB_TABLE_OPTIONS = "ENGINE=InnoDB ROW_FORMAT=DYNAMIC CHARACTER SET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

# ---------------------------------------------------------------------------------------------------------
# MariaDB (Frappe v15: int(1) docstatus, int(8) idx, index modified(modified) on parents, parent(parent) on
# children, search_index fields as ``index <field>(<field>)``).

MARIADB = [
    f"""
create table `tabCustomer` (
    name varchar(140) primary key,
    creation datetime(6),
    modified datetime(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus int(1) not null default '0',
    idx int(8) not null default '0',
    `naming_series` varchar(140),
    `salutation` varchar(140),
    `customer_name` varchar(140),
    `customer_type` varchar(140) default 'Company',
    `customer_group` varchar(140),
    `territory` varchar(140),
    `gender` varchar(140),
    `lead_name` varchar(140),
    `opportunity_name` varchar(140),
    `prospect_name` varchar(140),
    `account_manager` varchar(140),
    `image` text,
    `default_currency` varchar(140),
    `default_bank_account` varchar(140),
    `default_price_list` varchar(140),
    `is_internal_customer` int(1) not null default 0,
    `represents_company` varchar(140) unique,
    `market_segment` varchar(140),
    `industry` varchar(140),
    `customer_pos_id` varchar(140),
    `website` varchar(140),
    `language` varchar(140),
    `customer_details` text,
    `customer_primary_address` varchar(140),
    `primary_address` text,
    `customer_primary_contact` varchar(140),
    `mobile_no` varchar(140),
    `email_id` varchar(140),
    `first_name` varchar(140),
    `last_name` varchar(140),
    `tax_id` varchar(140),
    `tax_category` varchar(140),
    `tax_withholding_category` varchar(140),
    `payment_terms` varchar(140),
    `loyalty_program` varchar(140),
    `loyalty_program_tier` varchar(140),
    `default_sales_partner` varchar(140),
    `default_commission_rate` decimal(21,9) not null default 0,
    `so_required` int(1) not null default 0,
    `dn_required` int(1) not null default 0,
    `is_frozen` int(1) not null default 0,
    `disabled` int(1) not null default 0,
    `_user_tags` text,
    `_comments` text,
    `_assign` text,
    `_liked_by` text,
    index `customer_name`(`customer_name`),
    index `customer_group`(`customer_group`),
    index modified(modified)
) {_MARIADB_TABLE_OPTIONS}
""",
    f"""
create table `tabLead` (
    name varchar(140) primary key,
    creation datetime(6),
    modified datetime(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus int(1) not null default '0',
    idx int(8) not null default '0',
    `naming_series` varchar(140),
    `salutation` varchar(140),
    `first_name` varchar(140),
    `middle_name` varchar(140),
    `last_name` varchar(140),
    `lead_name` varchar(140),
    `job_title` varchar(140),
    `gender` varchar(140),
    `source` varchar(140),
    `lead_owner` varchar(140),
    `status` varchar(140) default 'Lead',
    `customer` varchar(140),
    `type` varchar(140),
    `request_type` varchar(140),
    `email_id` varchar(140),
    `website` varchar(140),
    `mobile_no` varchar(140),
    `whatsapp_no` varchar(140),
    `phone` varchar(140),
    `phone_ext` varchar(140),
    `company_name` varchar(140),
    `no_of_employees` varchar(140),
    `annual_revenue` decimal(21,9) not null default 0,
    `industry` varchar(140),
    `market_segment` varchar(140),
    `territory` varchar(140),
    `fax` varchar(140),
    `city` varchar(140),
    `state` varchar(140),
    `country` varchar(140),
    `qualification_status` varchar(140),
    `qualified_by` varchar(140),
    `qualified_on` date,
    `campaign_name` varchar(140),
    `company` varchar(140),
    `language` varchar(140),
    `image` text,
    `title` varchar(140),
    `disabled` int(1) not null default 0,
    `unsubscribed` int(1) not null default 0,
    `blog_subscriber` int(1) not null default 0,
    `_user_tags` text,
    `_comments` text,
    `_assign` text,
    `_liked_by` text,
    index `lead_name`(`lead_name`),
    index `lead_owner`(`lead_owner`),
    index `status`(`status`),
    index `email_id`(`email_id`),
    index modified(modified)
) {_MARIADB_TABLE_OPTIONS}
""",
    f"""
create table `tabAddress` (
    name varchar(140) primary key,
    creation datetime(6),
    modified datetime(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus int(1) not null default '0',
    idx int(8) not null default '0',
    `address_title` varchar(140),
    `address_type` varchar(140),
    `address_line1` varchar(240),
    `address_line2` varchar(240),
    `city` varchar(140),
    `county` varchar(140),
    `state` varchar(140),
    `country` varchar(140),
    `pincode` varchar(140),
    `email_id` varchar(140),
    `phone` varchar(140),
    `fax` varchar(140),
    `is_primary_address` int(1) not null default 0,
    `is_shipping_address` int(1) not null default 0,
    `disabled` int(1) not null default 0,
    `_user_tags` text,
    `_comments` text,
    `_assign` text,
    `_liked_by` text,
    index `city`(`city`),
    index `country`(`country`),
    index `pincode`(`pincode`),
    index modified(modified)
) {_MARIADB_TABLE_OPTIONS}
""",
    # ERPNext's custom fields (erpnext.setup.install.create_address_and_contact_custom_fields).
    "ALTER TABLE `tabAddress` ADD COLUMN `tax_category` varchar(140)",
    "ALTER TABLE `tabAddress` ADD COLUMN `is_your_company_address` int(1) not null default 0",
    f"""
create table `tabDynamic Link` (
    name varchar(140) primary key,
    creation datetime(6),
    modified datetime(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus int(1) not null default '0',
    idx int(8) not null default '0',
    `link_doctype` varchar(140),
    `link_name` varchar(140),
    `link_title` varchar(140),
    parent varchar(140),
    parentfield varchar(140),
    parenttype varchar(140),
    index parent(parent)
) {_MARIADB_TABLE_OPTIONS}
""",
    # dynamic_link.py on_doctype_update(): frappe.db.add_index("Dynamic Link", ["link_doctype", "link_name"]).
    "ALTER TABLE `tabDynamic Link` ADD INDEX `link_doctype_link_name_index`(link_doctype, link_name)",
    f"""
create table `tabCountry` (
    name varchar(140) primary key,
    creation datetime(6),
    modified datetime(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus int(1) not null default '0',
    idx int(8) not null default '0',
    `country_name` varchar(140) unique,
    `date_format` varchar(140),
    `time_format` varchar(140),
    `time_zones` text,
    `code` varchar(140),
    `_user_tags` text,
    `_comments` text,
    `_assign` text,
    `_liked_by` text,
    index modified(modified)
) {_MARIADB_TABLE_OPTIONS}
""",
    # frappe/database/mariadb/framework_mariadb.sql
    f"""
CREATE TABLE `tabSeries` (
    `name` varchar(100),
    `current` int(10) NOT NULL DEFAULT 0,
    PRIMARY KEY(`name`)
) {_MARIADB_TABLE_OPTIONS}
""",
]

# ---------------------------------------------------------------------------------------------------------
# PostgreSQL (Frappe v15: smallint docstatus, bigint idx, timestamp(6); no parent/modified index; search_index
# fields as ``CREATE INDEX IF NOT EXISTS "<field>"``; unique fields inline).

POSTGRES = [
    """
create table "tabCustomer" (
    name varchar(140) primary key,
    creation timestamp(6),
    modified timestamp(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint not null default '0',
    idx bigint not null default '0',
    "naming_series" varchar(140),
    "salutation" varchar(140),
    "customer_name" varchar(140),
    "customer_type" varchar(140) default 'Company',
    "customer_group" varchar(140),
    "territory" varchar(140),
    "gender" varchar(140),
    "lead_name" varchar(140),
    "opportunity_name" varchar(140),
    "prospect_name" varchar(140),
    "account_manager" varchar(140),
    "image" text,
    "default_currency" varchar(140),
    "default_bank_account" varchar(140),
    "default_price_list" varchar(140),
    "is_internal_customer" smallint not null default 0,
    "represents_company" varchar(140) unique,
    "market_segment" varchar(140),
    "industry" varchar(140),
    "customer_pos_id" varchar(140),
    "website" varchar(140),
    "language" varchar(140),
    "customer_details" text,
    "customer_primary_address" varchar(140),
    "primary_address" text,
    "customer_primary_contact" varchar(140),
    "mobile_no" varchar(140),
    "email_id" varchar(140),
    "first_name" varchar(140),
    "last_name" varchar(140),
    "tax_id" varchar(140),
    "tax_category" varchar(140),
    "tax_withholding_category" varchar(140),
    "payment_terms" varchar(140),
    "loyalty_program" varchar(140),
    "loyalty_program_tier" varchar(140),
    "default_sales_partner" varchar(140),
    "default_commission_rate" decimal(21,9) not null default 0,
    "so_required" smallint not null default 0,
    "dn_required" smallint not null default 0,
    "is_frozen" smallint not null default 0,
    "disabled" smallint not null default 0,
    "_user_tags" text,
    "_comments" text,
    "_assign" text,
    "_liked_by" text
)
""",
    'CREATE INDEX IF NOT EXISTS "customer_name" ON "tabCustomer"("customer_name")',
    'CREATE INDEX IF NOT EXISTS "customer_group" ON "tabCustomer"("customer_group")',
    """
create table "tabLead" (
    name varchar(140) primary key,
    creation timestamp(6),
    modified timestamp(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint not null default '0',
    idx bigint not null default '0',
    "naming_series" varchar(140),
    "salutation" varchar(140),
    "first_name" varchar(140),
    "middle_name" varchar(140),
    "last_name" varchar(140),
    "lead_name" varchar(140),
    "job_title" varchar(140),
    "gender" varchar(140),
    "source" varchar(140),
    "lead_owner" varchar(140),
    "status" varchar(140) default 'Lead',
    "customer" varchar(140),
    "type" varchar(140),
    "request_type" varchar(140),
    "email_id" varchar(140),
    "website" varchar(140),
    "mobile_no" varchar(140),
    "whatsapp_no" varchar(140),
    "phone" varchar(140),
    "phone_ext" varchar(140),
    "company_name" varchar(140),
    "no_of_employees" varchar(140),
    "annual_revenue" decimal(21,9) not null default 0,
    "industry" varchar(140),
    "market_segment" varchar(140),
    "territory" varchar(140),
    "fax" varchar(140),
    "city" varchar(140),
    "state" varchar(140),
    "country" varchar(140),
    "qualification_status" varchar(140),
    "qualified_by" varchar(140),
    "qualified_on" date,
    "campaign_name" varchar(140),
    "company" varchar(140),
    "language" varchar(140),
    "image" text,
    "title" varchar(140),
    "disabled" smallint not null default 0,
    "unsubscribed" smallint not null default 0,
    "blog_subscriber" smallint not null default 0,
    "_user_tags" text,
    "_comments" text,
    "_assign" text,
    "_liked_by" text
)
""",
    'CREATE INDEX IF NOT EXISTS "lead_name" ON "tabLead"("lead_name")',
    'CREATE INDEX IF NOT EXISTS "lead_owner" ON "tabLead"("lead_owner")',
    'CREATE INDEX IF NOT EXISTS "status" ON "tabLead"("status")',
    'CREATE INDEX IF NOT EXISTS "email_id" ON "tabLead"("email_id")',
    """
create table "tabAddress" (
    name varchar(140) primary key,
    creation timestamp(6),
    modified timestamp(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint not null default '0',
    idx bigint not null default '0',
    "address_title" varchar(140),
    "address_type" varchar(140),
    "address_line1" varchar(240),
    "address_line2" varchar(240),
    "city" varchar(140),
    "county" varchar(140),
    "state" varchar(140),
    "country" varchar(140),
    "pincode" varchar(140),
    "email_id" varchar(140),
    "phone" varchar(140),
    "fax" varchar(140),
    "is_primary_address" smallint not null default 0,
    "is_shipping_address" smallint not null default 0,
    "disabled" smallint not null default 0,
    "_user_tags" text,
    "_comments" text,
    "_assign" text,
    "_liked_by" text
)
""",
    'CREATE INDEX IF NOT EXISTS "city" ON "tabAddress"("city")',
    'CREATE INDEX IF NOT EXISTS "country" ON "tabAddress"("country")',
    'CREATE INDEX IF NOT EXISTS "pincode" ON "tabAddress"("pincode")',
    'ALTER TABLE "tabAddress" ADD COLUMN "tax_category" varchar(140)',
    'ALTER TABLE "tabAddress" ADD COLUMN "is_your_company_address" smallint not null default 0',
    """
create table "tabDynamic Link" (
    name varchar(140) primary key,
    creation timestamp(6),
    modified timestamp(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint not null default '0',
    idx bigint not null default '0',
    "link_doctype" varchar(140),
    "link_name" varchar(140),
    "link_title" varchar(140),
    parent varchar(140),
    parentfield varchar(140),
    parenttype varchar(140)
)
""",
    'CREATE INDEX IF NOT EXISTS "link_doctype_link_name_index" ON "tabDynamic Link" ("link_doctype", "link_name")',
    """
create table "tabCountry" (
    name varchar(140) primary key,
    creation timestamp(6),
    modified timestamp(6),
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint not null default '0',
    idx bigint not null default '0',
    "country_name" varchar(140) unique,
    "date_format" varchar(140),
    "time_format" varchar(140),
    "time_zones" text,
    "code" varchar(140),
    "_user_tags" text,
    "_comments" text,
    "_assign" text,
    "_liked_by" text
)
""",
    # frappe/database/postgres/framework_postgres.sql
    """
CREATE TABLE "tabSeries" (
    "name" varchar(100),
    "current" bigint NOT NULL DEFAULT 0,
    PRIMARY KEY ("name")
)
""",
]

# ---------------------------------------------------------------------------------------------------------
# SQLite: the same tables with SQLite type names; indexes as separate statements (index names are per
# database, as on PostgreSQL, so Frappe's PostgreSQL names are used).

SQLITE = [
    """
CREATE TABLE "tabCustomer" (
    name varchar(140) PRIMARY KEY,
    creation datetime,
    modified datetime,
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint NOT NULL DEFAULT 0,
    idx bigint NOT NULL DEFAULT 0,
    naming_series varchar(140),
    salutation varchar(140),
    customer_name varchar(140),
    customer_type varchar(140) DEFAULT 'Company',
    customer_group varchar(140),
    territory varchar(140),
    gender varchar(140),
    lead_name varchar(140),
    opportunity_name varchar(140),
    prospect_name varchar(140),
    account_manager varchar(140),
    image text,
    default_currency varchar(140),
    default_bank_account varchar(140),
    default_price_list varchar(140),
    is_internal_customer smallint NOT NULL DEFAULT 0,
    represents_company varchar(140) UNIQUE,
    market_segment varchar(140),
    industry varchar(140),
    customer_pos_id varchar(140),
    website varchar(140),
    language varchar(140),
    customer_details text,
    customer_primary_address varchar(140),
    primary_address text,
    customer_primary_contact varchar(140),
    mobile_no varchar(140),
    email_id varchar(140),
    first_name varchar(140),
    last_name varchar(140),
    tax_id varchar(140),
    tax_category varchar(140),
    tax_withholding_category varchar(140),
    payment_terms varchar(140),
    loyalty_program varchar(140),
    loyalty_program_tier varchar(140),
    default_sales_partner varchar(140),
    default_commission_rate decimal(21,9) NOT NULL DEFAULT 0,
    so_required smallint NOT NULL DEFAULT 0,
    dn_required smallint NOT NULL DEFAULT 0,
    is_frozen smallint NOT NULL DEFAULT 0,
    disabled smallint NOT NULL DEFAULT 0,
    _user_tags text,
    _comments text,
    _assign text,
    _liked_by text
)
""",
    'CREATE INDEX "customer_name" ON "tabCustomer" ("customer_name")',
    'CREATE INDEX "customer_group" ON "tabCustomer" ("customer_group")',
    'CREATE INDEX "tabCustomer_modified" ON "tabCustomer" ("modified")',
    """
CREATE TABLE "tabLead" (
    name varchar(140) PRIMARY KEY,
    creation datetime,
    modified datetime,
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint NOT NULL DEFAULT 0,
    idx bigint NOT NULL DEFAULT 0,
    naming_series varchar(140),
    salutation varchar(140),
    first_name varchar(140),
    middle_name varchar(140),
    last_name varchar(140),
    lead_name varchar(140),
    job_title varchar(140),
    gender varchar(140),
    source varchar(140),
    lead_owner varchar(140),
    status varchar(140) DEFAULT 'Lead',
    customer varchar(140),
    type varchar(140),
    request_type varchar(140),
    email_id varchar(140),
    website varchar(140),
    mobile_no varchar(140),
    whatsapp_no varchar(140),
    phone varchar(140),
    phone_ext varchar(140),
    company_name varchar(140),
    no_of_employees varchar(140),
    annual_revenue decimal(21,9) NOT NULL DEFAULT 0,
    industry varchar(140),
    market_segment varchar(140),
    territory varchar(140),
    fax varchar(140),
    city varchar(140),
    state varchar(140),
    country varchar(140),
    qualification_status varchar(140),
    qualified_by varchar(140),
    qualified_on date,
    campaign_name varchar(140),
    company varchar(140),
    language varchar(140),
    image text,
    title varchar(140),
    disabled smallint NOT NULL DEFAULT 0,
    unsubscribed smallint NOT NULL DEFAULT 0,
    blog_subscriber smallint NOT NULL DEFAULT 0,
    _user_tags text,
    _comments text,
    _assign text,
    _liked_by text
)
""",
    'CREATE INDEX "lead_name" ON "tabLead" ("lead_name")',
    'CREATE INDEX "lead_owner" ON "tabLead" ("lead_owner")',
    'CREATE INDEX "status" ON "tabLead" ("status")',
    'CREATE INDEX "email_id" ON "tabLead" ("email_id")',
    'CREATE INDEX "tabLead_modified" ON "tabLead" ("modified")',
    """
CREATE TABLE "tabAddress" (
    name varchar(140) PRIMARY KEY,
    creation datetime,
    modified datetime,
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint NOT NULL DEFAULT 0,
    idx bigint NOT NULL DEFAULT 0,
    address_title varchar(140),
    address_type varchar(140),
    address_line1 varchar(240),
    address_line2 varchar(240),
    city varchar(140),
    county varchar(140),
    state varchar(140),
    country varchar(140),
    pincode varchar(140),
    email_id varchar(140),
    phone varchar(140),
    fax varchar(140),
    is_primary_address smallint NOT NULL DEFAULT 0,
    is_shipping_address smallint NOT NULL DEFAULT 0,
    disabled smallint NOT NULL DEFAULT 0,
    _user_tags text,
    _comments text,
    _assign text,
    _liked_by text
)
""",
    'CREATE INDEX "city" ON "tabAddress" ("city")',
    'CREATE INDEX "country" ON "tabAddress" ("country")',
    'CREATE INDEX "pincode" ON "tabAddress" ("pincode")',
    'CREATE INDEX "tabAddress_modified" ON "tabAddress" ("modified")',
    'ALTER TABLE "tabAddress" ADD COLUMN tax_category varchar(140)',
    'ALTER TABLE "tabAddress" ADD COLUMN is_your_company_address smallint NOT NULL DEFAULT 0',
    """
CREATE TABLE "tabDynamic Link" (
    name varchar(140) PRIMARY KEY,
    creation datetime,
    modified datetime,
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint NOT NULL DEFAULT 0,
    idx bigint NOT NULL DEFAULT 0,
    link_doctype varchar(140),
    link_name varchar(140),
    link_title varchar(140),
    parent varchar(140),
    parentfield varchar(140),
    parenttype varchar(140)
)
""",
    'CREATE INDEX "tabDynamic Link_parent" ON "tabDynamic Link" ("parent")',
    'CREATE INDEX "link_doctype_link_name_index" ON "tabDynamic Link" ("link_doctype", "link_name")',
    """
CREATE TABLE "tabCountry" (
    name varchar(140) PRIMARY KEY,
    creation datetime,
    modified datetime,
    modified_by varchar(140),
    owner varchar(140),
    docstatus smallint NOT NULL DEFAULT 0,
    idx bigint NOT NULL DEFAULT 0,
    country_name varchar(140) UNIQUE,
    date_format varchar(140),
    time_format varchar(140),
    time_zones text,
    code varchar(140),
    _user_tags text,
    _comments text,
    _assign text,
    _liked_by text
)
""",
    'CREATE INDEX "tabCountry_modified" ON "tabCountry" ("modified")',
    """
CREATE TABLE "tabSeries" (
    name varchar(100) PRIMARY KEY,
    current bigint NOT NULL DEFAULT 0
)
""",
]


def statements(dialect: str) -> list[str]:
    """The DDL for a SQLAlchemy dialect name (``sqlite``, ``postgresql``, ``mysql``/``mariadb``)."""
    if dialect == "sqlite":
        return SQLITE
    if dialect == "postgresql":
        return POSTGRES
    if dialect in ("mysql", "mariadb"):
        return MARIADB
    raise ValueError(f"no ERPNext DDL for dialect {dialect!r}")


def create_erpnext_schema(bind: Engine | Connection) -> None:
    """Create ERPNext's tables (without anything of this service) on an empty database."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            create_erpnext_schema(conn)
        return
    for statement in statements(bind.dialect.name):
        bind.exec_driver_sql(statement)


# ---------------------------------------------------------------------------------------------------------
# Users and credentials (Frappe v15: ``tabUser`` and ``tabHas Role`` as DocType tables, limited to the columns
# the service reads and the ones a row needs; ``__Auth`` as frappe/database/*/framework_*.sql creates it).

AUTH_TABLES = ("tabUser", "tabHas Role", "__Auth")

_USER_COLUMNS = """
    {q}enabled{q} {check} not null default 1,
    {q}email{q} varchar(140),
    {q}first_name{q} varchar(140),
    {q}last_name{q} varchar(140),
    {q}full_name{q} varchar(140),
    {q}username{q} varchar(140) unique,
    {q}user_type{q} varchar(140) default 'System User',
    {q}user_image{q} text,
    {q}api_key{q} varchar(140) unique
"""


def _auth(q: str, check: str, docstatus: str, idx: str, dt: str, suffix: str) -> list[str]:
    standard = (
        f"name varchar(140) primary key, creation {dt}, modified {dt}, modified_by varchar(140), "
        f"owner varchar(140), docstatus {docstatus} not null default 0, idx {idx} not null default 0"
    )
    return [
        f"create table {q}tabUser{q} ({standard}, {_USER_COLUMNS.format(q=q, check=check)}){suffix}",
        f"create table {q}tabHas Role{q} ({standard}, parent varchar(140), parentfield varchar(140), "
        f"parenttype varchar(140), {q}role{q} varchar(140)){suffix}",
        f"create table {q}__Auth{q} ({q}doctype{q} varchar(140) not null, {q}name{q} varchar(255) not null, "
        f"{q}fieldname{q} varchar(140) not null, {q}password{q} text not null, "
        f"{q}encrypted{q} {check} not null default 0, primary key ({q}doctype{q}, {q}name{q}, {q}fieldname{q}))"
        f"{suffix}",
    ]


AUTH = {
    "mariadb": _auth("`", "int(1)", "int(1)", "int(8)", "datetime(6)", " " + _MARIADB_TABLE_OPTIONS),
    "postgresql": _auth('"', "smallint", "smallint", "bigint", "timestamp(6)", ""),
    "sqlite": _auth('"', "integer", "integer", "integer", "datetime", ""),
}


def create_erpnext_auth_schema(bind: Engine | Connection) -> None:
    """Create ERPNext's user and credential tables."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            create_erpnext_auth_schema(conn)
        return
    name = "mariadb" if bind.dialect.name in ("mysql", "mariadb") else bind.dialect.name
    for statement in AUTH[name]:
        bind.exec_driver_sql(statement)


def _custom_field(q: str, check: str, idx: str, dt: str, suffix: str) -> str:
    """``tabCustom Field`` (Frappe v15 custom_field.json), the columns a Custom Field document is made of."""
    checks = ("fetch_if_empty", "collapsible", "non_negative", "reqd", "unique", "is_virtual", "read_only",
              "ignore_user_permissions", "hidden", "print_hide", "print_hide_if_no_value", "no_copy",
              "allow_on_submit", "in_list_view", "in_standard_filter", "in_global_search", "in_preview", "bold",
              "report_hide", "search_index", "allow_in_quick_entry", "ignore_xss_filter", "translatable",
              "hide_border", "show_dashboard", "hide_seconds", "hide_days", "sort_options",
              "is_system_generated")  # fmt: skip
    data = ("dt", "module", "label", "placeholder", "fieldname", "insert_after", "fieldtype", "precision",
            "print_width", "width")  # fmt: skip
    texts = ("link_filters", "options", "fetch_from", "collapsible_depends_on", "default", "depends_on",
             "mandatory_depends_on", "read_only_depends_on", "description")  # fmt: skip
    columns = [
        f"name varchar(140) primary key, creation {dt}, modified {dt}, modified_by varchar(140), owner varchar(140)",
        f"docstatus {check} not null default 0, idx {idx} not null default 0",
        *(f"{q}{c}{q} varchar(140)" for c in data),
        *(f"{q}{c}{q} text" for c in texts),
        *(f"{q}{c}{q} {check} not null default 0" for c in checks),
        f"{q}length{q} {idx} not null default 0, permlevel {idx} not null default 0, columns {idx} not null default 0",
    ]
    return f"create table {q}tabCustom Field{q} ({', '.join(columns)}){suffix}"


CUSTOM_FIELD = {
    "mariadb": _custom_field("`", "int(1)", "int(11)", "datetime(6)", " " + _MARIADB_TABLE_OPTIONS),
    "postgresql": _custom_field('"', "smallint", "bigint", "timestamp(6)", ""),
    "sqlite": _custom_field('"', "integer", "integer", "datetime", ""),
}


def create_custom_field_table(bind: Engine) -> None:
    name = "mariadb" if bind.dialect.name in ("mysql", "mariadb") else bind.dialect.name
    with bind.begin() as conn:
        conn.exec_driver_sql(CUSTOM_FIELD[name])


def _doctype_registry(q: str, check: str, idx: str, dt: str, suffix: str) -> str:
    """``tabDocType`` (Frappe v15 doctype.json), limited to the standard columns and a few of its fields: the
    table every Frappe site has from its installation on, and the sign the service reads a site by."""
    columns = [
        f"name varchar(140) primary key, creation {dt}, modified {dt}, modified_by varchar(140), owner varchar(140)",
        f"docstatus {check} not null default 0, idx {idx} not null default 0",
        f"{q}module{q} varchar(140)",
        *(f"{q}{c}{q} {check} not null default 0" for c in ("istable", "issingle", "custom")),
    ]
    return f"create table {q}tabDocType{q} ({', '.join(columns)}){suffix}"


DOCTYPE_REGISTRY = {
    "mariadb": _doctype_registry("`", "int(1)", "int(8)", "datetime(6)", " " + _MARIADB_TABLE_OPTIONS),
    "postgresql": _doctype_registry('"', "smallint", "bigint", "timestamp(6)", ""),
    "sqlite": _doctype_registry('"', "integer", "integer", "datetime", ""),
}


def create_frappe_framework_tables(bind: Engine) -> None:
    """What makes a database a Frappe site's own beyond its DocType tables: ``tabDocType``, ``tabCustom
    Field``, and the user and credential tables."""
    name = "mariadb" if bind.dialect.name in ("mysql", "mariadb") else bind.dialect.name
    create_custom_field_table(bind)
    create_erpnext_auth_schema(bind)
    with bind.begin() as conn:
        conn.exec_driver_sql(DOCTYPE_REGISTRY[name])
