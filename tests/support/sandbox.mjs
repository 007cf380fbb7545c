// `payin dev` as the repository's JavaScript test programs start it (tests/mcp/client.mjs,
// tests/pages/pay.mjs): a sandbox on a database in a directory of the caller's, stopped with
// SIGTERM.

import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ANVIL_DEFAULT = fileURLToPath(new URL('../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil', import.meta.url));

/** Environment for payin: none of the caller's PAYIN_* / RUST_LOG, the dev settings. */
export function payinEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PAYIN_') && k !== 'RUST_LOG') env[k] = v;
  }
  return { ...env, PAYIN_ANVIL: process.env.PAYIN_ANVIL || ANVIL_DEFAULT, PAYIN_TICK_MS: '100', ...extra };
}

/** `payin dev` in a temporary directory; resolves once it printed its API URL and key. */
export async function startSandbox(payin, dir, extraEnv = {}) {
  const dbUrl = `sqlite://${join(dir, 'payin.db')}`;
  const stderrPath = join(dir, 'dev.stderr.log');
  const child = spawn(payin, ['--database-url', dbUrl, 'dev', '--listen', '127.0.0.1:0'], {
    env: payinEnv(extraEnv),
    stdio: ['ignore', 'pipe', openSync(stderrPath, 'w')],
  });
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const banner = { apiUrl: '', apiKey: '' };
  const rl = createInterface({ input: child.stdout });
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`payin dev printed no API URL/key within 120 s`)), 120_000);
    rl.on('line', (line) => {
      let m = line.match(/^\s*API URL:\s+(\S+)/);
      if (m) banner.apiUrl = m[1];
      m = line.match(/^\s*API key:\s+(\S+)/);
      if (m) banner.apiKey = m[1];
      if (banner.apiUrl && banner.apiKey) {
        clearTimeout(timer);
        res();
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`payin dev exited (${code ?? signal}) before its banner:\n${tail(stderrPath)}`));
    });
  });
  // keep draining stdout so the sandbox never blocks on a full pipe
  rl.on('line', () => {});
  const rootUrl = banner.apiUrl.replace(/\/api\/v1\/?$/, '').replace(/\/$/, '');
  return {
    child,
    dbUrl,
    rootUrl,
    apiKey: banner.apiKey,
    stderrPath,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timeout = new Promise((res) => setTimeout(() => res(null), 20_000));
      const result = await Promise.race([exited, timeout]);
      if (result === null) {
        console.log(`  (payin dev pid ${child.pid} ignored SIGTERM for 20 s; killing it)`);
        child.kill('SIGKILL');
        return exited;
      }
      return result;
    },
  };
}

export function tail(path, n = 30) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
