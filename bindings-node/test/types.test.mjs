// The declarations type-check a merchant's code with `tsc --strict` (test/types/usage.ts)
// and catch the usual mistakes (test/types/bad-usage.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const dir = fileURLToPath(new URL('./types/', import.meta.url));

function typecheck(...args) {
  return spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
}

test('a typed usage file passes tsc --strict', () => {
  const out = typecheck('-p', 'tsconfig.json', '--strict');
  assert.equal(out.status, 0, `${out.stdout}${out.stderr}`);
});

test('wrong types are reported by tsc --strict, one per mistake', () => {
  const out = typecheck('-p', 'tsconfig.bad.json', '--strict', '--pretty', 'false');
  assert.notEqual(out.status, 0);
  const errors = out.stdout.split('\n').filter((l) => l.startsWith('bad-usage.ts'));
  const lines = new Set(errors.map((l) => Number(l.match(/^bad-usage\.ts\((\d+),/)[1])));
  // The five lines of mistakes in bad-usage.ts, each reported.
  assert.deepEqual([...lines].sort((a, b) => a - b), [9, 10, 11, 13, 14], out.stdout);
});
