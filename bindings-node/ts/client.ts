// `PayIn`: the client, with one namespace per REST resource. Every call returns a Promise;
// lists return a `PagePromise` (await it for a page, `for await` it for every item).

import { NativeClient, type NativeCallOptions } from '../native/index.js';
import { PayInError, ValidationError, native, nativeAsync } from './errors.js';
import { PagePromise } from './pagination.js';
import type {
  BindCurrencyParams,
  BindProtocolParams,
  BoundProtocol,
  BoundReference,
  ChainInfo,
  CreateOrderParams,
  CreateWebhookParams,
  CreatedWebhookEndpoint,
  Delivery,
  DeliveryListParams,
  Deposit,
  DepositListParams,
  DepositReference,
  DepositReferenceListParams,
  DepositReferenceSummary,
  Event,
  EventListParams,
  AddXpubParams,
  ImportAddressesParams,
  ImportResult,
  MineBlocksParams,
  MinedBlocks,
  Order,
  OrderListParams,
  PageParams,
  PoolStatus,
  XpubKey,
  PaymentLink,
  CreatePaymentLinkParams,
  PaymentLinkListParams,
  Resent,
  ResendParams,
  RotateSecretParams,
  RotatedSecret,
  Settings,
  SettingKey,
  SimulatePaymentParams,
  SimulatedPayment,
  Unbound,
  WebhookEndpoint,
} from './types.js';
import { Webhook, verifySignature, type WebhookBody, type WebhookHeaders } from './webhooks.js';

export interface ClientOptions {
  /** The API key (`pk_…`). Default: the `PAYIN_API_KEY` environment variable. */
  apiKey?: string;
  /**
   * The gateway's root (`https://pay.example.com`) or its `/api/v1` URL; both work.
   * Default: `PAYIN_BASE_URL`, else `http://127.0.0.1:8080`.
   */
  baseUrl?: string;
  /** Milliseconds one attempt may take, connecting through reading the answer (default 60000). */
  timeout?: number;
  /**
   * Retries of a failed call (default 2): network errors, 429 (waiting as `Retry-After` asks)
   * and 5xx, with exponential backoff and jitter; never another 4xx. POSTs are safe to retry:
   * every attempt of one call carries the same `Idempotency-Key`.
   */
  maxRetries?: number;
  /** The secret `webhooks.verify` checks with. Default: `PAYIN_WEBHOOK_SECRET`. */
  webhookSecret?: string;
}

/** Options of one call, over the client's. */
export interface RequestOptions {
  /**
   * The `Idempotency-Key` of a POST (1 to 255 visible ASCII characters). Default: a fresh
   * UUID per call. The gateway runs a key's request once and answers its repeats with the
   * first answer for 24 h; the same key with a different request is a `ConflictError`
   * (`IDEMPOTENCY_KEY_REUSED`).
   */
  idempotencyKey?: string;
  /** Milliseconds one attempt of this call may take. */
  timeout?: number;
  /** Retries of this call. */
  maxRetries?: number;
}

type Native = NativeClient;

// An async function, not `.then`, so V8's async stack traces lead from an error to the caller.
async function call<T>(promise: Promise<string>): Promise<T> {
  return JSON.parse(await nativeAsync(promise)) as T;
}

function body(params: unknown): string {
  return JSON.stringify(params ?? {});
}

/** Options as the native module takes them; undefined keeps the client's fast path. */
function opts(options: RequestOptions | undefined): NativeCallOptions | undefined {
  return options === undefined ? undefined : { ...options };
}

/** A path parameter: a non-empty string. */
function id(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`${field} must be a non-empty string`, { code: 'VALIDATION_ERROR', statusCode: 400, field });
  }
  return value;
}

/** Runs `fn` so that an argument error rejects the returned Promise rather than throwing. */
function promised<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(e);
  }
}

export class Orders {
  /** @internal */
  constructor(private readonly native: Native) {}

