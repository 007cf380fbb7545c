// The REST API's objects as the package returns them: the JSON of `/api/v1`, field for field
// (camelCase, timestamps as ISO 8601 strings with milliseconds). Amounts are decimal strings
// in the token's scale ("100.00"), never numbers: a float cannot hold every token amount.

/** A decimal string, e.g. `"100.00"`. */
export type Amount = string;
/** ISO 8601 UTC with milliseconds, e.g. `"2025-01-20T10:30:00.000Z"`. */
export type Timestamp = string;
export type Currency = 'USDT' | 'USDC' | 'DAI';
export type Protocol = 'evm' | 'tron';
/** At most 10 keys; echoed in responses and webhooks. */
export type Metadata = Record<string, unknown>;

export type OrderStatus = 'pending' | 'completed' | 'expired';
export type DepositStatus = 'pending' | 'confirmed' | 'completed';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';
export type EndpointStatus = 'active' | 'disabled';
export type EventType =
  | 'order.created'
  | 'order.payment_detected'
  | 'order.completed'
  | 'order.expired'
  | 'order.late_payment'
  | 'deposit.address_bound'
  | 'deposit.address_unbound'
  | 'deposit.pending'
  | 'deposit.confirmed'
  | 'payment.reversed'
  | 'payment.unmatched'
  | 'pool.low';

export interface Order {
  orderId: string;
  orderReference: string;
  amount: Amount;
  /** What the payer must send: `amount`, plus a unique tail for a shared-address order. */
  payAmount: Amount;
  currency: Currency;
  chainId: string;
  protocol: Protocol;
  /** Where the payer sends the tokens. */
  address: string;
  status: OrderStatus;
  /** Sum of counted payments so far, in the order's scale. */
  amountReceived: Amount;
  metadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  /** The hosted payment page of this order. */
  paymentUrl: string;
  paymentWindowMinutes: number;
  graceMinutes: number;
  createdAt: Timestamp;
  expiresAt: Timestamp;
  completedAt: Timestamp | null;
  expiredAt: Timestamp | null;
  txHash: string | null;
  blockNumber: number | null;
  confirmations: number | null;
  /** What was paid beyond `amount`, once completed by an overpayment. */
  surplus: Amount | null;
  /** The payment link (`plk_…`) whose checkout opened this order; null otherwise. */
  paymentLinkId?: string | null;
  /** True when paid to a shared address (the merchant's `receiveAddress`) by exact `payAmount`. */
  sharedAddress?: boolean;
  /** The fiat currency, price and rate the amount was converted from, when it was. */
  fiatCurrency?: string;
  fiatAmount?: Amount;
  rate?: string;
}

export interface DepositBinding {
  /** Null for a protocol binding, which receives every configured token. */
  currency: Currency | null;
  chainId: string;
  protocol: Protocol;
  address: string;
  createdAt: Timestamp;
}

/** The answer to binding a currency on one chain. */
export interface BoundReference {
  depositReference: string;
  currency: Currency;
  chainId: string;
  protocol: Protocol;
  address: string;
  metadata: Metadata;
  createdAt: Timestamp;
}

/** The answer to binding a protocol: one address watched on every chain of the protocol. */
export interface BoundProtocol {
  depositReference: string;
  protocol: Protocol;
  address: string;
  monitoredChains: string[];
  metadata: Metadata;
  createdAt: Timestamp;
}

export interface DepositReference {
  depositReference: string;
  addresses: DepositBinding[];
  /** Deposits that reached their confirmations. */
  totalDeposits: number;
  /** Confirmed amount per currency, e.g. `{ USDT: "523.45" }`. */
  totalAmount: Partial<Record<Currency, Amount>>;
  metadata: Metadata;
  createdAt: Timestamp;
}

export interface DepositReferenceSummary {
  depositReference: string;
  protocols: Protocol[];
  addressCount: number;
  totalDeposits: number;
  totalAmount: Partial<Record<Currency, Amount>>;
  lastDepositAt: Timestamp | null;
  createdAt: Timestamp;
}

export interface Unbound {
  depositReference: string;
  /** Number of chain bindings removed. */
  unboundAddresses: number;
}

export interface Deposit {
  depositId: string;
  depositReference: string;
  amount: Amount;
  currency: Currency;
  chainId: string;
  address: string;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  status: DepositStatus;
  confirmations: number;
  detectedAt: Timestamp;
  confirmedAt: Timestamp | null;
  completedAt: Timestamp | null;
}

