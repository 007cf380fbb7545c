#!/usr/bin/env node
// The hosted payment page when nobody pays: Debian's Chromium driven by playwright-core.
//
//   node tests/pages/expiry.mjs --payin target/debug/payin [--screenshot DIR]
//
// Starts its own `payin dev` sandbox and a stand-in shop (the cancelUrl), creates an order with a
// one-minute window and no grace period (so it expires when its window ends), opens its
// paymentUrl and checks, as a payer sees it: the countdown runs down from the server's clock to
// 0:00 and says time is up; once a block after the window is mined and scanned, the gateway
// expires the order and the page says so without a reload and sends the
// browser back to the shop's cancelUrl with status=expired; reopened later, the page is the
// expired page (no address to pay, no QR code). Exits 0 when everything passed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { api, arg, check, chromiumPath, startShop } from '../support/pages.mjs';
import { startSandbox } from '../support/sandbox.mjs';

const PAYIN = arg('--payin', 'target/debug/payin');
const SCREENSHOTS = arg('--screenshot', null);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'payin-expiry-page-'));
  writeFileSync(join(dir, 'payin.toml'), '');
  const sandbox = await startSandbox(PAYIN, dir, { PAYIN_CONFIG: join(dir, 'payin.toml') });
  const shop = await startShop('Your cart');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const problems = [];
  try {
    const reference = `EXPIRY-${Date.now()}`;
    const order = await api(sandbox, 'POST', '/orders', {
      orderReference: reference, amount: '3.00', currency: 'USDT', chainId: 'local',
      successUrl: `${shop.url}/thanks`, cancelUrl: `${shop.url}/cart`, paymentWindowMinutes: 1, graceMinutes: 0,
    });
    console.log(`order ${order.orderId} → ${order.paymentUrl} (expires ${order.expiresAt})`);

    const page = await browser.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    const resp = await page.goto(order.paymentUrl);
    check(resp.status() === 200, 'the paymentUrl opens (200)', resp.status());
    await page.waitForFunction(() => /Waiting for your payment — 0:[0-5]\d left/.test(document.getElementById('status').textContent));
    const first = (await page.textContent('#status')).trim();
    const firstLeft = Number(/0:(\d\d) left/.exec(first)[1]);
    check(firstLeft > 0 && firstLeft <= 60, `the countdown starts under a minute: "${first}"`, first);

    // The countdown ticks down each second without a reload.
    await page.waitForFunction((s) => {
      const m = /0:(\d\d) left/.exec(document.getElementById('status').textContent);
      return m && Number(m[1]) <= s - 2;
    }, firstLeft, { timeout: 10_000 });
    check(true, 'the countdown ticks down without a reload');

    // At the end of the window the status says time is up (the order stays open until its chain is
    // scanned past the end: a payment mined in time may still be found).
    const until = Date.parse(order.expiresAt) - Date.now();
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'late',
      null, { timeout: until + 10_000 });
    check(true, `at 0:00 the page says time is up: "${(await page.textContent('#status')).trim()}"`);
    const stillPending = await api(sandbox, 'GET', `/orders/${order.orderId}`);
    check(stillPending.status === 'pending', 'the order stays pending until the chain is scanned past its end', stillPending.status);

    // The dev chain mines a block only per transaction; a real chain keeps going. Once a block
    // after the window is scanned, the gateway expires the order; the page notices on its next
    // poll, says so and sends the payer back to the shop's cancelUrl.
    // Block times are whole seconds: mine once the chain's clock is surely past the window's end.
    const past = Date.parse(order.expiresAt) + 2_000 - Date.now();
    if (past > 0) await new Promise((r) => setTimeout(r, past));
    await api(sandbox, 'POST', '/dev/mine-blocks', { blocks: 1 });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'expired',
      null, { timeout: 30_000 });
    const expiredText = (await page.textContent('#status')).trim();
    check(expiredText.startsWith('This payment request has expired.'), `the page says the request expired: "${expiredText}"`, expiredText);
    check(!(await page.isVisible('#address')) && !(await page.isVisible('#qr')) && !(await page.isVisible('#copy-amount')), 'the address, QR code and copy buttons are no longer shown');
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'pay-expired.png'), fullPage: true });

    await page.waitForURL(`${shop.url}/cart?**`, { timeout: 15_000 });
    const back = new URL(page.url());
    check(back.searchParams.get('orderReference') === reference, 'back at the shop\'s cancelUrl with its orderReference', page.url());
    check(back.searchParams.get('status') === 'expired', 'with status expired', page.url());
    check(shop.visits.some((v) => v.startsWith('/cart?')), 'the shop saw the payer come back', shop.visits);
    const stored = await api(sandbox, 'GET', `/orders/${order.orderId}`);
    check(stored.status === 'expired', 'the order is expired in the API too', stored.status);

    // Opened again (a bookmarked link), the page is the expired page: nothing left to pay.
    const later = await browser.newPage();
    const again = await later.goto(order.paymentUrl);
    check(again.status() === 200, 'the expired order\'s page still opens (200)', again.status());
    check((await later.getAttribute('#status', 'data-state')) === 'expired', 'reopened, it shows the expired state', await later.textContent('#status'));
    check(!(await later.isVisible('#address')) && !(await later.isVisible('#qr')), 'with no address or QR code to pay');
    await later.close();

    check(problems.length === 0, 'no console errors or CSP violations on the way', problems);
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
