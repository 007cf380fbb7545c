// Lists across pages: `for await` walks every item of every page, a page leads to the next,
// and the filters hold on every page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PagePromise } from '../dist/index.js';
import { client, orderParams, unique } from './helpers.mjs';

const payin = client();

test('orders.list walks seven orders two at a time, in order, with the filter on every page', async () => {
  const prefix = unique('page');
  const created = [];
  for (let i = 0; i < 7; i++) created.push(await payin.orders.create(orderParams({ orderReference: `${prefix}-${i}` })));
  const query = { orderReference: prefix, limit: 2, sortOrder: 'asc', status: 'pending' };

  const list = payin.orders.list(query);
  assert.ok(list instanceof PagePromise);
  const seen = [];
  for await (const order of list) seen.push(order.orderId);
  assert.deepEqual(seen, created.map((o) => o.orderId));

  // Page by page: four pages, the last one short.
  const sizes = [];
  let page = await payin.orders.list(query);
  assert.deepEqual(page.pagination, { page: 1, limit: 2, total: 7, totalPages: 4, hasMore: true });
  for (;;) {
    sizes.push(page.items.length);
    assert.ok(page.items.every((o) => o.orderReference.startsWith(prefix)));
    if (!page.hasNextPage()) break;
    page = await page.nextPage();
  }
  assert.deepEqual(sizes, [2, 2, 2, 1]);
  assert.equal(page.pagination.page, 4);
  assert.equal(await page.nextPage(), null);

  // Every page from the third on; iterating a page walks it and the later ones.
  const third = await (await (await payin.orders.list(query)).nextPage()).nextPage();
  const rest = [];
  for await (const order of third) rest.push(order.orderId);
  assert.deepEqual(rest, created.slice(4).map((o) => o.orderId));
  const pages = [];
  for await (const p of third.pages()) pages.push(p.pagination.page);
  assert.deepEqual(pages, [3, 4]);

  // toArray, and a walk starting from a later page.
  assert.deepEqual((await payin.orders.list({ ...query, page: 3 }).toArray()).map((o) => o.orderId), created.slice(4).map((o) => o.orderId));
});

test('a list that matches nothing is one empty page', async () => {
  const page = await payin.orders.list({ orderReference: unique('nothing') });
  assert.deepEqual(page.items, []);
  assert.equal(page.hasNextPage(), false);
  assert.deepEqual(await payin.orders.list({ orderReference: unique('nothing') }).toArray(), []);
});

test('the first request waits for an await or an iteration, and errors reject the walk', async () => {
  const unused = payin.orders.list({ limit: 1000 }); // never awaited: no request, no unhandled rejection
  assert.ok(unused);
  await assert.rejects(async () => {
    for await (const _ of payin.orders.list({ limit: 1000 })) assert.fail('no items');
  }, /limit/);
});

test('events and deliveries page the same way', async () => {
  const two = await payin.events.list({ limit: 2 });
  assert.equal(two.items.length, 2);
  const next = await two.nextPage();
  assert.equal(next.pagination.page, 2);
  assert.notDeepEqual(next.items.map((e) => e.id), two.items.map((e) => e.id));
});
