"""``payin.AsyncClient``: the same namespaces as awaitables, concurrent calls on one client,
exceptions raised from awaits, cancellation."""

import asyncio
import time
from decimal import Decimal

import pytest
from conftest import SilentServer, new_evm_address, wait_for

import payin


def run(coro):
    return asyncio.run(coro)


def test_every_namespace_answers_awaitables(gateway, ref, receiver):
    async def session():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        reference = ref("async")
        pending = client.orders.create(order_reference=reference, amount=Decimal("7.10"), currency="DAI", chain_id="local")
        assert asyncio.iscoroutine(pending)
        order = await pending
        assert isinstance(order, payin.Order) and order.amount == Decimal("7.10")
        assert await client.orders.get(order.order_id) == order
        assert await client.orders.get_by_reference(reference) == order
        page = await client.orders.list(order_reference=reference)
        assert [o.order_id for o in page.data] == [order.order_id]

        bound = await client.deposits.bind(deposit_reference=ref("auser"), chain_id="local", currency="USDC")
        assert isinstance(bound, payin.BoundReference)
        protocol = await client.deposits.bind(deposit_reference=ref("auser"), protocol="evm")
        assert isinstance(protocol, payin.BoundProtocol)
        assert (await client.deposits.get_reference(bound.deposit_reference)).addresses[0].address == bound.address
        refs = await client.deposits.list_references(search=bound.deposit_reference)
        assert [r.deposit_reference for r in refs.data] == [bound.deposit_reference]
        assert (await client.deposits.list(deposit_reference=bound.deposit_reference)).data == []
        assert [d async for d in client.deposits.list_all(deposit_reference=bound.deposit_reference)] == []
        assert (await client.deposits.unbind(bound.deposit_reference)).unbound_addresses == 1

        assert "local" in [c.chain_id for c in await client.chains.list()]
        assert any(p.protocol == "evm" for p in await client.pool.status())
        imported = await client.pool.import_addresses(protocol="evm", addresses=[new_evm_address()])
        assert imported.imported == 1
        settings = await client.config.get()
        assert (await client.config.set("grace_minutes", settings.grace_minutes)).grace_minutes == settings.grace_minutes

        endpoint = await client.webhooks.create(url=receiver.url + "/hooks", events=["order.completed"])
        assert (await client.webhooks.get(endpoint.id)).url == receiver.url + "/hooks"
        assert endpoint.id in [e.id for e in (await client.webhooks.list(limit=100)).data]
        assert endpoint.id in [e.id async for e in client.webhooks.list_all()]
        rotated = await client.webhooks.rotate_secret(endpoint.id)
        assert rotated.secret != endpoint.secret

        payment = await client.dev.simulate_payment(order_id=order.order_id)
        assert payment.amount == Decimal("7.10") and payment.currency == "DAI"
        assert (await client.dev.mine_blocks()).blocks_mined == 1
        body, _ = await asyncio.get_running_loop().run_in_executor(None, receiver.next_of, "order.completed")
        completed = [e async for e in client.events.list_all(type="order.completed") if e.order.order_id == order.order_id]
        assert len(completed) == 1 and completed[0].order.amount_received == Decimal("7.10")
        event = await client.events.get(completed[0].id)
        assert event == completed[0]
        assert (await client.events.list(type="order.completed", limit=1)).data
        resent = await client.events.resend(event.id)
        assert endpoint.id in [d.endpoint_id for d in resent.deliveries]
        deliveries = await client.webhooks.deliveries(event_id=event.id)
        assert endpoint.id in [d.endpoint_id for d in deliveries.data]
        assert (await client.webhooks.delete(endpoint.id)).id == endpoint.id

    run(session())


def test_thirty_two_concurrent_calls_on_one_client(gateway, ref):
    async def burst():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        order = await client.orders.create(order_reference=ref(), amount="1", currency="USDT", chain_id="local")
        started = time.monotonic()
        got = await asyncio.gather(*(client.orders.get(order.order_id) for _ in range(32)))
        return order, got, time.monotonic() - started

    order, got, elapsed = run(burst())
    assert len(got) == 32 and all(o == order for o in got)
    assert elapsed < 10


def test_creates_in_parallel_each_get_their_own_order(gateway, ref):
    prefix = ref("parallel")

    async def creates():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        return await asyncio.gather(
            *(
                client.orders.create(order_reference="{}-{}".format(prefix, i), amount="1", currency="USDT", chain_id="local")
                for i in range(16)
            )
        )

    orders = run(creates())
    assert len({o.order_id for o in orders}) == 16
    assert len({o.address for o in orders}) == 16, "each order gets its own pool address"


def test_errors_are_raised_from_the_await(gateway):
    async def failing():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        with pytest.raises(payin.NotFoundError) as missing:
            await client.orders.get("ord_doesnotexist")
        assert missing.value.code == "ORDER_NOT_FOUND" and missing.value.status_code == 404
        with pytest.raises(payin.ValidationError) as invalid:
            await client.orders.create(order_reference="x", amount="1", currency="EUR", chain_id="local")
        assert invalid.value.field == "currency"
        wrong_key = payin.AsyncClient(api_key="pk_wrong", base_url=gateway.base_url)
        with pytest.raises(payin.AuthenticationError):
            await wrong_key.chains.list()

    run(failing())


def test_cancelling_a_task_cancels_its_request():
    hung = SilentServer()

    async def cancel():
        client = payin.AsyncClient(api_key="pk_x", base_url=hung.url, timeout=30, max_retries=0)
        task = asyncio.ensure_future(client.orders.get("ord_x"))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    try:
        assert run(cancel()) < 2
        # The request's connection is dropped once the Rust future is cancelled.
        wait_for(lambda: all(_closed(c) for c in hung.held), timeout=5, what="the connection to close")
    finally:
        hung.close()


def _closed(conn):
    conn.setblocking(False)
    try:
        return conn.recv(1024 * 64) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_payment_links_as_awaitables(gateway):
    async def session():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        pending = client.payment_links.create(title="Open donation", amount="0", currencies=[{"currency": "DAI", "chain_id": "local"}])
        assert asyncio.iscoroutine(pending)
        link = await pending
        assert isinstance(link, payin.PaymentLink) and link.amount == Decimal("0")
        assert (await client.payment_links.publish(link.id)).status == "active"
        seen = [l.id async for l in client.payment_links.list_all(status="active")]
        assert link.id in seen

    run(session())