export interface TokenInfo {
  currency: Currency;
  contract: string | null;
  decimals: number;
  /** False when no contract is configured: orders and bindings for it are refused. */
  configured: boolean;
  /** The config-file table that configures this token. */
  configKey: string;
}

export interface ChainInfo {
  chainId: string;
  name: string;
  protocol: Protocol;
  evmChainId: number | null;
  testnet: boolean;
  confirmations: number;
  rpcConfigured: boolean;
  /** What the RPC URL must serve where not plain Ethereum JSON-RPC (Tron: java-tron's JSON-RPC, e.g. https://api.trongrid.io/jsonrpc with the TRON-PRO-API-KEY header). */
  rpcRequirements?: string;
  tokens: TokenInfo[];
}

export interface PoolStatus {
  protocol: Protocol;
  available: number;
  assigned: number;
  cooldown: number;
  /** `address_reuse = "never"` addresses whose late-payment watch ended; not in `total`. */
  retired: number;
  total: number;
  lowWatermark: number;
  /** True when fewer than `lowWatermark` addresses are available. */
  low: boolean;
}

export interface ImportResult {
  protocol: Protocol;
  /** Addresses in the request. */
  received: number;
  /** Addresses newly added to the pool. */
  imported: number;
  /** Addresses already in the pool (or repeated in the request). */
  duplicates: number;
}

/** The runtime settings (their keys are the config keys `config.set` takes). */
export interface Settings {
  payment_window_minutes: number;
  grace_minutes: number;
  address_cooldown_minutes: number;
  default_order_success_url: string | null;
  default_order_cancel_url: string | null;
  pool_low_watermark: number;
}
export type SettingKey = keyof Settings;

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** Subscribed event types; empty means every type. */
  events: EventType[];
  status: EndpointStatus;
  createdAt: Timestamp;
  disabledAt: Timestamp | null;
  disabledReason: string | null;
}

/** A new endpoint with its signing secret, shown this once. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

export interface RotatedSecret extends WebhookEndpoint {
  secret: string;
  /** Until then deliveries are signed with the previous secret too. */
  previousSecretExpiresAt: Timestamp | null;
}

export interface DeliveryAttempt {
  attempt: number;
  startedAt: Timestamp;
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
  /** The signature headers sent; null until the attempt is sent. */
  headers: Record<string, string> | null;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: EventType;
  endpointId: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Timestamp | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  createdAt: Timestamp;
  deliveredAt: Timestamp | null;
  attempts: DeliveryAttempt[];
}

export interface Resent {
  eventId: string;
  deliveries: Delivery[];
}

/** An event: what `events.get` returns and the body of a webhook delivery. */
export interface Event<T = Record<string, unknown>> {
  id: string;
  type: EventType;
  createdAt: Timestamp;
  /** The full object the event is about (an order, a deposit, the pool's status …). */
  data: T;
}

export interface SimulatedPayment {
  orderId?: string;
  scenario?: 'exact' | 'partial' | 'over' | 'late';
  chainId: string;
  from: string;
  to: string;
  currency: Currency;
  amount: Amount;
  txHash: string;
  blockNumber: number;
  blockTime: Timestamp;
}

export interface MinedBlocks {
  chainId: string;
  blocksMined: number;
  blockNumber: number;
}

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  totalPages: number;
  hasMore: boolean;
}

// ---- parameters ----

export interface CreateOrderParams {
  /** Your unique order identifier (at most 255 characters). */
  orderReference: string;
  /** A decimal string, at most the token's decimals, e.g. `"100.00"`. */
  amount: Amount;
  currency: Currency;
  /** A chain id, e.g. `"ethereum"` or `"polygon-amoy"` (see `chains.list()`). */
  chainId: string;
  metadata?: Metadata;
  successUrl?: string;
  cancelUrl?: string;
  /** Overrides the configured payment window for this order (1 to 10080). */
  paymentWindowMinutes?: number;
  /** Overrides the configured grace period for this order (0 to 1440). */
  graceMinutes?: number;
}

/** Page and size of a list: `page` from 1, `limit` 1 to 100 (default 20). */
export interface PageParams {
  page?: number;
  limit?: number;
}

export interface OrderListParams extends PageParams {
  status?: OrderStatus;
  currency?: Currency;
  chainId?: string;
  /** Case-insensitive substring of the order reference. */
  orderReference?: string;
  sortBy?: 'createdAt' | 'amount' | 'expiresAt';
  sortOrder?: 'asc' | 'desc';
}

