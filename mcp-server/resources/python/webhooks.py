"""A PayIn webhook receiver with PayIn's Python package (here on the standard library's server;
in Flask pass request.get_data() and request.headers, in Django request.body and request.headers)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import payin

webhook = payin.Webhook(os.environ["PAYIN_WEBHOOK_SECRET"], tolerance=300)
seen: "set[str]" = set()  # in production: a table with a unique constraint


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # before any JSON parsing
        try:
            event = webhook.verify(raw_body, self.headers)  # webhook-id, -timestamp, -signature
        except payin.WebhookVerificationError as e:
            self.send_response(400)  # e.reason: missing_header, too_old, too_new, mismatch…
            self.end_headers()
            return
        if event.id not in seen:  # retries and resends repeat the id
            seen.add(event.id)
            if event.type == "order.completed" and event.order is not None:
                print("paid", event.order.order_reference, event.order.amount_received)
            elif event.type == "deposit.confirmed" and event.deposit is not None:
                print("deposit", event.deposit.deposit_reference, event.deposit.amount)
            # Unknown types: ignore, still 2xx.
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
