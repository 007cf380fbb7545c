//! How errors cross into JavaScript.
//!
//! A Promise that napi rejects carries an `Error` whose `code` is a Node-API status, not one of
//! ours, and no other members. So every error of this module is thrown or rejected with its
//! `message` set to a JSON payload — `{"payin": "api" | "webhook", "code", "message",
//! "statusCode", "field"?, "existingOrderId"?, …}` — which the package's JavaScript layer
//! (`ts/errors.ts`) turns into the matching `PayInError` subclass with the real message.

use payin_client::Error;
use payin_client::webhook::{VerifyError, WebhookError};
use serde_json::{Map, Value, json};

/// An error of the REST API, or of the client before or after it (invalid input, no answer).
pub fn api(e: Error) -> napi::Error {
    let mut payload = json!({
        "payin": "api",
        "code": e.sent_code(),
        "message": e.to_string(),
        "statusCode": e.status_code(),
    });
    let extra = payload.as_object_mut().expect("an object");
    if let Some(field) = e.field() {
        extra.insert("field".into(), field.into());
    }
    subject(&e, extra);
    napi::Error::from_reason(payload.to_string())
}

/// The members naming the error's subject, as the REST error envelope has them.
fn subject(e: &Error, extra: &mut Map<String, Value>) {
    match e {
        Error::DuplicateOrderReference {
            reference,
            existing_order_id,
        } => {
            extra.insert("orderReference".into(), reference.as_str().into());
            extra.insert("existingOrderId".into(), existing_order_id.as_str().into());
        }
        Error::OrderNotFound(id) => {
            extra.insert("orderId".into(), id.as_str().into());
        }
        Error::DepositReferenceNotFound(reference) => {
            extra.insert("depositReference".into(), reference.as_str().into());
        }
        Error::NoAvailableAddresses(protocol) => {
            extra.insert("protocol".into(), json!(protocol));
        }
        Error::IdempotencyKeyReused(key) | Error::IdempotencyKeyInProgress(key) => {
            extra.insert("idempotencyKey".into(), key.as_str().into());
        }
        _ => {}
    }
}

/// A `VALIDATION_ERROR` about `field`, raised before any request is sent.
pub fn validation(field: &str, message: impl Into<String>) -> napi::Error {
    api(Error::validation(field, message))
}

/// A webhook that did not verify: `code` says why, the message what to fix.
pub fn webhook(e: WebhookError) -> napi::Error {
    let code = match &e {
        WebhookError::Signature(VerifyError::MissingHeader(_)) => "MISSING_HEADER",
        WebhookError::Signature(VerifyError::NoSignature) => "NO_SIGNATURE",
        WebhookError::Signature(VerifyError::InvalidSecret(_)) => "INVALID_SECRET",
        WebhookError::Signature(VerifyError::InvalidTimestamp(_)) => "INVALID_TIMESTAMP",
        WebhookError::Signature(VerifyError::TimestampTooOld { .. }) => "TIMESTAMP_TOO_OLD",
        WebhookError::Signature(VerifyError::TimestampTooNew { .. }) => "TIMESTAMP_TOO_NEW",
        WebhookError::Signature(VerifyError::SignatureMismatch { .. }) => "SIGNATURE_MISMATCH",
        WebhookError::Payload(_) => "INVALID_PAYLOAD",
    };
    let payload = json!({
        "payin": "webhook",
        "code": code,
        "message": e.to_string(),
        "statusCode": null,
    });
    napi::Error::from_reason(payload.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(e: napi::Error) -> Value {
        serde_json::from_str(&e.reason).unwrap()
    }

    #[test]
    fn a_duplicate_reference_carries_the_existing_order() {
        let p = payload(api(Error::DuplicateOrderReference {
            reference: "inv-1".into(),
            existing_order_id: "ord_1".into(),
        }));
        assert_eq!(p["code"], "DUPLICATE_ORDER_REFERENCE");
        assert_eq!(p["statusCode"], 409);
        assert_eq!(p["existingOrderId"], "ord_1");
        assert_eq!(p["payin"], "api");
    }

    #[test]
    fn transport_errors_have_no_status_and_invalid_input_names_its_field() {
        let p = payload(api(Error::Timeout("no answer within 1s".into())));
        assert_eq!((p["code"].as_str(), p["statusCode"].is_null()), (Some("TIMEOUT"), true));
        let p = payload(validation("amount", "amount must be a decimal string"));
        assert_eq!(
            (p["field"].as_str(), p["statusCode"].as_u64()),
            (Some("amount"), Some(400))
        );
    }

    #[test]
    fn a_mismatch_says_to_pass_the_raw_body() {
        let p = payload(webhook(WebhookError::Signature(VerifyError::SignatureMismatch {
            header: "webhook-signature",
        })));
        assert_eq!(p["code"], "SIGNATURE_MISMATCH");
        assert!(p["message"].as_str().unwrap().contains("raw request body"), "{p}");
    }
}
