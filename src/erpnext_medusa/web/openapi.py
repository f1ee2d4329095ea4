"""The OpenAPI document, built from the method registry: arguments are read the Frappe way, so each method's
parameters, body and answers are described by its registry entry rather than declared as FastAPI parameters.
The limits it states are the ones the running server enforces."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.doctypes import NAME_LENGTH
from erpnext_medusa.web.policy import STOREFRONT_KEY_HEADER
from erpnext_medusa.web.registry import Method

_ERROR = {
    "type": "object",
    "properties": {
        "exception": {"type": "string", "example": "frappe.exceptions.DoesNotExistError: Lead CRM-LEAD-1 not found"},
        "exc_type": {"type": "string", "example": "ValidationError"},
        "exc": {"type": "string", "description": "JSON array holding the `exception` line (never a traceback)"},
        "_server_messages": {
            "type": "string",
            "description": "JSON array of JSON-encoded message objects (message, title, indicator, ...)",
        },
    },
    "required": ["exc_type"],
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds until the client may call again.", "schema": {"type": "integer"}}
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
        "name": STOREFRONT_KEY_HEADER,
        "description": "Guest endpoints with ERPNEXT_MEDUSA_GUEST_ACCESS=key: one of the configured storefront keys.",
    },
    "medusaToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "With ERPNEXT_MEDUSA_GUEST_ACCESS=medusa-token: the Medusa customer's JWT.",
    },
}


def _errors(codes: set[int]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in sorted(codes):
        response: dict[str, Any] = {"description": "Frappe error", "content": {"application/json": {"schema": _ERROR}}}
        if code in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[str(code)] = response
    return responses


def _security(method: Method) -> list[dict[str, list[str]]]:
    keys: list[dict[str, list[str]]] = [{"token": []}, {"basic": []}]
    if not method.allow_guest:
        return keys
    if not method.guest_endpoint:
        return [{}, *keys]
    # Anyone under the default policy; a storefront key (or a Medusa token) under the others.
    guest: list[dict[str, list[str]]] = [{}, {"storefrontKey": []}]
    if method.medusa_token:
        guest.append({"medusaToken": []})
    return [*guest, *keys]


def describe(text: str, settings: Settings) -> str:
    values = {"name_length": NAME_LENGTH, **settings.model_dump()}
    for key, value in values.items():
        text = text.replace(f"{{{key}}}", str(value))
    return text


def operation(method: Method, settings: Settings) -> dict[str, Any]:
    """The OpenAPI operation of one registry entry (summary and operation id are set by the route)."""
    # 400/401: a malformed or wrong Authorization header; 413/414/431: a request too large; 503: the database
    # busy or unavailable (with Retry-After).
    codes = {400, 401, 413, 414, 431, 503, *method.errors}
    if method.guest_endpoint:
        codes |= {403, 429}
    ok: dict[str, Any] = {"type": "object", "properties": {"message": method.result}}
    if method.result:  # a method that answers nothing answers {}
        ok["required"] = ["message"]
    extra: dict[str, Any] = {
        "responses": {
            "200": {"description": "Success: Frappe's envelope", "content": {"application/json": {"schema": ok}}},
            **_errors(codes),
        },
        "security": _security(method),
    }
    if method.description:
        extra["description"] = describe(method.description, settings)
    if method.parameters:
        extra["parameters"] = list(method.parameters)
    if method.request_body:
        extra["requestBody"] = method.request_body
    return extra


def install(app: FastAPI) -> None:
    """Add the authentication schemes to the generated document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate().setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
