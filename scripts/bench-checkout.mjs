#!/usr/bin/env node
// Issue 12 figure: the payment link page (/checkout/{slug}) — time per render as the client
// sees it on 127.0.0.1 (p50/p99 over N requests at C concurrent viewers) and its weight in
// bytes (the whole page: markup and style inline, no script, no other request).
//
//   node scripts/bench-checkout.mjs --payin target/release/payin [--requests 4000] [--concurrency 50]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startSandbox } from '../tests/support/sandbox.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const PAYIN = arg('--payin', 'target/release/payin');
const N = Number(arg('--requests', '4000'));
const C = Number(arg('--concurrency', '50'));

async function api(sandbox, method, path, body) {
  const resp = await fetch(`${sandbox.rootUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json();
  if (!json.success) throw new Error(`${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json.data;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'payin-bench-checkout-'));
  const sandbox = await startSandbox(PAYIN, dir);
  try {
    const link = await api(sandbox, 'POST', '/payment-links', {
      title: 'Web Design Services - Invoice #2025-001', description: 'Logo design + 5 landing pages',
      amount: '2500', currencies: [{ currency: 'USDT', chainId: 'local' }, { currency: 'USDC', chainId: 'local' }],
      inventoryTotal: 100,
    });
    await api(sandbox, 'POST', `/payment-links/${link.id}/publish`);
    for (const [name, headers] of [['en', {}], ['zh-CN', { 'accept-language': 'zh-CN' }]]) {
      const body = Buffer.from(await (await fetch(link.checkoutUrl, { headers })).arrayBuffer());
      console.log(`page weight (${name}): ${body.length} bytes`);
    }
    for (let i = 0; i < 200; i++) await (await fetch(link.checkoutUrl)).arrayBuffer(); // warm up
    const times = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        const t0 = performance.now();
        const resp = await fetch(link.checkoutUrl);
        await resp.arrayBuffer();
        if (resp.status !== 200) throw new Error(`status ${resp.status}`);
        times.push(performance.now() - t0);
      }
    }));
    const wall = (performance.now() - started) / 1000;
    times.sort((a, b) => a - b);
    console.log(`renders: ${times.length} at ${C} concurrent viewers in ${wall.toFixed(2)} s = ${(times.length / wall).toFixed(0)}/s`);
    console.log(`time per render: p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms`);
  } finally {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