  /**
   * Opens an order with an address from the pool. A retried create returns the first
   * order. `ConflictError` with `existingOrderId` when the reference is taken;
   * `ServiceUnavailableError` (`NO_AVAILABLE_ADDRESSES`) when the pool is empty.
   */
  create(params: CreateOrderParams, options?: RequestOptions): Promise<Order> {
    return call(this.native.createOrder(body(params), opts(options)));
  }

  get(orderId: string, options?: RequestOptions): Promise<Order> {
    return promised(() => call(this.native.getOrder(id('orderId', orderId), opts(options))));
  }

  getByReference(orderReference: string, options?: RequestOptions): Promise<Order> {
    return promised(() =>
      call(this.native.getOrderByReference(id('orderReference', orderReference), opts(options))),
    );
  }

  /** Newest first unless `sortBy` / `sortOrder` say otherwise. */
  list(params?: OrderListParams, options?: RequestOptions): PagePromise<Order> {
    return new PagePromise((q) => this.native.listOrders(q, opts(options)), params);
  }
}

export class Deposits {
  /** @internal */
  constructor(private readonly native: Native) {}

  /**
   * Gives a deposit reference (your user, say) a permanent address: for a currency on one
   * chain (`{ depositReference, currency, chainId }`), or for a whole protocol
   * (`{ depositReference, protocol }`: one address watched on every chain of it).
   */
  bind(params: BindCurrencyParams, options?: RequestOptions): Promise<BoundReference>;
  bind(params: BindProtocolParams, options?: RequestOptions): Promise<BoundProtocol>;
  bind(params: BindCurrencyParams | BindProtocolParams, options?: RequestOptions): Promise<BoundReference | BoundProtocol> {
    return call(this.native.bindDeposit(body(params), opts(options)));
  }

  getReference(depositReference: string, options?: RequestOptions): Promise<DepositReference> {
    return promised(() =>
      call(this.native.getDepositReference(id('depositReference', depositReference), opts(options))),
    );
  }

  listReferences(params?: DepositReferenceListParams, options?: RequestOptions): PagePromise<DepositReferenceSummary> {
    return new PagePromise((q) => this.native.listDepositReferences(q, opts(options)), params);
  }

  list(params?: DepositListParams, options?: RequestOptions): PagePromise<Deposit> {
    return new PagePromise((q) => this.native.listDeposits(q, opts(options)), params);
  }

  /** Removes the reference's binding on `chainId`, or on every chain when it is absent. */
  unbind(depositReference: string, params: { chainId?: string } = {}, options?: RequestOptions): Promise<Unbound> {
    return promised(() =>
      call(this.native.unbindDeposit(id('depositReference', depositReference), params.chainId, opts(options))),
    );
  }
}

export class Chains {
  /** @internal */
  constructor(private readonly native: Native) {}

  /** The networks the gateway knows, with their tokens and confirmations. */
  list(options?: RequestOptions): Promise<ChainInfo[]> {
    return call(this.native.listChains(opts(options)));
  }
}

export class Pool {
  /** @internal */
  constructor(private readonly native: Native) {}

  /** Available, assigned and cooling-down addresses per protocol. */
  status(options?: RequestOptions): Promise<PoolStatus[]> {
    return call(this.native.poolStatus(opts(options)));
  }

  /** Adds watch-only addresses you control to the pool (duplicates are counted, not errors). */
  importAddresses(params: ImportAddressesParams, options?: RequestOptions): Promise<ImportResult> {
    return call(this.native.importAddresses(body(params), opts(options)));
  }

  /**
   * Adds a watch-only account xpub the pool derives addresses from; returns its fingerprint and
   * first three addresses. Private keys and mnemonics are refused (`ValidationError` on `xpub`).
   */
  addXpub(params: AddXpubParams, options?: RequestOptions): Promise<XpubKey> {
    return call(this.native.addXpub(body(params), opts(options)));
  }

