"""Checkout with PayIn's Python package: create the order, show it, fulfil on the webhook."""

import os
from decimal import Decimal
from typing import Mapping

import payin

client = payin.Client()  # PAYIN_API_KEY, PAYIN_BASE_URL (the gateway's root or /api/v1 URL)
webhook = payin.Webhook(os.environ["PAYIN_WEBHOOK_SECRET"])  # the endpoint's whsec_… secret


def start_checkout(cart_id: str, total: Decimal) -> payin.Order:
    """The order to show the payer: order.payment_url, or order.address + order.amount."""
    try:
        return client.orders.create(
            order_reference="cart-" + cart_id,  # your unique id for this payment
            amount=total,  # a Decimal (or a decimal string), never a float
            currency="USDT",
            chain_id="local",  # client.chains.list() names the real networks
            metadata={"cartId": cart_id},
        )
    except payin.ConflictError as e:  # this reference exists already: a repeated checkout
        return client.orders.get(e.existing_order_id or "")
    # payin.ServiceUnavailableError (NO_AVAILABLE_ADDRESSES): the address pool is empty; import addresses.
    # Network errors, 429 and 5xx were already retried with one Idempotency-Key: no duplicate order.


def handle_webhook(raw_body: bytes, headers: Mapping[str, str]) -> int:
    """Your POST /webhooks/payin: the raw body exactly as received, and the request's headers."""
    try:
        event = webhook.verify(raw_body, headers)  # signatures, timestamp within 300 s
    except payin.WebhookVerificationError:
        return 400
    if not first_time(event.id):  # retries and resends repeat the event id
        return 200
    order = event.order
    if event.type == "order.completed" and order is not None:
        mark_paid(order.order_reference, order.amount_received, order.tx_hash)
    elif event.type == "order.expired" and order is not None:
        release_cart(order.order_reference)
    return 200  # answer 2xx within 15 s; anything else is retried


def first_time(event_id: str) -> bool:
    """Your code: record event_id (a unique constraint) and say whether it is new."""
    return True


def mark_paid(order_reference: str, amount: Decimal, tx_hash: "str | None") -> None:
    """Your code: the payment is final; fulfil the order."""


def release_cart(order_reference: str) -> None:
    """Your code: the order expired unpaid."""
