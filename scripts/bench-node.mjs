#!/usr/bin/env node
// Issue 10's Node figures: `getOrder` through the `payin` package against plain Node `fetch`
// (what a merchant would otherwise write), in one run against one local `payin serve`:
// sequential calls/s and p50/p99 latency, and throughput with 32 calls in flight.
//
//   cargo build --release && (cd bindings-node && npm run build)
//   node scripts/bench-node.mjs [--payin target/release/payin] [--calls 3000] [--concurrency 32] [--rounds 3]
//   node scripts/bench-node.mjs --base URL --key KEY --order ID --json [--calls …]
//       (against a running gateway, one JSON line of medians: how scripts/bench-clients.sh runs it)
//
// Each round runs both clients back to back (package first in odd rounds, fetch first in
// even ones) so drift on a shared machine hits both; the table shows every round and the
// median. Traffic goes to 127.0.0.1 only.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const PAYIN = arg('payin', join(ROOT, 'target/release/payin'));
const CALLS = Number(arg('calls', 3000));
const CONCURRENCY = Number(arg('concurrency', 32));
const ROUNDS = Number(arg('rounds', 3));
const WARMUP = 300;
const EXISTING = arg('base', null) && { baseUrl: arg('base'), apiKey: arg('key'), orderId: arg('order') };
const JSON_OUT = args.includes('--json');

const { PayIn } = await import(join(ROOT, 'bindings-node/dist/index.js'));

/** `payin serve` on a fresh SQLite database with one key, one address and one order. */
async function startGateway(dir) {
  const env = { ...process.env, PAYIN_DATABASE_URL: `sqlite://${join(dir, 'payin.db')}`, PAYIN_CONFIG: join(dir, 'payin.toml') };
  for (const k of ['PAYIN_LISTEN', 'PAYIN_API_KEY', 'PAYIN_BASE_URL', 'RUST_LOG']) delete env[k];
  // A watched chain is needed to create an order; its RPC URL is a local port where nothing
  // listens (the watcher's failed connects are the only other work the server does).
  // Rate limiting off: one key makes every call here, and its quota would turn them into 429s.
  writeFileSync(env.PAYIN_CONFIG, '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n[rate_limit]\nenabled = false\n');
  const apiKey = execFileSync(PAYIN, ['keys', 'create', '--name', 'bench'], { env, encoding: 'utf8' }).trim();
  const server = spawn(PAYIN, ['serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const baseUrl = await new Promise((resolve, reject) => {
    createInterface({ input: server.stderr }).on('line', (line) => {
      const m = line.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`payin serve exited (${code})`)));
  });
  const payin = new PayIn({ apiKey, baseUrl });
  await payin.pool.importAddresses({ protocol: 'evm', addresses: ['0x00000000000000000000000000000000000000b1'] });
  const order = await payin.orders.create({ orderReference: 'bench-1', amount: '10.00', currency: 'USDT', chainId: 'ethereum', paymentWindowMinutes: 10080 });
  return { server, baseUrl, apiKey, orderId: order.orderId };
}

/** The two ways to get an order: each resolves to the order object. */
function clients({ baseUrl, apiKey }) {
  const payin = new PayIn({ apiKey, baseUrl });
  const url = `${baseUrl}/api/v1/orders/`;
  const headers = { authorization: `Bearer ${apiKey}` };
  return {
    package: (id) => payin.orders.get(id),
    fetch: async (id) => {
      const response = await fetch(url + id, { headers });
      const body = await response.json();
      if (!body.success) throw new Error(body.message);
      return body.data;
    },
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function sequential(get, id) {
  for (let i = 0; i < WARMUP; i++) await get(id);
  const latencies = new Float64Array(CALLS);
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const order = await get(id);
    latencies[i] = performance.now() - t;
    if (order.orderId !== id) throw new Error('wrong order');
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return { perSecond: CALLS / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function concurrent(get, id) {
  const total = CALLS * 2;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      await get(id);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker)); // warm every connection
  next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return total / ((performance.now() - started) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 0) => n.toFixed(digits);

const dir = mkdtempSync(join(tmpdir(), 'payin-bench-node-'));
let gateway;
try {
  gateway = EXISTING || (await startGateway(dir));
  const ways = clients(gateway);
  const results = { package: [], fetch: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['package', 'fetch'] : ['fetch', 'package'];
    for (const name of order) {
      const seq = await sequential(ways[name], gateway.orderId);
      const conc = await concurrent(ways[name], gateway.orderId);
      results[name].push({ ...seq, concurrent: conc });
      console.error(`round ${round} ${name}: ${fmt(seq.perSecond)} calls/s sequential, p50 ${fmt(seq.p50 * 1000)} µs, p99 ${fmt(seq.p99 * 1000)} µs, ${fmt(conc)} calls/s at ${CONCURRENCY} in flight`);
    }
  }
  if (JSON_OUT) {
    const medians = (rs) => ({
      calls_per_s: median(rs.map((r) => r.perSecond)),
      p50_ms: median(rs.map((r) => r.p50)),
      p99_ms: median(rs.map((r) => r.p99)),
      concurrent_calls_per_s: median(rs.map((r) => r.concurrent)),
    });
    console.log(JSON.stringify({ node: process.version, package: medians(results.package), fetch: medians(results.fetch) }));
    rmSync(dir, { recursive: true, force: true });
    process.exit(0); // the package's client keeps its connections open
  }
  console.log(`\n${CALLS} sequential getOrder calls (after ${WARMUP} to warm up), then ${CALLS * 2} with ${CONCURRENCY} in flight, ${ROUNDS} rounds; Node ${process.version}\n`);
  console.log('| client | sequential calls/s | p50 | p99 | calls/s, 32 in flight |');
  console.log('|---|---|---|---|---|');
  for (const name of ['package', 'fetch']) {
    const rs = results[name];
    const label = name === 'package' ? '`payin` package (`payin.orders.get`)' : 'Node `fetch` + `response.json()`';
    console.log(
      `| ${label} | ${fmt(median(rs.map((r) => r.perSecond)))} | ${fmt(median(rs.map((r) => r.p50)) * 1000)} µs | ${fmt(median(rs.map((r) => r.p99)) * 1000)} µs | ${fmt(median(rs.map((r) => r.concurrent)))} |`,
    );
  }
} finally {
  gateway?.server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
