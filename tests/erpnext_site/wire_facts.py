"""What a Frappe v15 site answers, as literals, each with the source it was read from (and the section of
/work/shared/frappe-wire.md that records it). The contract tests hold the double to these; a recording of a
real site can be compared with the same literals later.

``None`` in a dict below stands for a value that varies (a traceback, a hash, a timestamp): the key must be
there, its value is not compared.
"""

from __future__ import annotations

# frappe/auth.py validate_api_key_secret: a wrong key or secret is a bare AuthenticationError (frappe-wire §4).
BAD_KEY = {"status": 401, "body": {"exception": "frappe.exceptions.AuthenticationError",
           "exc_type": "AuthenticationError", "exc": None}}  # fmt: skip
BAD_KEY_NO_TRACEBACK = {"status": 401, "body": {"exc_type": "AuthenticationError"}}

# frappe/model/document.py load_from_db: "{0} {1} not found"; 404 carries no traceback (frappe-wire §2, ex. B).
NOT_FOUND_STATUS = 404
NOT_FOUND_KEYS = ["exc_type", "_server_messages"]
NOT_FOUND_MESSAGE = {"message": "Customer X not found", "title": "Message", "indicator": "red",
                     "raise_exception": 1, "__frappe_exc_id": None}  # fmt: skip

# frappe/permissions.py has_permission(throw=True): bare PermissionError with _error_message (frappe-wire §5).
NO_PERMISSION = {"status": 403, "exc_type": "PermissionError", "_error_message": "No permission for Customer"}

# frappe/model/delete_doc.py check_permission_and_not_submitted (frappe-wire §5).
NOT_ALLOWED_TO_DELETE = "User not allowed to delete Customer: X"

# frappe/api/v1.py delete_doc: 202 {"data": "ok"} (frappe-wire §5).
DELETED = {"status": 202, "body": {"data": "ok"}}

# frappe/__init__.py ping (frappe-wire §4).
PONG = {"status": 200, "body": {"message": "pong"}}

# frappe/auth.py get_logged_user for a Guest: not guest-allowed, "Method Not Allowed" (frappe-wire §3, §4).
GUEST_LOGGED_USER = {
    "status": 403,
    "exc_type": "PermissionError",
    "message": "<details><summary>You are not permitted to access this resource. Login to access</summary>"
    "Function <strong>frappe.auth.get_logged_user</strong> is not whitelisted.</details>",
    "title": "Method Not Allowed",
}

# frappe/auth.py LoginManager (frappe-wire §4).
LOGIN_OK = {"message": "Logged In", "home_page": "/app", "full_name": "Shop Owner"}
LOGIN_FAILED = {"status": 401, "first_key": "message", "message": "Invalid login credentials",
                "exc_type": "AuthenticationError"}  # fmt: skip
LOGIN_COOKIES = ("sid", "system_user", "full_name", "user_id", "user_image")

# frappe/api/v1.py document_list: limit_page_length defaults to 20 (frappe-wire §5).
DEFAULT_PAGE_LENGTH = 20

# frappe/model/base_document.py _get_missing_mandatory_fields / document.py _validate_mandatory: one msgprint
# per field (no raise_exception), then MandatoryError("[<DocType>, <name>]: <fieldnames>").
MANDATORY_MESSAGE = "Error: Value missing for Address: Address Line 2"
MANDATORY_EXCEPTION_PREFIX = "frappe.exceptions.MandatoryError: [Address, "

# frappe/model/base_document.py show_unique_validation_message: msgprint "<label> must be unique", then
# UniqueValidationError (a ValidationError: 417).
UNIQUE = {"status": 417, "exc_type": "UniqueValidationError", "message": "Medusa ID must be unique"}

# frappe/model/base_document.py db_insert on a taken primary key (frappe-wire §2).
DUPLICATE = {"status": 409, "exc_type": "DuplicateEntryError",
             "message": {"message": "Country <strong>Germany</strong> already exists", "title": "Duplicate Name",
                         "indicator": "red"}}  # fmt: skip

# frappe/model/document.py check_if_latest.
STALE_PREFIX = "Error: Document has been modified after you have opened it ("
STALE_SUFFIX = "). Please refresh to get the latest document."

# frappe/model/document.py _validate_links: "Could not find {label}: {value}".
BAD_COUNTRY = {"status": 417, "exc_type": "LinkValidationError", "message": "Could not find Country: Atlantis"}

# frappe/api/__init__.py: an unknown /api path raises a bare DoesNotExistError (frappe-wire §0).
UNKNOWN_PATH = {"status": 404, "body": {"exc_type": "DoesNotExistError"}}

# erpnext customer.py get_customer_name ("Customer Name" naming) and frappe address.py autoname.
SECOND_CUSTOMER_NAME = "ACME - 1"
ADDRESS_NAMES = ("ACME-Billing", "ACME-Billing-1")
LEAD_NAME_PATTERN = r"^CRM-LEAD-\d{4}-\d{5}$"

# Frappe's datetime text (json_handler: str(datetime)).
MODIFIED_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$"
