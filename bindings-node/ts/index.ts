// PayIn for Node: a typed client of the PayIn gateway's REST API and webhook verification,
// running on the Rust client (`payin-client`) that the Python package and the MCP server use
// too, so retries, idempotency keys, pagination and signatures behave alike everywhere.

export { PayIn, type ClientOptions, type RequestOptions } from './client.js';
export type { Orders, Deposits, Chains, Pool, PaymentLinks, Config, Webhooks, Events, Dev } from './client.js';
export {
  PayInError,
  ValidationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  InternalServerError,
  ServiceUnavailableError,
  APIConnectionError,
  APITimeoutError,
  WebhookVerificationError,
} from './errors.js';
export { Page, PagePromise } from './pagination.js';
export {
  Webhook,
  verifySignature,
  type WebhookBody,
  type WebhookHeaders,
  type WebhookOptions,
  type VerifyOptions,
} from './webhooks.js';
export type * from './types.js';
