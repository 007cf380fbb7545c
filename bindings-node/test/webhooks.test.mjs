// Webhook verification: the shared vectors (tests/vectors/webhooks.json, also read by the
// Rust and Python tests), the raw-body rule, and real deliveries from the gateway to a local
// receiver, verified with the package.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { PayIn, PayInError, Webhook, WebhookVerificationError, verifySignature } from '../dist/index.js';
import { API_KEY, BASE_URL, client, orderParams, receiver, waitFor } from './helpers.mjs';

const vectors = JSON.parse(readFileSync(new URL('../../tests/vectors/webhooks.json', import.meta.url), 'utf8'));
const CODES = {
  mismatch: 'SIGNATURE_MISMATCH',
  too_old: 'TIMESTAMP_TOO_OLD',
  too_new: 'TIMESTAMP_TOO_NEW',
  missing_header: 'MISSING_HEADER',
};

test('every Standard Webhooks vector verifies or fails as the vector says', () => {
  assert.ok(vectors.standardWebhooks.length >= 10);
  for (const v of vectors.standardWebhooks) {
    const webhook = new Webhook(v.secret, { tolerance: v.tolerance });
    const verify = () => webhook.verify(v.body, v.headers, { now: v.now });
    if (v.expect === 'valid') {
      const event = verify();
      assert.deepEqual(event, JSON.parse(v.body), v.name);
      // The same bytes as a Buffer, and the headers as a fetch Headers object.
      assert.deepEqual(webhook.verify(Buffer.from(v.body), new Headers(v.headers), { now: new Date(v.now * 1000) }), event, v.name);
    } else {
      assert.ok(CODES[v.expect], `unknown expectation ${v.expect}`);
      assert.throws(verify, (e) => e instanceof WebhookVerificationError && e.code === CODES[v.expect], v.name);
    }
    if (v.signature) {
      const timestamp = Number(v.headers['webhook-timestamp']);
      const signed = webhook.sign(v.headers['webhook-id'], timestamp, v.body);
      assert.equal(signed['webhook-signature'], v.signature, v.name);
    }
  }
});

test('every X-PayIn-Signature vector verifies as the vector says', () => {
  assert.ok(vectors.payinSignature.length >= 5);
  for (const v of vectors.payinSignature) {
    assert.equal(verifySignature(v.body, v.signature, v.secret), v.valid, v.name);
    assert.equal(verifySignature(Buffer.from(v.body), v.signature, v.secret), v.valid, v.name);
  }
});

test('a parsed and re-serialized body fails, saying to pass the raw body', () => {
  const webhook = new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  const body = '{"id":"evt_1","type":"order.completed","data":{"amount":"10.00"}}';
  const now = Math.floor(Date.now() / 1000);
  const headers = webhook.sign('evt_1', now, body);
  assert.equal(webhook.verify(body, headers).id, 'evt_1');

  const reserialized = JSON.stringify(JSON.parse(body), null, 2);
  assert.throws(() => webhook.verify(reserialized, headers), (e) => {
    assert.ok(e instanceof WebhookVerificationError);
    assert.equal(e.code, 'SIGNATURE_MISMATCH');
    assert.match(e.message, /raw request body/);
    return true;
  });
  // An object (what express.json() leaves) is refused before any check, with the same advice.
  assert.throws(() => webhook.verify(JSON.parse(body), headers), (e) => e instanceof WebhookVerificationError && /raw request body/.test(e.message));
});

test('stale and future timestamps beyond the tolerance are refused; several signatures are accepted', () => {
  const current = new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { tolerance: 60 });
  const previous = new Webhook('whsec_c2Vjb25kIHNlY3JldA==', { tolerance: 60 });
  const body = '{"id":"evt_2","type":"order.expired","data":{}}';
  const now = 1_737_369_000;
  const at = (t) => current.sign('evt_2', t, body);
  assert.ok(current.verify(body, at(now - 60), { now }));
  assert.ok(current.verify(body, at(now + 60), { now }));
  assert.throws(() => current.verify(body, at(now - 61), { now }), (e) => e.code === 'TIMESTAMP_TOO_OLD');
  assert.throws(() => current.verify(body, at(now + 61), { now }), (e) => e.code === 'TIMESTAMP_TOO_NEW');

  // During a rotation a delivery carries both secrets' signatures; either verifies.
  const headers = at(now);
  const both = { ...headers, 'webhook-signature': `${previous.sign('evt_2', now, body)['webhook-signature']} ${headers['webhook-signature']}` };
  assert.equal(current.verify(body, both, { now }).id, 'evt_2');
  assert.equal(previous.verify(body, both, { now }).id, 'evt_2');
  assert.throws(() => new Webhook('whsec_b3RoZXI=').verify(body, both, { now }), (e) => e.code === 'SIGNATURE_MISMATCH');
  // Header names are case-insensitive; Node's req.headers arrays are joined.
  const shouting = Object.fromEntries(Object.entries(both).map(([k, v]) => [k.toUpperCase(), v]));
  assert.ok(current.verify(body, shouting, { now }));
  assert.ok(current.verify(body, { ...both, 'webhook-signature': both['webhook-signature'].split(' ') }, { now }));
});

