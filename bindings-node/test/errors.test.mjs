// Every error kind, each a PayInError subclass with the REST API's code, status and subject.
// The gateway gives the real ones; scripted test doubles on 127.0.0.1 give what `payin dev`
// never answers (429, 500, an answer that never comes).

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';

import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PayInError,
  PermissionDeniedError,
  RateLimitError,
  ValidationError,
  WebhookVerificationError,
  Webhook,
} from '../dist/index.js';
import { API_KEY, BASE_URL, client, orderParams, serve } from './helpers.mjs';

const payin = client();

/** Asserts `promise` rejects with an instance of `kind` whose members match `expected`. */
async function rejectsWith(promise, kind, expected) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${e?.constructor?.name}: ${e?.message}`);
    assert.ok(e instanceof PayInError);
    assert.equal(e.name, kind.name);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(e[k], v, `${k} of ${e.message}`);
    return true;
  });
}

test('ValidationError: the gateway names the field, and so does the package before sending', async () => {
  await rejectsWith(payin.orders.create(orderParams({ amount: '1.1234567' })), ValidationError, {
    code: 'INVALID_AMOUNT',
    statusCode: 400,
    field: 'amount',
  });
  await rejectsWith(payin.orders.create(orderParams({ chainId: 'atlantis' })), ValidationError, {
    code: 'INVALID_CHAIN',
    field: 'chainId',
  });
  // Caught locally: unknown, missing and mistyped parameters, as the REST API words them.
  await rejectsWith(payin.orders.create({ ...orderParams(), sucessUrl: 'https://x' }), ValidationError, {
    code: 'VALIDATION_ERROR',
    statusCode: 400,
    field: 'sucessUrl',
  });
  const { orderReference: _, ...noReference } = orderParams();
  await rejectsWith(payin.orders.create(noReference), ValidationError, { field: 'orderReference' });
  await rejectsWith(payin.orders.list({ stauts: 'pending' }), ValidationError, { field: 'stauts' });
  await rejectsWith(payin.orders.list({ limit: 1000 }), ValidationError, { field: 'limit' });
  await rejectsWith(payin.orders.get(''), ValidationError, { field: 'orderId' });
  await rejectsWith(payin.orders.create(orderParams(), { idempotencyKey: 'has space' }), ValidationError, {
    field: 'Idempotency-Key',
  });
});

test('AuthenticationError: an unknown key is 401', async () => {
  const stranger = client({ apiKey: 'pk_not_a_key' });
  await rejectsWith(stranger.orders.list(), AuthenticationError, { code: 'UNAUTHORIZED', statusCode: 401 });
});

test('NotFoundError: each resource, with its own code', async () => {
  await rejectsWith(payin.orders.get('ord_doesnotexist'), NotFoundError, { code: 'ORDER_NOT_FOUND', statusCode: 404 });
  await rejectsWith(payin.deposits.getReference('nobody-at-all'), NotFoundError, { code: 'DEPOSIT_REFERENCE_NOT_FOUND' });
  await rejectsWith(payin.events.get('evt_doesnotexist'), NotFoundError, { code: 'NOT_FOUND' });
  await rejectsWith(payin.webhooks.get('whe_doesnotexist'), NotFoundError, { code: 'NOT_FOUND' });
});

test('ConflictError: a taken reference names the existing order; a reused idempotency key is refused', async () => {
  const params = orderParams();
  const first = await payin.orders.create(params);
  await rejectsWith(payin.orders.create(params), ConflictError, {
    code: 'DUPLICATE_ORDER_REFERENCE',
    statusCode: 409,
    existingOrderId: first.orderId,
  });

  const key = `node-reuse-${first.orderId}`;
  await payin.orders.create(orderParams(), { idempotencyKey: key });
  await rejectsWith(payin.orders.create(orderParams(), { idempotencyKey: key }), ConflictError, {
    code: 'IDEMPOTENCY_KEY_REUSED',
    idempotencyKey: key,
  });
});

// ServiceUnavailableError (503 NO_AVAILABLE_ADDRESSES) is tested with its healing in heal.test.mjs.

test('RateLimitError: still 429 after the retries, which waited as Retry-After asked', async () => {
  const hits = [];
  const limited = await serve((req, _body, res) => {
    hits.push(Date.now());
    const body = JSON.stringify({ success: false, error: 'Too many requests', code: 'RATE_LIMITED', message: 'Too many requests; retry in 1 s', statusCode: 429 });
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(body);
  });
  try {
    const c = client({ baseUrl: limited.url, maxRetries: 1 });
    await rejectsWith(c.orders.get('ord_x'), RateLimitError, { code: 'RATE_LIMITED', statusCode: 429 });
    assert.equal(hits.length, 2, 'one retry');
    assert.ok(hits[1] - hits[0] >= 950, `waited ${hits[1] - hits[0]} ms, Retry-After said 1 s`);
  } finally {
    await limited.close();
  }
});

test('InternalServerError: a 500 is retried, then reported', async () => {
  let hits = 0;
  const broken = await serve((_req, _body, res) => {
    hits++;
    const body = JSON.stringify({ success: false, error: 'Internal error', code: 'INTERNAL_ERROR', message: 'boom', statusCode: 500 });
    res.writeHead(500, { 'content-type': 'application/json' }).end(body);
  });
  try {
    await rejectsWith(client({ baseUrl: broken.url, maxRetries: 2 }).chains.list(), InternalServerError, {
      code: 'INTERNAL_ERROR',
      statusCode: 500,
    });
    assert.equal(hits, 3, 'the first attempt and two retries');
  } finally {
    await broken.close();
  }
});

test('APIConnectionError and APITimeoutError: no answer, with no status', async () => {
  // A port that was just free: nothing listens, the connection is refused.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  await rejectsWith(client({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0 }).orders.get('ord_x'), APIConnectionError, {
    code: 'CONNECTION_ERROR',
    statusCode: null,
  });

  // A test double that accepts the connection and never answers.
  const sockets = [];
  const silent = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const c = client({ baseUrl: `http://127.0.0.1:${silent.address().port}`, timeout: 300, maxRetries: 0 });
    const started = Date.now();
    await rejectsWith(c.orders.get('ord_x'), APITimeoutError, { code: 'TIMEOUT', statusCode: null });
    assert.ok(Date.now() - started < 5000);
    // A timeout is a connection error too: one catch handles both.
    await assert.rejects(c.chains.list(), APIConnectionError);
    // The timeout of one call overrides the client's.
    await assert.rejects(client({ baseUrl: `http://127.0.0.1:${silent.address().port}`, maxRetries: 0 }).chains.list({ timeout: 200 }), APITimeoutError);
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => silent.close(r));
  }
});

