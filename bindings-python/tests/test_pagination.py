"""Pages across several pages: iterating a page, ``list_all``, ``next_page`` and ``iter_pages``,
sync and async, every item exactly once and in order."""

import asyncio

import payin


def make_orders(client, prefix, n):
    return [
        client.orders.create(order_reference="{}-{}".format(prefix, i), amount="1.00", currency="USDT", chain_id="local")
        for i in range(n)
    ]


def test_iterating_a_page_walks_every_page_in_order(client, ref):
    prefix = ref("pages")
    created = make_orders(client, prefix, 7)
    expected = [o.order_id for o in created]

    first = client.orders.list(order_reference=prefix, limit=3, sort_by="createdAt", sort_order="asc")
    assert [o.order_id for o in first.data] == expected[:3]
    assert (first.pagination.total, first.pagination.total_pages, first.has_more) == (7, 3, True)
    assert first.next_page_number == 2

    second = first.next_page()
    assert isinstance(second, payin.Page) and second.pagination.page == 2
    assert [o.order_id for o in second.data] == expected[3:6]
    third = second.next_page()
    assert [o.order_id for o in third.data] == expected[6:] and not third.has_more
    assert third.next_page() is None

    assert [o.order_id for o in first] == expected, "a page iterates from itself to the last page"
    assert [o.order_id for o in second] == expected[3:]
    assert [len(p.data) for p in first.iter_pages()] == [3, 3, 1]
    walked = client.orders.list_all(order_reference=prefix, limit=2, sort_order="asc")
    assert [o.order_id for o in walked] == expected
    # A walk may start at a later page, and keeps its filters on every page.
    assert [o.order_id for o in client.orders.list_all(order_reference=prefix, limit=2, page=3, sort_order="asc")] == expected[4:]
    assert [o.order_id for o in client.orders.list(order_reference=prefix, status="completed", limit=2)] == []


def test_list_all_fetches_pages_only_as_they_are_needed(client, ref):
    prefix = ref("lazy")
    make_orders(client, prefix, 3)
    walk = client.orders.list_all(order_reference=prefix, limit=1)
    assert next(walk).order_reference.startswith(prefix)
    # Filters that match nothing yield nothing and need one request.
    assert list(client.orders.list_all(order_reference=ref("none"))) == []


def test_async_pages_walk_every_page(gateway, ref):
    sync = payin.Client(api_key=gateway.api_key, base_url=gateway.base_url)
    prefix = ref("apages")
    expected = [o.order_id for o in make_orders(sync, prefix, 5)]

    async def walk():
        client = payin.AsyncClient(api_key=gateway.api_key, base_url=gateway.base_url)
        page = await client.orders.list(order_reference=prefix, limit=2, sort_order="asc")
        assert isinstance(page, payin.AsyncPage) and page.has_more
        items = [o.order_id async for o in page]
        pages = [len(p.data) async for p in page.iter_pages()]
        second = await page.next_page()
        listed = [o.order_id async for o in client.orders.list_all(order_reference=prefix, limit=2, sort_order="asc")]
        return items, pages, [o.order_id for o in second.data], listed

    items, pages, second, listed = asyncio.run(walk())
    assert items == expected and listed == expected
    assert pages == [2, 2, 1]
    assert second == expected[2:4]