  /** The pool's HD keys, oldest first. */
  listXpubs(options?: RequestOptions): Promise<XpubKey[]> {
    return call(this.native.listXpubs(opts(options)));
  }
}

export class PaymentLinks {
  /** @internal */
  constructor(private readonly native: Native) {}

  /** Creates a link in `draft`; `publish` it to sell from its `checkoutUrl`. */
  create(params: CreatePaymentLinkParams, options?: RequestOptions): Promise<PaymentLink> {
    return call(this.native.createPaymentLink(body(params), opts(options)));
  }

  get(linkId: string, options?: RequestOptions): Promise<PaymentLink> {
    return promised(() => call(this.native.getPaymentLink(id('linkId', linkId), opts(options))));
  }

  /** Newest first; `for await` walks every page. */
  list(params?: PaymentLinkListParams, options?: RequestOptions): PagePromise<PaymentLink> {
    return new PagePromise((q) => this.native.listPaymentLinks(q, opts(options)), params);
  }

  /** `draft` → `active`: its checkout page sells. */
  publish(linkId: string, options?: RequestOptions): Promise<PaymentLink> {
    return promised(() => call(this.native.publishPaymentLink(id('linkId', linkId), opts(options))));
  }

  /** Stops selling for good (pending orders stay payable). */
  archive(linkId: string, options?: RequestOptions): Promise<PaymentLink> {
    return promised(() => call(this.native.archivePaymentLink(id('linkId', linkId), opts(options))));
  }
}

export class Config {
  /** @internal */
  constructor(private readonly native: Native) {}

  get(options?: RequestOptions): Promise<Settings> {
    return call(this.native.getConfig(opts(options)));
  }

  /** Sets one setting and returns them all. */
  set<K extends SettingKey>(key: K, value: Settings[K], options?: RequestOptions): Promise<Settings> {
    return promised(() => call(this.native.setConfig(id('key', key), JSON.stringify(value ?? null), opts(options))));
  }
}

export class Webhooks {
  readonly #secret: string | undefined;

  /** @internal */
  constructor(
    private readonly native: Native,
    secret: string | undefined,
  ) {
    this.#secret = secret;
  }

  /** Registers an endpoint; the answer holds its signing `secret`, shown this once. */
  create(params: CreateWebhookParams, options?: RequestOptions): Promise<CreatedWebhookEndpoint> {
    return call(this.native.createWebhook(body(params), opts(options)));
  }

  list(params?: PageParams, options?: RequestOptions): PagePromise<WebhookEndpoint> {
    return new PagePromise((q) => this.native.listWebhooks(q, opts(options)), params);
  }

  get(endpointId: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return promised(() => call(this.native.getWebhook(id('endpointId', endpointId), opts(options))));
  }

  /** Disables the endpoint: it receives nothing more. */
  delete(endpointId: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return promised(() => call(this.native.deleteWebhook(id('endpointId', endpointId), opts(options))));
  }

  /** A new secret; the previous one keeps signing for `keepPreviousHours` (default 24). */
  rotateSecret(endpointId: string, params: RotateSecretParams = {}, options?: RequestOptions): Promise<RotatedSecret> {
    return promised(() =>
      call(this.native.rotateWebhookSecret(id('endpointId', endpointId), body(params), opts(options))),
    );
  }

  /** Delivery attempts, newest first, with every attempt's answer. */
  deliveries(params?: DeliveryListParams, options?: RequestOptions): PagePromise<Delivery> {
    return new PagePromise((q) => this.native.listWebhookDeliveries(q, opts(options)), params);
  }

