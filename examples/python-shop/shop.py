#!/usr/bin/env python3
"""A shop backend taking stablecoin payments through PayIn, with Python's standard library only.

    PAYIN_API_URL=http://127.0.0.1:8080 PAYIN_API_KEY=pk_... python3 shop.py

- POST /checkout {"amount": "49.90", "currency": "USDT"} creates a PayIn order and answers what
  the customer needs: the hosted paymentUrl (or the address and amount to show yourself).
- POST /webhooks/payin receives PayIn's signed webhooks: the Standard Webhooks signature is
  checked over the raw body, each event is handled once, and the order is marked paid on
  order.completed (expired on order.expired). Only a verified webhook changes an order.
- GET /orders/<orderReference> shows the shop's own view of an order.

At start it registers its webhook URL with PayIn (POST /api/v1/webhooks) and keeps the secret
in memory; a real shop registers once and stores the secret with its other secrets.

Environment: PAYIN_API_URL (the gateway's root URL), PAYIN_API_KEY, PAYIN_CHAIN_ID (default
"local", the `payin dev` chain), PORT (default 8000; 0 picks a free port), SHOP_PUBLIC_URL (where
PayIn reaches this shop; default http://127.0.0.1:PORT).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = os.environ["PAYIN_API_URL"].rstrip("/") + "/api/v1"
KEY = os.environ["PAYIN_API_KEY"]
CHAIN = os.environ.get("PAYIN_CHAIN_ID", "local")
TOLERANCE_SECONDS = 300

orders: dict[str, dict] = {}  # by orderReference: the shop's own records
handled_events: set[str] = set()  # webhook-id of every event already handled
lock = threading.Lock()
webhook_secret = ""


class PayinError(Exception):
    """A PayIn error envelope: branch on `code`, show `message`, fix `field`."""

    def __init__(self, envelope: dict):
        super().__init__(envelope.get("message"))
        self.code = envelope.get("code")
        self.field = envelope.get("field")
        self.envelope = envelope


def payin(method: str, path: str, body: dict | None = None) -> dict:
    """One PayIn REST call; returns the envelope's `data` or raises PayinError."""
    request = urllib.request.Request(
        API + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.load(response)["data"]
    except urllib.error.HTTPError as e:
        raise PayinError(json.load(e)) from None


def verify(body: bytes, headers) -> dict:
    """The event, if the Standard Webhooks signature over the raw body is valid; else ValueError."""
    msg_id, timestamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise ValueError("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValueError("webhook-timestamp outside the tolerance")
    key = base64.b64decode(webhook_secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if not any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (s.partition(",") for s in signatures.split())
    ):
        raise ValueError("signature mismatch")
    return json.loads(body)


def handle(event_id: str, event: dict) -> None:
    """Applies an event once: the same webhook-id again (a retry or a resend) is a no-op."""
    with lock:
        if event_id in handled_events:
            return
        handled_events.add(event_id)
        data = event["data"]
        order = orders.get(data.get("orderReference"))
        if order is None:
            return
        if event["type"] == "order.completed":
            order.update(status="paid", amountReceived=data["amountReceived"], txHash=data["txHash"])
        elif event["type"] == "order.expired":
            order.update(status="expired")


class Shop(BaseHTTPRequestHandler):
    def answer(self, status: int, body: dict | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def raw_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/checkout":
            cart = json.loads(self.raw_body() or b"{}")
            reference = f"SHOP-{uuid.uuid4().hex[:12].upper()}"
            try:
                order = payin("POST", "/orders", {
                    "orderReference": reference,
                    "amount": cart["amount"],  # a decimal string, never a float
                    "currency": cart.get("currency", "USDT"),
                    "chainId": CHAIN,
                })
            except PayinError as e:
                return self.answer(400 if e.code != "NO_AVAILABLE_ADDRESSES" else 503, e.envelope)
            with lock:
                orders[reference] = {"orderReference": reference, "orderId": order["orderId"], "status": "awaiting payment"}
            return self.answer(201, {key: order[key] for key in
                                     ("orderReference", "orderId", "paymentUrl", "address", "amount", "currency", "chainId")})
        if self.path == "/webhooks/payin":
            body = self.raw_body()  # verify these exact bytes, before any JSON parsing
            try:
                event = verify(body, self.headers)
            except ValueError as e:
                return self.answer(400, {"error": str(e)})
            handle(self.headers["webhook-id"], event)
            return self.answer(204)
        self.answer(404, {"error": "not found"})

    def do_GET(self) -> None:  # noqa: N802
        reference = self.path.removeprefix("/orders/")
        with lock:
            order = orders.get(reference) if self.path.startswith("/orders/") else None
            self.answer(200, dict(order)) if order else self.answer(404, {"error": "no such order"})

    def log_message(self, *args) -> None:  # quiet
        pass


def main() -> None:
    global webhook_secret
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Shop)
    public = os.environ.get("SHOP_PUBLIC_URL") or f"http://127.0.0.1:{server.server_address[1]}"
    endpoint = payin("POST", "/webhooks", {
        "url": f"{public}/webhooks/payin",
        "events": ["order.completed", "order.expired"],
        "description": "python-shop example",
    })
    webhook_secret = endpoint["secret"]
    print(f"shop listening on {public} (webhook endpoint {endpoint['id']})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
