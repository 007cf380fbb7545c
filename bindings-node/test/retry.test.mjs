// Retries that are safe: the Rust client retries a lost answer with the same Idempotency-Key,
// and the gateway replays the first answer, so a retried create returns the first order.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ValidationError } from '../dist/index.js';
import { BASE_URL, client, orderParams, proxy } from './helpers.mjs';

const payin = client();

test('a create whose answer is lost is retried and returns the first order, created once', async () => {
  // The proxy forwards the first POST to the gateway (which creates the order) and cuts the
  // connection instead of passing the answer back.
  const flaky = await proxy(BASE_URL, (n, req) => n === 1 && req.method === 'POST');
  try {
    const params = orderParams();
    const order = await client({ baseUrl: flaky.url, maxRetries: 2 }).orders.create(params);
    const posts = flaky.seen.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2, 'the lost answer was retried once');
    const [first, retry] = posts.map((r) => r.headers['idempotency-key']);
    assert.ok(first, 'every POST carries an Idempotency-Key');
    assert.equal(retry, first, 'the retry reuses the key of its call');

    // One order exists for the reference, and the retry answered with it.
    const page = await payin.orders.list({ orderReference: params.orderReference });
    assert.equal(page.pagination.total, 1);
    assert.equal(page.items[0].orderId, order.orderId);
    assert.deepEqual(await payin.orders.getByReference(params.orderReference), order);
  } finally {
    await flaky.close();
  }
});

test('each call gets its own Idempotency-Key, or the one it is given', async () => {
  const counting = await proxy(BASE_URL);
  try {
    const c = client({ baseUrl: counting.url });
    await c.orders.create(orderParams());
    await c.orders.create(orderParams());
    const key = `node-own-key-${Date.now()}`;
    const mine = await c.orders.create(orderParams(), { idempotencyKey: key });
    const keys = counting.seen.map((r) => r.headers['idempotency-key']);
    assert.equal(new Set(keys).size, 3, keys.join());
    assert.equal(keys[2], key);
    // GETs carry no key.
    await c.orders.get(mine.orderId);
    assert.equal(counting.seen.at(-1).headers['idempotency-key'], undefined);
  } finally {
    await counting.close();
  }
});

test('the same key with the same parameters replays the first order', async () => {
  const params = orderParams();
  const key = `node-replay-${params.orderReference}`;
  const first = await payin.orders.create(params, { idempotencyKey: key });
  const replay = await payin.orders.create(params, { idempotencyKey: key });
  assert.deepEqual(replay, first);
});

test('a 4xx is never retried', async () => {
  const counting = await proxy(BASE_URL);
  try {
    const c = client({ baseUrl: counting.url, maxRetries: 3 });
    await assert.rejects(c.orders.create(orderParams({ amount: '-1' })), ValidationError);
    await assert.rejects(c.orders.get('ord_doesnotexist'));
    assert.equal(counting.seen.length, 2);
  } finally {
    await counting.close();
  }
});
