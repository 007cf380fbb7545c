"""Retries that are safe: a create whose answer is lost is retried with the same
``Idempotency-Key``, and the gateway replays the first order instead of making a second."""

import asyncio

from conftest import DroppingProxy

import payin


def test_a_retried_create_returns_the_first_order(gateway, ref):
    proxy = DroppingProxy(gateway.base_url, drop_path="/api/v1/orders")
    try:
        client = payin.Client(api_key=gateway.api_key, base_url=proxy.url)
        reference = ref("retry")
        order = client.orders.create(order_reference=reference, amount="9.99", currency="USDT", chain_id="local")
        posts = [headers for method, path, headers in proxy.seen if method == "POST"]
        assert proxy.dropped == 1 and len(posts) == 2, "the first answer was dropped, the call retried once"
        keys = {h.get("idempotency-key") for h in posts}
        assert len(keys) == 1 and None not in keys, "both attempts carry one Idempotency-Key"

        direct = payin.Client(api_key=gateway.api_key, base_url=gateway.base_url)
        listed = direct.orders.list(order_reference=reference)
        assert [o.order_id for o in listed.data] == [order.order_id], "one order, the one returned"
        assert order.amount_received == 0 and direct.orders.get(order.order_id) == order
    finally:
        proxy.close()


def test_a_retried_async_create_returns_the_first_order(gateway, ref):
    proxy = DroppingProxy(gateway.base_url, drop_path="/api/v1/orders")
    try:
        reference = ref("aretry")

        async def create():
            client = payin.AsyncClient(api_key=gateway.api_key, base_url=proxy.url)
            return await client.orders.create(order_reference=reference, amount="1.01", currency="USDT", chain_id="local")

        order = asyncio.run(create())
        assert proxy.dropped == 1
        listed = payin.Client(api_key=gateway.api_key, base_url=gateway.base_url).orders.list(order_reference=reference)
        assert [o.order_id for o in listed.data] == [order.order_id]
    finally:
        proxy.close()


def test_without_retries_the_dropped_answer_is_a_connection_error(gateway, ref):
    proxy = DroppingProxy(gateway.base_url, drop_path="/api/v1/orders")
    try:
        client = payin.Client(api_key=gateway.api_key, base_url=proxy.url, max_retries=0)
        reference = ref("noretry")
        try:
            client.orders.create(order_reference=reference, amount="1", currency="USDT", chain_id="local")
        except payin.APIConnectionError as e:
            assert e.status_code is None
        else:
            raise AssertionError("the dropped answer should have raised APIConnectionError")
        # The gateway did create it: "the request may have run", as the error says.
        direct = payin.Client(api_key=gateway.api_key, base_url=gateway.base_url)
        assert direct.orders.get_by_reference(reference).order_reference == reference
    finally:
        proxy.close()
