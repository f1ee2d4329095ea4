"""A test double of an ERPNext v15 site's REST API: users and their keys, the v1 routes, webhooks, faults.

Requests run one at a time under a lock, each as one transaction: a refused write leaves nothing behind
(Frappe rolls an unsafe request back on any exception, frappe/app.py). Webhooks are built after the commit,
as frappe/integrations/doctype/webhook/__init__.py ``flush_webhook_execution_queue`` does (one per webhook
and document, the last state winning), and delivered outside the lock through an injectable sender.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2.sandbox import SandboxedEnvironment

from erpnext_medusa.domain.countries import default_countries
from tests.erpnext_site.documents import Clock, Ctx, Documents
from tests.erpnext_site.wire import Thrown, dumps, error_body, raising, success_body, throw

WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
FAULTS = frozenset({"429", "500", "502", "503", "504", "timeout", "drop", "refuse"})


@dataclass
class User:
    name: str
    api_key: str
    api_secret: str
    roles: set[str]
    enabled: bool = True
    password: str | None = None
    full_name: str = ""
    user_type: str = "System User"


@dataclass(frozen=True)
class Logged:
    """One request as the site saw it (``status`` is None when it never answered)."""

    method: str
    path: str
    status: int | None
    fault: str | None = None
    host: str | None = None


@dataclass
class Request:
    method: str
    path: str  # decoded, without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: "timeout", "drop" or "refuse": the transport fails instead of answering (after ``delay`` seconds).
    fault: str | None = None
    delay: float = 0.0


@dataclass
class Fault:
    kind: str
    retry_after: int | None = None
    #: For "timeout"/"drop": run the request first, then lose its answer.
    applied: bool = False
    delay: float = 5.0


@dataclass
class Delivery:
    """A webhook request as Frappe's ``enqueue_webhook`` sends it."""

    webhook: str
    event: str
    doctype: str
    name: str
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    attempts: int = 0
    dropped: bool = False


Sender = Callable[[Delivery], int]
_JINJA = SandboxedEnvironment()
_JINJA.filters["json"] = lambda value: json.dumps(value, indent=1, sort_keys=True, default=str)


