//! HashNut's error envelope `{code, msg, data: null}` and the codes this gateway answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payin_core::Error;

use super::types::Envelope;

/// A HashNut error. Codes: -2 as HashNut documents it (401 signature or credentials; 400
/// parameters, the field named after a colon); the rest are this gateway's, documented in the
/// README: -4 duplicate `merchantOrderId` (409), -5 order not found (404), -6 no receiving
/// address available (503), -1 internal error (500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashnutError {
    /// Missing or bad signature headers, stale timestamp, replayed uuid, unknown or revoked key.
    Unauthorized,
    /// A parameter is missing or invalid; names it.
    InvalidParameter(String),
    DuplicateMerchantOrderId,
    OrderNotFound,
    NoAddress,
    /// Over the per-client request quota (429, `Retry-After`).
    RateLimited,
    Internal,
}

impl HashnutError {
    pub fn status(&self) -> StatusCode {
        match self {
            HashnutError::Unauthorized => StatusCode::UNAUTHORIZED,
            HashnutError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            HashnutError::DuplicateMerchantOrderId => StatusCode::CONFLICT,
            HashnutError::OrderNotFound => StatusCode::NOT_FOUND,
            HashnutError::NoAddress => StatusCode::SERVICE_UNAVAILABLE,
            HashnutError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            HashnutError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> i32 {
        match self {
            HashnutError::Unauthorized | HashnutError::InvalidParameter(_) => -2,
            HashnutError::DuplicateMerchantOrderId => -4,
            HashnutError::OrderNotFound => -5,
            HashnutError::NoAddress => -6,
            HashnutError::RateLimited => -7,
            HashnutError::Internal => -1,
        }
    }

    /// The seed's messages, with the field after a colon (clients compare `code`, not `msg`).
    pub fn msg(&self) -> String {
        match self {
            HashnutError::Unauthorized => "Invalid signature or credentials".into(),
            HashnutError::InvalidParameter(field) => format!("Invalid parameters: {field}"),
            HashnutError::DuplicateMerchantOrderId => "Duplicate merchantOrderId".into(),
            HashnutError::OrderNotFound => "Order not found".into(),
            HashnutError::NoAddress => "No receiving address available, try again later".into(),
            HashnutError::RateLimited => "Too many requests, retry after Retry-After seconds".into(),
            HashnutError::Internal => "Internal error".into(),
        }
    }

    /// An engine error of a create call, its fields named as HashNut names them.
    pub fn from_engine(e: Error) -> HashnutError {
        match e {
            Error::Invalid { field, .. } => HashnutError::InvalidParameter(
                match field.as_str() {
                    "chainId" => "chainCode",
                    "currency" => "coinCode",
                    "successUrl" => "frontendCallbackUrl",
                    "paymentWindowMinutes" => "expireDuration",
                    "orderReference" => "merchantOrderId",
                    "receiveAddress" => "receiptAddress",
                    other => other,
                }
                .to_string(),
            ),
            Error::DuplicateOrderReference { .. } => HashnutError::DuplicateMerchantOrderId,
            Error::NoAvailableAddresses(_) => HashnutError::NoAddress,
            Error::OrderNotFound(_) => HashnutError::OrderNotFound,
            e => {
                tracing::error!(error = %e, "hashnut request failed");
                HashnutError::Internal
            }
        }
    }
}

impl IntoResponse for HashnutError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(Envelope::<()> {
                code: self.code(),
                msg: self.msg(),
                data: None,
            }),
        )
            .into_response()
    }
}
