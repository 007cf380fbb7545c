//! The errors a client of PayIn can see. Every variant has a stable `code`; the REST error
//! envelope carries it with the message, the `field` of invalid input and members naming the
//! error's subject (`existingOrderId` …), and [`ErrorEnvelope::into_error`] reads it back.

use serde::Deserialize;

use crate::chain::Protocol;

/// Result alias of the wire types and the [`crate::Gateway`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Machine-readable codes of invalid input, as published in the API reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCode {
    Validation,
    Amount,
    Chain,
    Currency,
}

impl InvalidCode {
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidCode::Validation => "VALIDATION_ERROR",
            InvalidCode::Amount => "INVALID_AMOUNT",
            InvalidCode::Chain => "INVALID_CHAIN",
            InvalidCode::Currency => "INVALID_CURRENCY",
        }
    }

    /// The code of a `code` string, if it is one of invalid input.
    pub fn parse(code: &str) -> Option<InvalidCode> {
        match code {
            "VALIDATION_ERROR" => Some(InvalidCode::Validation),
            "INVALID_AMOUNT" => Some(InvalidCode::Amount),
            "INVALID_CHAIN" => Some(InvalidCode::Chain),
            "INVALID_CURRENCY" => Some(InvalidCode::Currency),
            _ => None,
        }
    }

    /// A short human title (the envelope's `error` field).
    pub fn title(self) -> &'static str {
        match self {
            InvalidCode::Validation => "Validation error",
            InvalidCode::Amount => "Invalid amount",
            InvalidCode::Chain => "Invalid chain",
            InvalidCode::Currency => "Invalid currency",
        }
    }
}

/// An error as a client sees it, whether the engine runs in-process or behind the REST API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Input that can never succeed as sent; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        code: InvalidCode,
        field: String,
        message: String,
    },
    #[error("Order '{0}' not found")]
    OrderNotFound(String),
    #[error("Order with reference '{reference}' already exists")]
    DuplicateOrderReference {
        reference: String,
        existing_order_id: String,
    },
    #[error("{message}")]
    DuplicateDepositReference { message: String },
    #[error("No deposit reference found for '{0}'")]
    DepositReferenceNotFound(String),
    /// Any other missing resource (event, API key, …).
    #[error("{0}")]
    NotFound(String),
    #[error("Address pool exhausted for protocol '{0}'")]
    NoAvailableAddresses(Protocol),
    #[error("Invalid API key")]
    Unauthorized,
    /// The dev chain of `payin dev` is not recorded or does not answer.
    #[error("{0}")]
    DevChainUnavailable(String),
    /// No usable exchange rate for a fiat price: none configured, or the provider's last good
    /// rate is too old (`[rates]`).
    #[error("{0}")]
    RateUnavailable(String),
    /// An `Idempotency-Key` sent again with a different request (method, path or body).
    #[error("Idempotency-Key '{0}' was already used for a different request; use a new key for a new request")]
    IdempotencyKeyReused(String),
    /// The first request with this `Idempotency-Key` is still running.
    #[error("A request with Idempotency-Key '{0}' is still running; retry after it ends")]
    IdempotencyKeyInProgress(String),
    /// Too many requests (HTTP 429): the client already waited as the server's `Retry-After`
    /// asked, as often as its retries allow.
    #[error("{0}")]
    RateLimited(String),
    /// No answer came back: the connection was refused, reset or closed before the response
    /// (a client-side error: the request may or may not have been processed).
    #[error("{0}")]
    Connection(String),
    /// No answer came back within the client's timeout (a client-side error: the request may or
    /// may not have been processed).
    #[error("{0}")]
    Timeout(String),
    /// A failure of the server, not of the request.
    #[error("{0}")]
    Internal(String),
    /// An answer this version does not know: an envelope with a code it has no variant for (a
    /// newer server's), or an error page without an envelope (a proxy's 403 or 502). It keeps
    /// the HTTP status and the code as sent, so callers can still branch on them.
    #[error("{message}")]
    Unrecognized {
        status: u16,
        /// The envelope's `code`; `None` when the answer had no envelope.
        code: Option<String>,
        message: String,
    },
}

