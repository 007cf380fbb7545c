// The README's Node quickstart, run as written: the install line in a directory beside
// `bindings-node/` (as in a PayIn checkout), then `order.mjs` and `webhook.mjs` exactly as
// printed, against the test gateway; the order is paid on the local chain and the receiver
// verifies the signed order.completed.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { API_KEY, BASE_URL, client, waitFor } from './helpers.mjs';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The fenced code blocks of the README's `## Node` section: [{ lang, code }]. */
function nodeSection() {
  const start = README.indexOf('\n## Node');
  assert.ok(start >= 0, 'the README has a ## Node section');
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
}

async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

test('the README Node quickstart runs as written: install, create an order, verify its webhook', async () => {
  const blocks = nodeSection();
  const install = blocks.find((b) => b.lang === 'sh' && b.code.includes('npm install ../bindings-node'));
  const orderJs = blocks.find((b) => b.lang === 'js' && b.code.startsWith('// order.mjs'));
  const webhookJs = blocks.find((b) => b.lang === 'js' && b.code.startsWith('// webhook.mjs'));
  assert.ok(install && orderJs && webhookJs, 'the install line, order.mjs and webhook.mjs');

  // A directory like the checkout's root: bindings-node/ (this package, built) and the app.
  const root = mkdtempSync(join(tmpdir(), 'payin-readme-'));
  const env = { ...process.env, PAYIN_BASE_URL: BASE_URL, PAYIN_API_KEY: API_KEY };
  let receiver;
  try {
    symlinkSync(PACKAGE, join(root, 'bindings-node'), 'dir');
    execFileSync('bash', ['-euo', 'pipefail', '-c', install.code], { cwd: root, env, stdio: 'pipe' });
    const app = join(root, 'my-shop');
    writeFileSync(join(app, 'order.mjs'), orderJs.code);
    writeFileSync(join(app, 'webhook.mjs'), webhookJs.code);

    // Register the receiver (as the README says, once) and start it with the secret.
    const port = await freePort();
    const endpoint = await client().webhooks.create({ url: `http://127.0.0.1:${port}/`, events: ['order.completed'] });
    receiver = spawn(process.execPath, ['webhook.mjs'], {
      cwd: app,
      env: { ...env, PORT: String(port), PAYIN_WEBHOOK_SECRET: endpoint.secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const printed = [];
    createInterface({ input: receiver.stdout }).on('line', (l) => printed.push(l));

    const out = execFileSync(process.execPath, ['order.mjs'], { cwd: app, env, encoding: 'utf8' });
    const [orderId, address, paymentUrl] = out.trim().split(/\s+/);
    assert.match(orderId, /^ord_/, out);
    assert.match(address, /^0x[0-9a-fA-F]{40}$/, out);
    assert.ok(paymentUrl.startsWith(`${BASE_URL}/pay/${orderId}`), out);

    const payin = client();
    await payin.dev.simulatePayment({ orderId });
    await payin.dev.mineBlocks({ blocks: 3 });
    const line = await waitFor('the receiver to verify order.completed', () => printed.find((l) => l.includes(orderId)));
    assert.equal(line, `verified order.completed ${orderId}`);
    await payin.webhooks.delete(endpoint.id);
  } finally {
    receiver?.kill();
    rmSync(root, { recursive: true, force: true });
  }
});
