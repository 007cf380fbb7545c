#!/usr/bin/env node
// The hosted payment page in a real browser: Debian's Chromium driven by playwright-core.
//
//   node tests/pages/pay.mjs --payin target/debug/payin [--screenshot DIR]
//
// Starts its own `payin dev` sandbox and a stand-in shop (the successUrl), creates an order on
// the local chain, opens its paymentUrl and checks, as a payer sees it: what to send and where;
// a partial payment shown as received so far; the rest paid → "Payment received" and the browser
// sent back to the shop with the outcome in the query. The page runs under its strict Content
// Security Policy: any violation (or script error) in the console fails the test. It also
// decodes the page's QR code from a screenshot and compares it with the EIP-681 URI a wallet
// needs, opens the page in Chinese (Accept-Language) and switches it to English, checks it fits a
// 360 px screen, and that the countdown follows the server's clock on a phone whose clock is off.
// Exits 0 when everything passed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import jsQR from 'jsqr';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

import { api, arg, check, chromiumPath, startShop } from '../support/pages.mjs';
import { startSandbox } from '../support/sandbox.mjs';

const PAYIN = arg('--payin', 'target/debug/payin');
const SCREENSHOTS = arg('--screenshot', null);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'payin-pay-page-'));
  // Three confirmations on the dev chain (it mines a block per transaction): a payment is first
  // "detected", and counts once two more blocks are mined.
  writeFileSync(join(dir, 'payin.toml'), '[chains.local]\nconfirmations = 3\n');
  const sandbox = await startSandbox(PAYIN, dir, { PAYIN_CONFIG: join(dir, 'payin.toml') });
  const shop = await startShop('Thanks for your order');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const problems = [];
  try {
    const reference = `PAGE-${Date.now()}`;
    const order = await api(sandbox, 'POST', '/orders', {
      orderReference: reference, amount: '10.00', currency: 'USDT', chainId: 'local',
      successUrl: `${shop.url}/thanks`, cancelUrl: `${shop.url}/cart`, paymentWindowMinutes: 30,
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

    // The QR code, read from pixels as a phone's camera would.
    const shown = (await (await fetch(`${sandbox.rootUrl}/pay/${order.orderId}/status`)).json()).data;
    const expectedUri = `ethereum:${shown.tokenContract}@31337/transfer?address=${order.address}&uint256=10000000`;
    const png = PNG.sync.read(await page.locator('#qr svg').screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    check(decoded && decoded.data === expectedUri, `the QR code decodes to the EIP-681 transfer (${expectedUri})`, decoded && decoded.data);
    const copyAmount = await page.getAttribute('#copy-amount', 'data-copy');
    check(copyAmount === '10.00', 'the amount has its own copy button', copyAmount);

    // Chinese by Accept-Language, on a 360 px phone; the switch goes to English.
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.5' } });
    const zh = await phone.newPage();
    zh.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console (zh): ${msg.text()}`); });
    await zh.goto(order.paymentUrl);
    check((await zh.getAttribute('html', 'lang')) === 'zh-CN', 'Accept-Language zh-CN gives the Chinese page');
    await zh.waitForFunction(() => /等待付款 — 剩余 \d+:\d\d/.test(document.getElementById('status').textContent));
    check((await zh.textContent('h1')).startsWith('付款请求'), 'its heading and countdown are in Chinese');
    const overflow = await zh.evaluate(() => document.documentElement.scrollWidth);
    check(overflow <= 360, `nothing is wider than a 360 px screen (${overflow} px)`, overflow);
    if (SCREENSHOTS) await zh.screenshot({ path: join(SCREENSHOTS, 'pay-pending-zh-360.png'), fullPage: true });
    await zh.click('nav a[lang="en"]');
    await zh.waitForFunction(() => document.documentElement.lang === 'en');
    check((await zh.textContent('h1')).startsWith('Payment request'), 'the switch shows the page in English');
    await phone.close();

    // A phone whose clock is two hours fast still counts down the order's window, by the server's clock.
    const skewed = await browser.newPage();
    await skewed.clock.install({ time: new Date(Date.now() + 2 * 3600 * 1000) });
    await skewed.goto(order.paymentUrl);
    await skewed.waitForFunction(() => /— \d+:\d\d left/.test(document.getElementById('status').textContent), null, { polling: 100 });
    const skewedText = await skewed.textContent('#status');
    const minutesLeft = Number(/— (\d+):\d\d left/.exec(skewedText)[1]);
    check(minutesLeft >= 25 && minutesLeft <= 30, `a phone clock 2 h fast still shows ${minutesLeft} minutes left`, skewedText);
    await skewed.close();

    await api(sandbox, 'POST', '/dev/simulate-payment', { orderId: order.orderId, scenario: 'partial' });
    await page.waitForFunction(() => /Payment of 5(\.0+)? USDT detected — 1 of 3 confirmations/.test(document.getElementById('status').textContent),
      null, { timeout: 15_000 });
    check(true, `a payment seen on chain shows as detected with its confirmations: "${(await page.textContent('#status')).trim()}"`);
    check((await page.getAttribute('#status', 'data-state')) === 'detected', 'in the detected style');
    await api(sandbox, 'POST', '/dev/mine-blocks', { blocks: 2 });
    await page.waitForFunction(() => document.getElementById('received').textContent.includes('Received so far: 5'),
      null, { timeout: 15_000 });
    check(true, `a partial payment shows as received so far: "${(await page.textContent('#received')).trim()}"`);

    const rest = await api(sandbox, 'POST', '/dev/simulate-payment', { orderId: order.orderId, amount: '5' });
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'detected', null, { timeout: 15_000 });
    await api(sandbox, 'POST', '/dev/mine-blocks', { blocks: 2 });
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
