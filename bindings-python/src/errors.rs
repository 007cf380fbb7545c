//! Rust errors as the Python exceptions of `payin._exceptions`.
//!
//! The classes live in Python (so they subclass each other and `Exception` naturally); which
//! class an error becomes is decided there too, from what is passed here: the stable `code`,
//! the HTTP status, the message, the invalid field and the members naming the error's subject.

use payin_client::webhook::VerifyError;
use payin_client::{Error, WebhookError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WEBHOOK_FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The `payin` exception for `e`.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    build(py, &e).unwrap_or_else(|failure| failure)
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let details = PyDict::new(py);
    match e {
        Error::DuplicateOrderReference {
            reference,
            existing_order_id,
        } => {
            details.set_item("orderReference", reference)?;
            details.set_item("existingOrderId", existing_order_id)?;
        }
        Error::OrderNotFound(id) => details.set_item("orderId", id)?,
        Error::DepositReferenceNotFound(reference) => details.set_item("depositReference", reference)?,
        Error::NoAvailableAddresses(protocol) => details.set_item("protocol", protocol.as_str())?,
        Error::IdempotencyKeyReused(key) | Error::IdempotencyKeyInProgress(key) => {
            details.set_item("idempotencyKey", key)?
        }
        _ => {}
    }
    let from_native = FROM_NATIVE.import(py, "payin._exceptions", "_from_native")?;
    let exception = from_native.call1((e.sent_code(), e.status_code(), e.to_string(), e.field(), details))?;
    Ok(PyErr::from_value(exception))
}

/// The `payin.WebhookVerificationError` for `e`, its `reason` a short stable word.
pub fn webhook_to_py(py: Python<'_>, e: &WebhookError) -> PyErr {
    let reason = match e {
        WebhookError::Signature(VerifyError::MissingHeader(_) | VerifyError::NoSignature) => "missing_header",
        WebhookError::Signature(VerifyError::InvalidSecret(_)) => "invalid_secret",
        WebhookError::Signature(VerifyError::InvalidTimestamp(_)) => "invalid_timestamp",
        WebhookError::Signature(VerifyError::TimestampTooOld { .. }) => "too_old",
        WebhookError::Signature(VerifyError::TimestampTooNew { .. }) => "too_new",
        WebhookError::Signature(VerifyError::SignatureMismatch { .. }) => "mismatch",
        WebhookError::Payload(_) => "payload",
    };
    let built = WEBHOOK_FROM_NATIVE
        .import(py, "payin._exceptions", "_webhook_from_native")
        .and_then(|f| f.call1((reason, e.to_string())));
    match built {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}
