"""The way to a whitelisted method: a chain of small FastAPI dependencies, each with one job, in Frappe's order
of checks. Every ``/api/method`` route (and the ``/api/v1``, ``/api/v2`` and ``cmd`` forms) takes the same
chain, and each link takes the one before it, so FastAPI runs them in this order:

1. :func:`the_call`: the call, read once (the method's name and the envelope come from the route); not a call:
   the index on ``GET /``, else 404.
2. :func:`the_session`: the client's address, and the live session a sid names (a cookie, or the ``sid``
   argument). A sid that names none is stale: the answer, even an error, then says ``session_expired`` and
   clears the cookies.
3. :func:`the_csrf_check`: a session's CSRF token on unsafe verbs (403 CSRFTokenError).
4. :func:`the_user`: the session's user (a session wins over an Authorization header), else the API key's
   (401; 429 past the failed-authentication budget), else Guest.
5. :func:`the_method`: the registry's entry, looked up once, and its rules in Frappe's order: no such method
   (417), not whitelisted for a guest (403), a verb it does not take (403), a session's write by a safe verb
   that does not show where it comes from (403).
6. :func:`the_guest_pass`: the guest access policy and the rate limits, for guests of guest endpoints (403,
   401, 429).
7. :func:`the_slot`: the search bound, for costly calls without an API key (429, 503, as the handler
   starts).

Then the endpoint runs the handler (:func:`reply`). The links are coroutines, so plain checks cost no thread
hop; what waits on storage or the network hops to a worker thread only when there is something to wait for: a
sid to resume, an Authorization header to check, rate limits counted in Redis, and the handler unless the
registry marks it ``blocking=False`` (``ping``). A guest's search makes one hop, as before; a guest's ping none.

The chain is a line (each link takes only the one before it and the request) because FastAPI solves every
dependency's own dependencies again wherever it is named, before looking at its cache.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from erpnext_medusa import logs
from erpnext_medusa.domain.accounts import SessionRecord, check_csrf, csrf_token_matches, resume
from erpnext_medusa.domain.errors import (
    AuthenticationError,
    InvalidAuthorizationToken,
    NotPermittedError,
    TooManyRequestsError,
    ValidationFailedError,
)
from erpnext_medusa.services import Services
from erpnext_medusa.web import frappe
from erpnext_medusa.web.auth import GUEST, user_for
from erpnext_medusa.web.client import client_of, over_https, write_origin
from erpnext_medusa.web.methods import METHODS
from erpnext_medusa.web.middleware import cross_site_refusal
from erpnext_medusa.web.origins import Origins, Provenance, provenance
from erpnext_medusa.web.policy import STOREFRONT_KEY_HEADER, GuestPass, GuestPolicy
from erpnext_medusa.web.ratelimit import RateLimiter, login_counter
from erpnext_medusa.web.registry import Context, Method, Reply
from erpnext_medusa.web.sessions import CSRF_HEADER, SID_COOKIE
from erpnext_medusa.web.slots import SearchSlots

V1_PREFIXES = ("/api/method/", "/api/v1/method/")
#: The v2 route: its one path parameter is the method's name.
V2_ROUTE = "/api/v2/method/{name}"
_UNSAFE = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_NO_SLOT = nullcontext()
T = TypeVar("T")


@dataclass(frozen=True)
class Guard:
    """What stands in front of the methods: the guest access policy, the rate limiters (guest calls per method
    and address, storefront keys, failed authentications, logins) and the bound on costly calls (without an
    API key) running at once."""

    policy: GuestPolicy
    limiter: RateLimiter | None
    auth_failures: RateLimiter | None
    slots: SearchSlots
    storefront: RateLimiter | None = None
    logins: RateLimiter | None = None
    #: ``ERPNEXT_MEDUSA_ALLOW_CORS``: the other sites whose pages may call with a visitor's session.
    origins: Origins = field(default_factory=lambda: Origins(""))

    @property
    def guests_counted_here(self) -> bool:
        """Whether the guests' rate limits are counted in this process (no I/O, so no thread hop)."""
        return all(limiter is None or limiter.local for limiter in (self.limiter, self.storefront))