/** Bind a currency on one chain (`POST /deposits/references`). */
export interface BindCurrencyParams {
  depositReference: string;
  currency: Currency;
  chainId: string;
  metadata?: Metadata;
}

/** Bind a protocol: one address watched on every chain of it (`POST /deposits/bind`). */
export interface BindProtocolParams {
  depositReference: string;
  protocol: Protocol;
  metadata?: Metadata;
}

export interface DepositReferenceListParams extends PageParams {
  /** Case-insensitive substring of the deposit reference. */
  search?: string;
}

export interface DepositListParams extends PageParams {
  depositReference?: string;
  status?: DepositStatus;
  currency?: Currency;
  chainId?: string;
  sortBy?: 'detectedAt' | 'amount' | 'blockNumber';
  sortOrder?: 'asc' | 'desc';
}

/** One address derived from an xpub. */
export interface DerivedAddress {
  index: number;
  /** e.g. `m/44'/60'/0'/0/0`. */
  path: string;
  address: string;
}

/** A watch-only HD key of the pool. */
export interface XpubKey {
  id: string;
  protocol: Protocol;
  xpub: string;
  /** BIP-32 fingerprint of the key, 8 hex digits. */
  fingerprint: string;
  /** The account key's path, e.g. `m/44'/60'/0'`. */
  path: string;
  startIndex: number;
  /** Next index the pool derives; every index below it was derived once. */
  nextIndex: number;
  /** The first three addresses from `startIndex`: compare them with the wallet. */
  firstAddresses: DerivedAddress[];
  createdAt: string;
}

export interface AddXpubParams {
  protocol: Protocol;
  /** The ACCOUNT-level extended public key (xpub…). Never a private key or mnemonic. */
  xpub: string;
  /** First index to derive (default 0). */
  start?: number;
}

export interface ImportAddressesParams {
  protocol: Protocol;
  /** Watch-only addresses you control; at most 100,000 per call. */
  addresses: string[];
}

export interface CreateWebhookParams {
  url: string;
  /** Event types to receive; omitted or empty: every type. */
  events?: EventType[];
  description?: string;
}

export interface RotateSecretParams {
  /** Hours the previous secret keeps signing next to the new one, 0 to 168 (default 24). */
  keepPreviousHours?: number;
}

export interface DeliveryListParams extends PageParams {
  eventId?: string;
  endpointId?: string;
  status?: DeliveryStatus;
}

export interface EventListParams extends PageParams {
  type?: EventType;
}

export interface ResendParams {
  /** Resend to this endpoint only (default: every subscribed endpoint). */
  endpointId?: string;
}

export interface SimulatePaymentParams {
  /** Pay this order on its address. Exactly one of `orderId` and `address`. */
  orderId?: string;
  /** Pay this address instead, e.g. a deposit address (needs `amount`). */
  address?: string;
  scenario?: 'exact' | 'partial' | 'over' | 'late';
  amount?: Amount;
  currency?: Currency;
}

export interface MineBlocksParams {
  /** Empty blocks to mine, 1 to 1000 (default 1). */
  blocks?: number;
}

/** A currency and network a payment link accepts. */
export interface LinkCurrency {
  currency: Currency;
  chainId: string;
}

export type PaymentLinkStatus = 'draft' | 'active' | 'archived';

/** A payment link: `draft` → `active` → `archived`; its `checkoutUrl` opens an order per buyer. */
export interface PaymentLink {
  id: string;
  slug: string;
  title: string;
  description: string | null;
  /** The price; `"0"` when the payer chooses (within `minAmount` / `maxAmount`). */
  amount: Amount;
  minAmount: Amount | null;
  maxAmount: Amount | null;
  currencies: LinkCurrency[];
  status: PaymentLinkStatus;
  inventoryTotal: number | null;
  inventoryReserved: number;
  inventorySold: number;
  inventoryRemaining: number | null;
  expiresAt: string | null;
  metadata: Record<string, unknown>;
  checkoutUrl: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreatePaymentLinkParams {
  title: string;
  description?: string;
  /** Decimal string; `"0"` lets the payer choose. */
  amount: Amount;
  minAmount?: Amount;
  maxAmount?: Amount;
  currencies: LinkCurrency[];
  inventoryTotal?: number;
  /** RFC 3339 time after which the link sells nothing. */
  expiresAt?: string;
  metadata?: Record<string, unknown>;
}

export interface PaymentLinkListParams extends PageParams {
  status?: PaymentLinkStatus;
}