test('payin.webhooks.verify takes the secret from the call, the client or PAYIN_WEBHOOK_SECRET', () => {
  const secret = 'whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcY';
  const body = '{"id":"evt_3","type":"pool.low","data":{}}';
  const headers = new Webhook(secret).sign('evt_3', Math.floor(Date.now() / 1000), body);
  assert.equal(client().webhooks.verify(body, headers, { secret }).type, 'pool.low');
  assert.equal(client({ webhookSecret: secret }).webhooks.verify(body, headers).type, 'pool.low');
  assert.throws(() => client().webhooks.verify(body, headers), (e) => e instanceof PayInError && /PAYIN_WEBHOOK_SECRET/.test(e.message));
  process.env.PAYIN_WEBHOOK_SECRET = secret;
  try {
    assert.equal(client().webhooks.verify(body, headers).id, 'evt_3');
    assert.equal(client().webhooks.verifySignature(body, headers['X-PayIn-Signature']), true);
  } finally {
    delete process.env.PAYIN_WEBHOOK_SECRET;
  }
});

test('deliveries from the gateway reach a local receiver and verify with the package', async () => {
  const payin = new PayIn({ apiKey: API_KEY, baseUrl: BASE_URL });
  const inbox = await receiver();
  try {
    const endpoint = await payin.webhooks.create({ url: `${inbox.url}/payin`, events: ['order.created', 'order.completed'] });
    const order = await payin.orders.create(orderParams({ amount: '7.50' }));
    await payin.dev.simulatePayment({ orderId: order.orderId });
    await payin.dev.mineBlocks({ blocks: 3 });

    const mine = (type) => inbox.received.find((r) => {
      const event = JSON.parse(r.body.toString('utf8'));
      return event.type === type && event.data.orderId === order.orderId;
    });
    const completed = await waitFor('order.completed at the receiver', () => mine('order.completed'));
    const created = mine('order.created');
    assert.ok(created, 'order.created came too');

    for (const delivery of [created, completed]) {
      // Both schemes, with the raw bytes as received.
      const event = payin.webhooks.verify(delivery.body, delivery.headers, { secret: endpoint.secret });
      assert.equal(event.id, delivery.headers['webhook-id']);
      assert.equal(payin.webhooks.verifySignature(delivery.body, delivery.headers['x-payin-signature'], endpoint.secret), true);
      assert.equal(verifySignature(delivery.body, delivery.headers['x-payin-signature'], 'whsec_AAAA'), false);
    }
    const event = new Webhook(endpoint.secret).verify(completed.body, completed.headers);
    assert.equal(event.type, 'order.completed');
    assert.equal(event.data.amountReceived, '7.50');
    assert.equal(typeof event.data.amountReceived, 'string');

    // The gateway recorded the deliveries as succeeded.
    const deliveries = await waitFor('succeeded deliveries', async () => {
      const page = await payin.webhooks.deliveries({ endpointId: endpoint.id, status: 'succeeded' });
      return page.items.length >= 2 && page.items;
    });
    assert.ok(deliveries.every((d) => d.lastHttpStatus === 204));

    // A rotated secret: the old and the new one both verify a resent delivery.
    const rotated = await payin.webhooks.rotateSecret(endpoint.id, { keepPreviousHours: 1 });
    const before = inbox.received.length;
    await payin.events.resend(event.id, { endpointId: endpoint.id });
    const resent = await waitFor('the resent event', () => inbox.received.slice(before).find((r) => r.headers['webhook-id'] === event.id));
    assert.equal(payin.webhooks.verify(resent.body, resent.headers, { secret: rotated.secret }).id, event.id);
    assert.equal(payin.webhooks.verify(resent.body, resent.headers, { secret: endpoint.secret }).id, event.id);
    await payin.webhooks.delete(endpoint.id);
  } finally {
    await inbox.close();
  }
});
