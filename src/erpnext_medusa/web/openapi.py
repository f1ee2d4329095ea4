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


_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds until the client may call again.", "schema": {"type": "integer"}}
}


def _errors(*codes: int) -> dict[str, Any]:
    """Frappe error bodies for ``codes``; 413 (request too large) can answer any operation."""
    responses: dict[str, Any] = {}
    for code in sorted({*codes, 413}):
        response: dict[str, Any] = {"description": "Frappe error", "content": {"application/json": {"schema": _ERROR}}}
        if code == 429:
            response["headers"] = _RETRY_AFTER
        responses[str(code)] = response
    return responses


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
    "ping": {"responses": {**_message({"type": "string", "const": "pong"}), **_errors(400, 401)}},
    "frappe.auth.get_logged_user": {"responses": {**_message({"type": "string"}), **_errors(400, 401, 403)}},
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
            **_errors(400, 401, 403, 417, 429),
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
            **_errors(400, 401, 403, 429),
        },
    },
    "medusa_integration.utils.link_medusa_lead": {
        "parameters": [_query("customer", "Customer name"), _query("lead", "Lead name")],
        "requestBody": _json_body({"customer": {"type": "string"}, "lead": {"type": "string"}}, []),
        "responses": {
            **_message({"type": "object", "properties": {"status": {"type": "string", "const": "success"}}}),
            **_errors(400, 401, 403, 404, 417),
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
    "storefrontKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Storefront-Key",
        "description": "Guest endpoints with ERPNEXT_MEDUSA_GUEST_ACCESS=key: one of the configured storefront keys.",
    },
    "medusaToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "update_address with ERPNEXT_MEDUSA_GUEST_ACCESS=medusa-token: the Medusa customer's JWT.",
    },
}
#: Guest endpoints: anyone under the default policy; a storefront key or Medusa token under the others.
_GUEST_SECURITY: list[dict[str, list[str]]] = [
    {},
    {"storefrontKey": []},
    {"medusaToken": []},
    {"token": []},
    {"basic": []},
]
_GUEST_ENDPOINTS = ("medusa_integration.api.fetch_all_customers", "medusa_integration.api.update_address")


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
    elif path in _GUEST_ENDPOINTS:
        extra["security"] = _GUEST_SECURITY
    return extra
