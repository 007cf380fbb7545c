#!/usr/bin/env node
// The hosted payment page in a real browser: Debian's Chromium driven by playwright-core.
//
//   node tests/pages/pay.mjs --payin target/debug/payin [--screenshot DIR]
//
// Starts its own `payin dev` sandbox and a stand-in shop (the successUrl), creates an order on
// the local chain, opens its paymentUrl and checks, as a payer sees it: what to send and where;
// a partial payment shown as received so far; the rest paid → "Payment received" and the browser
// sent back to the shop with the outcome in the query. The page runs under its strict Content
// Security Policy: any violation (or script error) in the console fails the test.
// Exits 0 when everything passed.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { startSandbox } from '../support/sandbox.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const PAYIN = arg('--payin', 'target/debug/payin');
const SCREENSHOTS = arg('--screenshot', null);

function chromiumPath() {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error('Debian chromium not found on PATH (apt-get install chromium)');
}

function check(cond, what, detail) {
  if (!cond) throw new Error(`${what}${detail === undefined ? '' : ` -- observed: ${JSON.stringify(detail)}`}`);
  console.log(`  ok   ${what}`);
}

/** The shop the payer returns to: records every request it gets. */
function startShop() {
  const visits = [];
  const server = createServer((req, res) => {
    visits.push(req.url);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Shop</title><h1>Thanks for your order</h1>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, visits, close: () => server.close() });
  }));
}

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

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'payin-pay-page-'));
  const sandbox = await startSandbox(PAYIN, dir);
  const shop = await startShop();
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const problems = [];
  try {
    const reference = `PAGE-${Date.now()}`;
    const order = await api(sandbox, 'POST', '/orders', {
      orderReference: reference, amount: '10.00', currency: 'USDT', chainId: 'local',
      successUrl: `${shop.url}/thanks`, cancelUrl: `${shop.url}/cart`,
    });
    console.log(`order ${order.orderId} → ${order.paymentUrl}`);

    const page = await browser.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    const resp = await page.goto(order.paymentUrl);
    check(resp.status() === 200, 'the paymentUrl opens (200)', resp.status());

    const amount = await page.textContent('#amount');
    check(amount.trim() === '10.00 USDT', `the page asks for 10.00 USDT (${amount.trim()})`, amount);
    const address = await page.textContent('#address');
    check(address.trim() === order.address, 'the page shows the order\'s address', address);
    await page.waitForFunction(() => /Waiting for your payment — \d+:\d\d left/.test(document.getElementById('status').textContent));
    check(true, 'the status counts down the payment window');
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'pay-pending.png'), fullPage: true });

    await api(sandbox, 'POST', '/dev/simulate-payment', { orderId: order.orderId, scenario: 'partial' });
    await page.waitForFunction(() => document.getElementById('received').textContent.includes('Received so far: 5'),
      null, { timeout: 15_000 });
    check(true, `a partial payment shows as received so far: "${(await page.textContent('#received')).trim()}"`);

    const rest = await api(sandbox, 'POST', '/dev/simulate-payment', { orderId: order.orderId, amount: '5' });
    await page.waitForFunction(() => document.getElementById('status').textContent.includes('Payment received'),
      null, { timeout: 15_000 });
    check(true, 'the page says "Payment received" once the order completes');
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'pay-completed.png'), fullPage: true });

    await page.waitForURL(`${shop.url}/thanks?**`, { timeout: 15_000 });
    const back = new URL(page.url());
    check(back.searchParams.get('orderReference') === reference, 'back at the shop with its orderReference', page.url());
    check(back.searchParams.get('status') === 'completed', 'with status completed', page.url());
    check(back.searchParams.get('txHash') === rest.txHash, 'with the completing transaction', page.url());
    check(shop.visits.some((v) => v.startsWith('/thanks?')), 'the shop saw the payer come back', shop.visits);

    check(problems.length === 0, 'no console errors or CSP violations on the way', problems);

    const missing = await page.goto(`${sandbox.rootUrl}/pay/ord_doesnotexist`);
    check(missing.status() === 404 && (await page.textContent('h1')) === 'Payment not found',
      'an unknown payment link is a "Payment not found" page (404)');
  } finally {
    await browser.close();
    shop.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => { console.log('PASSED'); process.exit(0); },
  (e) => { console.error(`FAILED: ${e.stack ?? e}`); process.exit(1); },
);
