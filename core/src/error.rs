//! The one error type of the engine. Every variant a client can see has a stable `code`.

use crate::chain::Protocol;

/// Result alias used across the engine.
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
}

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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
            Error::Invalid { code, .. } => code.as_str(),
            Error::OrderNotFound(_) => "ORDER_NOT_FOUND",
            Error::DuplicateOrderReference { .. } => "DUPLICATE_ORDER_REFERENCE",
            Error::DuplicateDepositReference { .. } => "DUPLICATE_DEPOSIT_REFERENCE",
            Error::DepositReferenceNotFound(_) => "DEPOSIT_REFERENCE_NOT_FOUND",
            Error::NotFound(_) => "NOT_FOUND",
            Error::NoAvailableAddresses(_) => "NO_AVAILABLE_ADDRESSES",
            Error::Unauthorized => "UNAUTHORIZED",
            Error::DevChainUnavailable(_) => "DEV_CHAIN_UNAVAILABLE",
            Error::Database(_) | Error::Migrate(_) | Error::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// A short human title (the envelope's `error` field).
    pub fn title(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => match code {
                InvalidCode::Validation => "Validation error",
                InvalidCode::Amount => "Invalid amount",
                InvalidCode::Chain => "Invalid chain",
                InvalidCode::Currency => "Invalid currency",
            },
            Error::OrderNotFound(_) => "Order not found",
            Error::DuplicateOrderReference { .. } => "Duplicate order reference",
            Error::DuplicateDepositReference { .. } => "Duplicate deposit reference",
            Error::DepositReferenceNotFound(_) => "Deposit reference not found",
            Error::NotFound(_) => "Not found",
            Error::NoAvailableAddresses(_) => "No available addresses",
            Error::Unauthorized => "Unauthorized",
            Error::DevChainUnavailable(_) => "Dev chain unavailable",
            Error::Database(_) | Error::Migrate(_) | Error::Internal(_) => "Internal error",
        }
    }

    /// True for failures of the server rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Migrate(_) | Error::Internal(_))
    }
}