  /**
   * The event a delivery carries, once its Standard Webhooks signature and timestamp verify
   * with `secret` (default: the client's `webhookSecret`, else `PAYIN_WEBHOOK_SECRET`); throws
   * `WebhookVerificationError` saying why not. `body` must be the raw request body.
   */
  verify<T = Record<string, unknown>>(
    body: WebhookBody,
    headers: WebhookHeaders,
    options: { secret?: string; tolerance?: number; now?: number | Date } = {},
  ): Event<T> {
    const webhook = new Webhook(this.#requireSecret(options.secret), { tolerance: options.tolerance });
    return webhook.verify<T>(body, headers, { now: options.now });
  }

  /** True when `signature` is the `X-PayIn-Signature` of the raw `body`. */
  verifySignature(body: WebhookBody, signature: string, secret?: string): boolean {
    return verifySignature(body, signature, this.#requireSecret(secret));
  }

  #requireSecret(secret: string | undefined): string {
    const found = secret ?? this.#secret ?? process.env.PAYIN_WEBHOOK_SECRET;
    if (!found) {
      throw new PayInError(
        'no webhook secret: pass it, set webhookSecret in new PayIn({ … }) or the PAYIN_WEBHOOK_SECRET environment variable',
        { code: 'INVALID_SECRET' },
      );
    }
    return found;
  }
}

export class Events {
  /** @internal */
  constructor(private readonly native: Native) {}

  /** Events, newest first; `type` filters by event type. */
  list(params?: EventListParams, options?: RequestOptions): PagePromise<Event> {
    return new PagePromise((q) => this.native.listEvents(q, opts(options)), params);
  }

  get(eventId: string, options?: RequestOptions): Promise<Event> {
    return promised(() => call(this.native.getEvent(id('eventId', eventId), opts(options))));
  }

  /** Queues the event again for every subscribed endpoint (or just `endpointId`). */
  resend(eventId: string, params: ResendParams = {}, options?: RequestOptions): Promise<Resent> {
    return promised(() => call(this.native.resendEvent(id('eventId', eventId), body(params), opts(options))));
  }
}

/** The dev chain of `payin dev` (other gateways answer `DEV_CHAIN_UNAVAILABLE`). */
export class Dev {
  /** @internal */
  constructor(private readonly native: Native) {}

  /** Pays an order (or an address) on the local chain. */
  simulatePayment(params: SimulatePaymentParams, options?: RequestOptions): Promise<SimulatedPayment> {
    return call(this.native.simulatePayment(body(params), opts(options)));
  }

  /** Mines empty blocks: confirmations for pending payments. */
  mineBlocks(params: MineBlocksParams = {}, options?: RequestOptions): Promise<MinedBlocks> {
    return call(this.native.mineBlocks(body(params), opts(options)));
  }
}

/**
 * A client of a PayIn gateway:
 *
 *   const payin = new PayIn({ apiKey: process.env.PAYIN_API_KEY, baseUrl: 'https://pay.example.com' })
 *   const order = await payin.orders.create({ orderReference: 'inv-1001', amount: '25.00', currency: 'USDT', chainId: 'polygon' })
 *
 * Throws `ValidationError` (field `apiKey`, `baseUrl`, `timeout` or `maxRetries`) when the
 * options cannot work. One client serves any number of concurrent calls.
 */
export class PayIn {
  readonly orders: Orders;
  readonly deposits: Deposits;
  readonly chains: Chains;
  readonly pool: Pool;
  readonly paymentLinks: PaymentLinks;
  readonly config: Config;
  readonly webhooks: Webhooks;
  readonly events: Events;
  readonly dev: Dev;
  readonly #native: Native;

  constructor(options: ClientOptions = {}) {
    const { webhookSecret, ...client } = options;
    this.#native = native(() => new NativeClient(client));
    this.orders = new Orders(this.#native);
    this.deposits = new Deposits(this.#native);
    this.chains = new Chains(this.#native);
    this.pool = new Pool(this.#native);
    this.paymentLinks = new PaymentLinks(this.#native);
    this.config = new Config(this.#native);
    this.webhooks = new Webhooks(this.#native, webhookSecret);
    this.events = new Events(this.#native);
    this.dev = new Dev(this.#native);
  }

  /** The gateway's root URL this client calls (ending in `/`). */
  get baseUrl(): string {
    return this.#native.baseUrl;
  }
}
