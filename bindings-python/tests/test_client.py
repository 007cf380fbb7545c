"""``payin.Client`` against a live ``payin dev``: every REST operation through its namespace,
typed results (snake_case, Decimal, datetime), ``to_dict()`` as the REST JSON, configuration."""

import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from conftest import new_evm_address, wait_for

import payin


def test_orders_create_get_by_reference_and_list(client, ref):
    reference = ref("order")
    order = client.orders.create(
        order_reference=reference,
        amount=Decimal("12.50"),
        currency="USDT",
        chain_id="local",
        metadata={"cart": "42", "price": Decimal("12.50")},
        success_url="https://shop.example/thanks",
        payment_window_minutes=30,
        grace_minutes=2,
    )
    assert isinstance(order, payin.Order)
    assert order.order_id.startswith("ord_")
    assert order.order_reference == reference
    assert order.amount == Decimal("12.50") and isinstance(order.amount, Decimal)
    assert str(order.amount) == "12.50", "the scale the merchant sent is kept"
    assert order.amount_received == Decimal("0") and isinstance(order.amount_received, Decimal)
    assert (order.currency, order.chain_id, order.protocol, order.status) == ("USDT", "local", "evm", "pending")
    assert order.metadata == {"cart": "42", "price": "12.50"}, "a Decimal in metadata travels as a string"
    assert order.success_url == "https://shop.example/thanks" and order.cancel_url is None
    assert (order.payment_window_minutes, order.grace_minutes) == (30, 2)
    assert order.created_at.tzinfo is not None and order.created_at.utcoffset().total_seconds() == 0
    assert (order.expires_at - order.created_at).total_seconds() == 30 * 60
    assert order.completed_at is None and order.surplus is None and order.tx_hash is None
    assert order.payment_url.endswith("/pay/" + order.order_id)
    assert order.address.startswith("0x")

    wire = order.to_dict()
    assert wire["orderId"] == order.order_id and wire["amount"] == "12.50" and wire["amountReceived"] == "0.00"
    assert wire["createdAt"].endswith("Z") and "order_id" not in wire
    wire["amount"] = "0"
    assert order.amount == Decimal("12.50"), "to_dict() is a copy"

    assert client.orders.get(order.order_id) == order
    assert client.orders.get_by_reference(reference) == order

    page = client.orders.list(order_reference=reference, status="pending", currency="USDT", chain_id="local")
    assert isinstance(page, payin.Page)
    assert [o.order_id for o in page.data] == [order.order_id]
    assert page.pagination.total == 1 and page.pagination.page == 1 and not page.has_more
    assert page.to_dict()["orders"][0]["orderId"] == order.order_id
    assert [o.order_id for o in client.orders.list_all(order_reference=reference)] == [order.order_id]


def test_amounts_never_travel_as_floats(client, ref):
    with pytest.raises(TypeError, match="not a float"):
        client.orders.create(order_reference=ref(), amount=10.5, currency="USDT", chain_id="local")
    with pytest.raises(TypeError):
        client.orders.create(order_reference=ref(), amount=True, currency="USDT", chain_id="local")
    # An int and a string are exact; a Decimal in exponent form is written out in full.
    assert client.orders.create(order_reference=ref(), amount=3, currency="USDT", chain_id="local").amount == 3
    big = client.orders.create(order_reference=ref(), amount=Decimal("1E+2"), currency="USDT", chain_id="local")
    assert big.to_dict()["amount"] == "100"
    text = client.orders.create(order_reference=ref(), amount="0.000001", currency="USDT", chain_id="local")
    assert text.amount == Decimal("0.000001")


def test_a_paid_order_completes_with_its_transaction(client, ref):
    order = client.orders.create(order_reference=ref(), amount="5.25", currency="USDC", chain_id="local")
    payment = client.dev.simulate_payment(order_id=order.order_id)
    assert isinstance(payment, payin.SimulatedPayment)
    assert payment.amount == Decimal("5.25") and payment.currency == "USDC" and payment.to == order.address
    assert payment.from_.startswith("0x") and payment.to_dict()["from"] == payment.from_
    assert payment.tx_hash.startswith("0x") and payment.block_number > 0
    assert isinstance(payment.block_time, datetime)
    mined = client.dev.mine_blocks(2)
    assert isinstance(mined, payin.MinedBlocks)
    assert mined.chain_id == "local" and mined.blocks_mined == 2 and mined.block_number > payment.block_number

    done = wait_for(
        lambda: (lambda o: o if o.status == "completed" else None)(client.orders.get(order.order_id)),
        what="the order to complete",
    )
    assert done.amount_received == Decimal("5.25")
    assert done.tx_hash == payment.tx_hash and done.completed_at is not None
    assert done.confirmations >= 1 and done.block_number == payment.block_number


