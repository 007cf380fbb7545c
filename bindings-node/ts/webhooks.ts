// Verifying the webhooks PayIn sends, with the gateway's own signature code (compiled in).
//
// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`): the timestamp
// must be within the tolerance of this machine's clock in both directions, and one of the
// space-separated `v1,` signatures must match (during a secret rotation PayIn signs with both
// secrets). The body must be the raw request body, byte for byte — JSON that was parsed and
// serialized again no longer matches: with Express, use `express.raw({ type: 'application/json' })`
// on the webhook route, not `express.json()`.

import { NativeWebhook, verifySignature as nativeVerifySignature } from '../native/index.js';
import { WebhookVerificationError, native } from './errors.js';
import type { Event } from './types.js';

/** The raw body of a delivery: the text or the bytes exactly as received. */
export type WebhookBody = string | Buffer | Uint8Array;

/**
 * A request's headers: Node's `req.headers`, a fetch `Headers`, or `[name, value]` pairs.
 * Names are compared case-insensitively.
 */
export type WebhookHeaders =
  | Record<string, string | string[] | undefined>
  | Headers
  | Iterable<readonly [string, string]>;

export interface WebhookOptions {
  /** Seconds a delivery's `webhook-timestamp` may be from now, either way (default 300). */
  tolerance?: number;
}

export interface VerifyOptions {
  /** The clock to check the timestamp against (default: now); Unix seconds or a Date. */
  now?: number | Date;
}

/** The body as a string or Buffer; anything else (a parsed object) is refused with advice. */
function rawBody(body: unknown): string | Buffer {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new WebhookVerificationError(
    `the webhook body must be the raw request body (a string or a Buffer), got ${body === null ? 'null' : typeof body}: ` +
      'pass the body exactly as received, not JSON that was parsed (with Express: express.raw({ type: "application/json" }))',
    { code: 'INVALID_PAYLOAD' },
  );
}

function headerPairs(headers: WebhookHeaders): string[][] {
  const pairs: string[][] = [];
  const add = (name: string, value: unknown) => {
    if (Array.isArray(value)) pairs.push([name, value.join(' ')]);
    else if (value !== undefined && value !== null) pairs.push([name, String(value)]);
  };
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, name) => add(name, value));
  } else if (Symbol.iterator in Object(headers)) {
    for (const [name, value] of headers as Iterable<readonly [string, string]>) add(name, value);
  } else {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) add(name, value);
  }
  return pairs;
}

function unixSeconds(time: number | Date): number {
  return time instanceof Date ? Math.floor(time.getTime() / 1000) : time;
}

/** An endpoint's signing secret (`whsec_…`, shown when the endpoint was created). */
export class Webhook {
  readonly #native: NativeWebhook;

  /** Throws `WebhookVerificationError` (`INVALID_SECRET`) when the secret is not `whsec_` + base64. */
  constructor(secret: string, options: WebhookOptions = {}) {
    this.#native = native(() => new NativeWebhook(secret, options.tolerance));
  }

  /**
   * The event a delivery carries, once its Standard Webhooks signature and timestamp verify;
   * throws `WebhookVerificationError` saying why not.
   */
  verify<T = Record<string, unknown>>(body: WebhookBody, headers: WebhookHeaders, options: VerifyOptions = {}): Event<T> {
    const raw = rawBody(body);
    const pairs = headerPairs(headers);
    const now = options.now === undefined ? undefined : unixSeconds(options.now);
    return JSON.parse(native(() => this.#native.verify(raw, pairs, now))) as Event<T>;
  }

  /**
   * The headers PayIn sends with `body` for message `msgId` at `timestamp` (both schemes), to
   * test a receiver.
   */
  sign(msgId: string, timestamp: number | Date, body: WebhookBody): Record<string, string> {
    return native(() => this.#native.sign(msgId, unixSeconds(timestamp), rawBody(body)));
  }
}

/**
 * True when `signature` (an `X-PayIn-Signature` header: hex HMAC-SHA256 of the raw body keyed
 * with the whole secret string) matches `body`; compared in constant time.
 */
export function verifySignature(body: WebhookBody, signature: string, secret: string): boolean {
  return nativeVerifySignature(rawBody(body), signature, secret);
}
