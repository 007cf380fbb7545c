"""A run of the package without pytest, for every CPython the abi3 module must load in (3.9+):
tests/python_package.rs runs it with each python3.X found. Needs PAYIN_TEST_BASE_URL and
PAYIN_TEST_API_KEY (a live gateway)."""

import asyncio
import os
import sys
import uuid
from decimal import Decimal

import payin

client = payin.Client(api_key=os.environ["PAYIN_TEST_API_KEY"], base_url=os.environ["PAYIN_TEST_BASE_URL"])
reference = "smoke-{}-{}".format(sys.version_info[1], uuid.uuid4().hex[:8])
order = client.orders.create(order_reference=reference, amount=Decimal("1.50"), currency="USDT", chain_id="local")
assert client.orders.get_by_reference(reference) == order and order.amount == Decimal("1.50")
assert order.created_at.utcoffset().total_seconds() == 0


async def walk():
    aclient = payin.AsyncClient(api_key=os.environ["PAYIN_TEST_API_KEY"], base_url=os.environ["PAYIN_TEST_BASE_URL"])
    return [o.order_id async for o in aclient.orders.list_all(order_reference=reference)]


assert asyncio.run(walk()) == [order.order_id]
try:
    client.orders.get("ord_nothere")
except payin.NotFoundError as e:
    assert e.status_code == 404
else:
    raise AssertionError("no NotFoundError")
webhook = payin.Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
body = '{"id":"evt_1","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z","data":{}}'
assert webhook.verify(body, webhook.sign(body)).id == "evt_1"
print("smoke ok on", sys.version.split()[0])
