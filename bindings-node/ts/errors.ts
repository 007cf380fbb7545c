// The errors the package throws. Every one is a `PayInError` with the REST API's stable
// `code`; the subclass says what kind of failure it is, so `instanceof` is enough to branch:
//
//   try { await payin.orders.create(params) }
//   catch (e) {
//     if (e instanceof ConflictError && e.existingOrderId) { … the order exists … }
//     else if (e instanceof ValidationError) { … e.field names the bad parameter … }
//     else throw e
//   }
//
// The native module rejects with a JSON payload in the message (a napi Promise rejection
// cannot carry members of our own); `fromNative` turns it into the subclass.

/** What the native module puts in an error's message. */
interface NativePayload {
  payin: 'api' | 'webhook';
  code: string;
  message: string;
  statusCode: number | null;
  field?: string;
  existingOrderId?: string;
  orderReference?: string;
  orderId?: string;
  depositReference?: string;
  protocol?: string;
  idempotencyKey?: string;
}

/** Every error of the package. */
export class PayInError extends Error {
  /** The stable machine code, e.g. `DUPLICATE_ORDER_REFERENCE`, `CONNECTION_ERROR`. */
  readonly code: string;
  /** The HTTP status the gateway answered with; null when no answer came (or none was asked). */
  readonly statusCode: number | null;
  /** The parameter a `VALIDATION_ERROR` (or `INVALID_*`) is about. */
  readonly field: string | null;
  /** With `DUPLICATE_ORDER_REFERENCE`: the order that already has this reference. */
  readonly existingOrderId: string | null;
  /** With `IDEMPOTENCY_KEY_REUSED` / `IDEMPOTENCY_KEY_IN_PROGRESS`: the key. */
  readonly idempotencyKey: string | null;

  constructor(
    message: string,
    details: {
      code: string;
      statusCode?: number | null;
      field?: string | null;
      existingOrderId?: string | null;
      idempotencyKey?: string | null;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    this.statusCode = details.statusCode ?? null;
    this.field = details.field ?? null;
    this.existingOrderId = details.existingOrderId ?? null;
    this.idempotencyKey = details.idempotencyKey ?? null;
  }
}

/** 400: the parameters can never succeed as sent; `field` names the bad one. */
export class ValidationError extends PayInError {}
/** 401: no API key, or one the gateway does not know (or revoked). */
export class AuthenticationError extends PayInError {}
/** 403: the key may not do this. */
export class PermissionDeniedError extends PayInError {}
/** 404: no such order, deposit reference, event or endpoint. */
export class NotFoundError extends PayInError {}
/**
 * 409: a duplicate order reference (`existingOrderId` is the order that has it), a duplicate
 * deposit binding, or an `Idempotency-Key` reused for a different request.
 */
export class ConflictError extends PayInError {}
/** 429: still rate limited after the retries, which waited as `Retry-After` asked. */
export class RateLimitError extends PayInError {}
/** 500: a failure of the gateway, not of the request. */
export class InternalServerError extends PayInError {}
/**
 * 503: the gateway cannot serve this now, e.g. `NO_AVAILABLE_ADDRESSES` (import addresses
 * into the pool) or `DEV_CHAIN_UNAVAILABLE`.
 */
export class ServiceUnavailableError extends PayInError {}
/** No answer came: the connection was refused, reset or closed (the call may have run). */
export class APIConnectionError extends PayInError {}
/** No answer came within the timeout (the call may have run). */
export class APITimeoutError extends APIConnectionError {}
/**
 * A webhook did not verify: `code` is `MISSING_HEADER`, `NO_SIGNATURE`, `INVALID_SECRET`,
 * `INVALID_TIMESTAMP`, `TIMESTAMP_TOO_OLD`, `TIMESTAMP_TOO_NEW`, `SIGNATURE_MISMATCH` or
 * `INVALID_PAYLOAD`. Answer the request with a 4xx; never act on its body.
 */
export class WebhookVerificationError extends PayInError {}

type ErrorClass = new (message: string, details: ConstructorParameters<typeof PayInError>[1]) => PayInError;

function classOf(payload: NativePayload): ErrorClass {
  if (payload.payin === 'webhook') return WebhookVerificationError;
  switch (payload.code) {
    case 'CONNECTION_ERROR':
      return APIConnectionError;
    case 'TIMEOUT':
      return APITimeoutError;
  }
  switch (payload.statusCode) {
    case 400:
      return ValidationError;
    case 401:
      return AuthenticationError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 429:
      return RateLimitError;
    case 503:
      return ServiceUnavailableError;
    default:
      // Any other 5xx (a load balancer's 502 …) is the server's failure, like a 500.
      return payload.statusCode != null && payload.statusCode >= 500 ? InternalServerError : PayInError;
  }
}

function isPayload(value: unknown): value is NativePayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as NativePayload).payin === 'api' || (value as NativePayload).payin === 'webhook') &&
    typeof (value as NativePayload).code === 'string'
  );
}

/** The `PayInError` a native error stands for; anything else is returned as it is. */
export function fromNative(error: unknown): unknown {
  if (!(error instanceof Error) || !error.message.startsWith('{')) return error;
  let payload: unknown;
  try {
    payload = JSON.parse(error.message);
  } catch {
    return error;
  }
  if (!isPayload(payload)) return error;
  const ErrorClass = classOf(payload);
  return new ErrorClass(payload.message, {
    code: payload.code,
    statusCode: payload.statusCode,
    field: payload.field,
    existingOrderId: payload.existingOrderId,
    idempotencyKey: payload.idempotencyKey,
  });
}

/** Runs a native call, throwing its error as a `PayInError`. */
export function native<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Awaits a native call, rejecting with its error as a `PayInError`. */
export async function nativeAsync<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw fromNative(e);
  }
}
