"""Ways to reach the double: in-process through an httpx transport, or over a real socket (uvicorn in a
background thread) for tests that run the service as a process.

Paths are decoded before routing, as werkzeug does before the v1 ``path:`` converter takes a name, so
``/api/resource/Address/A%2FB-Billing`` names ``A/B-Billing``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import httpx
import uvicorn

from tests.erpnext_site.site import Answer, Request, Site


def _request(method: str, raw_path: bytes, raw_query: bytes, headers: dict[str, str], body: bytes) -> Request:
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query.decode(errors="replace"), keep_blank_values=True):
        query.setdefault(key, value)  # werkzeug's MultiDict gives the first value
    return Request(method.upper(), unquote(raw_path.decode(errors="replace")), query, headers, body)


def transport(site: Site) -> httpx.MockTransport:
    """An httpx transport that answers from the site in the calling thread (faults become httpx's own
    exceptions: ReadTimeout, RemoteProtocolError, ConnectError)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raw_path, _, raw_query = request.url.raw_path.partition(b"?")
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = site.handle(_request(request.method, raw_path, raw_query, headers, request.read()))
        if answer.fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if answer.fault == "drop":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if answer.fault == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    return httpx.MockTransport(handler)


def asgi(site: Site) -> Any:
    """The site as an ASGI application."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = _request(scope["method"], scope.get("raw_path") or scope["path"].encode(),
                           scope.get("query_string", b""), headers, body)  # fmt: skip
        answer: Answer = await anyio.to_thread.run_sync(site.handle, request)
        if answer.fault in ("timeout", "refuse"):
            await anyio.sleep(answer.delay)
        if answer.fault in ("drop", "refuse"):
            # Starting an answer and then failing makes the server close the connection mid-response.
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ConnectionAbortedError("the double dropped the connection")
        raw = [(k.lower().encode(), v.encode()) for k, v in answer.headers]
        await send({"type": "http.response.start", "status": answer.status or 504, "headers": raw})
        await send({"type": "http.response.body", "body": answer.body})

    return app


@contextlib.contextmanager
def serve(site: Site) -> Iterator[str]:
    """Run the site on a free 127.0.0.1 port for the duration; yields its base URL."""
    config = uvicorn.Config(asgi(site), host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the ERPNext double did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
