#!/usr/bin/env node
// PayIn's MCP server through the official TypeScript SDK (@modelcontextprotocol/sdk), over stdio
// in REMOTE mode: `payin mcp --api-url http://127.0.0.1:PORT` with PAYIN_API_KEY, against a
// `payin dev` sandbox this script starts in a temporary directory.
//
// Usage: node tests/mcp/client.mjs --payin target/debug/payin
//
// Checks: 32 tools, 4 resources, 4 prompts; create_order on chain "local" → simulate_payment →
// get_order polled to completed; create_order with a numeric amount → isError INVALID_AMOUNT.
// Exits 0 when everything passed, 1 with a message on the first failure.

import { mkdtempSync, rmSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { startSandbox, tail } from '../support/sandbox.mjs';

const CALL_TIMEOUT_MS = 60_000;
const POLL_TIMEOUT_MS = 30_000;

function parseArgs(argv) {
  const out = { payin: 'target/debug/payin' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--payin') out.payin = argv[++i];
    else if (argv[i].startsWith('--payin=')) out.payin = argv[i].slice('--payin='.length);
    else if (argv[i] === '-h' || argv[i] === '--help') {
      console.log('usage: node tests/mcp/client.mjs --payin BIN');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  out.payin = resolve(out.payin);
  return out;
}

class CheckFailed extends Error {}

let passed = 0;
function ok(text) {
  passed++;
  console.log(`  ok   ${text}`);
}
const softFailures = [];
/** A failed check after which the remaining checks still run (the script still fails). */
function softFail(text) {
  console.log(`  FAIL ${text}`);
  softFailures.push(text);
}
function step(text) {
  console.log(`\n== ${text}`);
}
function check(cond, text, observed) {
  if (!cond) {
    const detail = observed === undefined ? '' : ` -- observed: ${JSON.stringify(observed)?.slice(0, 900)}`;
    throw new CheckFailed(`${text}${detail}`);
  }
  ok(text);
}


async function call(client, name, args) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
}

async function callOk(client, name, args) {
  let res;
  try {
    res = await call(client, name, args);
  } catch (e) {
    throw new CheckFailed(`${name}(${JSON.stringify(args)}) threw in the SDK: ${e?.message ?? e}`);
  }
  if (res.isError) {
    throw new CheckFailed(`${name}(${JSON.stringify(args)}) returned isError: ${JSON.stringify(res.structuredContent ?? res)}`);
  }
  if (!res.structuredContent || typeof res.structuredContent !== 'object') {
    throw new CheckFailed(`${name}(${JSON.stringify(args)}) returned no structuredContent: ${JSON.stringify(res)}`);
  }
  return res.structuredContent;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  accessSync(args.payin, constants.X_OK);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'payin-mcp-ts-'));
  step(`starting payin dev in ${dir}`);
  const sandbox = await startSandbox(args.payin, dir);
  console.log(`  API ${sandbox.rootUrl}/api/v1, key ${sandbox.apiKey.slice(0, 8)}…, pid ${sandbox.child.pid}`);

  let client;
  let transport;
  let failure = null;
  const mcpStderr = [];
  try {
    // remote mode: every tool goes through the sandbox's REST API with the API key
    transport = new StdioClientTransport({
      command: args.payin,
      args: ['mcp', '--api-url', sandbox.rootUrl],
      env: { PAYIN_API_KEY: sandbox.apiKey },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk) => mcpStderr.push(chunk.toString()));
    client = new Client({ name: 'payin-ts-sdk-test', version: '0.0.0' });
    console.log(`connecting over stdio: ${args.payin} mcp --api-url ${sandbox.rootUrl} (PAYIN_API_KEY set)`);
    await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
    const info = client.getServerVersion();
    console.log(`initialized: server ${info?.name} ${info?.version}`);

    step('discovery');
    const tools = (await client.listTools()).tools;
    check(tools.length === 32, `listTools: 32 tools (${tools.length})`, tools.map((t) => t.name));
    const resources = (await client.listResources()).resources;
    check(resources.length === 4, `listResources: 4 resources (${resources.length})`, resources.map((r) => r.uri));
    const prompts = (await client.listPrompts()).prompts;
    check(prompts.length === 4, `listPrompts: 4 prompts (${prompts.length})`, prompts.map((p) => p.name));

    step('create_order on chain local → simulate_payment → completed');
    const reference = `TS-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const order = await callOk(client, 'create_order', {
      orderReference: reference,
      amount: '10.00',
      currency: 'USDT',
      chainId: 'local',
    });
    check(typeof order.orderId === 'string' && order.orderId.startsWith('ord_'), `order ${order.orderId} (${reference})`, order);
    check(order.status === 'pending', 'order status pending', order.status);
    check(/^0x[0-9a-fA-F]{40}$/.test(order.address ?? ''), `order address ${order.address}`, order);
    console.log(`  info paymentUrl: ${order.paymentUrl}`);

    const paid = await callOk(client, 'simulate_payment', { orderId: order.orderId });
    check(/^0x[0-9a-fA-F]{64}$/.test(paid.txHash ?? ''), `simulate_payment txHash ${paid.txHash}`, paid);

    const t0 = Date.now();
    let last;
    for (;;) {
      last = await callOk(client, 'get_order', { orderId: order.orderId });
      if (last.status === 'completed') break;
      if (Date.now() - t0 > POLL_TIMEOUT_MS) {
        throw new CheckFailed(`get_order ${order.orderId} not completed within ${POLL_TIMEOUT_MS / 1000}s: ${JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    ok(`order completed after ${((Date.now() - t0) / 1000).toFixed(2)}s`);
    check(Number(last.amountReceived) === 10 && /^10(\.0+)?$/.test(last.amountReceived),
      `amountReceived ${last.amountReceived} == 10.00`, last.amountReceived);
    check(last.txHash === paid.txHash, 'order txHash is the simulated payment', { order: last.txHash, sent: paid.txHash });

    step('bad arguments');
    const badArgs = { orderReference: `${reference}-bad`, amount: 10, currency: 'USDT', chainId: 'local' };
    let bad;
    try {
      bad = await call(client, 'create_order', badArgs);
    } catch (e) {
      // What the server actually sent, read without the SDK's output-schema check, so the
      // report says both what the SDK did and what was on the wire.
      let raw;
      try {
        raw = await client.request({ method: 'tools/call', params: { name: 'create_order', arguments: badArgs } },
          CallToolResultSchema, { timeout: CALL_TIMEOUT_MS });
      } catch (e2) {
        raw = `(raw tools/call failed too: ${e2?.message ?? e2})`;
      }
      softFail(`create_order with amount 10 (a number): expected an isError result with code INVALID_AMOUNT, ` +
        `but Client.callTool threw ${e?.name}: ${e?.message} -- the server sent: ${JSON.stringify(raw).slice(0, 600)}`);
    }
    if (bad) {
      check(bad.isError === true, 'create_order with amount 10 (a number): isError', bad);
      // The REST error envelope is the result's JSON text.
      let envelope = {};
      try {
        envelope = JSON.parse(bad.content?.[0]?.text ?? '');
      } catch (e) {
        softFail(`the error text is not JSON: ${JSON.stringify(bad)}`);
      }
      check(envelope.code === 'INVALID_AMOUNT' && envelope.field === 'amount',
        `code INVALID_AMOUNT, field amount (got ${envelope.code}, ${envelope.field})`, envelope);
    }
    const chains = await callOk(client, 'list_chains', {});
    check(Array.isArray(chains.chains) && chains.chains.length > 0, `session still works: list_chains (${chains.chains?.length})`);
    if (softFailures.length) throw new CheckFailed(softFailures.join('\n  - '));
  } catch (e) {
    failure = e instanceof CheckFailed ? e.message : `${e?.name ?? 'Error'}: ${e?.stack ?? e}`;
  } finally {
    try {
      await client?.close();
    } catch (e) {
      console.log(`  (closing the client: ${e?.message ?? e})`);
    }
    const exit = await sandbox.stop();
    console.log(`\npayin dev stopped (exit ${exit?.code ?? exit?.signal})`);
    if (failure) {
      console.log(`--- payin dev stderr (last lines):\n${tail(sandbox.stderrPath)}`);
      console.log(`--- payin mcp stderr (last lines):\n${mcpStderr.join('').split('\n').slice(-20).join('\n')}`);
      console.log(`sandbox directory kept: ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failure) {
    console.log(`\nFAILED (ts sdk, stdio remote, ${secs}s): ${failure}`);
    process.exit(1);
  }
  console.log(`\nPASSED (ts sdk, stdio remote, ${secs}s): ${passed} checks`);
  process.exit(0);
}

main().catch((e) => {
  console.error(`FAILED: ${e?.stack ?? e}`);
  process.exit(1);
});