class Site:
    def __init__(self, *, sender: Sender | None = None, tracebacks: bool = True) -> None:
        #: Whether error bodies carry ``exception``/``exc`` (System Settings ``allow_error_traceback``, default on).
        self.tracebacks = tracebacks
        self.sender = sender
        self.clock = Clock()
        self.documents = Documents(self.clock)
        self.documents.user_exists = lambda name: self._user(name) is not None
        self.users: dict[str, User] = {}
        self.sessions: dict[str, str] = {}
        self.requests: list[Logged] = []
        self.deliveries: list[Delivery] = []
        self._faults: deque[Fault] = deque()
        self._drop_webhooks = 0
        self._lock = threading.RLock()
        self.add_user("Administrator", roles=["Administrator", "System Manager"], full_name="Administrator")
        for country in default_countries():
            self.insert("Country", {"country_name": country.name, "code": country.code})

    # Setting the site up -----------------------------------------------------------------------------------

    def add_user(
        self, name: str, *, roles: list[str] | tuple[str, ...] = (), api_key: str | None = None,
        api_secret: str | None = None, password: str | None = None, enabled: bool = True,
        full_name: str | None = None, user_type: str = "System User",
    ) -> User:  # fmt: skip
        user = User(
            name, api_key or secrets.token_hex(8), api_secret or secrets.token_hex(8), {*roles, "All"}, enabled,
            password, full_name if full_name is not None else name.split("@")[0], user_type,
        )  # fmt: skip
        with self._lock:
            self.users[name] = user
        return user

    def insert(self, doctype: str, doc: dict[str, Any], *, webhooks: bool = False) -> dict[str, Any]:
        """Insert as Administrator with every rule and hook, but without webhooks unless asked."""
        ctx = self._ctx("Administrator")
        with self._lock:
            stored = self.documents.insert(ctx, doctype, doc, ignore_permissions=True)
            answer = self.documents.as_dict(stored, no_nulls=True)
            queued = self._queue(ctx) if webhooks else []
        self._deliver(queued)
        return answer

    def update(self, doctype: str, name: str, values: dict[str, Any], *, webhooks: bool = False) -> dict[str, Any]:
        """A desk save as Administrator with every rule, hook and Version, but without webhooks unless asked; like
        ``insert``, without the request's rollback copy of the site (for benchmarks' many edits)."""
        ctx = self._ctx("Administrator")
        with self._lock:
            stored = self.documents.update(ctx, doctype, name, values)
            answer = self.documents.as_dict(stored, no_nulls=True)
            queued = self._queue(ctx) if webhooks else []
        self._deliver(queued)
        return answer

    def doc(self, doctype: str, name: str) -> dict[str, Any] | None:
        """A stored document with every field (nulls too), or None."""
        with self._lock:
            stored = self.documents.docs[doctype].get(name)
            return None if stored is None else self.documents.as_dict(stored, no_nulls=False)

    def all(self, doctype: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self.documents.as_dict(d, no_nulls=False) for d in self.documents.docs[doctype].values()]

    def require(self, doctype: str, *fieldnames: str) -> None:
        """Make fields mandatory, as a site's Customize Form would."""
        self.documents.required.setdefault(doctype, set()).update(fieldnames)

    def sql_update(self, doctype: str, name: str, values: dict[str, Any], *, bump_modified: bool = True) -> None:
        """An SQL UPDATE on the site's table: no validation, no hook, no webhook, no Version."""
        with self._lock:
            self.documents.set_value(doctype, name, values, user="Administrator", bump=bump_modified)

    def sql_delete(self, doctype: str, name: str) -> None:
        """An SQL DELETE: the row is gone, with no Deleted Document record and no webhook."""
        with self._lock:
            del self.documents.docs[doctype][name]

    def fail_next(
        self, kind: str, count: int = 1, *, retry_after: int | None = None, applied: bool = False, delay: float = 5.0
    ) -> None:
        """Make the next ``count`` requests fail: "429" (with Retry-After), "500", "502", "503", "504",
        "timeout" (answer after ``delay`` seconds, or in-process a ReadTimeout), "drop" (connection closed
        without an answer) or "refuse" (connection refused). ``applied`` runs the request before losing its
        answer (for "timeout" and "drop")."""
        if kind not in FAULTS:
            raise ValueError(kind)
        with self._lock:
            self._faults.extend(Fault(kind, retry_after, applied, delay) for _ in range(count))

    def drop_webhooks(self, count: int = 1) -> None:
        """Lose the next ``count`` webhook deliveries (a missed webhook)."""
        self._drop_webhooks += count

    def count(self, method: str, path: str) -> int:
        """How many requests with this verb reached this path (the log keeps every one, faults included)."""
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def pending(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status is None and not d.dropped]

    def deliver_pending(self, sender: Sender | None = None) -> None:
        self._deliver(self.pending(), sender)

    # Serving ---------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            host = request.headers.get("host")
            if fault is not None and not (fault.applied and fault.kind in ("timeout", "drop")):
                answer = self._fault(fault)
                self.requests.append(Logged(request.method, request.path, answer.status or None, fault.kind, host))
                return answer
            ctx = self._ctx("Guest")
            saved = self._snapshot() if request.method in WRITES else None
            try:
                answer = self._route(request, ctx)
            except Thrown as error:
                if saved is not None:
                    self._restore(saved)
                ctx.events.clear()
                answer = self._error(error, ctx)
            queued = self._queue(ctx) if answer.status < 400 else []
            if fault is not None:  # applied, then the answer is lost
                answer = Answer(0, fault=fault.kind, delay=fault.delay)
            self.requests.append(
                Logged(request.method, request.path, answer.status or None, fault and fault.kind, host)
            )
        self._deliver(queued)
        return answer

    def _fault(self, fault: Fault) -> Answer:
        if fault.kind in ("timeout", "drop", "refuse"):
            return Answer(0, fault=fault.kind, delay=fault.delay)
        headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
        if fault.kind == "429":  # frappe/rate_limiter.py: TooManyRequestsError under /api/
            answer = self._error(Thrown(429, "TooManyRequestsError"), self._ctx("Guest"))
            answer.headers += headers
            return answer
        if fault.kind == "500":
            lost = Thrown(500, "OperationalError", "(2013, 'Lost connection to MySQL server during query')",
                          module="pymysql.err")  # fmt: skip
            return self._error(lost, self._ctx("Guest"))
        page = f"<html><head><title>{fault.kind} Gateway</title></head><body><center>{fault.kind}</center></body>"
        return Answer(int(fault.kind), [("Content-Type", "text/html"), *headers], page.encode())

    def _ctx(self, user: str) -> Ctx:
        found = self._user(user)
        roles = frozenset(found.roles) if found else frozenset({"Guest"})
        return Ctx(user, roles)

    def _user(self, name: str) -> User | None:
        if name in self.users:
            return self.users[name]
        return next((u for u in self.users.values() if u.name.casefold() == str(name).casefold()), None)

    def _snapshot(self) -> tuple[Any, Any]:
        return copy.deepcopy(self.documents.docs), dict(self.documents.series)

    def _restore(self, saved: tuple[Any, Any]) -> None:
        self.documents.docs, self.documents.series = saved

    def _error(self, error: Thrown, ctx: Ctx) -> Answer:
        body = error_body(error, ctx.log, tracebacks=self.tracebacks)
        return Answer(error.status, [("Content-Type", "application/json")], dumps(body))

    def _ok(self, key: str, value: Any, ctx: Ctx, status: int = 200) -> Answer:
        return Answer(status, [("Content-Type", "application/json")], dumps(success_body(key, value, ctx.log)))

    # Authentication (frappe/auth.py) ---------------------------------------------------------------------

    def _authenticate(self, request: Request, ctx: Ctx) -> None:
        cookies = dict(
            part.strip().split("=", 1) for part in request.headers.get("cookie", "").split(";") if "=" in part
        )
        if cookies.get("sid") in self.sessions:  # a cookie session wins over a token
            self._become(ctx, self.sessions[cookies["sid"]])
        header = request.headers.get("authorization")
        if not header:
            return
        parts = header.split(" ")
        if len(parts) != 2 or ctx.user != "Guest":
            return
        scheme, token = parts[0].lower(), parts[1]
        if scheme == "basic":
            try:
                token = base64.b64decode(token, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                text = "Failed to decode token, please provide a valid base64-encoded token."
                raise Thrown(400, "InvalidAuthorizationToken", text, [raising(text)]) from None
        if scheme in ("token", "basic") and len(pair := token.split(":")) == 2:
            key, secret = pair
            user = next((u for u in self.users.values() if u.api_key == key and u.enabled), None)
            if user is None or not hmac.compare_digest(user.api_secret, secret):
                raise Thrown(401, "AuthenticationError")
            self._become(ctx, user.name)
        if ctx.user == "Guest":  # a two-part header that authenticated nobody
            raise Thrown(401, "AuthenticationError")

    def _become(self, ctx: Ctx, name: str) -> None:
        user = self.users[name]
        ctx.user, ctx.roles = user.name, frozenset(user.roles)

    # Routes (frappe/api/v1.py) ---------------------------------------------------------------------------

    def _route(self, request: Request, ctx: Ctx) -> Answer:
        path = request.path.rstrip("/") or "/"
        if path.startswith("/api/v1/"):
            path = "/api/" + path[len("/api/v1/") :]
        if path.startswith("/api/method/"):
            return self._method(request, path[len("/api/method/") :].split("/")[0], ctx)
        self._authenticate(request, ctx)
        if path.startswith("/api/resource/"):
            doctype, _, name = path[len("/api/resource/") :].partition("/")
            verbs = {"GET", "PUT", "DELETE"} if name else {"GET", "POST"}
            if request.method not in verbs:
                return Answer(405, [("Content-Type", "text/html")], b"<h1>Method Not Allowed</h1>")
            docs = self.documents
            if not name and request.method == "GET":
                return self._ok("data", docs.list(ctx, doctype, request.query), ctx)
            if not name:
                if doctype == "Webhook" and (self._form_data(request).get("condition") or "").strip():
                    raise throw("The ERPNext double does not evaluate Webhook conditions")
                stored = docs.insert(ctx, doctype, self._form_data(request))
                return self._ok("data", docs.as_dict(stored, no_nulls=True), ctx)
            if request.method == "GET":
                stored = docs.load(ctx, doctype, name)
                docs.check(ctx, doctype, "read")
                return self._ok("data", docs.as_dict(stored, no_nulls=True), ctx)
            if request.method == "PUT":
                stored = docs.update(ctx, doctype, name, self._form_data(request))
                return self._ok("data", docs.as_dict(stored, no_nulls=True), ctx)
            docs.delete(ctx, doctype, name)
            return self._ok("data", "ok", ctx, status=202)
        raise Thrown(404, "DoesNotExistError")

    def _form_dict(self, request: Request) -> dict[str, Any]:
        """``make_form_dict``: a JSON object body alone, else query string overlaid with form fields."""
        if request.headers.get("content-type", "").startswith("application/json") and request.body.strip():
            try:
                parsed = json.loads(request.body)
            except ValueError:
                raise throw("Invalid request arguments") from None
            if isinstance(parsed, list):
                return {"data": parsed}
            if not isinstance(parsed, dict):
                raise throw("Invalid request arguments")
            return parsed
        form = dict(parse_qsl(request.body.decode(errors="replace"), keep_blank_values=True))
        return {**request.query, **form}

    def _form_data(self, request: Request) -> dict[str, Any]:
        """``get_request_form_data``: ``form_dict.data`` when sent, else the raw body as JSON, else the form."""
        form = self._form_dict(request)
        data = form.get("data")
        if data is None:
            data = request.body.decode(errors="replace")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                return form
        return data if isinstance(data, dict) else form

    def _method(self, request: Request, method: str, ctx: Ctx) -> Answer:
        if method == "login" and request.path.rstrip("/") == "/api/method/login":
            return self._login(self._form_dict(request), ctx)
        self._authenticate(request, ctx)
        if method == "ping":
            return self._ok("message", "pong", ctx)
        if method == "logout":
            cookies = request.headers.get("cookie", "")
            for sid in [s for s in self.sessions if f"sid={s}" in cookies]:
                del self.sessions[sid]
            answer = self._ok("message", "No App", ctx)
            answer.headers.append(("Set-Cookie", "sid=Guest; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"))
            return answer
        if method == "frappe.auth.get_logged_user":
            if ctx.user == "Guest":  # @frappe.whitelist() without allow_guest
                text = (
                    "<details><summary>You are not permitted to access this resource. Login to access</summary>"
                    f"Function <strong>{method}</strong> is not whitelisted.</details>"
                )
                raise throw(text, "PermissionError", 403, title="Method Not Allowed")
            return self._ok("message", ctx.user, ctx)
        if method == "frappe.client.has_permission":  # frappe/client.py: DocType-level when docname is empty
            args = self._form_dict(request)
            allowed = self.documents.allowed(ctx, str(args.get("doctype")), str(args.get("perm_type") or "read"))
            return self._ok("message", {"has_permission": allowed}, ctx)
        if method == "frappe.client.get_count":  # frappe/client.py: the rows get_list would find, all of them
            args = self._form_dict(request)
            query = {"filters": args.get("filters") or "[]", "fields": '["name"]', "limit_page_length": "0"}
            return self._ok("message", len(self.documents.list(ctx, str(args.get("doctype")), query)), ctx)
        raise throw(f"Failed to get method for command {method} with No module named '{method.split('.')[0]}'")

    def _login(self, form: dict[str, Any], ctx: Ctx) -> Answer:
        """frappe/auth.py ``LoginManager``: 401 bodies carry ``message`` first; success sets the cookies."""
        usr, pwd = form.get("usr"), form.get("pwd")

        def fail(text: str) -> Thrown:
            return Thrown(401, "AuthenticationError", text, before={"message": text})

        if not usr or not pwd:
            raise fail("Incomplete login details")
        user = self._user(str(usr))
        if user is not None and not user.enabled:
            raise fail("User disabled or missing")
        if user is None or user.password is None or not hmac.compare_digest(user.password, str(pwd)):
            raise fail("Invalid login credentials")
        sid = secrets.token_hex(28)
        self.sessions[sid] = user.name
        system = user.user_type == "System User"
        body = {"message": "Logged In" if system else "No App", "home_page": "/app" if system else "/me",
                "full_name": user.full_name}  # fmt: skip
        cookies = [
            f"sid={sid}; HttpOnly; Max-Age=612000; Path=/; SameSite=Lax",
            f"system_user={'yes' if system else 'no'}; Path=/; SameSite=Lax",
            f"full_name={quote(user.full_name)}; Path=/; SameSite=Lax",
            f"user_id={quote(user.name)}; Path=/; SameSite=Lax",
            "user_image=; Path=/; SameSite=Lax",
        ]
        headers = [("Content-Type", "application/json"), *(("Set-Cookie", c) for c in cookies)]
        return Answer(200, headers, dumps(body))

    # Webhooks (frappe/integrations/doctype/webhook) --------------------------------------------------------

    def _queue(self, ctx: Ctx) -> list[Delivery]:
        hooks = [w for w in self.documents.docs["Webhook"].values() if w["enabled"]]
        matched: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]] = {}
        for event, doctype, doc in ctx.events:
            for hook in hooks:
                if hook["webhook_doctype"] == doctype and hook["webhook_docevent"] == event:
                    key = (hook["name"], doc["name"])
                    matched.pop(key, None)  # the last instance wins, in the order of its last event
                    matched[key] = (event, hook, doc)
        queued = [self._delivery(event, hook, doc) for event, hook, doc in matched.values()]
        self.deliveries.extend(queued)
        return queued

    def _delivery(self, event: str, hook: dict[str, Any], doc: dict[str, Any]) -> Delivery:
        """``get_webhook_data`` and ``get_webhook_headers``: the signature is base64 HMAC-SHA256 of
        ``json.dumps(data)``; the body is ``json.dumps(data, default=str)`` (the same bytes here)."""
        values = self.documents.as_dict(doc, no_nulls=False)
        if hook["webhook_data"]:
            data: Any = {row["key"]: values.get(row["fieldname"]) for row in hook["webhook_data"]}
        elif hook["webhook_json"]:
            data = json.loads(_JINJA.from_string(hook["webhook_json"]).render(doc=values))
        else:
            data = {}
        headers: dict[str, str] = {}
        if hook["enable_security"]:
            mac = hmac.new(str(hook["webhook_secret"]).encode("utf8"), json.dumps(data).encode("utf8"), hashlib.sha256)
            headers["X-Frappe-Webhook-Signature"] = base64.b64encode(mac.digest()).decode()
        for row in hook["webhook_headers"]:
            if row.get("key") and row.get("value"):
                headers[row["key"]] = row["value"]
        return Delivery(hook["name"], event, doc["doctype"], doc["name"], hook["request_url"],
                        hook["request_method"] or "POST", headers, json.dumps(data, default=str).encode())  # fmt: skip

    def _deliver(self, queued: list[Delivery], sender: Sender | None = None) -> None:
        """``enqueue_webhook``: up to 3 tries while the receiver fails."""
        send = sender or self.sender
        for delivery in queued:
            if self._drop_webhooks > 0:
                self._drop_webhooks -= 1
                delivery.dropped = True
                continue
            if send is None:
                continue
            for _ in range(3):
                delivery.attempts += 1
                try:
                    delivery.status = send(delivery)
                except Exception:
                    delivery.status = None
                    continue
                if delivery.status is not None and delivery.status < 400:
                    break
