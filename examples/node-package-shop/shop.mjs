#!/usr/bin/env node
// The shop of ../node-shop on the `payin` npm package (bindings-node/) instead of hand-written
// HTTP: typed calls with safe retries, errors you can branch on, and webhook verification.
//
//   npm install                       # links ../../bindings-node (build it first: npm run build there)
//   PAYIN_API_URL=http://127.0.0.1:8080 PAYIN_API_KEY=pk_... node shop.mjs
//
// - POST /checkout {"amount": "49.90", "currency": "USDT", "cartId"?: "…"} creates a PayIn order
//   and answers the hosted paymentUrl (or the address and amount to show yourself). Checking out
//   the same cart again answers its first order.
// - POST /webhooks/payin receives PayIn's signed webhooks: verified over the raw body, each
//   event handled once, the order marked paid on order.completed (expired on order.expired).
// - GET /orders/<orderReference> shows the shop's own view of an order.
//
// Environment: PAYIN_API_URL (the gateway's root or /api/v1 URL; PAYIN_BASE_URL works too),
// PAYIN_API_KEY, PAYIN_CHAIN_ID (default "local", the `payin dev` chain), PORT (default 8000;
// 0 picks a free port), SHOP_PUBLIC_URL (where PayIn reaches this shop).

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import { ConflictError, PayIn, PayInError, ServiceUnavailableError, Webhook, WebhookVerificationError } from 'payin';

const payin = new PayIn({ baseUrl: process.env.PAYIN_API_URL, timeout: 15_000 });
const CHAIN = process.env.PAYIN_CHAIN_ID ?? 'local';

const orders = new Map(); // by orderReference: the shop's own records
const handledEvents = new Set(); // webhook-id of every event already handled
let webhook; // the endpoint's secret, set at start

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

async function checkout(cart) {
  // A cart pays once: its id names the order, and is the Idempotency-Key of the create, so a
  // checkout retried by the browser gets the first order back instead of a second one.
  const orderReference = cart.cartId ? `SHOP-CART-${cart.cartId}` : `SHOP-${randomUUID().slice(0, 12).toUpperCase()}`;
  try {
    return await payin.orders.create(
      { orderReference, amount: cart.amount, currency: cart.currency ?? 'USDT', chainId: CHAIN },
      cart.cartId ? { idempotencyKey: `checkout-${cart.cartId}` } : undefined,
    );
  } catch (e) {
    // After the key's 24 hours, the reference still finds the cart's order.
    if (e instanceof ConflictError && e.existingOrderId) return payin.orders.get(e.existingOrderId);
    throw e;
  }
}

async function route(req, res, body) {
  if (req.method === 'POST' && req.url === '/checkout') {
    let order;
    try {
      order = await checkout(JSON.parse(body.toString('utf8') || '{}'));
    } catch (e) {
      if (!(e instanceof PayInError)) throw e;
      // 503 NO_AVAILABLE_ADDRESSES: the pool is empty; anything else is the cart's fault.
      const status = e instanceof ServiceUnavailableError ? 503 : 400;
      return answer(res, status, { code: e.code, message: e.message, field: e.field });
    }
    const { orderReference, orderId, paymentUrl, address, amount, currency, chainId } = order;
    orders.set(orderReference, { orderReference, orderId, status: 'awaiting payment' });
    return answer(res, 201, { orderReference, orderId, paymentUrl, address, amount, currency, chainId });
  }
  if (req.method === 'POST' && req.url === '/webhooks/payin') {
    let event;
    try {
      event = webhook.verify(body, req.headers); // these exact bytes, before any JSON parsing
    } catch (e) {
      if (!(e instanceof WebhookVerificationError)) throw e;
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
  const endpoint = await payin.webhooks.create({
    url: `${publicUrl}/webhooks/payin`,
    events: ['order.completed', 'order.expired'],
    description: 'node-package-shop example',
  });
  webhook = new Webhook(endpoint.secret);
  console.log(`shop listening on ${publicUrl} (webhook endpoint ${endpoint.id})`);
});