impl Error {
    /// An invalid-input error with the field it concerns.
    pub fn invalid(code: InvalidCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A `VALIDATION_ERROR` about `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(InvalidCode::Validation, field, message)
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => code.as_str(),
            Error::OrderNotFound(_) => "ORDER_NOT_FOUND",
            Error::DuplicateOrderReference { .. } => "DUPLICATE_ORDER_REFERENCE",
            Error::DuplicateDepositReference { .. } => "DUPLICATE_DEPOSIT_REFERENCE",
            Error::DepositReferenceNotFound(_) => "DEPOSIT_REFERENCE_NOT_FOUND",
            Error::NotFound(_) => "NOT_FOUND",
            Error::NoAvailableAddresses(_) => "NO_AVAILABLE_ADDRESSES",
            Error::Unauthorized => "UNAUTHORIZED",
            Error::DevChainUnavailable(_) => "DEV_CHAIN_UNAVAILABLE",
            Error::RateUnavailable(_) => "RATE_UNAVAILABLE",
            Error::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            Error::IdempotencyKeyInProgress(_) => "IDEMPOTENCY_KEY_IN_PROGRESS",
            Error::RateLimited(_) => "RATE_LIMITED",
            Error::Connection(_) => "CONNECTION_ERROR",
            Error::Timeout(_) => "TIMEOUT",
            Error::Internal(_) => "INTERNAL_ERROR",
            Error::Unrecognized { .. } => "HTTP_ERROR",
        }
    }

    /// The code as the server sent it: [`Error::code`], except for an [`Error::Unrecognized`]
    /// envelope, whose own code it keeps (`HTTP_ERROR` when there was no envelope).
    pub fn sent_code(&self) -> &str {
        match self {
            Error::Unrecognized { code: Some(code), .. } => code,
            other => other.code(),
        }
    }

    /// A short human title (the envelope's `error` field).
    pub fn title(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => code.title(),
            Error::OrderNotFound(_) => "Order not found",
            Error::DuplicateOrderReference { .. } => "Duplicate order reference",
            Error::DuplicateDepositReference { .. } => "Duplicate deposit reference",
            Error::DepositReferenceNotFound(_) => "Deposit reference not found",
            Error::NotFound(_) => "Not found",
            Error::NoAvailableAddresses(_) => "No available addresses",
            Error::Unauthorized => "Unauthorized",
            Error::DevChainUnavailable(_) => "Dev chain unavailable",
            Error::RateUnavailable(_) => "Exchange rate unavailable",
            Error::IdempotencyKeyReused(_) => "Idempotency key reused",
            Error::IdempotencyKeyInProgress(_) => "Idempotency key in progress",
            Error::RateLimited(_) => "Too many requests",
            Error::Connection(_) => "Connection error",
            Error::Timeout(_) => "Timeout",
            Error::Internal(_) => "Internal error",
            Error::Unrecognized { .. } => "Unrecognized error",
        }
    }

    /// True for failures of the server rather than of the request.
    pub fn is_internal(&self) -> bool {
        match self {
            Error::Internal(_) => true,
            Error::Unrecognized { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status the REST API answers this error with (and a client received it with);
    /// `None` for [`Error::Connection`] and [`Error::Timeout`], which no server answer carries.
    pub fn status_code(&self) -> Option<u16> {
        Some(match self {
            Error::Invalid { .. } => 400,
            Error::Unauthorized => 401,
            Error::OrderNotFound(_) | Error::DepositReferenceNotFound(_) | Error::NotFound(_) => 404,
            Error::DuplicateOrderReference { .. }
            | Error::DuplicateDepositReference { .. }
            | Error::IdempotencyKeyReused(_)
            | Error::IdempotencyKeyInProgress(_) => 409,
            Error::RateLimited(_) => 429,
            Error::Internal(_) => 500,
            Error::NoAvailableAddresses(_) | Error::DevChainUnavailable(_) | Error::RateUnavailable(_) => 503,
            Error::Unrecognized { status, .. } => *status,
            Error::Connection(_) | Error::Timeout(_) => return None,
        })
    }

    /// True when no answer came back from the server ([`Error::Connection`], [`Error::Timeout`]).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Connection(_) | Error::Timeout(_))
    }

    /// The field of invalid input, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The REST error envelope (`{"success": false, "error", "code", "message", "statusCode",
/// "field"?, …members}`), as far as it is needed to rebuild the [`Error`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub existing_order_id: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_reference: Option<String>,
    #[serde(default)]
    pub deposit_reference: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The HTTP status the envelope repeats.
    #[serde(default)]
    pub status_code: Option<u16>,
}

impl ErrorEnvelope {
    /// The inverse of the server's `Error → envelope` mapping: the variant with the same code,
    /// its subject taken from the envelope's extra members. A code this version does not know
    /// is [`Error::Unrecognized`] with the envelope's `statusCode` (500 when it has none).
    pub fn into_error(self) -> Error {
        let missing =
            |member: &str| Error::Internal(format!("{}: {} (no {member} in the envelope)", self.code, self.message));
        if let Some(code) = InvalidCode::parse(&self.code) {
            return Error::Invalid {
                code,
                field: self.field.clone().unwrap_or_default(),
                message: self.message.clone(),
            };
        }
        match self.code.as_str() {
            "ORDER_NOT_FOUND" => match self.order_id.clone() {
                Some(id) => Error::OrderNotFound(id),
                None => missing("orderId"),
            },
            "DUPLICATE_ORDER_REFERENCE" => match (self.order_reference.clone(), self.existing_order_id.clone()) {
                (Some(reference), Some(existing_order_id)) => Error::DuplicateOrderReference {
                    reference,
                    existing_order_id,
                },
                _ => missing("orderReference and existingOrderId"),
            },
            "DUPLICATE_DEPOSIT_REFERENCE" => Error::DuplicateDepositReference {
                message: self.message.clone(),
            },
            "DEPOSIT_REFERENCE_NOT_FOUND" => match self.deposit_reference.clone() {
                Some(reference) => Error::DepositReferenceNotFound(reference),
                None => missing("depositReference"),
            },
            "NOT_FOUND" => Error::NotFound(self.message.clone()),
            "NO_AVAILABLE_ADDRESSES" => match self.protocol.as_deref().map(|p| Protocol::parse("protocol", p)) {
                Some(Ok(protocol)) => Error::NoAvailableAddresses(protocol),
                _ => missing("protocol"),
            },
            "UNAUTHORIZED" => Error::Unauthorized,
            "DEV_CHAIN_UNAVAILABLE" => Error::DevChainUnavailable(self.message.clone()),
            "RATE_UNAVAILABLE" => Error::RateUnavailable(self.message.clone()),
            "IDEMPOTENCY_KEY_REUSED" => match self.idempotency_key.clone() {
                Some(key) => Error::IdempotencyKeyReused(key),
                None => missing("idempotencyKey"),
            },
            "IDEMPOTENCY_KEY_IN_PROGRESS" => match self.idempotency_key.clone() {
                Some(key) => Error::IdempotencyKeyInProgress(key),
                None => missing("idempotencyKey"),
            },
            "RATE_LIMITED" => Error::RateLimited(self.message.clone()),
            "INTERNAL_ERROR" => Error::Internal(self.message.clone()),
            // Codes of the HTTP layer itself (METHOD_NOT_ALLOWED …) or of a newer server.
            _ => Error::Unrecognized {
                status: self.status_code.filter(|s| (400..600).contains(s)).unwrap_or(500),
                code: Some(self.code.clone()),
                message: self.message.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: serde_json::Value) -> Error {
        serde_json::from_value::<ErrorEnvelope>(body).unwrap().into_error()
    }

    #[test]
    fn invalid_input_keeps_its_code_and_field() {
        let e = read(json!({"code": "INVALID_AMOUNT", "message": "amount: too precise", "field": "amount"}));
        assert_eq!(e, Error::invalid(InvalidCode::Amount, "amount", "amount: too precise"));
        assert_eq!(
            (e.code(), e.title(), e.field()),
            ("INVALID_AMOUNT", "Invalid amount", Some("amount"))
        );
    }

    #[test]
    fn an_envelope_missing_its_subject_is_an_internal_error_naming_the_member() {
        let e = read(json!({"code": "ORDER_NOT_FOUND", "message": "gone"}));
        assert!(e.is_internal());
        assert!(e.to_string().contains("no orderId"), "{e}");
    }

    #[test]
    fn rate_limited_reads_back_with_its_status() {
        let e = read(json!({"code": "RATE_LIMITED", "message": "Too many requests; retry in 2 s"}));
        assert_eq!(e, Error::RateLimited("Too many requests; retry in 2 s".into()));
        assert_eq!((e.code(), e.status_code()), ("RATE_LIMITED", Some(429)));
    }

    #[test]
    fn transport_failures_have_codes_but_no_status() {
        for (e, code) in [
            (Error::Connection("refused".into()), "CONNECTION_ERROR"),
            (Error::Timeout("30 s".into()), "TIMEOUT"),
        ] {
            assert_eq!((e.code(), e.status_code(), e.is_transport()), (code, None, true));
            assert!(!e.is_internal());
        }
        assert_eq!(Error::Internal("x".into()).status_code(), Some(500));
        assert_eq!(Error::NoAvailableAddresses(Protocol::Evm).status_code(), Some(503));
    }

    #[test]
    fn unknown_codes_keep_their_code_and_status() {
        let e = read(json!({"code": "FORBIDDEN", "message": "not yours", "statusCode": 403}));
        assert_eq!(
            (e.code(), e.sent_code(), e.status_code(), e.to_string(), e.is_internal()),
            ("HTTP_ERROR", "FORBIDDEN", Some(403), "not yours".to_string(), false)
        );
        let e = read(json!({"code": "METHOD_NOT_ALLOWED", "message": "PATCH is not allowed"}));
        assert_eq!(
            (e.sent_code(), e.status_code(), e.is_internal()),
            ("METHOD_NOT_ALLOWED", Some(500), true)
        );
        // A status that is not an error's is not believed.
        let e = read(json!({"code": "ODD", "message": "odd", "statusCode": 200}));
        assert_eq!(e.status_code(), Some(500));
    }
}
