"""The registry of whitelisted methods: one entry per method drives its route, its OpenAPI operation, the
guest access policy and the rate limits. Adding a method means adding one :class:`Method`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from erpnext_medusa.domain.models import Origin, Stamp
from erpnext_medusa.services import Services
from erpnext_medusa.web.frappe import Call


@dataclass(frozen=True)
class Context:
    """What a handler gets: the shared services, who calls, and the call itself."""

    services: Services
    user: str
    call: Call
    origin: Origin = field(default_factory=Origin)
    #: A Medusa customer token's actor_id: the only Customer whose address this call may change.
    owner_medusa_id: str | None = None
    #: The sid of the session the call runs in (a cookie or the ``sid`` argument), if any.
    sid: str | None = None
    #: The request came over https (directly, or as a trusted proxy says): cookies get ``Secure``.
    secure: bool = False
    #: Counts a login attempt for the user name against the login rate limits (429 past them).
    count_login: Callable[[str], None] = lambda _user: None

    def stamp(self) -> Stamp:
        return self.services.stamp(self.user, self.origin)


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is more than a value: extra top-level keys and cookies (a login's)."""

    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()


#: JSON Schema of an OpenAPI fragment.
Schema = dict[str, Any]


@dataclass(frozen=True)
class Method:
    #: Frappe's dotted path, as in ``/api/method/<path>``.
    path: str
    handler: Callable[[Context], Any]
    summary: str
    #: The rules the method enforces, for the OpenAPI document; ``{name}`` stands for the setting ``name``'s
    #: value (``{name_length}`` for the longest name).
    description: str = ""
    #: Guests may call it (Frappe's ``allow_guest``).
    allow_guest: bool = False
    #: A storefront endpoint: the guest access policy and the rate limits apply to guests calling it.
    guest_endpoint: bool = False
    #: In ``medusa-token`` mode, a Medusa customer's token admits a guest (other guest endpoints need a key).
    medusa_token: bool = False
    #: Costly for the database: guests' calls run under the search concurrency bound.
    costly: bool = False
    #: Verbs shown in the OpenAPI document (every verb Frappe allows is accepted all the same, unless post_only).
    verbs: tuple[str, ...] = ("GET", "POST")
    #: It changes something (a document, a session). Called by GET (or HEAD) in a session, it must prove that a
    #: page of the service or an allowed origin sent it: the browser says so, or the session's CSRF token
    #: comes with it (see ``web/pipeline.py``). Unsafe verbs are held by the CSRF check and the cross-site guard.
    writes: bool = False
    #: Only POST reaches it (Frappe's ``methods=["POST"]``: another verb is 403 "Not permitted").
    post_only: bool = False
    #: OpenAPI: query parameters, request body, the schema of ``message``, and the error statuses it can answer.
    parameters: tuple[Schema, ...] = ()
    request_body: Schema | None = None
    result: Schema = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    #: Other names that reach the same method (Frappe's ``frappe.ping`` for ``ping``).
    aliases: tuple[str, ...] = ()
    #: The handler may wait on storage or the network, so it runs in a worker thread; False for a handler that
    #: only computes (``ping``), which then runs on the event loop without a thread hop.
    blocking: bool = True


class Registry:
    def __init__(self, *methods: Method) -> None:
        self._methods = {m.path: m for m in methods}
        self._names = {name: m for m in methods for name in (m.path, *m.aliases)}
        if len(self._methods) != len(methods) or len(self._names) != sum(1 + len(m.aliases) for m in methods):
            raise ValueError("two methods share a path")

    def get(self, name: str) -> Method | None:
        """The method a path or an alias names."""
        return self._names.get(name)

    def __iter__(self) -> Iterator[Method]:
        return iter(self._methods.values())
