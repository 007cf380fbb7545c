#!/usr/bin/env node
// A shop backend taking stablecoin payments through PayIn, with Node's standard library only
// (Node 20+: http, crypto, fetch).
//
//   PAYIN_API_URL=http://127.0.0.1:8080 PAYIN_API_KEY=pk_... node shop.mjs
//
// - POST /checkout {"amount": "49.90", "currency": "USDT"} creates a PayIn order and answers the
//   hosted paymentUrl (or the address and amount to show yourself).
// - POST /webhooks/payin receives PayIn's signed webhooks: the Standard Webhooks signature is
//   checked over the raw body, each event is handled once, and the order is marked paid on
//   order.completed (expired on order.expired). Only a verified webhook changes an order.
// - GET /orders/<orderReference> shows the shop's own view of an order.
//
// At start it registers its webhook URL with PayIn (POST /api/v1/webhooks) and keeps the secret
// in memory; a real shop registers once and stores the secret with its other secrets.
//
// Environment: PAYIN_API_URL (the gateway's root URL), PAYIN_API_KEY, PAYIN_CHAIN_ID (default
// "local", the `payin dev` chain), PORT (default 8000; 0 picks a free port), SHOP_PUBLIC_URL
// (where PayIn reaches this shop; default http://127.0.0.1:PORT).

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const API = `${process.env.PAYIN_API_URL.replace(/\/+$/, '')}/api/v1`;
const KEY = process.env.PAYIN_API_KEY;
const CHAIN = process.env.PAYIN_CHAIN_ID ?? 'local';
const TOLERANCE_SECONDS = 300;

const orders = new Map(); // by orderReference: the shop's own records
const handledEvents = new Set(); // webhook-id of every event already handled
let webhookSecret = '';

class PayinError extends Error {
  constructor(envelope) {
    super(envelope.message);
    this.code = envelope.code; // branch on this
    this.field = envelope.field; // the request field to fix
    this.envelope = envelope;
  }
}

/** One PayIn REST call; resolves to the envelope's `data` or throws PayinError. */
async function payin(method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const envelope = await response.json();
  if (!envelope.success) throw new PayinError(envelope);
  return envelope.data;
}

/** The event, if the Standard Webhooks signature over the raw body is valid; throws otherwise. */
function verify(body, headers) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) throw new Error('missing webhook-id, webhook-timestamp or webhook-signature');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) throw new Error('webhook-timestamp outside the tolerance');
  const key = Buffer.from(webhookSecret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const valid = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) throw new Error('signature mismatch');
  return JSON.parse(body.toString('utf8'));
}

/** Applies an event once: the same webhook-id again (a retry or a resend) is a no-op. */
function handle(eventId, event) {
  if (handledEvents.has(eventId)) return;
  handledEvents.add(eventId);
  const order = orders.get(event.data.orderReference);
  if (!order) return;
  if (event.type === 'order.completed') {
    Object.assign(order, { status: 'paid', amountReceived: event.data.amountReceived, txHash: event.data.txHash });
  } else if (event.type === 'order.expired') {
    order.status = 'expired';
  }
}

function answer(res, status, body) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function route(req, res, body) {
  if (req.method === 'POST' && req.url === '/checkout') {
    const cart = JSON.parse(body.toString('utf8') || '{}');
    const orderReference = `SHOP-${randomUUID().slice(0, 12).toUpperCase()}`;
    let order;
    try {
      order = await payin('POST', '/orders', {
        orderReference,
        amount: cart.amount, // a decimal string, never a float
        currency: cart.currency ?? 'USDT',
        chainId: CHAIN,
      });
    } catch (e) {
      if (!(e instanceof PayinError)) throw e;
      return answer(res, e.code === 'NO_AVAILABLE_ADDRESSES' ? 503 : 400, e.envelope);
    }
    orders.set(orderReference, { orderReference, orderId: order.orderId, status: 'awaiting payment' });
    const { orderId, paymentUrl, address, amount, currency, chainId } = order;
    return answer(res, 201, { orderReference, orderId, paymentUrl, address, amount, currency, chainId });
  }
  if (req.method === 'POST' && req.url === '/webhooks/payin') {
    let event;
    try {
      event = verify(body, req.headers); // these exact bytes, before any JSON parsing
    } catch (e) {
      return answer(res, 400, { error: e.message });
    }
    handle(req.headers['webhook-id'], event);
    return answer(res, 204);
  }
  if (req.method === 'GET' && req.url.startsWith('/orders/')) {
    const order = orders.get(decodeURIComponent(req.url.slice('/orders/'.length)));
    return order ? answer(res, 200, order) : answer(res, 404, { error: 'no such order' });
  }
  return answer(res, 404, { error: 'not found' });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => route(req, res, Buffer.concat(chunks)).catch((e) => answer(res, 500, { error: e.message })));
});

server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1', async () => {
  const publicUrl = process.env.SHOP_PUBLIC_URL ?? `http://127.0.0.1:${server.address().port}`;
  const endpoint = await payin('POST', '/webhooks', {
    url: `${publicUrl}/webhooks/payin`,
    events: ['order.completed', 'order.expired'],
    description: 'node-shop example',
  });
  webhookSecret = endpoint.secret;
  console.log(`shop listening on ${publicUrl} (webhook endpoint ${endpoint.id})`);
});
