// What the browser test programs (tests/pages/*.mjs) share: their command line, Debian's
// Chromium, the check printer, the REST calls against their sandbox and a stand-in shop.

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';

/** `--name value` from the command line, else `fallback`. */
export function arg(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Debian's chromium on PATH. */
export function chromiumPath() {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error('Debian chromium not found on PATH (apt-get install chromium)');
}

/** Fails the program with what was observed, or prints the passed check. */
export function check(cond, what, detail) {
  if (!cond) throw new Error(`${what}${detail === undefined ? '' : ` -- observed: ${JSON.stringify(detail)}`}`);
  console.log(`  ok   ${what}`);
}

/** A REST call with the sandbox's API key; its `data`, or an error with the answer. */
export async function api(sandbox, method, path, body) {
  const resp = await fetch(`${sandbox.rootUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json();
  if (!json.success) throw new Error(`${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json.data;
}

/** The shop a payer returns to, answering a page headed `heading`: records every request. */
export function startShop(heading) {
  const visits = [];
  const server = createServer((req, res) => {
    visits.push(req.url);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Shop</title><h1>${heading}</h1>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, visits, close: () => server.close() });
  }));
}