def test_deposits_bind_get_list_and_unbind(client, ref):
    reference = ref("user")
    bound = client.deposits.bind(deposit_reference=reference, chain_id="local", currency="USDT", metadata={"u": "1"})
    assert isinstance(bound, payin.BoundReference)
    assert (bound.deposit_reference, bound.chain_id, bound.currency, bound.protocol) == (reference, "local", "USDT", "evm")
    assert bound.metadata == {"u": "1"} and isinstance(bound.created_at, datetime)

    everywhere = client.deposits.bind(deposit_reference=ref("user"), protocol="evm")
    assert isinstance(everywhere, payin.BoundProtocol)
    assert "local" in everywhere.monitored_chains and everywhere.address.startswith("0x")
    with pytest.raises(TypeError, match="not both"):
        client.deposits.bind(deposit_reference=ref(), chain_id="local", currency="USDT", protocol="evm")
    with pytest.raises(TypeError, match="needs chain_id and currency"):
        client.deposits.bind(deposit_reference=ref(), chain_id="local")

    # A customer pays the deposit address twice on the chain.
    for amount in ("5.5", "1.25"):
        client.dev.simulate_payment(address=bound.address, amount=amount, currency="USDT")
    client.dev.mine_blocks(2)
    deposits = wait_for(
        lambda: (lambda p: p if len(p.data) == 2 else None)(client.deposits.list(deposit_reference=reference)),
        what="two deposits",
    )
    assert isinstance(deposits, payin.Page)
    assert sorted(d.amount for d in deposits.data) == [Decimal("1.25"), Decimal("5.5")]
    first = deposits.data[0]
    assert isinstance(first, payin.Deposit) and first.deposit_id.startswith("dep_")
    assert first.deposit_reference == reference and first.address == bound.address and first.log_index >= 0
    assert isinstance(first.detected_at, datetime) and first.tx_hash.startswith("0x")
    assert [d.deposit_id for d in client.deposits.list_all(deposit_reference=reference, currency="USDT")] == [
        d.deposit_id for d in deposits.data
    ]

    details = wait_for(
        lambda: (lambda r: r if r.total_deposits == 2 else None)(client.deposits.get_reference(reference)),
        what="the reference's totals",
    )
    assert isinstance(details, payin.DepositReference)
    assert details.total_amount == {"USDT": Decimal("6.75")}
    assert [a.address for a in details.addresses] == [bound.address]
    assert isinstance(details.addresses[0], payin.DepositBinding) and details.addresses[0].chain_id == "local"

    summaries = client.deposits.list_references(search=reference)
    assert [s.deposit_reference for s in summaries.data] == [reference]
    summary = summaries.data[0]
    assert isinstance(summary, payin.DepositReferenceSummary)
    assert summary.total_amount["USDT"] == Decimal("6.75") and summary.address_count == 1
    assert summary.protocols == ["evm"] and summary.last_deposit_at is not None

    unbound = client.deposits.unbind(reference, chain_id="local")
    assert isinstance(unbound, payin.Unbound)
    assert unbound.deposit_reference == reference and unbound.unbound_addresses == 1


