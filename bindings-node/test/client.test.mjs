// Every method of the client against the live gateway, with the REST API's JSON as results
// and amounts as decimal strings.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NotFoundError, PayIn, Page, ValidationError } from '../dist/index.js';
import { API_KEY, BASE_URL, client, orderParams, tronAddress, unique, waitFor } from './helpers.mjs';

const payin = client();

test('the base URL may be the root or the /api/v1 URL, and the environment fills in key and URL', async () => {
  const root = new PayIn({ apiKey: API_KEY, baseUrl: BASE_URL });
  const apiV1 = new PayIn({ apiKey: API_KEY, baseUrl: `${BASE_URL}/api/v1/` });
  assert.equal(root.baseUrl, `${BASE_URL}/`);
  assert.equal(apiV1.baseUrl, `${BASE_URL}/`);
  assert.ok((await apiV1.chains.list()).some((c) => c.chainId === 'local'));

  // The test runner's environment has PAYIN_API_KEY and PAYIN_BASE_URL: no options needed.
  assert.equal(process.env.PAYIN_BASE_URL, BASE_URL);
  const fromEnv = new PayIn();
  assert.equal(fromEnv.baseUrl, `${BASE_URL}/`);
  assert.ok(Array.isArray(await fromEnv.pool.status()));

  // Explicit options win over the environment.
  const saved = process.env.PAYIN_API_KEY;
  try {
    delete process.env.PAYIN_API_KEY;
    assert.throws(() => new PayIn({ baseUrl: BASE_URL }), (e) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.equal(e.field, 'apiKey');
      assert.match(e.message, /PAYIN_API_KEY/);
      return true;
    });
    process.env.PAYIN_API_KEY = 'pk_not_this_one';
    assert.ok(await new PayIn({ apiKey: API_KEY, baseUrl: BASE_URL }).config.get());
  } finally {
    process.env.PAYIN_API_KEY = saved;
  }
});

test('bad client options are refused up front, naming the option', () => {
  for (const [options, field] of [
    [{ baseUrl: 'ftp://example.invalid' }, 'baseUrl'],
    [{ baseUrl: 'not a url' }, 'baseUrl'],
    [{ timeout: -1 }, 'timeout'],
    [{ timeout: Number.NaN }, 'timeout'],
    [{ maxRetries: 1.5 }, 'maxRetries'],
    [{ maxRetries: -1 }, 'maxRetries'],
  ]) {
    assert.throws(
      () => new PayIn({ apiKey: API_KEY, ...options }),
      (e) => e instanceof ValidationError && e.field === field && e.code === 'VALIDATION_ERROR',
      JSON.stringify(options),
    );
  }
});

test('orders: create, get, getByReference, list; amounts stay decimal strings', async () => {
  const params = orderParams({ amount: '12.50', metadata: { cart: 'c-1' }, paymentWindowMinutes: 30 });
  const order = await payin.orders.create(params);
  assert.match(order.orderId, /^ord_/);
  assert.equal(order.orderReference, params.orderReference);
  assert.equal(order.amount, '12.50');
  assert.equal(order.amountReceived, '0.00');
  assert.equal(typeof order.amount, 'string');
  assert.equal(order.status, 'pending');
  assert.equal(order.currency, 'USDT');
  assert.equal(order.chainId, 'local');
  assert.equal(order.paymentWindowMinutes, 30);
  assert.deepEqual(order.metadata, { cart: 'c-1' });
  assert.match(order.address, /^0x[0-9a-fA-F]{40}$/);
  assert.ok(order.paymentUrl.startsWith(`${BASE_URL}/pay/${order.orderId}`), order.paymentUrl);

  assert.deepEqual(await payin.orders.get(order.orderId), order);
  assert.deepEqual(await payin.orders.getByReference(params.orderReference), order);

  const page = await payin.orders.list({ orderReference: params.orderReference });
  assert.ok(page instanceof Page);
  assert.deepEqual(page.items, [order]);
  assert.equal(page.pagination.total, 1);
  assert.equal(page.hasNextPage(), false);
  assert.equal(await page.nextPage(), null);
  const pending = await payin.orders.list({ status: 'pending', limit: 100 });
  assert.ok(pending.items.every((o) => o.status === 'pending'));
});

test('a reference with slashes and spaces is one path segment', async () => {
  const order = await payin.orders.create(orderParams({ orderReference: unique('a/b c?d') }));
  assert.equal((await payin.orders.getByReference(order.orderReference)).orderId, order.orderId);
});

