"""A small HTTP/1.1 load generator, run as its own process: ``python -m benchmarks.load SPEC.json``.

SPEC holds ``url`` (``http://host:port``), ``connections``, ``duration`` (seconds), ``once`` (send each
request at most once, e.g. links) and ``requests``: a list of ``{"method", "path", "headers", "body"}``.
Each connection keeps its socket open and sends requests one after another. It prints one JSON object:
requests, errors (non-2xx, or a body with an "error"/"exc_type"), elapsed seconds, rate and latency
percentiles in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def _encode(request: dict[str, Any], host: str) -> bytes:
    body = request.get("body")
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Host": host, "Connection": "keep-alive", **request.get("headers", {})}
    if body is not None:
        headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(data))
    head = f"{request['method']} {request['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + data


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, await reader.readexactly(length)


def _failed(status: int, body: bytes) -> bool:
    if not 200 <= status < 300:
        return True
    return b'"error"' in body or b'"exc_type"' in body


async def _connection(
    host: str, port: int, payloads: list[bytes], deadline: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline and i < len(payloads):
            started = time.perf_counter()
            writer.write(payloads[i])
            status, body = await _response(reader)
            latencies.append(time.perf_counter() - started)
            if _failed(status, body):
                errors.append(f"{status} {body[:200].decode('utf-8', 'replace')}")
            i += 1
    finally:
        writer.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    encoded = [_encode(r, f"{host}:{port}") for r in spec["requests"]]
    n = spec["connections"]
    if spec.get("once"):  # disjoint slices: every request is sent once at most
        plans = [encoded[i::n] for i in range(n)]
    else:  # every connection cycles through the whole set from its own starting point
        repeat = max(1, 200_000 // max(1, len(encoded)))
        plans = [(encoded[i % len(encoded) :] + encoded[: i % len(encoded)]) * repeat for i in range(n)]
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + spec["duration"]
    await asyncio.gather(*(_connection(host, port, plan, deadline, latencies, errors) for plan in plans))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "elapsed": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
