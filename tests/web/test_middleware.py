"""The request-context middleware alone, around a small ASGI app (no database): browsers' cross-site requests,
OPTIONS and CORS headers, and the last word on errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, Router
from starlette.testclient import TestClient

from erpnext_medusa.config import Settings
from erpnext_medusa.logs import REQUEST_ID
from erpnext_medusa.web.middleware import CLIENT_REQUEST_ID, wrap
from tests.helpers import assert_frappe_error

SHOP, EVIL = "https://shop.example", "https://evil.example"
UNSAFE = ["POST", "PUT", "DELETE", "PATCH"]


class Calls:
    """What reached the app behind the middleware."""

    def __init__(self) -> None:
        self.seen: list[str] = []


def _app(calls: Calls) -> Router:
    """Routes alone: no error middleware of the framework's between them and the middleware under test."""

    async def echo(request: Request) -> Response:
        calls.seen.append(request.method)
        return JSONResponse({"request_id": REQUEST_ID.get(), "client_request_id": CLIENT_REQUEST_ID.get()})

    async def boom(_request: Request) -> Response:
        raise RuntimeError("a bug with private details: SELECT * FROM secrets")

    async def late(_request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"first part"
            raise RuntimeError("failed half-way")

        return StreamingResponse(body())

    verbs = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    return Router(routes=[Route("/echo", echo, methods=verbs), Route("/boom", boom), Route("/late", late)])


def _client(calls: Calls, allow_cors: str = SHOP) -> TestClient:
    app = wrap(_app(calls), Settings(allow_cors=allow_cors, allowed_hosts="api.shop.example"))
    return TestClient(app, base_url="http://api.shop.example")


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def client(calls: Calls) -> TestClient:
    return _client(calls)


# --- cross-site requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", UNSAFE)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},  # sandboxed frames, local files
        {"Origin": "http://api.shop.example:8443"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://api.shop.example"},  # the browser's verdict counts
        # A sibling host is the same site, not the same origin: it may be someone else's (and gets SameSite=Lax
        # cookies), so it is held like any other site unless it is allowed.
        {"Sec-Fetch-Site": "same-site", "Origin": "https://www.shop.example"},
        {"Referer": "https://evil.example/page"},  # an old browser: no Sec-Fetch-Site, no Origin
    ],
)
def test_an_unsafe_request_from_another_site_is_refused_before_the_app(client, calls, method, headers):
    r = client.request(method, "/echo", headers={"Content-Type": "text/plain", **headers}, content=b"{}")
    assert_frappe_error(r, 403, "PermissionError", "Requests from another site are not allowed.")
    assert len(r.headers["X-Request-Id"]) == 32
    assert "access-control-allow-origin" not in r.headers
    assert calls.seen == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # servers and curl send neither header
        {"Origin": "http://api.shop.example"},  # the service's own pages
        {"Origin": "https://api.shop.example"},  # behind a TLS proxy the scheme differs; the host is the site
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://api.shop.example"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
        {"Referer": "http://api.shop.example/admin"},  # an old browser on the service's own page
    ],
)
@pytest.mark.parametrize("method", UNSAFE)
def test_unsafe_requests_from_the_same_origin_or_from_no_browser_reach_the_app(client, calls, method, headers):
    r = client.request(method, "/echo", headers=headers)
    assert r.status_code == 200
    assert calls.seen == [method]
    assert "access-control-allow-origin" not in r.headers


def test_an_allowed_origin_may_send_unsafe_requests_and_gets_cors_headers(client, calls):
    r = client.post("/echo", headers={"Origin": SHOP, "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"})
    assert r.status_code == 200 and calls.seen == ["POST"]
    assert r.headers["Access-Control-Allow-Origin"] == SHOP
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in r.headers["Vary"]
    assert "access-control-allow-methods" not in r.headers  # only preflights get those


def test_a_safe_request_from_another_site_is_served_without_cors_headers(client, calls):
    r = client.get("/echo", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200 and calls.seen == ["GET"]
    assert "access-control-allow-origin" not in r.headers  # the browser keeps the answer from the page


def test_any_origin_may_be_allowed(calls):
    r = _client(calls, allow_cors="*").post("/echo", headers={"Origin": EVIL})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == EVIL


def test_no_origin_is_allowed_by_default(calls):
    r = _client(calls, allow_cors="").post("/echo", headers={"Origin": SHOP})
    assert r.status_code == 403 and calls.seen == []


# --- OPTIONS --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/echo", "/boom", "/no/such/path", "/"])
def test_options_is_an_empty_200_on_any_path_without_reaching_the_app(client, calls, path):
    r = client.options(path)
    assert (r.status_code, r.content) == (200, b"")
    assert len(r.headers["X-Request-Id"]) == 32
    assert not any(name.startswith("access-control-") for name in r.headers)
    assert calls.seen == []


def test_a_preflight_from_the_allowed_origin_gets_the_cors_headers(client):
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-a, x-b"}
    r = client.options("/anything", headers=preflight)
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["Access-Control-Allow-Origin"] == SHOP
    assert r.headers["Access-Control-Allow-Methods"] == "POST"
    assert r.headers["Access-Control-Allow-Headers"] == "x-a, x-b"
    assert r.headers["Access-Control-Max-Age"] == "86400"


def test_a_preflight_from_another_origin_gets_no_cors_headers(client):
    r = client.options("/echo", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert (r.status_code, r.content) == (200, b"")
    assert not any(name.startswith("access-control-") for name in r.headers)


# --- request ids and errors -----------------------------------------------------------------------------------


def test_the_app_sees_the_servers_request_id_and_the_clients_beside_it(client):
    r = client.get("/echo", headers={"X-Request-Id": "shop-7"})
    assert r.json() == {"request_id": r.headers["X-Request-Id"], "client_request_id": "shop-7"}
    assert r.headers["X-Request-Id"] != "shop-7"


def test_an_unexpected_error_is_a_frappe_500_that_names_the_request_id_and_nothing_internal(client, caplog):
    r = client.get("/boom")
    assert_frappe_error(r, 500, "Exception", "Something went wrong. The error was logged on the server.")
    assert "SELECT" not in r.text and "secrets" not in r.text
    assert "connection" not in r.headers  # nothing asks the server to close the connection
    (record,) = [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert record.exc_info is not None


def test_an_error_after_the_answer_started_is_left_to_the_server(client):
    # Too late for a 500: the server ends the connection, which is all it can do.
    with pytest.raises(RuntimeError, match="failed half-way"):
        client.get("/late")