def test_chains_pool_and_config(client):
    chains = client.chains.list()
    assert all(isinstance(c, payin.Chain) for c in chains)
    local = next(c for c in chains if c.chain_id == "local")
    assert local.protocol == "evm" and local.evm_chain_id == 31337 and local.rpc_configured
    usdt = next(t for t in local.tokens if t.currency == "USDT")
    assert isinstance(usdt, payin.Token) and usdt.decimals == 6 and usdt.configured and usdt.contract.startswith("0x")
    ethereum = next(c for c in chains if c.chain_id == "ethereum")
    assert next(t for t in ethereum.tokens if t.currency == "DAI").decimals == 18

    before = {p.protocol: p for p in client.pool.status()}
    assert isinstance(before["evm"], payin.PoolStatus) and before["evm"].available > 0
    fresh = [new_evm_address(), new_evm_address()]
    result = client.pool.import_addresses(protocol="evm", addresses=iter(fresh + fresh[:1]))
    assert isinstance(result, payin.ImportResult)
    assert (result.protocol, result.received, result.imported, result.duplicates) == ("evm", 3, 2, 1)
    after = {p.protocol: p for p in client.pool.status()}
    assert after["evm"].total == before["evm"].total + 2

    # A watch-only HD key: its first addresses to compare with the wallet; private keys refused.
    tron_xpub = "xpub6BuRy7ZmkGfP2RWhoor1kWB1w9DvrtmJbFBvnC1bQ4SB5NbCHTyQYCJSXZtxDbFyHTmC7wkU2he3nYYdpZ3Vf6qUAkXSnL6RPif4BDtDEKr"
    key = client.pool.add_xpub(protocol="tron", xpub=tron_xpub, start=1)
    assert isinstance(key, payin.XpubKey) and key.path == "m/44'/195'/0'" and len(key.fingerprint) == 8
    assert [(a.index, a.address) for a in key.first_addresses[:2]] == [
        (1, "TPjjvMwjPoDC32V2dGDYTkLH4E5LAtBZ6C"),
        (2, "TB7mhtkvfhsRBRhe5FuRa4tFXSEyGDe4eA"),
    ]
    assert any(k.id == key.id for k in client.pool.list_xpubs())
    with pytest.raises(payin.ValidationError) as refused:
        client.pool.add_xpub(protocol="evm", xpub="test test test test test test test test test test test junk")
    assert refused.value.field == "xpub" and "never takes private keys" in str(refused.value)
    assert "junk" not in str(refused.value)

    settings = client.config.get()
    assert isinstance(settings, payin.Settings) and settings.grace_minutes >= 0
    changed = client.config.set("pool_low_watermark", settings.pool_low_watermark + 1)
    try:
        assert changed.pool_low_watermark == settings.pool_low_watermark + 1
        assert client.config.get().pool_low_watermark == settings.pool_low_watermark + 1
        assert changed.to_dict()["pool_low_watermark"] == settings.pool_low_watermark + 1
    finally:
        client.config.set("pool_low_watermark", settings.pool_low_watermark)


def test_webhook_endpoints_events_and_deliveries(client, ref, receiver):
    endpoint = client.webhooks.create(url=receiver.url + "/hooks", events=["order.created"], description="tests")
    assert isinstance(endpoint, payin.CreatedWebhookEndpoint)
    assert endpoint.id.startswith("whe_") and endpoint.secret.startswith("whsec_")
    assert (endpoint.events, endpoint.description, endpoint.status) == (["order.created"], "tests", "active")
    fetched = client.webhooks.get(endpoint.id)
    assert isinstance(fetched, payin.WebhookEndpoint) and not hasattr(fetched, "secret")
    assert fetched.url == endpoint.url
    assert endpoint.id in [e.id for e in client.webhooks.list_all()]
    assert endpoint.id in [e.id for e in client.webhooks.list(limit=100)]

    order = client.orders.create(order_reference=ref(), amount="1.00", currency="USDT", chain_id="local")
    receiver.next_of("order.created")
    events = client.events.list(type="order.created", limit=5)
    event = next(e for e in events.data if e.data["orderId"] == order.order_id)
    assert isinstance(event, payin.Event) and event.id.startswith("evt_") and event.type == "order.created"
    assert event.order == order, "an order event carries the order, typed"
    assert event.deposit is None and isinstance(event.created_at, datetime)
    assert client.events.get(event.id) == event
    assert event.id in [e.id for e in client.events.list_all(type="order.created", limit=50)]

    deliveries = wait_for(
        lambda: (lambda p: p if p.data and p.data[0].status == "succeeded" else None)(
            client.webhooks.deliveries(event_id=event.id, endpoint_id=endpoint.id)
        ),
        what="a succeeded delivery",
    )
    delivery = deliveries.data[0]
    assert isinstance(delivery, payin.Delivery)
    assert (delivery.event_id, delivery.event_type, delivery.endpoint_id) == (event.id, "order.created", endpoint.id)
    assert delivery.attempt_count == 1 and delivery.last_http_status == 200 and delivery.delivered_at is not None
    attempt = delivery.attempts[0]
    assert isinstance(attempt, payin.DeliveryAttempt) and attempt.http_status == 200 and attempt.attempt == 1

    resent = client.events.resend(event.id, endpoint_id=endpoint.id)
    assert isinstance(resent, payin.Resent) and resent.event_id == event.id
    assert [d.endpoint_id for d in resent.deliveries] == [endpoint.id]
    receiver.next_of("order.created")

    rotated = client.webhooks.rotate_secret(endpoint.id, keep_previous_hours=1)
    assert isinstance(rotated, payin.RotatedSecret)
    assert rotated.secret.startswith("whsec_") and rotated.secret != endpoint.secret
    assert rotated.previous_secret_expires_at > datetime.now(timezone.utc)

    deleted = client.webhooks.delete(endpoint.id)
    assert deleted.id == endpoint.id
    with pytest.raises(payin.NotFoundError):
        client.webhooks.get(endpoint.id)