test('deposits: bind a currency and a protocol, get, list references and deposits, unbind', async () => {
  const currencyRef = unique('user');
  const bound = await payin.deposits.bind({ depositReference: currencyRef, currency: 'USDT', chainId: 'local', metadata: { tier: 'gold' } });
  assert.equal(bound.depositReference, currencyRef);
  assert.equal(bound.currency, 'USDT');
  assert.equal(bound.chainId, 'local');
  assert.match(bound.address, /^0x[0-9a-fA-F]{40}$/);

  const protocolRef = unique('user');
  const byProtocol = await payin.deposits.bind({ depositReference: protocolRef, protocol: 'evm' });
  assert.equal(byProtocol.protocol, 'evm');
  assert.ok(byProtocol.monitoredChains.includes('local'), JSON.stringify(byProtocol));

  // A payment to the deposit address becomes a deposit of the reference.
  await payin.dev.simulatePayment({ address: bound.address, amount: '5.25', currency: 'USDT' });
  await payin.dev.mineBlocks({ blocks: 3 });
  const deposit = await waitFor('the deposit to be confirmed', async () => {
    const page = await payin.deposits.list({ depositReference: currencyRef });
    return page.items.find((d) => d.status !== 'pending');
  });
  assert.equal(deposit.amount, '5.25');
  assert.equal(deposit.currency, 'USDT');
  assert.equal(deposit.address, bound.address);

  const reference = await payin.deposits.getReference(currencyRef);
  assert.equal(reference.depositReference, currencyRef);
  assert.deepEqual(reference.metadata, { tier: 'gold' });
  assert.equal(reference.addresses[0].address, bound.address);
  assert.equal(reference.totalAmount.USDT, '5.25');

  const refs = await payin.deposits.listReferences({ search: currencyRef });
  assert.deepEqual(refs.items.map((r) => r.depositReference), [currencyRef]);
  assert.equal(refs.items[0].totalDeposits, 1);

  const unbound = await payin.deposits.unbind(currencyRef, { chainId: 'local' });
  assert.deepEqual(unbound, { depositReference: currencyRef, unboundAddresses: 1 });
  const all = await payin.deposits.unbind(protocolRef);
  assert.equal(all.depositReference, protocolRef);
  assert.ok(all.unboundAddresses >= 1);
});

test('chains, pool and config', async () => {
  const chains = await payin.chains.list();
  const local = chains.find((c) => c.chainId === 'local');
  assert.equal(local.protocol, 'evm');
  assert.deepEqual(local.tokens.map((t) => t.currency).sort(), ['DAI', 'USDC', 'USDT']);
  assert.equal(local.tokens.find((t) => t.currency === 'DAI').decimals, 18);

  const before = (await payin.pool.status()).find((p) => p.protocol === 'tron');
  const addresses = [tronAddress(), tronAddress()];
  const imported = await payin.pool.importAddresses({ protocol: 'tron', addresses: [...addresses, addresses[0]] });
  assert.deepEqual(imported, { protocol: 'tron', received: 3, imported: 2, duplicates: 1 });
  const after = (await payin.pool.status()).find((p) => p.protocol === 'tron');
  assert.equal(after.total, before.total + 2);

  const settings = await payin.config.get();
  assert.equal(typeof settings.payment_window_minutes, 'number');
  const changed = await payin.config.set('pool_low_watermark', settings.pool_low_watermark + 1);
  assert.equal(changed.pool_low_watermark, settings.pool_low_watermark + 1);
  assert.deepEqual(await payin.config.get(), changed);
  await payin.config.set('pool_low_watermark', settings.pool_low_watermark);
  await assert.rejects(payin.config.set('no_such_setting', 1), NotFoundError);
  await assert.rejects(payin.config.set('pool_low_watermark', 'many'), ValidationError);
});

test('HD pool: addXpub returns the fingerprint and first addresses, listXpubs lists it, private keys are refused', async () => {
  const xpub =
    'xpub6BuRy7ZmkGfP2RWhoor1kWB1w9DvrtmJbFBvnC1bQ4SB5NbCHTyQYCJSXZtxDbFyHTmC7wkU2he3nYYdpZ3Vf6qUAkXSnL6RPif4BDtDEKr';
  const key = await payin.pool.addXpub({ protocol: 'tron', xpub, start: 1 });
  assert.equal(key.path, "m/44'/195'/0'");
  assert.match(key.fingerprint, /^[0-9a-f]{8}$/);
  assert.deepEqual(
    key.firstAddresses.slice(0, 2).map((a) => [a.index, a.address]),
    [
      [1, 'TPjjvMwjPoDC32V2dGDYTkLH4E5LAtBZ6C'],
      [2, 'TB7mhtkvfhsRBRhe5FuRa4tFXSEyGDe4eA'],
    ],
  );
  assert.ok((await payin.pool.listXpubs()).some((k) => k.id === key.id));
  await assert.rejects(
    payin.pool.addXpub({ protocol: 'evm', xpub: 'test test test test test test test test test test test junk' }),
    (e) => e instanceof ValidationError && e.field === 'xpub' && e.message.includes('never takes private keys') && !e.message.includes('junk'),
  );
});

