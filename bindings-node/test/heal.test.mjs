// A 503 that heals, on a gateway of its own (`payin serve` on a fresh database whose pool is
// empty): a create is 503 NO_AVAILABLE_ADDRESSES; importing addresses heals it, even for a
// create already retrying (503 answers are not kept under the Idempotency-Key, so the retry
// runs afresh).

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { PayIn, ServiceUnavailableError } from '../dist/index.js';
import { unique } from './helpers.mjs';

const BIN = process.env.PAYIN_BIN;
let dir;
let server;
let payin;

/** `payin serve` watching chain ethereum through a local port where nothing answers. */
before(async () => {
  assert.ok(BIN, 'PAYIN_BIN (the payin binary) is set by tests/node_package.rs');
  dir = mkdtempSync(join(tmpdir(), 'payin-heal-'));
  const env = { ...process.env, PAYIN_DATABASE_URL: `sqlite://${join(dir, 'payin.db')}`, PAYIN_CONFIG: join(dir, 'payin.toml') };
  for (const k of ['PAYIN_LISTEN', 'PAYIN_API_KEY', 'PAYIN_BASE_URL', 'RUST_LOG']) delete env[k];
  writeFileSync(env.PAYIN_CONFIG, '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n');
  const apiKey = execFileSync(BIN, ['keys', 'create', '--name', 'heal'], { env, encoding: 'utf8' }).trim();
  server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('payin serve did not start within 30 s')), 30_000);
    createInterface({ input: server.stderr }).on('line', (line) => {
      const m = line.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`payin serve exited (${code})`)));
  });
  payin = new PayIn({ apiKey, baseUrl });
});

after(() => {
  server?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const evmAddress = () => `0x${randomBytes(20).toString('hex')}`;
const order = () => ({ orderReference: unique('heal'), amount: '3.00', currency: 'USDT', chainId: 'ethereum' });

test('an empty pool is ServiceUnavailableError NO_AVAILABLE_ADDRESSES; importing addresses heals it', async () => {
  assert.equal((await payin.pool.status()).find((p) => p.protocol === 'evm').available, 0);
  await assert.rejects(payin.orders.create(order(), { maxRetries: 0 }), (e) => {
    assert.ok(e instanceof ServiceUnavailableError, String(e));
    assert.equal(e.code, 'NO_AVAILABLE_ADDRESSES');
    assert.equal(e.statusCode, 503);
    assert.match(e.message, /evm/);
    return true;
  });
  const address = evmAddress();
  assert.equal((await payin.pool.importAddresses({ protocol: 'evm', addresses: [address] })).imported, 1);
  const created = await payin.orders.create(order(), { maxRetries: 0 });
  assert.equal(created.address.toLowerCase(), address);
});

test('a create retrying through 503s succeeds once the pool is refilled meanwhile', async () => {
  assert.equal((await payin.pool.status()).find((p) => p.protocol === 'evm').available, 0);
  const params = order();
  const started = Date.now();
  const creating = payin.orders.create(params, { maxRetries: 8 });
  await new Promise((r) => setTimeout(r, 400));
  await payin.pool.importAddresses({ protocol: 'evm', addresses: [evmAddress()] });
  const created = await creating;
  assert.equal(created.orderReference, params.orderReference);
  assert.ok(Date.now() - started >= 400, 'it was refused at first');
  assert.equal((await payin.orders.list({ orderReference: params.orderReference })).pagination.total, 1);
});
