"""The ASGI application: Frappe's ``/api/method/...`` routes over the domain operations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from erpnext_medusa import __version__
from erpnext_medusa.config import Settings, get_settings
from erpnext_medusa.domain.errors import DoesNotExistError, PermissionError, ServiceError, ValidationError
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe, openapi
from erpnext_medusa.web.auth import GUEST, user_for
from erpnext_medusa.web.methods import METHODS, Context
from erpnext_medusa.web.openapi import operation

log = logging.getLogger(__name__)
_ALL_VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _dispatch(services: Services, call: frappe.Call, authorization: str | None) -> JSONResponse:
    """Authenticate, check the whitelist and the verb (in Frappe's order), then run the method."""
    user = user_for(authorization, services.keys, services.now())
    method = METHODS.get(call.method)
    if method is None:
        raise ValidationError(f"Failed to get method for command {call.method} with: no such method")
    if not method.allow_guest and user == GUEST:
        raise frappe.not_whitelisted(call.method)
    if call.verb not in frappe.ALLOWED_VERBS:
        raise PermissionError("Not permitted")
    return frappe.message(method.handler(Context(services=services, user=user, call=call)))


async def _method_endpoint(request: Request) -> Response:
    # Frappe keeps only the first path segment: /api/method/a.b.c/anything calls a.b.c.
    method = request.url.path.split("/api/method/", 1)[1].split("/")[0]
    call = await frappe.read_call(request, method)
    services: Services = request.app.state.services
    return await run_in_threadpool(_dispatch, services, call, request.headers.get("authorization"))


async def _service_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return frappe.error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/api/"):
        return JSONResponse({"exc_type": DoesNotExistError.exc_type}, status_code=404)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return frappe.error(ServiceError("Something went wrong. The error was logged on the server."))


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the application. Without arguments the settings come from the environment."""
    if services is None:
        services = Services.from_settings(settings or get_settings())
    owned = services

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        owned.close()

    app = FastAPI(
        lifespan=lifespan,
        title="erpnext-medusa",
        version=__version__,
        summary="Frappe-compatible customer endpoints bridging ERPNext and a Medusa storefront.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    for method in METHODS.values():
        for verb in method.documented_verbs:
            app.add_api_route(
                f"/api/method/{method.path}",
                _method_endpoint,
                methods=[verb],
                summary=method.summary,
                operation_id=f"{method.path.replace('.', '_')}_{verb.lower()}",
                openapi_extra=operation(method.path, method.allow_guest),
                response_model=None,
            )
    app.add_api_route("/api/method/{rest:path}", _method_endpoint, methods=_ALL_VERBS, include_in_schema=False)
    openapi.install(app)

    return app
