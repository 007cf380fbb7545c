// What the package's tests share: the gateway the Rust test started (tests/node_package.rs
// passes PAYIN_BASE_URL, PAYIN_API_KEY and PAYIN_BIN), unique names, waiting, and small real
// servers on 127.0.0.1 — a webhook receiver, a forwarding proxy that can drop an answer, and
// scripted test doubles for the answers `payin dev` never gives (429, 500, silence).

import { createHash, randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import { once } from 'node:events';

import { PayIn } from '../dist/index.js';

export const BASE_URL = required('PAYIN_BASE_URL');
export const API_KEY = required('PAYIN_API_KEY');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through tests/node_package.rs (cargo nextest run --test node_package)`);
  return value;
}

/** A client of the test gateway (options override). */
export function client(options = {}) {
  return new PayIn({ apiKey: API_KEY, baseUrl: BASE_URL, ...options });
}

/** A name no other test uses. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Polls `check` until it returns a truthy value (which is returned), or fails after `ms`. */
export async function waitFor(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An order on the dev chain. */
export function orderParams(overrides = {}) {
  return { orderReference: unique('node'), amount: '10.00', currency: 'USDT', chainId: 'local', ...overrides };
}

/** An HTTP server on 127.0.0.1:0 answering with `handler(req, body, res)`. */
export async function serve(handler) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    server,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** A webhook receiver: keeps every request's raw body and headers, answers 204. */
export async function receiver() {
  const received = [];
  const s = await serve((req, body, res) => {
    received.push({ body, headers: req.headers });
    res.writeHead(204).end();
  });
  return { ...s, received };
}

/**
 * A forwarding proxy to the gateway. `drop(n, req)` decides, for the n-th request (from 1),
 * to forward it and then cut the connection instead of answering — the answer is lost on
 * the way back, as on a flaky network.
 */
export async function proxy(upstream, drop = () => false) {
  const seen = [];
  const s = await serve((req, body, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    const n = seen.length;
    const target = new URL(req.url, upstream);
    const forward = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      const chunks = [];
      up.on('data', (c) => chunks.push(c));
      up.on('end', () => {
        if (drop(n, req)) {
          res.socket.destroy();
          return;
        }
        res.writeHead(up.statusCode, up.headers).end(Buffer.concat(chunks));
      });
    });
    forward.end(body);
  });
  return { ...s, seen };
}

/** A Tron address (base58check of 0x41 + 20 bytes), different on every call. */
export function tronAddress() {
  const payload = Buffer.concat([Buffer.from([0x41]), randomBytes(20)]);
  const sha = (b) => createHash('sha256').update(b).digest();
  const bytes = Buffer.concat([payload, sha(sha(payload)).subarray(0, 4)]);
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out;
    n /= 58n;
  }
  return out;
}
