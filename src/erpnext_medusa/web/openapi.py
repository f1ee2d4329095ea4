"""OpenAPI descriptions of the method routes (arguments are read the Frappe way, so they are described
here rather than declared as FastAPI parameters)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_ERROR = {
    "type": "object",
    "properties": {
        "exc_type": {"type": "string", "example": "ValidationError"},
        "_server_messages": {
            "type": "string",
            "description": "JSON array of JSON-encoded message objects (message, title, indicator, ...)",
        },
    },
    "required": ["exc_type"],
}


def _query(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": type_}}  # fmt: skip


def _json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": False,
        "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        },
    }


def _message(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {
            "description": "Success: Frappe's envelope",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"message": schema}, "required": ["message"]}
                }
            },
        }
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Frappe error", "content": {"application/json": {"schema": _ERROR}}}
            for c in codes}  # fmt: skip


_CUSTOMER = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "customer_name": {"type": "string"},
        "email_id": {"type": ["string", "null"]},
        "mobile_no": {"type": ["string", "null"]},
    },
    "required": ["name", "customer_name", "email_id", "mobile_no"],
}
_TEXT = {"type": ["string", "null"], "maxLength": 240}

_OPERATIONS: dict[str, dict[str, Any]] = {
    "ping": {"responses": _message({"type": "string", "const": "pong"})},
    "frappe.auth.get_logged_user": {"responses": {**_message({"type": "string"}), **_errors(401, 403)}},
    "medusa_integration.api.fetch_all_customers": {
        "parameters": [
            _query(
                "name",
                "Typeahead: every whitespace-separated word must occur in customer_name (case-insensitive substring).",
            ),
            _query("limit", "Page size (alias limit_page_length); 0 or absent: all, up to the cap.", "integer"),
            _query("limit_page_length", "Alias of limit.", "integer"),
            _query("limit_start", "Rows to skip.", "integer"),
        ],
        "responses": {
            **_message(
                {
                    "oneOf": [
                        {"type": "array", "items": _CUSTOMER},
                        {"type": "string", "const": "No relevant customers found"},
                    ]
                }
            ),
            **_errors(401, 417),
        },
    },
    "medusa_integration.api.update_address": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "customer_id": {"type": "string"},
                            **{
                                f: _TEXT
                                for f in ("address_line1", "address_line2", "city", "state", "country", "pincode")
                            },
                        },
                        "required": ["customer_id"],
                    }
                }
            },
        },
        "responses": {
            **_message(
                {
                    "oneOf": [
                        {"type": "string", "const": "Address updated successfully"},
                        {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
                    ]
                }
            ),
            **_errors(401),
        },
    },
    "medusa_integration.utils.link_medusa_lead": {
        "parameters": [_query("customer", "Customer name"), _query("lead", "Lead name")],
        "requestBody": _json_body({"customer": {"type": "string"}, "lead": {"type": "string"}}, []),
        "responses": {
            **_message({"type": "object", "properties": {"status": {"type": "string", "const": "success"}}}),
            **_errors(401, 403, 404, 417),
        },
    },
}


SECURITY_SCHEMES = {
    "token": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Frappe token authentication: the header value is `token <api_key>:<api_secret>`.",
    },
    "basic": {"type": "http", "scheme": "basic", "description": "api_key as user name, api_secret as password."},
}


def install(app: FastAPI) -> None:
    """Add the authentication schemes to the generated document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate().setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def operation(path: str, allow_guest: bool) -> dict[str, Any]:
    extra = dict(_OPERATIONS[path])
    if not allow_guest:
        extra["security"] = [{"token": []}, {"basic": []}]
    return extra
