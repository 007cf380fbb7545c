//! The engine's error type. Every variant a client can see has a stable `code`; the ones only
//! the engine has (database, migrations) become [`payin_types::Error::Internal`] when they cross
//! the [`crate::Gateway`], so clients never see `sqlx` types.

pub use payin_types::error::InvalidCode;

use crate::chain::Protocol;

/// Result alias used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The client-visible variants mirror [`payin_types::Error`] one for one (same messages);
/// `Database` and `Migrate` carry what only the server may see.
#[derive(Debug, thiserror::Error)]
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
    /// No usable exchange rate (see `crate::rates`).
    #[error("{0}")]
    RateUnavailable(String),
    #[error("Idempotency-Key '{0}' was already used for a different request; use a new key for a new request")]
    IdempotencyKeyReused(String),
    #[error("A request with Idempotency-Key '{0}' is still running; retry after it ends")]
    IdempotencyKeyInProgress(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Too many requests (429).
    #[error("{0}")]
    RateLimited(String),
    /// A connection that failed before an answer (a client's view; the engine never makes one).
    #[error("{0}")]
    Connection(String),
    /// No answer within a client's timeout (a client's view; the engine never makes one).
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
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
            Error::Database(_) | Error::Migrate(_) => "INTERNAL_ERROR",
            other => other.client_view().code(),
        }
    }

    /// A short human title (the envelope's `error` field).
    pub fn title(&self) -> &'static str {
        match self {
            Error::Database(_) | Error::Migrate(_) => "Internal error",
            other => other.client_view().title(),
        }
    }

    /// True for failures of the server rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Migrate(_) | Error::Internal(_))
    }

    /// The error as a client sees it; a database or migration failure keeps its detail in the
    /// message of `Internal` (front-ends log it and show clients a generic message).
    fn client_view(&self) -> payin_types::Error {
        use payin_types::Error as E;
        match self {
            Error::Invalid { code, field, message } => E::invalid(*code, field.clone(), message.clone()),
            Error::OrderNotFound(id) => E::OrderNotFound(id.clone()),
            Error::DuplicateOrderReference {
                reference,
                existing_order_id,
            } => E::DuplicateOrderReference {
                reference: reference.clone(),
                existing_order_id: existing_order_id.clone(),
            },
            Error::DuplicateDepositReference { message } => E::DuplicateDepositReference {
                message: message.clone(),
            },
            Error::DepositReferenceNotFound(r) => E::DepositReferenceNotFound(r.clone()),
            Error::NotFound(m) => E::NotFound(m.clone()),
            Error::NoAvailableAddresses(p) => E::NoAvailableAddresses(*p),
            Error::Unauthorized => E::Unauthorized,
            Error::DevChainUnavailable(m) => E::DevChainUnavailable(m.clone()),
            Error::RateUnavailable(m) => E::RateUnavailable(m.clone()),
            Error::IdempotencyKeyReused(k) => E::IdempotencyKeyReused(k.clone()),
            Error::IdempotencyKeyInProgress(k) => E::IdempotencyKeyInProgress(k.clone()),
            Error::RateLimited(m) => E::RateLimited(m.clone()),
            Error::Connection(m) => E::Connection(m.clone()),
            Error::Timeout(m) => E::Timeout(m.clone()),
            Error::Database(_) | Error::Migrate(_) | Error::Internal(_) => E::Internal(self.to_string()),
        }
    }
}

impl From<Error> for payin_types::Error {
    fn from(e: Error) -> Self {
        e.client_view()
    }
}

/// Parse errors of the wire types (`Amount::parse_positive`, `Currency::parse` …) inside the
/// engine.
impl From<payin_types::Error> for Error {
    fn from(e: payin_types::Error) -> Self {
        use payin_types::Error as E;
        match e {
            E::Invalid { code, field, message } => Error::Invalid { code, field, message },
            E::OrderNotFound(id) => Error::OrderNotFound(id),
            E::DuplicateOrderReference {
                reference,
                existing_order_id,
            } => Error::DuplicateOrderReference {
                reference,
                existing_order_id,
            },
            E::DuplicateDepositReference { message } => Error::DuplicateDepositReference { message },
            E::DepositReferenceNotFound(r) => Error::DepositReferenceNotFound(r),
            E::NotFound(m) => Error::NotFound(m),
            E::NoAvailableAddresses(p) => Error::NoAvailableAddresses(p),
            E::Unauthorized => Error::Unauthorized,
            E::DevChainUnavailable(m) => Error::DevChainUnavailable(m),
            E::RateUnavailable(m) => Error::RateUnavailable(m),
            E::IdempotencyKeyReused(k) => Error::IdempotencyKeyReused(k),
            E::IdempotencyKeyInProgress(k) => Error::IdempotencyKeyInProgress(k),
            E::RateLimited(m) => Error::RateLimited(m),
            E::Connection(m) => Error::Connection(m),
            E::Timeout(m) => Error::Timeout(m),
            E::Internal(m) => Error::Internal(m),
            // Only a client meets answers it does not know; inside the engine they are internal.
            E::Unrecognized { status, code, message } => Error::Internal(format!(
                "{status} {}: {message}",
                code.as_deref().unwrap_or("HTTP_ERROR")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_visible_errors_cross_the_gateway_unchanged() {
        let cases = [
            Error::invalid(InvalidCode::Chain, "chainId", "chainId: Chain 'x' is not supported"),
            Error::OrderNotFound("ord_x".into()),
            Error::DuplicateOrderReference {
                reference: "inv-1".into(),
                existing_order_id: "ord_w".into(),
            },
            Error::NoAvailableAddresses(Protocol::Tron),
            Error::Unauthorized,
            Error::IdempotencyKeyReused("k-1".into()),
            Error::IdempotencyKeyInProgress("k-2".into()),
            Error::RateLimited("slow down".into()),
            Error::Connection("connection refused".into()),
            Error::Timeout("no answer within 30 s".into()),
        ];
        for e in cases {
            let (code, title, text) = (e.code(), e.title(), e.to_string());
            let client = payin_types::Error::from(e);
            assert_eq!(
                (client.code(), client.title(), client.to_string()),
                (code, title, text.clone())
            );
            let back = Error::from(client);
            assert_eq!((back.code(), back.to_string()), (code, text));
        }
    }

    #[test]
    fn database_errors_reach_clients_as_internal_errors() {
        let e = Error::Database(sqlx::Error::PoolTimedOut);
        assert_eq!((e.code(), e.title()), ("INTERNAL_ERROR", "Internal error"));
        let client = payin_types::Error::from(e);
        assert!(client.is_internal());
        assert!(client.to_string().starts_with("database error:"), "{client}");
    }
}
