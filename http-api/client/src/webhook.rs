//! Verifying the webhooks PayIn sends, with the server's own signature code
//! ([`payin_types::signature`]).
//!
//! [`Webhook::verify`] checks the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`): the timestamp within the tolerance in both directions (so a captured
//! delivery cannot be replayed later, nor one stamped in the future accepted), and any one of the
//! space-separated `v1,` signatures (during a secret rotation PayIn signs with both secrets).
//! [`verify_signature`] checks the seed scheme's `X-PayIn-Signature`. Both need the raw body,
//! byte for byte: JSON that was parsed and serialized again no longer matches.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use payin_types::signature::{
    DEFAULT_TOLERANCE_SECS, ID_HEADER, InvalidSecret, PAYIN_SIGNATURE_HEADER, SIGNATURE_HEADER, SignatureHeaders,
    TIMESTAMP_HEADER, VerifyError, payin_signature, standard_signature,
};
use payin_types::signature::{standard_key, verify_payin_signature, verify_standard};

/// Why a webhook was refused. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header is missing, the timestamp is out of tolerance or no signature matches.
    #[error(transparent)]
    Signature(#[from] VerifyError),
    /// The signature matched but the body is not a JSON object.
    #[error("the webhook body is signed but is not a JSON object: {0}")]
    Payload(String),
}

impl From<InvalidSecret> for WebhookError {
    fn from(e: InvalidSecret) -> Self {
        WebhookError::Signature(VerifyError::InvalidSecret(e))
    }
}

/// A webhook endpoint's secret (`whsec_…`, as shown when the endpoint was created) and how far
/// a delivery's timestamp may be from this machine's clock.
#[derive(Clone)]
pub struct Webhook {
    secret: String,
    tolerance: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("secret", &"whsec_…")
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Webhook {
    /// Fails when the secret is not `whsec_` + base64 (the prefix may be left out).
    pub fn new(secret: impl Into<String>) -> Result<Webhook, WebhookError> {
        let secret = secret.into();
        standard_key(secret.trim())?;
        Ok(Webhook {
            secret: secret.trim().to_string(),
            tolerance: Duration::from_secs(DEFAULT_TOLERANCE_SECS as u64),
        })
    }

    /// The largest difference allowed between `webhook-timestamp` and now, either way
    /// (default 300 s).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Webhook {
        self.tolerance = tolerance;
        self
    }

    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Verifies a delivery received now and returns its event, `{"id", "type", "createdAt",
    /// "data"}`, as JSON (event types added by later servers read too). `body` is the raw
    /// request body; header names are compared case-insensitively.
    pub fn verify<K: AsRef<str>, V: AsRef<str>>(
        &self,
        body: &[u8],
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Value, WebhookError> {
        self.verify_at(body, headers, unix_now())
    }

    /// [`Webhook::verify`] as if the clock read `now` (Unix seconds).
    pub fn verify_at<K: AsRef<str>, V: AsRef<str>>(
        &self,
        body: &[u8],
        headers: impl IntoIterator<Item = (K, V)>,
        now: i64,
    ) -> Result<Value, WebhookError> {
        let headers: Vec<(K, V)> = headers.into_iter().collect();
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        verify_standard(&self.secret, body, &headers, now, tolerance)?;
        match serde_json::from_slice::<Value>(body) {
            Ok(event @ Value::Object(_)) => Ok(event),
            Ok(other) => Err(WebhookError::Payload(format!("found {}", kind(&other)))),
            Err(e) => Err(WebhookError::Payload(e.to_string())),
        }
    }

    /// The headers PayIn would send with `body` for message `msg_id` at `timestamp` (Unix
    /// seconds): for tests of a receiver.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> SignatureHeaders {
        SignatureHeaders::sign(&self.secret, msg_id, timestamp, body).expect("the secret was checked in Webhook::new")
    }
}