class IndexWanted(Exception):
    """``GET /`` (or ``HEAD /``) without ``cmd``: not a call, the index answers it."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: the call, the client's address, the live session and its sid (if any), the user."""

    call: frappe.Call
    client: str
    session: SessionRecord | None = None
    sid: str | None = None
    user: str = GUEST

    @property
    def has_api_key(self) -> bool:
        """Whether an API key says who calls (a trusted client: the search bound does not hold it)."""
        return self.session is None and self.user != GUEST


@dataclass(frozen=True, slots=True)
class Admitted:
    """A call let through to its method: what let a guest in (None for other calls), and the bound the handler
    runs under."""

    caller: Caller
    method: Method
    guest_pass: GuestPass | None = None
    slot: AbstractAsyncContextManager[None] = _NO_SLOT


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def _csrf_token(request: Request, call: frappe.Call) -> str | None:
    return request.headers.get(CSRF_HEADER) or call.csrf_token


def session_expired(request: Request) -> bool:
    """Whether the request's sid named no live session (the answer then says so and clears the cookies)."""
    return bool(getattr(request.state, "session_expired", False))


async def _maybe_in_thread(blocking: bool, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, in a worker thread when it may wait on I/O, else right here on the event loop."""
    return await run_in_threadpool(work, *args) if blocking else work(*args)


# --- 1. the call -----------------------------------------------------------------------------------------------


async def the_call(request: Request) -> frappe.Call:
    """The call, read once. ``/api/method/<m>/anything`` calls ``<m>`` (Frappe keeps the first segment);
    elsewhere, outside ``/api/``, a ``cmd`` argument names the method (Frappe's legacy RPC: ``POST /`` with
    ``cmd=login``)."""
    path: str = request.scope["path"]
    if "name" in request.path_params:  # the v2 route
        return await frappe.read_call(request, request.path_params["name"], frappe.V2)
    for prefix in V1_PREFIXES:
        if path.startswith(prefix):
            return await frappe.read_call(request, path[len(prefix) :].split("/")[0], frappe.V1)
    call = await frappe.read_call(request, "", frappe.api_version(path))
    if call.cmd is not None and not path.startswith("/api/"):
        return replace(call, method=call.cmd, version=frappe.V1)
    if path == "/" and call.verb in ("GET", "HEAD"):
        raise IndexWanted()
    raise StarletteHTTPException(404)


# --- 2, 3, 4. who calls ----------------------------------------------------------------------------------------


async def the_session(request: Request, call: Annotated[frappe.Call, Depends(the_call)]) -> Caller:
    """The client's address (for the access line too), and the live session the request's sid names, checked
    in a worker thread (no sid, no hop)."""
    client = client_of(request)
    facts = logs.REQUEST_FACTS.get()
    if facts is not None:  # the same dict the request's middleware holds
        facts["client"] = client
    sid = call.sid or request.cookies.get(SID_COOKIE)
    if not sid or sid == GUEST:
        return Caller(call, client)
    services = _services(request)
    lifetime = services.settings.session_lifetime
    session = await run_in_threadpool(resume, services.sessions, sid, services.now(), lifetime)
    if session is None:
        request.state.session_expired = True
        return Caller(call, client)
    return Caller(call, client, session, sid)


async def the_csrf_check(request: Request, caller: Annotated[Caller, Depends(the_session)]) -> Caller:
    """Frappe's CSRF rule: a session that holds a token must be sent it with every unsafe verb."""
    if caller.session is not None:
        call = caller.call
        check_csrf(caller.session, call.verb in _UNSAFE, _csrf_token(request, call))
    return caller


def _authenticate(services: Services, guard: Guard, authorization: str, client: str) -> str:
    """The user of an Authorization header; failed attempts count toward the client's budget, and past it the
    answer is 429 without any credential being checked (so keys cannot be guessed at speed)."""
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


async def the_user(request: Request, caller: Annotated[Caller, Depends(the_csrf_check)]) -> Caller:
    """Who calls: the session's user, else the API key's, else Guest. A Medusa customer's token (medusa-token
    mode) is a guest's, not an API key. Only a header to check costs a thread hop: a guest's call touches no
    database here."""
    if caller.session is not None:
        return replace(caller, user=caller.session.user)
    guard = _guard(request)
    authorization = request.headers.get("authorization")
    if not authorization or guard.policy.bearer_token(authorization) is not None:
        return caller
    services = _services(request)
    user = await run_in_threadpool(_authenticate, services, guard, authorization, caller.client)
    return replace(caller, user=user)


# --- 5. what is called -----------------------------------------------------------------------------------------


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


async def the_method(request: Request, caller: Annotated[Caller, Depends(the_user)]) -> Admitted:
    """The registry's entry for the call, looked up once, and its rules in Frappe's order: no such method, then
    a guest calling a method not whitelisted for guests, then a verb the method does not take; then a session's
    write by a safe verb must show where it comes from (unsafe verbs are held by the CSRF check and the
    cross-site guard)."""
    call, user = caller.call, caller.user
    method = METHODS.get(call.method)
    if method is None:
        raise ValidationFailedError(f"Failed to get method for command {call.method} with: no such method")
    facts = logs.REQUEST_FACTS.get()
    if facts is not None:
        facts["user"] = user
    if not method.allow_guest and user == GUEST:
        refusal = frappe.not_whitelisted(call.method)
        refusal.reason = "not_whitelisted"
        raise refusal
    if call.verb not in frappe.ALLOWED_VERBS or (method.post_only and call.verb != "POST"):
        raise NotPermittedError("Not permitted")
    if caller.session is not None and method.writes and call.verb not in _UNSAFE:
        came_from = provenance(request.headers, _guard(request).origins)
        _check_session_write(caller.session, came_from, _csrf_token(request, call))
    return Admitted(caller, method)


# --- 6, 7. guests ----------------------------------------------------------------------------------------------


def _admit(guard: Guard, method: Method, storefront_key: str | None, bearer: str | None, client: str) -> GuestPass:
    """Admit a guest of a guest endpoint: a valid storefront key is counted per key id (when limited), any
    other guest per address and method."""
    if guard.policy.mode == "key" and storefront_key:
        admitted = guard.policy.admit(method, storefront_key, bearer)
        if guard.storefront is not None and admitted.storefront_key is not None:
            verdict = guard.storefront.hit(f"storefront:{admitted.storefront_key}")
            if not verdict.allowed:
                raise TooManyRequestsError(verdict.retry_after, reason="storefront_rate_limit")
        return admitted
    if guard.limiter is not None:
        verdict = guard.limiter.hit(f"{method.path}:{client}")
        if not verdict.allowed:
            raise TooManyRequestsError(verdict.retry_after)
    return guard.policy.admit(method, storefront_key, bearer)


async def the_guest_pass(request: Request, admitted: Annotated[Admitted, Depends(the_method)]) -> Admitted:
    """For a guest of a guest endpoint, what let them in (the policy and the rate limits); other calls pass."""
    method, caller = admitted.method, admitted.caller
    if not (method.guest_endpoint and caller.user == GUEST):
        return admitted
    guard = _guard(request)
    bearer = guard.policy.bearer_token(request.headers.get("authorization"))
    key = request.headers.get(STOREFRONT_KEY_HEADER)
    blocking = not guard.guests_counted_here
    guest_pass = await _maybe_in_thread(blocking, _admit, guard, method, key, bearer, caller.client)
    return replace(admitted, guest_pass=guest_pass)


async def the_slot(request: Request, admitted: Annotated[Admitted, Depends(the_guest_pass)]) -> Admitted:
    """For a costly call without an API key (a guest's, or a session's), a search slot to run the handler under
    (taken as the handler starts: 429 past the client's share, 503 when none frees up in time)."""
    if admitted.method.costly and not admitted.caller.has_api_key:
        return replace(admitted, slot=_guard(request).slots.hold(admitted.caller.client))
    return admitted


TheAdmitted = Annotated[Admitted, Depends(the_slot)]


# --- the handler -----------------------------------------------------------------------------------------------


async def reply(request: Request, admitted: Admitted) -> Reply:
    """Run the handler with who calls and from where, under its slot (in a worker thread unless it waits on
    nothing)."""
    caller, guest_pass = admitted.caller, admitted.guest_pass
    owner = guest_pass.medusa_actor if guest_pass is not None else None
    key = guest_pass.storefront_key if guest_pass is not None else None
    context = Context(
        services=_services(request),
        user=caller.user,
        call=caller.call,
        origin=write_origin(caller.client, storefront_key=key, medusa_actor=owner),
        owner_medusa_id=owner,
        sid=caller.sid,
        secure=over_https(request),
        count_login=login_counter(_guard(request).logins, caller.client),
    )
    async with admitted.slot:
        result = await _maybe_in_thread(admitted.method.blocking, admitted.method.handler, context)
    return result if isinstance(result, Reply) else Reply(result)
