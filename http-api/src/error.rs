//! Every error leaves through [`ApiError`]: one place maps errors (the engine's, once they are
//! the client-visible [`payin_types::Error`]) to a status and the
//! error envelope `{"success": false, "error", "code", "message", "statusCode", …extra}`.

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use payin_types::Error;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The error envelope.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// Always false.
    pub success: bool,
    /// Short human title, e.g. "Invalid amount".
    pub error: String,
    /// Stable machine code, e.g. INVALID_AMOUNT.
    pub code: String,
    /// What went wrong, naming the field.
    pub message: String,
    pub status_code: u16,
    /// The request field the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extra members naming the error's subject: `orderId` (ORDER_NOT_FOUND), `orderReference`
    /// and `existingOrderId` (DUPLICATE_ORDER_REFERENCE), `depositReference`
    /// (DEPOSIT_REFERENCE_NOT_FOUND), `protocol` (NO_AVAILABLE_ADDRESSES).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<Box<Map<String, Value>>>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            success: false,
            error: error.to_string(),
            code: code.to_string(),
            message: message.into(),
            status_code: status.as_u16(),
            field: None,
            extra: None,
        }
    }

    /// A 400 `VALIDATION_ERROR` about `field`.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_string()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "Validation error", "VALIDATION_ERROR", message)
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status_code = status.as_u16();
        self
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<payin_core::Error> for ApiError {
    fn from(e: payin_core::Error) -> Self {
        ApiError::from(Error::from(e))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // Connection and Timeout come from a client (the MCP server's remote mode): as a
        // gateway in front of PayIn would, answer 502 / 504.
        let status = match &e {
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            other => other
                .status_code()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY),
        };
        if e.is_internal() {
            // The detail goes to the operator's log, never to the client.
            tracing::error!(error = %e, "internal error");
            return ApiError::new(status, e.title(), e.sent_code(), "Internal server error");
        }
        let mut api = ApiError::new(status, e.title(), e.sent_code(), e.to_string());
        // The subject of the error as its own member, so clients need not parse the message.
        let extra = |pairs: &[(&str, String)]| {
            let map: Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                .collect();
            Some(Box::new(map))
        };
        match e {
            Error::Invalid { field, .. } => api.field = Some(field),
            Error::DuplicateOrderReference {
                reference,
                existing_order_id,
            } => {
                api.extra = extra(&[("orderReference", reference), ("existingOrderId", existing_order_id)]);
            }
            Error::OrderNotFound(order_id) => api.extra = extra(&[("orderId", order_id)]),
            Error::DepositReferenceNotFound(reference) => api.extra = extra(&[("depositReference", reference)]),
            Error::NoAvailableAddresses(protocol) => api.extra = extra(&[("protocol", protocol.to_string())]),
            Error::IdempotencyKeyReused(key) | Error::IdempotencyKeyInProgress(key) => {
                api.field = Some(payin_core::idempotency::HEADER.into());
                api.extra = extra(&[("idempotencyKey", key)]);
            }
            _ => {}
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (status, Json(self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Not found",
        "NOT_FOUND",
        format!("No route {method} {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "INTERNAL_ERROR",
        "Internal server error",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use payin_types::chain::Protocol;
    use payin_types::error::{ErrorEnvelope, InvalidCode};
    use serde_json::json;

    use super::*;

    fn envelope(body: Value) -> Error {
        serde_json::from_value::<ErrorEnvelope>(body).unwrap().into_error()
    }

    #[test]
    fn error_envelopes_become_the_engine_variant_with_the_same_code() {
        let cases = [
            Error::invalid(InvalidCode::Amount, "amount", "amount has too many decimals"),
            Error::validation("orderReference", "orderReference is required"),
            Error::OrderNotFound("ord_x".into()),
            Error::DuplicateOrderReference {
                reference: "inv-1".into(),
                existing_order_id: "ord_winner".into(),
            },
            Error::DuplicateDepositReference {
                message: "already bound".into(),
            },
            Error::DepositReferenceNotFound("user-1".into()),
            Error::NotFound("Event 'evt_x' not found".into()),
            Error::NoAvailableAddresses(Protocol::Evm),
            Error::Unauthorized,
            Error::DevChainUnavailable("the local chain did not answer".into()),
            Error::RateUnavailable("the CNY/USDT rate is 12 minutes old".into()),
            Error::IdempotencyKeyReused("key-1".into()),
            Error::IdempotencyKeyInProgress("key-2".into()),
            Error::RateLimited("Too many requests".into()),
            // What a client passes on (the MCP server's remote mode) keeps its status and code.
            Error::Unrecognized {
                status: 403,
                code: Some("FORBIDDEN".into()),
                message: "not yours".into(),
            },
        ];
        for original in cases {
            let (code, text) = (original.code(), original.to_string());
            let status = original.status_code().expect("an error the server answers with");
            let field = match &original {
                Error::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            };
            let api = ApiError::from(original);
            assert_eq!(api.status_code, status, "{code}: the envelope's status is the error's");
            let back = envelope(serde_json::to_value(api).unwrap());
            assert_eq!(back.code(), code);
            assert_eq!(back.to_string(), text);
            if let Some(field) = field {
                assert!(
                    matches!(&back, Error::Invalid { field: f, .. } if *f == field),
                    "{back:?}"
                );
            }
            if code == "DUPLICATE_ORDER_REFERENCE" {
                assert!(
                    matches!(&back, Error::DuplicateOrderReference { existing_order_id, .. } if existing_order_id == "ord_winner"),
                    "{back:?}"
                );
            }
        }
    }

    #[test]
    fn a_remote_gateway_failure_is_answered_as_a_gateway_would() {
        // The MCP server's remote mode turns its client's errors into envelopes too.
        let timeout = ApiError::from(Error::Timeout("no answer within 30 s".into()));
        assert_eq!((timeout.status_code, timeout.code.as_str()), (504, "TIMEOUT"));
        let refused = ApiError::from(Error::Connection("connection refused".into()));
        assert_eq!(
            (refused.status_code, refused.code.as_str(), refused.message.as_str()),
            (502, "CONNECTION_ERROR", "connection refused")
        );
    }

    #[test]
    fn error_envelopes_name_their_subject_in_members_of_their_own() {
        let envelope = |e: Error| serde_json::to_value(ApiError::from(e)).unwrap();
        let not_found = envelope(Error::OrderNotFound("ord_x".into()));
        assert_eq!(not_found["orderId"], "ord_x");
        let duplicate = envelope(Error::DuplicateOrderReference {
            reference: "it's/odd".into(),
            existing_order_id: "ord_w".into(),
        });
        assert_eq!(
            (&duplicate["orderReference"], &duplicate["existingOrderId"]),
            (&json!("it's/odd"), &json!("ord_w"))
        );
        assert_eq!(
            envelope(Error::DepositReferenceNotFound("u 1".into()))["depositReference"],
            "u 1"
        );
        assert_eq!(envelope(Error::NoAvailableAddresses(Protocol::Evm))["protocol"], "evm");
        // Rebuilt from the members, not the message: a message in another wording still works.
        let mut reworded = not_found.clone();
        reworded["message"] = json!("That order does not exist");
        assert!(matches!(
            serde_json::from_value::<ErrorEnvelope>(reworded).unwrap().into_error(),
            Error::OrderNotFound(id) if id == "ord_x"
        ));
    }
}