/// True when `signature` is the seed scheme's `X-PayIn-Signature` of `body`: hex
/// HMAC-SHA256 keyed with the whole secret string (`whsec_…` included); constant-time.
pub fn verify_signature(body: &[u8], signature: &str, secret: &str) -> bool {
    verify_payin_signature(secret, body, signature)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &str = r#"{"id":"evt_1","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z","data":{"orderId":"ord_1","amount":"10.00"}}"#;
    const NOW: i64 = 1_737_369_000;

    fn signed(webhook: &Webhook, body: &str, at: i64) -> Vec<(&'static str, String)> {
        let h = webhook.sign("evt_1", at, body.as_bytes());
        h.pairs().iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn a_signed_delivery_verifies_and_yields_its_event() {
        let w = Webhook::new(SECRET).unwrap();
        let event = w.verify_at(BODY.as_bytes(), signed(&w, BODY, NOW), NOW).unwrap();
        assert_eq!(event["type"], "order.completed");
        assert_eq!(event["data"]["amount"], "10.00");
    }

    #[test]
    fn stale_and_future_timestamps_beyond_the_tolerance_are_refused() {
        let w = Webhook::new(SECRET).unwrap().with_tolerance(Duration::from_secs(60));
        let verify = |at: i64| w.verify_at(BODY.as_bytes(), signed(&w, BODY, at), NOW);
        assert!(verify(NOW - 60).is_ok() && verify(NOW + 60).is_ok());
        assert!(matches!(
            verify(NOW - 61),
            Err(WebhookError::Signature(VerifyError::TimestampTooOld { age: 61, .. }))
        ));
        assert!(matches!(
            verify(NOW + 61),
            Err(WebhookError::Signature(VerifyError::TimestampTooNew { ahead: 61, .. }))
        ));
    }

    #[test]
    fn a_re_serialized_body_fails_with_a_message_asking_for_the_raw_body() {
        let w = Webhook::new(SECRET).unwrap();
        let headers = signed(&w, BODY, NOW);
        let parsed: Value = serde_json::from_str(BODY).unwrap();
        let pretty = serde_json::to_string_pretty(&parsed).unwrap();
        let err = w.verify_at(pretty.as_bytes(), headers, NOW).unwrap_err();
        assert!(err.to_string().contains("raw request body"), "{err}");
    }

    #[test]
    fn any_of_several_signatures_verifies_as_during_a_rotation() {
        let (new, old) = (
            Webhook::new(SECRET).unwrap(),
            Webhook::new("whsec_c2Vjb25kIHNlY3JldA==").unwrap(),
        );
        let rotating =
            SignatureHeaders::sign_rotating(SECRET, Some(&old.secret), "evt_1", NOW, BODY.as_bytes()).unwrap();
        let headers = rotating.pairs();
        assert!(new.verify_at(BODY.as_bytes(), headers, NOW).is_ok());
        assert!(old.verify_at(BODY.as_bytes(), headers, NOW).is_ok());
        let stranger = Webhook::new("whsec_b3RoZXI=").unwrap();
        assert!(stranger.verify_at(BODY.as_bytes(), headers, NOW).is_err());
    }

    #[test]
    fn a_signed_body_that_is_not_an_object_is_a_payload_error() {
        let w = Webhook::new(SECRET).unwrap();
        for body in ["[1]", "not json"] {
            let err = w.verify_at(body.as_bytes(), signed(&w, body, NOW), NOW).unwrap_err();
            assert!(matches!(err, WebhookError::Payload(_)), "{body}: {err:?}");
        }
    }

    #[test]
    fn a_malformed_secret_is_refused_up_front() {
        assert!(matches!(
            Webhook::new("whsec_!!"),
            Err(WebhookError::Signature(VerifyError::InvalidSecret(_)))
        ));
        assert!(!format!("{:?}", Webhook::new(SECRET).unwrap()).contains("MfKQ"));
    }

    #[test]
    fn verify_signature_checks_the_seed_scheme_in_constant_time() {
        let sig = payin_signature(SECRET, BODY.as_bytes());
        assert!(verify_signature(BODY.as_bytes(), &sig, SECRET));
        assert!(verify_signature(BODY.as_bytes(), &sig.to_uppercase(), SECRET));
        assert!(!verify_signature(BODY.as_bytes(), &sig, "whsec_other"));
        assert!(!verify_signature(b"{}", &sig, SECRET));
        assert!(!verify_signature(BODY.as_bytes(), "not hex", SECRET));
    }
}