test('WebhookVerificationError: a forged or malformed delivery, with a code saying why', () => {
  const webhook = new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  assert.throws(() => webhook.verify('{}', {}), (e) => e instanceof WebhookVerificationError && e.code === 'MISSING_HEADER' && e.statusCode === null);
  assert.throws(() => new Webhook('whsec_!!'), (e) => e instanceof WebhookVerificationError && e.code === 'INVALID_SECRET');
});

test('PermissionDeniedError: a 403 with or without an envelope (a proxy in front of the gateway)', async () => {
  // The gateway itself answers no 403 today; a WAF's page or a newer gateway's envelope does.
  let hits = 0;
  const page = await serve((_req, _body, res) => {
    hits++;
    res.writeHead(403, { 'content-type': 'text/html' }).end('<html>Forbidden by policy</html>');
  });
  const newer = await serve((_req, _body, res) => {
    hits++;
    const body = JSON.stringify({ success: false, error: 'Forbidden', code: 'FORBIDDEN', message: 'This key may not create orders', statusCode: 403 });
    res.writeHead(403, { 'content-type': 'application/json' }).end(body);
  });
  try {
    for (const [server, code, text] of [
      [page, 'HTTP_ERROR', 'Forbidden by policy'],
      [newer, 'FORBIDDEN', 'may not create'],
    ]) {
      hits = 0;
      const e = await client({ baseUrl: server.url, maxRetries: 3 }).orders.get('ord_x').then(
        () => assert.fail('a 403 resolved'),
        (err) => err,
      );
      assert.ok(e instanceof PermissionDeniedError && e instanceof PayInError, String(e));
      assert.equal(e.name, 'PermissionDeniedError');
      assert.deepEqual([e.code, e.statusCode], [code, 403]);
      assert.match(e.message, new RegExp(text));
      assert.equal(hits, 1, 'a 403 is not retried');
    }
  } finally {
    await page.close();
    await newer.close();
  }
});

test('InternalServerError: a load balancer\'s 502 page keeps its status', async () => {
  const broken = await serve((_req, _body, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'));
  try {
    await rejectsWith(client({ baseUrl: broken.url, maxRetries: 0 }).chains.list(), InternalServerError, {
      code: 'HTTP_ERROR',
      statusCode: 502,
    });
  } finally {
    await broken.close();
  }
});

test('errors keep the caller in their stack', async () => {
  async function lookUpMissingOrder() {
    const order = await payin.orders.get('ord_doesnotexist');
    return order;
  }
  await assert.rejects(lookUpMissingOrder(), (e) => /lookUpMissingOrder/.test(e.stack));
  assert.ok(API_KEY && BASE_URL);
});
