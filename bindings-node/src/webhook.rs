//! Webhook verification: `payin_client::Webhook` (Standard Webhooks) and `verify_signature`
//! (the seed's `X-PayIn-Signature`), the same code the gateway signs with.

use std::collections::HashMap;
use std::time::Duration;

use napi::Either;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use payin_client::Webhook;

use crate::error;

/// The raw body as received: text or bytes.
fn bytes(body: &Either<String, Buffer>) -> &[u8] {
    match body {
        Either::A(text) => text.as_bytes(),
        Either::B(buffer) => buffer,
    }
}

/// An endpoint's secret (`whsec_…`) and the tolerance of `webhook-timestamp` in seconds.
#[napi]
pub struct NativeWebhook {
    webhook: Webhook,
}

#[napi]
impl NativeWebhook {
    /// Fails (`INVALID_SECRET`) when the secret is not `whsec_` + base64.
    #[napi(constructor)]
    pub fn new(secret: String, tolerance: Option<f64>) -> napi::Result<Self> {
        let mut webhook = Webhook::new(secret).map_err(error::webhook)?;
        if let Some(seconds) = tolerance {
            if !(seconds.is_finite() && seconds >= 0.0) {
                return Err(error::validation(
                    "tolerance",
                    format!("tolerance must be a number of seconds from 0, got {seconds}"),
                ));
            }
            webhook = webhook.with_tolerance(Duration::from_secs_f64(seconds));
        }
        Ok(NativeWebhook { webhook })
    }

    /// The event of a delivery as JSON text, or an error saying why it does not verify.
    /// `headers` are `[name, value]` pairs; `now` (Unix seconds) replaces the clock.
    #[napi]
    pub fn verify(
        &self,
        body: Either<String, Buffer>,
        headers: Vec<Vec<String>>,
        now: Option<f64>,
    ) -> napi::Result<String> {
        let pairs = headers.iter().filter_map(|pair| match pair.as_slice() {
            [name, value] => Some((name.as_str(), value.as_str())),
            _ => None,
        });
        let event = match now {
            Some(now) => self.webhook.verify_at(bytes(&body), pairs, now.floor() as i64),
            None => self.webhook.verify(bytes(&body), pairs),
        }
        .map_err(error::webhook)?;
        Ok(event.to_string())
    }

    /// The headers PayIn sends with `body` for message `msgId` at `timestamp` (Unix seconds).
    #[napi]
    pub fn sign(&self, msg_id: String, timestamp: f64, body: Either<String, Buffer>) -> HashMap<String, String> {
        let signed = self.webhook.sign(&msg_id, timestamp.floor() as i64, bytes(&body));
        signed
            .pairs()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }
}

/// True when `signature` is the `X-PayIn-Signature` of `body` under `secret` (constant-time).
#[napi]
pub fn verify_signature(body: Either<String, Buffer>, signature: String, secret: String) -> bool {
    payin_client::verify_signature(bytes(&body), &signature, &secret)
}
