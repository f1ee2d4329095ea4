"""The ASGI application: Frappe's ``/api/method/...`` routes over the domain operations."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from erpnext_medusa import __version__, logs, metrics
from erpnext_medusa.config import Settings, environment, get_settings, unknown_variables
from erpnext_medusa.domain.errors import DoesNotExistError, ServiceError
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe, middleware, observe, openapi, outbox_worker, pipeline, site_feed, webhooks
from erpnext_medusa.web.admin import routes as admin
from erpnext_medusa.web.client import over_https
from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.origins import Origins
from erpnext_medusa.web.policy import GuestPolicy
from erpnext_medusa.web.ratelimit import make_limiter
from erpnext_medusa.web.sessions import expired_cookies
from erpnext_medusa.web.slots import SearchSlots

log = logging.getLogger(__name__)
_ALL_VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
#: How often a process deletes audit rows past the retention period.
AUDIT_PRUNE_EVERY = 3600.0


async def _answer(request: Request, admitted: pipeline.TheAdmitted) -> Response:
    """Every call's endpoint: the handler's reply in Frappe's envelope, with the reply's cookies (or, when the
    sid named no live session, ``session_expired`` and the cookies cleared)."""
    reply = await pipeline.reply(request, admitted)
    version = admitted.caller.call.version
    body = {**frappe.envelope(reply.value, version), **reply.extra}
    if not pipeline.session_expired(request):
        response = JSONResponse(body)
        _add_cookies(response, reply.cookies)
        return response
    return _expire_session(request, JSONResponse(_expired(body, version)))


def _expired(body: dict[str, Any], version: str) -> dict[str, Any]:
    return body if version == frappe.V2 else {**body, "session_expired": 1}


def _expire_session(request: Request, response: Response) -> Response:
    _add_cookies(response, expired_cookies(over_https(request)))
    return response


def _add_cookies(response: Response, cookies: Sequence[str]) -> None:
    for cookie in cookies:
        response.headers.append("set-cookie", cookie)


async def _method_not_allowed(_request: Request) -> Response:
    raise StarletteHTTPException(405)


async def _index(_request: Request, _exc: Exception) -> Response:
    """``GET /`` (without ``cmd``): where to read about the API."""
    return JSONResponse(
        {"service": "erpnext-medusa", "version": __version__, "docs": "/docs", "openapi": "/openapi.json"}
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    if request.app.state.services.settings.metrics_on:
        observe.count_refusal(exc)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    version = frappe.api_version(request.url.path)
    if not pipeline.session_expired(request):
        return frappe.error(exc, headers, version)
    body = _expired(frappe.error_body(exc, version), version)
    return _expire_session(request, JSONResponse(body, status_code=exc.http_status, headers=headers))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/api/"):
        return frappe.error(DoesNotExistError(), version=frappe.api_version(request.url.path))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _prune_periodically(services: Services) -> None:
    """Delete audit rows past the retention period (if one is set) and old webhook event ids now and then
    (every process does; deleting is idempotent)."""
    while True:
        try:
            deleted = await run_in_threadpool(services.prune_audit)
            if deleted:
                log.info("audit trail: deleted %d rows past the retention period", deleted)
            await run_in_threadpool(services.prune_intake_events)
        except Exception:  # a failed prune must not stop the service; the next round tries again
            log.exception("pruning failed")
        await asyncio.sleep(AUDIT_PRUNE_EVERY)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the application. Without arguments the settings come from the environment, and a variable that
    looks like a setting but is not one is logged as a warning."""
    warnings = []
    if services is None:
        if settings is None:
            settings = get_settings()
            warnings = unknown_variables(environment())
        services = Services.from_settings(settings)
    config = services.settings
    logs.install(config.secrets())
    for warning in warnings:
        log.warning(warning)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.take_search_statistics)
        tasks = [asyncio.create_task(_prune_periodically(services))]
        if services.site is not None:
            tasks.append(asyncio.create_task(site_feed.reconcile_periodically(services)))
        if services.medusa is not None:
            tasks.append(asyncio.create_task(outbox_worker.deliver_periodically(services)))
        yield
        for task in tasks:
            task.cancel()
        services.close()
        if config.metrics_on:
            metrics.process_exited(os.getpid())

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
    app.state.guard = pipeline.Guard(
        policy=GuestPolicy(config),
        limiter=make_limiter(config.rate_limit, config.rate_limit_window, config.redis_url, config.redis_prefix),
        auth_failures=make_limiter(
            config.auth_failure_limit, config.rate_limit_window, config.redis_url, config.redis_prefix
        ),
        storefront=make_limiter(
            config.storefront_rate_limit, config.rate_limit_window, config.redis_url, config.redis_prefix
        ),
        logins=make_limiter(config.login_rate_limit, config.rate_limit_window, config.redis_url, config.redis_prefix),
        slots=SearchSlots(
            config.search_concurrency,
            config.search_concurrency_per_client,
            config.pool_timeout,
            metrics.SEARCHES_WAITING.inc if config.metrics_on else lambda _delta: None,
        ),
        origins=Origins(config.allow_cors),
    )
    middleware.install(app, config)
    if config.metrics_on:
        services.store.observe(metrics.StoreMetrics())
        app.add_api_route("/metrics", observe.metrics_endpoint, methods=["GET"], include_in_schema=False)
    if config.metrics_on or config.log_format == "json":
        app.add_middleware(
            observe.ObserveMiddleware, registry=METHODS, count=config.metrics_on, log=config.log_format == "json"
        )
    app.add_api_route("/healthz", observe.healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", observe.readyz, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(pipeline.IndexWanted, _index)

    for method in METHODS:
        for verb in method.verbs:
            app.add_api_route(
                f"/api/method/{method.path}",
                _answer,
                methods=[verb],
                summary=method.summary,
                operation_id=f"{method.path.replace('.', '_')}_{verb.lower()}",
                openapi_extra=openapi.operation(method, config),
                response_model=None,
            )
    if config.intake_on:  # without the secret the route does not exist (404)
        app.add_api_route(
            webhooks.PATH,
            webhooks.customer_webhook,
            methods=["POST"],
            summary="Medusa customer events (signed): each Medusa customer becomes one ERPNext Lead.",
            operation_id="webhook_medusa_customer",
            openapi_extra=webhooks.OPENAPI,
            response_model=None,
        )
    if services.site is not None:
        app.add_api_route(
            site_feed.PATH,
            site_feed.erpnext_webhook,
            methods=["POST"],
            summary="ERPNext Webhooks (signed): a Customer or Lead changed on the site.",
            operation_id="webhook_erpnext",
            response_model=None,
        )
    admin.install(app)
    hidden: dict[str, Any] = {"methods": _ALL_VERBS, "include_in_schema": False}
    if config.intake_on:  # the webhook's path with another verb: 405, not the catch-all's 404
        not_post = [verb for verb in _ALL_VERBS if verb not in ("POST", "OPTIONS")]
        app.add_api_route(webhooks.PATH, _method_not_allowed, methods=not_post, include_in_schema=False)
    for prefix in pipeline.V1_PREFIXES:
        app.add_api_route(prefix + "{rest:path}", _answer, **hidden)
    app.add_api_route(pipeline.V2_ROUTE, _answer, **hidden)
    # Any other path: Frappe's legacy RPC when the request carries ``cmd``, the index on ``GET /``, else 404.
    app.add_api_route("/", _answer, **hidden)
    app.add_api_route("/{rest:path}", _answer, **hidden)
    openapi.install(app)

    return app


def create_served_app() -> FastAPI:
    """The factory ``erpnext-medusa serve`` gives uvicorn: the command has already reported unknown variables."""
    return create_app(get_settings())
