"""Wallet top-ups with PayIn's Python package: one permanent deposit address per user."""

import os
from decimal import Decimal
from typing import Mapping

import payin

client = payin.Client()  # PAYIN_API_KEY, PAYIN_BASE_URL
webhook = payin.Webhook(os.environ["PAYIN_WEBHOOK_SECRET"])


def deposit_address(user_id: str) -> str:
    """The user's address, watched on every EVM chain for USDT, USDC and DAI."""
    try:
        return client.deposits.bind(deposit_reference=user_id, protocol="evm").address
    except payin.ConflictError:  # bound before: read it back
        return client.deposits.get_reference(user_id).addresses[0].address


def handle_webhook(raw_body: bytes, headers: Mapping[str, str]) -> int:
    try:
        event = webhook.verify(raw_body, headers)
    except payin.WebhookVerificationError:
        return 400
    deposit = event.deposit
    if event.type == "deposit.confirmed" and deposit is not None:
        # Exactly once per deposit id (a unique constraint in your ledger).
        credit(deposit.deposit_id, deposit.deposit_reference, deposit.amount, deposit.currency)
    elif event.type == "payment.reversed":
        undo(event.data)  # a reorg removed a transfer: undo what it credited
    return 200


def reconcile(user_id: str) -> Decimal:
    """Every confirmed deposit of the user, page after page."""
    return sum((d.amount for d in client.deposits.list_all(deposit_reference=user_id, status="confirmed")), Decimal(0))


def credit(deposit_id: str, user_id: str, amount: Decimal, currency: str) -> None:
    """Your code: add amount of currency to the user's balance, once per deposit_id."""


def undo(data: Mapping[str, object]) -> None:
    """Your code: reverse the credit of data["depositId"], if any."""
