"""A merchant's typed code against the package: checked with ``mypy --strict`` (not run).

Every namespace and method appears with the types a caller relies on, so a stub that drifts
from what users write fails the check (see test_stubs.py).
"""

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Dict, List, Optional

import payin


def sync_usage(client: payin.Client) -> Decimal:
    order: payin.Order = client.orders.create(
        order_reference="inv-1",
        amount=Decimal("10.50"),
        currency="USDT",
        chain_id="ethereum",
        metadata={"cart": "42"},
        payment_window_minutes=30,
        idempotency_key="inv-1-create",
    )
    amount: Decimal = order.amount
    received: Decimal = order.amount_received
    surplus: Optional[Decimal] = order.surplus
    created: datetime = order.created_at
    completed: Optional[datetime] = order.completed_at
    url: str = order.payment_url
    same: payin.Order = client.orders.get(order.order_id, timeout=5.0, max_retries=0)
    by_reference: payin.Order = client.orders.get_by_reference("inv-1")
    page: payin.Page[payin.Order] = client.orders.list(status="pending", limit=50)
    first: List[payin.Order] = page.data
    more: bool = page.has_more
    total: int = page.pagination.total
    following: Optional[payin.Page[payin.Order]] = page.next_page()
    for o in page:
        print(o.order_reference, o.amount)
    for o in client.orders.list_all(currency="USDT"):
        print(o.status)
    for p in page.iter_pages():
        print(len(p.data))

    bound: payin.BoundReference = client.deposits.bind(deposit_reference="user-1", chain_id="ethereum", currency="USDT")
    by_protocol: payin.BoundProtocol = client.deposits.bind(deposit_reference="user-2", protocol="evm")
    chains_watched: List[str] = by_protocol.monitored_chains
    reference: payin.DepositReference = client.deposits.get_reference("user-1")
    totals: Dict[str, Decimal] = reference.total_amount
    bindings: List[payin.DepositBinding] = reference.addresses
    references: payin.Page[payin.DepositReferenceSummary] = client.deposits.list_references(search="user")
    deposits: payin.Page[payin.Deposit] = client.deposits.list(deposit_reference="user-1", status="confirmed")
    deposit_amounts: List[Decimal] = [d.amount for d in deposits]
    unbound: payin.Unbound = client.deposits.unbind("user-1", chain_id="ethereum")

    chains: List[payin.Chain] = client.chains.list()
    decimals: List[int] = [t.decimals for c in chains for t in c.tokens]
    pools: List[payin.PoolStatus] = client.pool.status()
    imported: payin.ImportResult = client.pool.import_addresses(protocol="evm", addresses=["0x" + "00" * 20])
    settings: payin.Settings = client.config.get()
    window: int = client.config.set("payment_window_minutes", 30).payment_window_minutes

    endpoint: payin.CreatedWebhookEndpoint = client.webhooks.create(url="https://shop.example/hooks", events=["order.completed"])
    secret: str = endpoint.secret
    endpoints: payin.Page[payin.WebhookEndpoint] = client.webhooks.list()
    fetched: payin.WebhookEndpoint = client.webhooks.get(endpoint.id)
    rotated: payin.RotatedSecret = client.webhooks.rotate_secret(endpoint.id, keep_previous_hours=1)
    previous_until: Optional[datetime] = rotated.previous_secret_expires_at
    deliveries: payin.Page[payin.Delivery] = client.webhooks.deliveries(endpoint_id=endpoint.id)
    attempts: List[payin.DeliveryAttempt] = [a for d in deliveries for a in d.attempts]
    deleted: payin.WebhookEndpoint = client.webhooks.delete(endpoint.id)

    events: payin.Page[payin.Event] = client.events.list(type="order.completed")
    event: payin.Event = client.events.get("evt_1")
    paid: Optional[payin.Order] = event.order
    resent: payin.Resent = client.events.resend(event.id, endpoint_id=endpoint.id)

    payment: payin.SimulatedPayment = client.dev.simulate_payment(order_id=order.order_id, scenario="exact")
    payer: str = payment.from_
    mined: payin.MinedBlocks = client.dev.mine_blocks(3)

    print(amount, received, surplus, created, completed, url, same, by_reference, first, more, total, following)
    print(bound, chains_watched, totals, bindings, references, deposit_amounts, unbound, decimals, pools, imported)
    print(settings, window, secret, endpoints, fetched, previous_until, attempts, deleted, events, paid, resent)
    print(payer, mined)
    return order.amount


async def async_usage(client: payin.AsyncClient) -> List[str]:
    order: payin.Order = await client.orders.create(
        order_reference="inv-2", amount="1.00", currency="USDC", chain_id="polygon"
    )
    orders = await asyncio.gather(*(client.orders.get(order.order_id) for _ in range(3)))
    page: payin.AsyncPage[payin.Order] = await client.orders.list(limit=10)
    refs: List[str] = [o.order_reference async for o in page]
    async for o in client.orders.list_all(status="completed"):
        refs.append(o.order_id)
    async for p in page.iter_pages():
        refs.extend(o.order_id for o in p.data)
    following: Optional[payin.AsyncPage[payin.Order]] = await page.next_page()
    bound: payin.BoundProtocol = await client.deposits.bind(deposit_reference="user-3", protocol="evm")
    chains: List[payin.Chain] = await client.chains.list()
    settings: payin.Settings = await client.config.get()
    endpoint: payin.CreatedWebhookEndpoint = await client.webhooks.create(url="https://shop.example/hooks")
    async for event in client.events.list_all(type="order.created"):
        refs.append(event.id)
    mined: payin.MinedBlocks = await client.dev.mine_blocks()
    print(orders, following, bound, chains, settings, endpoint, mined)
    return refs


def errors(client: payin.Client) -> Optional[str]:
    try:
        client.orders.create(order_reference="inv-1", amount=Decimal("1"), currency="USDT", chain_id="ethereum")
    except payin.ConflictError as e:
        return e.existing_order_id
    except payin.ValidationError as e:
        field: Optional[str] = e.field
        print(field)
    except payin.ServiceUnavailableError as e:
        code: str = e.code
        status: Optional[int] = e.status_code
        print(code, status)
    except (payin.APITimeoutError, payin.APIConnectionError, payin.RateLimitError) as e:
        print(e.message)
    except payin.PayInError as e:
        print(e.code, e.details)
    return None


def webhooks(raw: bytes, headers: Dict[str, str], secret: str) -> Optional[payin.Order]:
    webhook = payin.Webhook(secret, tolerance=300)
    test_headers: Dict[str, str] = webhook.sign(raw, msg_id="evt_1", timestamp=1_700_000_000)
    ok: bool = payin.verify_signature(raw, test_headers["X-PayIn-Signature"], secret)
    try:
        event: payin.Event = webhook.verify(raw, headers)
    except payin.WebhookVerificationError as e:
        reason: str = e.reason
        print(reason, ok)
        return None
    pairs: List[tuple[str, str]] = list(headers.items())
    again: payin.Event = webhook.verify(raw.decode(), pairs)
    print(again.type, event.data)
    return event.order


def main() -> None:
    client = payin.Client(api_key="pk_test", base_url="http://127.0.0.1:8080/api/v1", timeout=10, max_retries=3)
    print(client.base_url, payin.__version__)
    sync_usage(client)
    asyncio.run(async_usage(payin.AsyncClient()))