def test_base_url_forms_and_environment_fallbacks(gateway, monkeypatch):
    root = gateway.base_url.rstrip("/")
    if root.endswith("/api/v1"):
        root = root[: -len("/api/v1")]
    for base in (root, root + "/", root + "/api/v1", root + "/api/v1/"):
        c = payin.Client(api_key=gateway.api_key, base_url=base)
        assert c.base_url == root + "/"
        assert c.chains.list(), base

    monkeypatch.setenv("PAYIN_API_KEY", gateway.api_key)
    monkeypatch.setenv("PAYIN_BASE_URL", root + "/api/v1")
    from_env = payin.Client()
    assert from_env.base_url == root + "/" and from_env.config.get()
    # Explicit values win over the environment.
    with pytest.raises(payin.AuthenticationError):
        payin.Client(api_key="pk_not_a_key").chains.list()

    monkeypatch.delenv("PAYIN_API_KEY")
    with pytest.raises(payin.ValidationError, match="PAYIN_API_KEY") as missing:
        payin.Client()
    assert missing.value.field == "apiKey"
    with pytest.raises(payin.ValidationError) as bad_url:
        payin.Client(api_key="pk_x", base_url="ftp://nowhere")
    assert bad_url.value.field == "baseUrl"
    with pytest.raises(ValueError):
        payin.Client(api_key="pk_x", max_retries=-1)
    with pytest.raises(payin.ValidationError) as bad_timeout:
        payin.Client(api_key="pk_x", timeout=0)
    assert bad_timeout.value.field == "timeout"


def test_an_idempotency_key_given_by_the_caller_replays_the_first_order(client, ref):
    key = "py-test-" + ref()
    first = client.orders.create(
        order_reference=ref(), amount="2.00", currency="USDT", chain_id="local", idempotency_key=key
    )
    again = client.orders.create(
        order_reference=first.order_reference, amount="2.00", currency="USDT", chain_id="local", idempotency_key=key
    )
    assert again == first
    with pytest.raises(payin.ConflictError) as reused:
        client.orders.create(order_reference=ref(), amount="3.00", currency="USDT", chain_id="local", idempotency_key=key)
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED" and reused.value.idempotency_key == key


def test_the_sync_client_releases_the_interpreter_while_it_waits(gateway):
    """While one thread waits on a hung gateway, another thread keeps running Python."""
    from conftest import SilentServer

    hung = SilentServer()
    try:
        slow = payin.Client(api_key=gateway.api_key, base_url=hung.url, timeout=1.5, max_retries=0)
        ticks = []
        stop = threading.Event()

        def count():
            while not stop.is_set():
                ticks.append(1)
                time.sleep(0.01)

        counter = threading.Thread(target=count)
        counter.start()
        started = time.monotonic()
        with pytest.raises(payin.APITimeoutError):
            slow.orders.get("ord_x")
        elapsed = time.monotonic() - started
        stop.set()
        counter.join()
        assert 1.4 < elapsed < 10
        # A thread starved of the interpreter would have counted ~0 times in 1.5 s.
        assert len(ticks) > 50, len(ticks)
    finally:
        hung.close()


def test_payment_links_create_get_list_publish_and_archive(client, gateway):
    link = client.payment_links.create(
        title="Sticker pack",
        amount=Decimal("4.50"),
        currencies=[{"currency": "USDT", "chain_id": "local"}, {"currency": "USDC", "chain_id": "local"}],
        inventory_total=3,
        metadata={"sku": "stk-1"},
    )
    assert isinstance(link, payin.PaymentLink) and link.id.startswith("plk_")
    assert link.status == "draft" and link.amount == Decimal("4.50") and isinstance(link.amount, Decimal)
    assert [(c.currency, c.chain_id) for c in link.currencies] == [("USDT", "local"), ("USDC", "local")]
    assert (link.inventory_total, link.inventory_sold, link.inventory_remaining) == (3, 0, 3)
    assert link.checkout_url.endswith("/checkout/" + link.slug) and isinstance(link.created_at, datetime)
    assert link.to_dict()["currencies"][0] == {"currency": "USDT", "chainId": "local"}
    assert client.payment_links.get(link.id).to_dict() == link.to_dict()

    published = client.payment_links.publish(link.id)
    assert published.status == "active"
    assert any(l.id == link.id for l in client.payment_links.list_all(status="active"))
    page = client.payment_links.list(limit=1)
    assert len(page.data) == 1 and isinstance(page.data[0], payin.PaymentLink)
    assert client.payment_links.archive(link.id).status == "archived"

    with pytest.raises(payin.ValidationError) as bad:
        client.payment_links.create(title="x", amount="1", currencies=[{"currency": "USDT", "chain_id": "mars"}])
    assert bad.value.field == "currencies[0].chainId"
    with pytest.raises(payin.NotFoundError):
        client.payment_links.get("plk_doesnotexist")
