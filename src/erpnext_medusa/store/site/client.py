"""A synchronous client of a Frappe v15 site's REST API (``/api/resource`` and ``/api/method``, the v1 routes of
frappe/api/v1.py), authenticated with the service's own API key.

Every request carries ``Authorization: token <key>:<secret>`` (frappe/auth.py ``validate_auth_via_api_keys``).
The client keeps no cookies at all: a cookie session would win over the token on the site, and ``login`` must
leave no session behind. Refusals become the domain errors (see :mod:`.answers`), carrying ERPNext's message
and ``exc_type``.

**Retries.** A request that meets a connection failure, a timeout, or 429/500/502/503/504 is tried again at
most ``retries`` times, after a backoff that doubles from ``backoff`` seconds, or after the site's
``Retry-After`` when it sends one, never more than ``max_wait``. Then it fails with ServiceUnavailableError
(503, reason ``erpnext_unavailable``, ``retry_after`` from the site when known). What is retried:

* GET: always (reads change nothing).
* PUT: always. The body holds the changed fields only, so sending it twice leaves the same document; a PUT that
  carries the ``modified`` of its read is refused the second time with TimestampMismatchError if the first
  one did land, which the caller sees as StaleDocumentError and resolves by reading again.
* DELETE: always. A retry that then finds the document gone (404), after an attempt whose answer was lost,
  counts as done.
* POST (``insert``, ``call(post=True)``, ``login``): **never re-sent once the request may have reached the
  site**. Only a failure to connect (nothing was sent) is retried. A POST that times out, loses its
  connection, or meets a gateway error (502/504) fails with UncertainWriteError: it may have been applied,
  and the caller resolves it by looking the document up (e.g. by ``medusa_id``), never by sending it again.
  429, 500 and 503 answers come from Frappe itself before or instead of a commit (the rate limiter runs
  before the handler; an exception rolls the request back), so they fail with plain ServiceUnavailableError.

**Optimistic concurrency.** ``update`` sends exactly the given fields. frappe/api/v1.py ``update_doc`` loads the
document, applies the body with ``doc.update(data)`` and saves; ``Document.save`` first runs
``set_user_and_timestamp``, which keeps the current ``modified`` (the one from the body, when the body has it)
as ``_original_modified``, then ``check_if_latest`` reloads the stored document and, if
``cstr(stored.modified) != cstr(_original_modified)``, raises TimestampMismatchError (417) "Error: Document has
been modified after you have opened it (<stored>, <new>). Please refresh to get the latest document."
(frappe/model/document.py). So including ``modified`` exactly as the site wrote it (``str`` of the datetime,
e.g. ``"2026-12-07 10:00:00.123456"``) makes the write conditional on the read; leaving it out makes the
write unconditional, since the loaded ``modified`` then always matches.

Each request is logged at debug with its verb, DocType or method, status and duration; never its body, its
document name (they carry contact data) or a secret.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from json import dumps
from typing import Any
from urllib.parse import quote, unquote

import httpx

from erpnext_medusa.domain.errors import (
    DoesNotExistError,
    ServiceError,
    ServiceUnavailableError,
    UncertainWriteError,
)
from erpnext_medusa.store.site.answers import (
    GATEWAY,
    UNAVAILABLE,
    UNAVAILABLE_REASON,
    json_body,
    retry_after,
    site_error,
)
from erpnext_medusa.store.site.fields import FieldNames

log = logging.getLogger(__name__)

#: Transport failures that happen before any byte of the request left (safe to retry for every verb).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class SiteLogin:
    """Who a successful ``/api/method/login`` logged in."""

    user: str
    full_name: str


@dataclass(frozen=True)
class _Outcome:
    response: httpx.Response
    #: Whether an earlier attempt of this request may have been applied (its answer was lost).
    lost_answer: bool


class FrappeClient:
    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        host: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        field_names: FieldNames | None = None,
    ) -> None:
        """``field_names``: the site's own names of fields the service knows by another name (:mod:`.fields`)."""
        self.url = url.rstrip("/")
        self._names = field_names or FieldNames({})
        self.api_key = api_key
        self._authorization = f"token {api_key}:{api_secret}"
        self._host = host
        self._retries = max(0, retries)
        self._sleep = sleep
        self._backoff = backoff
        self._max_wait = max_wait
        # A jar whose policy accepts no cookie: the client never holds a session of the site.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, transport=transport, cookies=no_cookies, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"FrappeClient({self.url!r}, api_key={self.api_key!r})"

    def close(self) -> None:
        self._http.close()

    # Documents ---------------------------------------------------------------------------------------------

    def get_doc(self, doctype: str, name: str) -> dict[str, Any]:
        """The document (frappe/api/v1.py ``read_doc``: ``as_dict(no_nulls=True)``, so empty fields are absent)."""
        return self._names.doc_in(
            self._data(self._send("GET", _doc_path(doctype, name), what=doctype, retry=True).response)
        )

    def get_list(
        self,
        doctype: str,
        *,
        fields: Sequence[str],
        filters: Any = None,
        or_filters: Any = None,
        order_by: str | None = None,
        start: int = 0,
        page_length: int = 20,
    ) -> list[dict[str, Any]]:
        """Rows of ``frappe.client.get_list`` (``page_length=0`` means every row). Filters are Frappe's dict or
        list-of-lists forms, sent JSON-encoded as v1 ``document_list`` expects."""
        params: dict[str, str | int] = {
            "fields": dumps(self._names.fields_out(list(fields))),
            "limit_start": start,
            "limit_page_length": page_length,
        }
        if filters is not None:
            params["filters"] = dumps(self._names.filters_out(filters))
        if or_filters is not None:
            params["or_filters"] = dumps(self._names.filters_out(or_filters))
        if order_by:
            params["order_by"] = order_by
        path = f"/api/resource/{quote(doctype, safe='')}"
        rows = self._data(self._send("GET", path, what=doctype, params=params, retry=True).response)
        return self._names.doc_in(rows) if isinstance(rows, list) else []

    def insert(self, doctype: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a document (``create_doc``): the site names it and answers it as stored. Never re-sent."""
        path = f"/api/resource/{quote(doctype, safe='')}"
        body = self._names.doc_out(doc)
        return self._names.doc_in(self._data(self._send("POST", path, what=doctype, body=body, retry=False).response))

    def update(self, doctype: str, name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Save the given fields (``update_doc``); child tables given are replaced whole. Include ``modified``
        from a read to make the write refuse (StaleDocumentError) if the document changed since."""
        body = self._names.doc_out(changes)
        outcome = self._send("PUT", _doc_path(doctype, name), what=doctype, body=body, retry=True)
        return self._names.doc_in(self._data(outcome.response))

    def delete(self, doctype: str, name: str) -> None:
        """Delete a document (``delete_doc``, 202). Gone already after a lost answer counts as done."""
        outcome = self._send("DELETE", _doc_path(doctype, name), what=doctype, retry=True)
        try:
            self._data(outcome.response)
        except DoesNotExistError:
            if not outcome.lost_answer:
                raise

    # Methods -----------------------------------------------------------------------------------------------

    def call(self, method: str, *, post: bool = False, **args: Any) -> Any:
        """Call ``/api/method/<method>`` and return its ``message`` (None when it returned nothing). A GET
        sends the arguments as query parameters (JSON-encoded unless they are text); a POST sends them as a
        JSON body and is never re-sent."""
        path = f"/api/method/{quote(method, safe='.')}"
        if post:
            outcome = self._send("POST", path, what=method, body=args, retry=False)
        else:
            params = {k: v if isinstance(v, str) else dumps(v) for k, v in args.items()}
            outcome = self._send("GET", path, what=method, params=params, retry=True)
        return self._message(outcome.response)

    def logged_user(self, authorization: str) -> str | None:
        """Who the site says a caller is, asked with the caller's own Authorization header (token or Basic):
        ``frappe.auth.get_logged_user``. None when the site refuses it (401 bad key, 403 Guest)."""
        outcome = self._send(
            "GET",
            "/api/method/frappe.auth.get_logged_user",
            what="frappe.auth.get_logged_user",
            retry=True,
            headers={"Authorization": authorization},
            authorize=False,
        )
        if outcome.response.status_code in (401, 403):
            return None
        user = self._message(outcome.response)
        return user if isinstance(user, str) and user else None

    def login(self, usr: str, pwd: str) -> SiteLogin | None:
        """Check a user's password with the site's ``/api/method/login``; None when it refuses (401). The
        session the site opens is logged out at once: the service never keeps it."""
        outcome = self._send(
            "POST", "/api/method/login", what="login", body={"usr": usr, "pwd": pwd}, retry=False, authorize=False
        )
        response = outcome.response
        if response.status_code == 401:
            return None
        body = self._message_body(response)
        cookies: SimpleCookie = SimpleCookie()
        for header in response.headers.get_list("set-cookie"):
            cookies.load(header)
        user = unquote(cookies["user_id"].value) if "user_id" in cookies else usr
        full_name = body.get("full_name")
        if not isinstance(full_name, str):
            full_name = unquote(cookies["full_name"].value) if "full_name" in cookies else ""
        if "sid" in cookies and cookies["sid"].value not in ("", "Guest"):
            self._logout(cookies["sid"].value)
        return SiteLogin(user=user, full_name=full_name)

    def _logout(self, sid: str) -> None:
        try:
            self._send(
                "POST", "/api/method/logout", what="logout", retry=False, headers={"Cookie": f"sid={sid}"},
                authorize=False,
            )  # fmt: skip
        except ServiceError:
            log.debug("ERPNext logout after a login check failed; the site's session will expire on its own")

    # Plumbing ----------------------------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None, authorize: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if authorize:
            headers["Authorization"] = self._authorization
        if self._host:
            headers["Host"] = self._host
        headers.update(extra or {})
        return headers

    def _send(
        self,
        verb: str,
        path: str,
        *,
        what: str,
        retry: bool,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        authorize: bool = True,
    ) -> _Outcome:
        """One request with its retries (see the module docstring for which ones)."""
        lost_answer = False
        attempt = 0
        while True:
            started = time.perf_counter()
            response: httpx.Response | None = None
            sent = True
            try:
                response = self._http.request(
                    verb, path, params=params, json=body, headers=self._headers(headers, authorize)
                )
            except _NOT_SENT:
                sent = False
            except httpx.TransportError:
                pass  # sent, and its answer lost: a timeout, a dropped connection
            elapsed = (time.perf_counter() - started) * 1000
            status = response.status_code if response is not None else ("unsent" if not sent else "no answer")
            log.debug("ERPNext %s %s -> %s in %.1f ms", verb, what, status, elapsed)
            if response is not None and response.status_code not in UNAVAILABLE:
                return _Outcome(response, lost_answer)
            uncertain = sent and (response is None or response.status_code in GATEWAY)
            lost_answer = lost_answer or uncertain
            wait = self._wait(attempt, response)
            if attempt >= self._retries or (sent and not retry):
                raise self._unavailable(verb, what, response, wait, uncertain and not retry)
            self._sleep(wait)
            attempt += 1

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        asked = retry_after(response.headers.get("retry-after")) if response is not None else None
        wait = asked if asked is not None else self._backoff * 2**attempt
        return min(self._max_wait, wait)

    def _unavailable(
        self, verb: str, what: str, response: httpx.Response | None, wait: float, uncertain: bool
    ) -> ServiceUnavailableError:
        seconds = max(1, math.ceil(wait))
        if uncertain:
            return UncertainWriteError(
                f"The ERPNext site did not answer a {verb} of {what}: it may or may not have been applied",
                seconds,
            )
        answer = f"answered {response.status_code}" if response is not None else "could not be reached"
        return ServiceUnavailableError(
            f"The ERPNext site is unavailable ({answer}); try again shortly", seconds, reason=UNAVAILABLE_REASON
        )

    def _message_body(self, response: httpx.Response) -> dict[str, Any]:
        body = json_body(response.content)
        if not response.is_success:
            raise site_error(response.status_code, body)
        if not isinstance(body, dict):
            raise ServiceUnavailableError(
                f"The ERPNext site sent an unreadable answer ({response.status_code})", reason=UNAVAILABLE_REASON
            )
        return body

    def _data(self, response: httpx.Response) -> Any:
        return self._message_body(response).get("data")

    def _message(self, response: httpx.Response) -> Any:
        return self._message_body(response).get("message")


def _doc_path(doctype: str, name: str) -> str:
    """``/api/resource/<DocType>/<name>``, every reserved character of the name escaped (a ``/`` too: the
    site's router decodes the path before its ``path:`` converter takes the name)."""
    return f"/api/resource/{quote(doctype, safe='')}/{quote(name, safe='')}"
