"""The way to a whitelisted method: a chain of small FastAPI dependencies, each with one job, in Frappe's order
of checks. Every ``/api/method`` route (and the ``/api/v1``, ``/api/v2`` and ``cmd`` forms) takes the same
chain; each link takes the ones before it, so FastAPI runs them in this order (each once per request):

1. :func:`the_call`: the call, read once (the method's name and the envelope come from the route).
2. :func:`the_session`: the session a sid names (a cookie, or the ``sid`` argument); a sid naming none is
   stale: the answer, even an error, then says ``session_expired`` and clears the cookies.
3. :func:`the_checked_session`: the session's CSRF token on unsafe verbs (403 CSRFTokenError).
4. :func:`the_user`: the session's user, else the API key's (401; 429 past the failed-authentication budget),
   else Guest. A session wins over an Authorization header.
5. :func:`the_method`: the registry's entry, looked up once: unknown (417), not whitelisted for a guest (403),
   a verb it does not take (403).
6. :func:`the_proven_method`: a session's write by a safe verb shows where it comes from (403).
7. :func:`the_guest_pass`: the guest access policy and the rate limits, for guests of guest endpoints (403,
   401, 429).
8. :func:`the_slot`: the search bound, for guests' costly calls (429, 503).
9. :func:`the_reply`: the handler.

The links are coroutines, so plain checks cost no thread hop. What waits on storage or the network hops to a
worker thread only when there is something to wait for: a sid to resume, an Authorization header to check,
rate limits counted in Redis, and the handler unless the registry marks it ``blocking=False`` (``ping``). A
guest's search thus makes one hop, a guest's ping none.
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
T = TypeVar("T")


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

    @property
    def guests_counted_here(self) -> bool:
        """Whether the guests' rate limits are counted in this process (no I/O, so no thread hop)."""
        return all(limiter is None or limiter.local for limiter in (self.limiter, self.storefront))


class IndexWanted(Exception):
    """``GET /`` (or ``HEAD /``) without ``cmd``: not a call, the index answers it."""


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def _sid(request: Request, call: frappe.Call) -> str | None:
    return call.sid or request.cookies.get(SID_COOKIE)


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
    ``cmd=login``); without one, ``GET /`` is the index and any other path is a 404."""
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


TheCall = Annotated[frappe.Call, Depends(the_call)]


# --- 2, 3, 4. who calls ----------------------------------------------------------------------------------------


async def the_client(request: Request) -> str:
    """The address the call is counted and audited under (:func:`client_of`), worked out once."""
    client = client_of(request)
    facts = logs.REQUEST_FACTS.get()
    if facts is not None:  # for the access line (the same dict the request's middleware holds)
        facts["client"] = client
    return client


TheClient = Annotated[str, Depends(the_client)]


async def the_session(request: Request, call: TheCall, _client: TheClient) -> SessionRecord | None:
    """The live session the request's sid names (None without a sid). The sid is checked in a worker thread."""
    sid = _sid(request, call)
    if not sid or sid == GUEST:
        return None
    services = _services(request)
    session = await run_in_threadpool(
        resume, services.sessions, sid, services.now(), services.settings.session_lifetime
    )
    if session is None:
        request.state.session_expired = True
    return session


async def the_checked_session(
    request: Request, call: TheCall, session: Annotated[SessionRecord | None, Depends(the_session)]
) -> SessionRecord | None:
    """The session, its CSRF token checked for unsafe verbs (Frappe's rule: only a session holding a token)."""
    if session is not None:
        check_csrf(session, call.verb in _UNSAFE, _csrf_token(request, call))
    return session


TheSession = Annotated[SessionRecord | None, Depends(the_checked_session)]


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


async def the_user(request: Request, client: TheClient, session: TheSession) -> str:
    """Who calls: the session's user (as in Frappe, a session wins over an Authorization header), else the API
    key's, else Guest. A Medusa customer's token (medusa-token mode) is a guest's, not an API key. Only a
    header to check costs a thread hop: a guest's call touches no database here."""
    if session is not None:
        return session.user
    guard = _guard(request)
    authorization = request.headers.get("authorization")
    if not authorization or guard.policy.bearer_token(authorization) is not None:
        return GUEST
    return await run_in_threadpool(_authenticate, _services(request), guard, authorization, client)


TheUser = Annotated[str, Depends(the_user)]


# --- 5, 6. what is called --------------------------------------------------------------------------------------


async def the_method(call: TheCall, user: TheUser) -> Method:
    """The registry's entry for the call, looked up once; refused in Frappe's order: no such method, then a
    guest calling a method that is not whitelisted for guests, then a verb the method does not take."""
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
    return method


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


async def the_proven_method(
    request: Request, call: TheCall, session: TheSession, method: Annotated[Method, Depends(the_method)]
) -> Method:
    """The method, once a session's write by a safe verb has shown where it comes from (unsafe verbs are held
    by the CSRF check and the cross-site guard)."""
    if session is not None and method.writes and call.verb not in _UNSAFE:
        came_from = provenance(request.headers, _guard(request).origins)
        _check_session_write(session, came_from, _csrf_token(request, call))
    return method


TheMethod = Annotated[Method, Depends(the_proven_method)]


# --- 7, 8. guests ----------------------------------------------------------------------------------------------


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


async def the_guest_pass(request: Request, client: TheClient, user: TheUser, method: TheMethod) -> GuestPass | None:
    """What let a guest of a guest endpoint in (None for other calls, which the policy does not hold)."""
    if not (method.guest_endpoint and user == GUEST):
        return None
    guard = _guard(request)
    bearer = guard.policy.bearer_token(request.headers.get("authorization"))
    key = request.headers.get(STOREFRONT_KEY_HEADER)
    return await _maybe_in_thread(not guard.guests_counted_here, _admit, guard, method, key, bearer, client)


TheGuestPass = Annotated[GuestPass | None, Depends(the_guest_pass)]


async def the_slot(
    request: Request, client: TheClient, user: TheUser, method: TheMethod, _admitted: TheGuestPass
) -> AbstractAsyncContextManager[None]:
    """What the handler runs under: a search slot for a guest's costly call (taken as the handler starts; 429
    past the client's share, 503 when none frees up in time), else nothing."""
    if method.costly and user == GUEST:
        return _guard(request).slots.hold(client)
    return nullcontext()


# --- 9. the handler --------------------------------------------------------------------------------------------


async def the_reply(
    request: Request,
    call: TheCall,
    client: TheClient,
    session: TheSession,
    user: TheUser,
    method: TheMethod,
    admitted: TheGuestPass,
    slot: Annotated[AbstractAsyncContextManager[None], Depends(the_slot)],
) -> Reply:
    """Run the handler with who calls and from where (in a worker thread unless it waits on nothing)."""
    origin = write_origin(client)
    owner = None
    if admitted is not None:
        owner = admitted.medusa_actor
        origin = write_origin(client, storefront_key=admitted.storefront_key, medusa_actor=owner)
    context = Context(
        services=_services(request),
        user=user,
        call=call,
        origin=origin,
        owner_medusa_id=owner,
        sid=_sid(request, call) if session is not None else None,
        secure=over_https(request),
        count_login=login_counter(_guard(request).logins, client),
    )
    async with slot:
        result = await _maybe_in_thread(method.blocking, method.handler, context)
    return result if isinstance(result, Reply) else Reply(result)


TheReply = Annotated[Reply, Depends(the_reply)]