test('payment links: create, get, list (for await), publish, archive; bad currencies name the field', async () => {
  const link = await payin.paymentLinks.create({
    title: 'Sticker pack',
    amount: '4.50',
    currencies: [
      { currency: 'USDT', chainId: 'local' },
      { currency: 'USDC', chainId: 'local' },
    ],
    inventoryTotal: 3,
  });
  assert.match(link.id, /^plk_/);
  assert.equal(link.status, 'draft');
  assert.equal(typeof link.amount, 'string');
  assert.deepEqual([link.inventoryTotal, link.inventorySold, link.inventoryRemaining], [3, 0, 3]);
  assert.ok(link.checkoutUrl.endsWith(`/checkout/${link.slug}`));
  assert.deepEqual(await payin.paymentLinks.get(link.id), link);
  assert.equal((await payin.paymentLinks.publish(link.id)).status, 'active');
  const seen = [];
  for await (const l of payin.paymentLinks.list({ status: 'active', limit: 1 })) seen.push(l.id);
  assert.ok(seen.includes(link.id));
  assert.equal((await payin.paymentLinks.archive(link.id)).status, 'archived');
  await assert.rejects(
    payin.paymentLinks.create({ title: 'x', amount: '1', currencies: [{ currency: 'USDT', chainId: 'mars' }] }),
    (e) => e instanceof ValidationError && e.field === 'currencies[0].chainId',
  );
  await assert.rejects(payin.paymentLinks.get('plk_doesnotexist'), NotFoundError);
});

test('webhook endpoints: create, list, get, rotate the secret, delete', async () => {
  const created = await payin.webhooks.create({
    url: 'http://127.0.0.1:9/node-client-test',
    events: ['order.completed'],
    description: 'node client test',
  });
  assert.match(created.id, /^whe_/);
  assert.match(created.secret, /^whsec_/);
  assert.deepEqual(created.events, ['order.completed']);
  assert.equal(created.status, 'active');

  const got = await payin.webhooks.get(created.id);
  assert.equal(got.url, created.url);
  assert.equal('secret' in got, false, 'the secret is shown once');

  const listed = [];
  for await (const endpoint of payin.webhooks.list({ limit: 2 })) listed.push(endpoint.id);
  assert.ok(listed.includes(created.id), listed.join());

  const rotated = await payin.webhooks.rotateSecret(created.id, { keepPreviousHours: 1 });
  assert.notEqual(rotated.secret, created.secret);
  assert.ok(rotated.previousSecretExpiresAt, JSON.stringify(rotated));

  const deleted = await payin.webhooks.delete(created.id);
  assert.equal(deleted.status, 'disabled');
  await assert.rejects(payin.webhooks.get(created.id), NotFoundError);
});

test('events and deliveries: list, get, resend; the dev chain pays and mines', async () => {
  const order = await payin.orders.create(orderParams());
  const created = await waitFor('the order.created event', async () => {
    for await (const event of payin.events.list({ type: 'order.created', limit: 50 })) {
      if (event.data.orderId === order.orderId) return event;
    }
    return null;
  });
  assert.match(created.id, /^evt_/);
  assert.equal(created.type, 'order.created');
  assert.deepEqual(await payin.events.get(created.id), created);

  const endpoint = await payin.webhooks.create({ url: 'http://127.0.0.1:9/node-events-test' });
  const resent = await payin.events.resend(created.id, { endpointId: endpoint.id });
  assert.equal(resent.eventId, created.id);
  assert.equal(resent.deliveries.length, 1);
  assert.equal(resent.deliveries[0].endpointId, endpoint.id);
  const deliveries = await payin.webhooks.deliveries({ endpointId: endpoint.id, eventId: created.id });
  assert.deepEqual(deliveries.items.map((d) => d.id), [resent.deliveries[0].id]);
  await payin.webhooks.delete(endpoint.id);

  const paid = await payin.dev.simulatePayment({ orderId: order.orderId, scenario: 'exact' });
  assert.equal(paid.orderId, order.orderId);
  assert.match(paid.amount, /^10(\.0+)?$/);
  assert.match(paid.txHash, /^0x[0-9a-f]{64}$/);
  const mined = await payin.dev.mineBlocks({ blocks: 2 });
  assert.equal(mined.blocksMined, 2);
  assert.ok(mined.blockNumber > paid.blockNumber);
  const completed = await waitFor('the order to complete', async () => {
    const o = await payin.orders.get(order.orderId);
    return o.status === 'completed' && o;
  });
  assert.equal(completed.amountReceived, '10.00');
  assert.equal(completed.txHash, paid.txHash);
});
