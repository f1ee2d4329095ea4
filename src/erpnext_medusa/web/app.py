"""The ASGI application: Frappe's ``/api/method/...`` routes over the domain operations."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from erpnext_medusa import __version__, logs, metrics
from erpnext_medusa.config import Settings, environment, get_settings, unknown_variables
from erpnext_medusa.domain.accounts import SessionRecord, check_csrf, csrf_token_matches, resume
from erpnext_medusa.domain.errors import (
    AuthenticationError,
    DoesNotExistError,
    InvalidAuthorizationToken,
    NotPermittedError,
    ServiceError,
    TooManyRequestsError,
    ValidationFailedError,
)
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe, middleware, observe, openapi, outbox_worker, site_feed, webhooks
from erpnext_medusa.web.admin import routes as admin
from erpnext_medusa.web.auth import GUEST, user_for
from erpnext_medusa.web.client import client_of, over_https, write_origin
from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.middleware import cross_site_refusal
from erpnext_medusa.web.origins import Origins, Provenance, provenance
from erpnext_medusa.web.policy import STOREFRONT_KEY_HEADER, GuestPass, GuestPolicy
from erpnext_medusa.web.ratelimit import RateLimiter, login_counter, make_limiter
from erpnext_medusa.web.registry import Context, Method, Reply
from erpnext_medusa.web.sessions import CSRF_HEADER, SID_COOKIE, expired_cookies
from erpnext_medusa.web.slots import SearchSlots

log = logging.getLogger(__name__)
_ALL_VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
_UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: How often a process deletes audit rows past the retention period.
AUDIT_PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class Guard:
    """What stands in front of the methods: the guest access policy, the rate limiters (guest calls per method
    and address, storefront keys, failed authentications, logins) and the bound on costly guest calls running
    at once."""

    policy: GuestPolicy
    limiter: RateLimiter | None
    auth_failures: RateLimiter | None
    slots: SearchSlots
    storefront: RateLimiter | None = None
    logins: RateLimiter | None = None
    #: ``ERPNEXT_MEDUSA_ALLOW_CORS``: the other sites whose pages may call with a visitor's session.
    origins: Origins = field(default_factory=lambda: Origins(""))


@dataclass(frozen=True)
class Incoming:
    """The parts of a request the dispatcher needs besides the call itself."""

    authorization: str | None
    storefront_key: str | None
    client: str
    sid_cookie: str | None = None
    csrf_header: str | None = None
    secure: bool = False
    #: Which page the browser says sent the request (UNKNOWN for clients that are not browsers).
    provenance: Provenance = Provenance.UNKNOWN


@dataclass
class Outcome:
    """What the dispatcher learnt besides the answer: a sid that named no live session (Frappe then adds
    ``session_expired`` and clears the cookies)."""

    stale_session: bool = False


def _authenticate(services: Services, guard: Guard, authorization: str | None, client: str) -> str:
    """The caller's user; failed attempts count toward the client's budget, and past it the answer is 429
    without any credential being checked (so keys cannot be guessed at speed)."""
    if not authorization:
        return GUEST  # no database call: a guest's search may be served by a replica alone
    other = services.accounts.user_for_api_key if services.accounts.accepts_erpnext_keys else None
    if guard.auth_failures is None:
        return user_for(authorization, services.keys, services.now(), other)
    key = f"auth-failure:{client}"
    verdict = guard.auth_failures.peek(key)
    if not verdict.allowed:
        raise TooManyRequestsError(verdict.retry_after, reason="auth_failures")
    try:
        return user_for(authorization, services.keys, services.now(), other)
    except (AuthenticationError, InvalidAuthorizationToken):
        guard.auth_failures.hit(key)
        raise


def _limit_guest(guard: Guard, method: Method, incoming: Incoming, bearer: str | None) -> GuestPass:
    """Admit a guest of a guest endpoint: a valid storefront key is counted per key id (when limited), any
    other guest per address and method."""
    if guard.policy.mode == "key" and incoming.storefront_key:
        admitted = guard.policy.admit(method, incoming.storefront_key, bearer)
        if guard.storefront is not None and admitted.storefront_key is not None:
            verdict = guard.storefront.hit(f"storefront:{admitted.storefront_key}")
            if not verdict.allowed:
                raise TooManyRequestsError(verdict.retry_after, reason="storefront_rate_limit")
        return admitted
    if guard.limiter is not None:
        verdict = guard.limiter.hit(f"{method.path}:{incoming.client}")
        if not verdict.allowed:
            raise TooManyRequestsError(verdict.retry_after)
    return guard.policy.admit(method, incoming.storefront_key, bearer)


def _check_session_write(session: SessionRecord, came_from: Provenance, token: str | None) -> None:
    """A method that writes, called by a safe verb in a session: a browser's top-level navigation carries
    SameSite=Lax cookies even from another site, so the call must show it comes from the service's own pages or
    an allowed origin (the browser says so), or carry the session's CSRF token. A page elsewhere cannot do
    either; neither can a client that says nothing, which is told to use POST."""
    if came_from is Provenance.FOREIGN:
        raise cross_site_refusal()
    if came_from is Provenance.SAME or csrf_token_matches(session, token):
        return
    raise NotPermittedError(
        "This call changes data: in a session, send it with POST (or with the session's CSRF token).",
        reason="unproven_write",
    )


def _dispatch(services: Services, guard: Guard, call: frappe.Call, incoming: Incoming, outcome: Outcome) -> Reply:
    """Resume the session (and check its CSRF token), else authenticate the header; check the whitelist and the
    verb (in Frappe's order), hold a session's writes by safe verbs to where they come from, apply the guest
    policy and rate limit to guests of guest endpoints, then run the method."""
    facts = logs.REQUEST_FACTS.get()
    if facts is not None:  # for the access line (the same dict the request's middleware holds)
        facts["client"] = incoming.client
    sid = call.sid or incoming.sid_cookie
    session = None
    if sid and sid != GUEST:
        session = resume(services.sessions, sid, services.now(), services.settings.session_lifetime)
        outcome.stale_session = session is None
    bearer = guard.policy.bearer_token(incoming.authorization)
    if session is not None:
        check_csrf(session, call.verb in _UNSAFE, incoming.csrf_header or call.csrf_token)
        user = session.user  # as in Frappe, a logged-in session wins over an Authorization header
    else:
        user = _authenticate(services, guard, None if bearer is not None else incoming.authorization, incoming.client)
    method = METHODS.get(call.method)
    if method is None:
        raise ValidationFailedError(f"Failed to get method for command {call.method} with: no such method")
    if facts is not None:
        facts["user"] = user
    if not method.allow_guest and user == GUEST:
        refusal = frappe.not_whitelisted(call.method)
        refusal.reason = "not_whitelisted"
        raise refusal
    if call.verb not in frappe.ALLOWED_VERBS or (method.post_only and call.verb != "POST"):
        raise NotPermittedError("Not permitted")
    if session is not None and method.writes and call.verb not in _UNSAFE:
        _check_session_write(session, incoming.provenance, incoming.csrf_header or call.csrf_token)
    origin = write_origin(incoming.client)
    owner = None
    if method.guest_endpoint and user == GUEST:
        admitted = _limit_guest(guard, method, incoming, bearer)
        owner = admitted.medusa_actor
        origin = write_origin(incoming.client, storefront_key=admitted.storefront_key, medusa_actor=owner)
    context = Context(
        services=services,
        user=user,
        call=call,
        origin=origin,
        owner_medusa_id=owner,
        sid=sid if session is not None else None,
        secure=incoming.secure,
        count_login=login_counter(guard.logins, incoming.client),
    )
    result = method.handler(context)
    return result if isinstance(result, Reply) else Reply(result)


async def _run(request: Request, method: str, version: str) -> Response:
    """Read the call once, then dispatch it (guests' costly calls under the search bound)."""
    call = await frappe.read_call(request, method, version)
    return await _run_call(request, call)


async def _run_call(request: Request, call: frappe.Call) -> Response:
    services: Services = request.app.state.services
    incoming = Incoming(
        authorization=request.headers.get("authorization"),
        storefront_key=request.headers.get(STOREFRONT_KEY_HEADER),
        client=client_of(request),
        sid_cookie=request.cookies.get(SID_COOKIE),
        csrf_header=request.headers.get(CSRF_HEADER),
        secure=over_https(request),
        provenance=provenance(request.headers, request.app.state.guard.origins),
    )
    guard: Guard = request.app.state.guard
    outcome = Outcome()
    registered = METHODS.get(call.method)
    try:
        if registered is not None and registered.costly and guard.policy.is_guest(incoming.authorization):
            async with guard.slots.hold(incoming.client):
                reply = await run_in_threadpool(_dispatch, services, guard, call, incoming, outcome)
        else:
            reply = await run_in_threadpool(_dispatch, services, guard, call, incoming, outcome)
    except ServiceError as exc:
        if not outcome.stale_session:
            raise
        if services.settings.metrics_on:
            observe.count_refusal(exc)
        body = frappe.error_body(exc, call.version)
        response = JSONResponse(_expired(body, call.version), status_code=exc.http_status)
        _add_cookies(response, expired_cookies(incoming.secure))
        return response
    body = {**frappe.envelope(reply.value, call.version), **reply.extra}
    response = JSONResponse(_expired(body, call.version) if outcome.stale_session else body)
    _add_cookies(response, expired_cookies(incoming.secure) if outcome.stale_session else reply.cookies)
    return response


def _expired(body: dict[str, Any], version: str) -> dict[str, Any]:
    return body if version == frappe.V2 else {**body, "session_expired": 1}


def _add_cookies(response: Response, cookies: Sequence[str]) -> None:
    for cookie in cookies:
        response.headers.append("set-cookie", cookie)


def _first_segment(path: str, prefix: str) -> str:
    # Frappe keeps only the first path segment: /api/method/a.b.c/anything calls a.b.c.
    return path.split(prefix, 1)[1].split("/")[0]


async def _method_endpoint(request: Request) -> Response:
    """``/api/method/<m>`` and ``/api/v1/method/<m>``: the v1 envelope."""
    prefix = "/api/v1/method/" if request.url.path.startswith("/api/v1/") else "/api/method/"
    return await _run(request, _first_segment(request.url.path, prefix), frappe.V1)


async def _v2_method_endpoint(request: Request) -> Response:
    """``/api/v2/method/<m>``: the v2 envelope; the method is one path segment."""
    return await _run(request, request.path_params["name"], frappe.V2)


async def _other_path(request: Request) -> Response:
    """Any other path: Frappe's legacy RPC when the request carries ``cmd`` (``POST /`` with ``cmd=login``,
    ``GET /?cmd=logout``), the index on ``GET /``, otherwise 404."""
    call = await frappe.read_call(request, "", frappe.api_version(request.url.path))
    if call.cmd is not None and not request.url.path.startswith("/api/"):
        return await _run_call(request, replace(call, method=call.cmd, version=frappe.V1))
    if request.url.path == "/" and request.method in ("GET", "HEAD"):
        return await _index(request)
    raise StarletteHTTPException(404)


async def _method_not_allowed(_request: Request) -> Response:
    raise StarletteHTTPException(405)


async def _index(_request: Request) -> Response:
    """``GET /``: where to read about the API."""
    return JSONResponse(
        {"service": "erpnext-medusa", "version": __version__, "docs": "/docs", "openapi": "/openapi.json"}
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    if request.app.state.services.settings.metrics_on:
        observe.count_refusal(exc)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return frappe.error(exc, headers, frappe.api_version(request.url.path))


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
    app.state.guard = Guard(
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

    for method in METHODS:
        for verb in method.verbs:
            app.add_api_route(
                f"/api/method/{method.path}",
                _method_endpoint,
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
    app.add_api_route("/api/method/{rest:path}", _method_endpoint, **hidden)
    app.add_api_route("/api/v1/method/{rest:path}", _method_endpoint, **hidden)
    app.add_api_route("/api/v2/method/{name}", _v2_method_endpoint, **hidden)
    app.add_api_route("/", _other_path, **hidden)
    app.add_api_route("/{rest:path}", _other_path, **hidden)
    openapi.install(app)

    return app


def create_served_app() -> FastAPI:
    """The factory ``erpnext-medusa serve`` gives uvicorn: the command has already reported unknown variables."""
    return create_app(get_settings())
