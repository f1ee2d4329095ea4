#!/usr/bin/env python3
"""A stand-in for the erpnext-medusa service, to try this Medusa project without it (standard library only).

It answers the two calls the project makes and keeps what it received:
- POST /webhooks/medusa/customer: checks the X-ERPNext-Medusa-Signature header (HMAC-SHA256 of "<t>.<body>"
  with ERPNEXT_MEDUSA_WEBHOOK_SECRET, t no older than 5 minutes), answers 401 when it does not match, else
  {"message": {"lead": "STUB-LEAD-<n>", "created": ...}}. With --fail-first N it answers the first N webhooks 500.
- POST /api/method/medusa_integration.api.update_address: answers {"message": "Address updated successfully"}.
- GET /received: everything received so far, as JSON (headers, body, signature verdict).

    ERPNEXT_MEDUSA_WEBHOOK_SECRET=... python3 scripts/stub_service.py --port 8000 [--fail-first 1]
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_ok(secret: bytes, header: str, body: bytes, now: float) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - t) <= TOLERANCE_SECONDS and hmac.compare_digest(expected, parts.get("v1", ""))


class Stub:
    def __init__(self, secret: bytes, fail_first: int) -> None:
        self.secret = secret
        self.fail_left = fail_first
        self.received: list[dict] = []
        self.leads: dict[str, str] = {}  # Medusa customer id -> lead name
        self.lock = threading.Lock()


def make_handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/received":
                with stub.lock:
                    self.answer(200, stub.received)
            else:
                self.answer(404, {"exc_type": "DoesNotExistError"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record = {"path": self.path, "headers": dict(self.headers.items()), "body": body.decode(errors="replace")}
            with stub.lock:
                stub.received.append(record)
                status, payload = self.route(record, body)
                record["status"] = status
            print(json.dumps(record), flush=True)
            self.answer(status, payload)

        def route(self, record: dict, body: bytes) -> tuple[int, object]:
            if self.path == "/webhooks/medusa/customer":
                ok = signature_ok(stub.secret, self.headers.get("X-ERPNext-Medusa-Signature", ""), body, time.time())
                record["signature_ok"] = ok
                if not ok:
                    return 401, {"exc_type": "AuthenticationError"}
                if stub.fail_left > 0:
                    stub.fail_left -= 1
                    return 500, {"exc_type": "Exception"}
                customer_id = json.loads(body)["data"]["id"]
                created = customer_id not in stub.leads
                lead = stub.leads.setdefault(customer_id, f"STUB-LEAD-{len(stub.leads) + 1:05d}")
                return 200, {"message": {"lead": lead, "created": created}}
            if self.path == "/api/method/medusa_integration.api.update_address":
                return 200, {"message": "Address updated successfully"}
            return 404, {"exc_type": "DoesNotExistError"}

        def log_message(self, format: str, *args: object) -> None:  # the JSON lines above are the log
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N webhooks with HTTP 500")
    args = parser.parse_args()
    secret = os.environ.get("ERPNEXT_MEDUSA_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("ERPNEXT_MEDUSA_WEBHOOK_SECRET is not set")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Stub(secret.encode(), args.fail_first)))
    print(f"stub erpnext-medusa service on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
