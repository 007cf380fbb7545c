#!/usr/bin/env python3
"""The shop of ../python-shop, with the `payin` package instead of hand-written HTTP and HMAC.

    pip install ./bindings-python
    PAYIN_API_URL=http://127.0.0.1:8080 PAYIN_API_KEY=pk_... python3 shop.py

- POST /checkout {"amount": "49.90", "currency": "USDT"} creates a PayIn order (a Decimal amount,
  retried safely with one Idempotency-Key) and answers the hosted paymentUrl and the address.
- POST /webhooks/payin verifies PayIn's signed webhook over the raw body with payin.Webhook,
  handles each event once, and marks the order paid on order.completed (expired on order.expired).
- GET /orders/<orderReference> shows the shop's own view of an order.

At start it registers its webhook URL with PayIn and keeps the secret in memory; a real shop
registers once and stores the secret with its other secrets.

Environment: PAYIN_API_URL (the gateway's root or /api/v1 URL; PAYIN_BASE_URL works too),
PAYIN_API_KEY, PAYIN_CHAIN_ID (default "local", the `payin dev` chain), PORT (default 8000; 0
picks a free port), SHOP_PUBLIC_URL (where PayIn reaches this shop; default
http://127.0.0.1:PORT).
"""

import json
import os
import threading
import uuid
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import payin

client = payin.Client(base_url=os.environ.get("PAYIN_API_URL") or None)  # PAYIN_API_KEY from the environment
CHAIN = os.environ.get("PAYIN_CHAIN_ID", "local")

orders = {}  # by orderReference: the shop's own records
handled_events = set()  # ids of the events already handled
lock = threading.Lock()
webhook = None  # payin.Webhook, once the endpoint is registered


def handle(event):
    """Applies a verified event once: the same event again (a retry or a resend) is a no-op."""
    with lock:
        if event.id in handled_events:
            return
        handled_events.add(event.id)
        if event.order is None:
            return
        order = orders.get(event.order.order_reference)
        if order is None:
            return
        if event.type == "order.completed":
            order.update(
                status="paid",
                amountReceived=str(event.order.amount_received),
                txHash=event.order.tx_hash,
            )
        elif event.type == "order.expired":
            order.update(status="expired")


class Shop(BaseHTTPRequestHandler):
    def answer(self, status, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def raw_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):  # noqa: N802 (http.server's naming)
        if self.path == "/checkout":
            cart = json.loads(self.raw_body() or b"{}")
            reference = "SHOP-{}".format(uuid.uuid4().hex[:12].upper())
            try:
                amount = Decimal(cart["amount"])  # a decimal string from the cart, never a float
                order = client.orders.create(
                    order_reference=reference,
                    amount=amount,
                    currency=cart.get("currency", "USDT"),
                    chain_id=CHAIN,
                )
            except (KeyError, InvalidOperation):
                return self.answer(400, {"error": "amount must be a decimal string such as \"12.50\""})
            except payin.ServiceUnavailableError as e:  # e.g. NO_AVAILABLE_ADDRESSES
                return self.answer(503, {"code": e.code, "message": e.message})
            except payin.ValidationError as e:
                return self.answer(400, {"code": e.code, "message": e.message, "field": e.field})
            with lock:
                orders[reference] = {"orderReference": reference, "orderId": order.order_id, "status": "awaiting payment"}
            return self.answer(
                201,
                {
                    "orderReference": order.order_reference,
                    "orderId": order.order_id,
                    "paymentUrl": order.payment_url,
                    "address": order.address,
                    "amount": str(order.amount),
                    "currency": order.currency,
                    "chainId": order.chain_id,
                },
            )
        if self.path == "/webhooks/payin":
            body = self.raw_body()  # verify these exact bytes, before any JSON parsing
            try:
                event = webhook.verify(body, self.headers)
            except payin.WebhookVerificationError as e:
                return self.answer(400, {"error": e.message})
            handle(event)
            return self.answer(204)
        self.answer(404, {"error": "not found"})

    def do_GET(self):  # noqa: N802
        reference = self.path[len("/orders/") :] if self.path.startswith("/orders/") else None
        with lock:
            order = orders.get(reference) if reference else None
            self.answer(200, dict(order)) if order else self.answer(404, {"error": "no such order"})

    def log_message(self, *args):  # quiet
        pass


def main():
    global webhook
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Shop)
    public = os.environ.get("SHOP_PUBLIC_URL") or "http://127.0.0.1:{}".format(server.server_address[1])
    endpoint = client.webhooks.create(
        url=public + "/webhooks/payin",
        events=["order.completed", "order.expired"],
        description="python-package-shop example",
    )
    webhook = payin.Webhook(endpoint.secret)
    print("shop listening on {} (webhook endpoint {})".format(public, endpoint.id), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
