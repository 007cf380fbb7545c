#!/usr/bin/env node
// A payment link's checkout page in a real browser: Debian's Chromium driven by playwright-core.
//
//   node tests/pages/checkout.mjs --payin target/debug/payin [--screenshot DIR]
//
// Starts its own `payin dev` sandbox, creates a payment link on the local chain with an
// inventory of 1 and publishes it, then as a shopper: opens its checkoutUrl, picks a currency,
// continues and lands on the new order's payment page (the order carries paymentLinkId); pays
// it on the local chain; opens the link again and sees it sold out (409), and no order was
// opened by that visit. The page runs under its strict Content Security Policy (no script at
// all): any console error fails the test. Chinese by Accept-Language at 360 px. Exits 0 when
// everything passed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { api, arg, check, chromiumPath } from '../support/pages.mjs';
import { startSandbox } from '../support/sandbox.mjs';

const PAYIN = arg('--payin', 'target/debug/payin');
const SCREENSHOTS = arg('--screenshot', null);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'payin-checkout-page-'));
  const sandbox = await startSandbox(PAYIN, dir);
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const problems = [];
  const external = [];
  // Chromium logs a page answered with 4xx as a failed resource: expected for the sold-out page
  // (409) and a refused amount (400); anything else in the console is a problem.
  const expected = (text) => /Failed to load resource: the server responded with a status of (409|400)/.test(text);
  try {
    const chains = await api(sandbox, 'GET', '/chains');
    const local = chains.chains.find((c) => c.chainId === "local");
    const tokens = local.tokens.filter((t) => t.contract).map((t) => t.currency);
    const currencies = [...new Set(tokens)].slice(0, 2).map((currency) => ({ currency, chainId: 'local' }));
    check(currencies.length >= 1, `the local chain offers ${currencies.map((c) => c.currency).join(', ')}`, local);
    const link = await api(sandbox, 'POST', '/payment-links', {
      title: 'Handmade mug', description: 'Ceramic, 350 ml', amount: '7.50', currencies, inventoryTotal: 1,
    });
    await api(sandbox, 'POST', `/payment-links/${link.id}/publish`);
    console.log(`link ${link.id} → ${link.checkoutUrl}`);

    const page = await browser.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (req) => { if (!req.url().startsWith(sandbox.rootUrl)) external.push(req.url()); });
    const resp = await page.goto(link.checkoutUrl);
    check(resp.status() === 200, 'the checkoutUrl opens (200)', resp.status());
    check((await page.textContent('h1')) === 'Handmade mug', 'it shows the title');
    check((await page.textContent('#price')).includes('7.50'), 'and the price');
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'checkout.png'), fullPage: true });

    // Pick the last currency offered and continue.
    const pick = currencies.length - 1;
    await page.check(`input[name="option"][value="${pick}"]`);
    await Promise.all([page.waitForURL(/\/pay\/ord_/), page.click('#pay')]);
    const orderId = new URL(page.url()).pathname.split('/').pop();
    check(orderId.startsWith('ord_'), `continuing lands on the new order's payment page (${page.url()})`);
    const amount = (await page.textContent('#amount')).trim();
    check(amount === `7.50 ${currencies[pick].currency}`, `which asks for 7.50 ${currencies[pick].currency}`, amount);
    const order = await api(sandbox, 'GET', `/orders/${orderId}`);
    check(order.paymentLinkId === link.id, 'the order carries paymentLinkId', order);

    // Paid: the unit is sold.
    await api(sandbox, 'POST', '/dev/simulate-payment', { orderId });
    await page.waitForFunction(() => document.getElementById('status').textContent.includes('Payment received'),
      null, { timeout: 20_000 });
    check(true, 'the order completes on the payment page');
    const after = await api(sandbox, 'GET', `/payment-links/${link.id}`);
    check(after.inventorySold === 1 && after.inventoryRemaining === 0, 'the link counts one unit sold', after);

    const again = await browser.newPage();
    again.on('console', (msg) => { if (msg.type() === 'error' && !expected(msg.text())) problems.push(`console (again): ${msg.text()}`); });
    const soldOut = await again.goto(link.checkoutUrl);
    check(soldOut.status() === 409, 'the link, opened again, answers 409', soldOut.status());
    check((await again.textContent('h1')) === 'Sold out', 'and shows "Sold out"');
    check((await again.locator('form').count()) === 0, 'with no form to buy');
    if (SCREENSHOTS) await again.screenshot({ path: join(SCREENSHOTS, 'checkout-sold-out.png'), fullPage: true });
    const orders = await api(sandbox, 'GET', '/orders');
    check(orders.orders.filter((o) => o.paymentLinkId === link.id).length === 1, 'one order was opened from the link');

    // Chinese by Accept-Language, at 360 px.
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN,zh;q=0.9' } });
    const zh = await phone.newPage();
    zh.on('console', (msg) => { if (msg.type() === 'error' && !expected(msg.text())) problems.push(`console (zh): ${msg.text()}`); });
    zh.on('request', (req) => { if (!req.url().startsWith(sandbox.rootUrl)) external.push(req.url()); });
    const open = await api(sandbox, 'POST', '/payment-links', {
      title: '打赏', amount: '0', minAmount: '1', maxAmount: '100', currencies,
    });
    await api(sandbox, 'POST', `/payment-links/${open.id}/publish`);
    await zh.goto(open.checkoutUrl);
    check((await zh.getAttribute('html', 'lang')) === 'zh-CN', 'Accept-Language zh-CN gives the Chinese page');
    check((await zh.textContent('#pay')).includes('前往付款'), 'its button is in Chinese');
    const overflow = await zh.evaluate(() => document.documentElement.scrollWidth);
    check(overflow <= 360, `nothing is wider than a 360 px screen (${overflow} px)`, overflow);
    await zh.fill('#amount', '500');
    await zh.click('#pay');
    await zh.waitForSelector('#error');
    check((await zh.textContent('#error')).includes('100'), 'an amount above the maximum is refused on the page, in Chinese');
    if (SCREENSHOTS) await zh.screenshot({ path: join(SCREENSHOTS, 'checkout-zh-360.png'), fullPage: true });
    await zh.fill('#amount', '12.5');
    await Promise.all([zh.waitForURL(/\/pay\/ord_/), zh.click('#pay')]);
    check(true, 'a chosen amount in range opens its order');
    await phone.close();

    check(problems.length === 0, 'no console errors or CSP violations on the way', problems);
    check(external.length === 0, 'no request left the server', external);
  } finally {
    await browser.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => { console.log('PASSED'); process.exit(0); },
  (e) => { console.error(`FAILED: ${e.stack ?? e}`); process.exit(1); },
);
