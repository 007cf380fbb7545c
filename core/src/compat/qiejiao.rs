//! QieJiao (seed 003, an epay / epusdt-style API): its signature, chain types, order states and
//! the asynchronous notification ([`QiejiaoNotifier`]). The HTTP adapter is `payin-http`'s
//! `compat::qiejiao`.
//!
//! **Signature** (`compat.md`; epusdt `sign.go`, BEpusdt, epay `getSign`): drop empty values and
//! the `signature` field, sort the remaining keys by byte order, join as `k=v` with `&` (values
//! as sent, not URL-encoded), append the merchant key directly (no `&key=`), MD5, hex. Incoming
//! signatures are accepted in either case; outgoing ones are upper-case, as the seed shows.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use reqwest::Method;

use crate::event::EventType;
use crate::order::{Order, OrderStatus};
use crate::time::Timestamp;
use crate::webhook::notifier::{Notification, Notifier, OutgoingRequest, RenderError, Secrets, Verdict};

/// The parameter that carries the signature (never signed itself).
pub const SIGNATURE_FIELD: &str = "signature";

/// The events a QieJiao notification reports: payment success only ("支付成功后").
pub const CALLBACK_EVENTS: [EventType; 1] = [EventType::OrderCompleted];

/// The text that is signed: non-empty parameters but the signature, sorted by key, `k=v`
/// joined with `&`.
pub fn string_to_sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| *k != SIGNATURE_FIELD && !v.is_empty())
        .collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature of `params` under `key`: MD5 of the string to sign with the key appended,
/// upper-case hex.
pub fn sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, key: &str) -> String {
    let mut text = string_to_sign(params);
    text.push_str(key);
    hex::encode_upper(Md5::digest(text.as_bytes()))
}

/// Whether `given` is the signature of `params` under `key`, in either case. Compared in
/// constant time.
pub fn verify<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, key: &str, given: &str) -> bool {
    let expected = sign(params, key);
    let given = given.trim().to_ascii_uppercase();
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// QieJiao's order status words: `pending`, `paid`, `expired` (`failed` is never used: an order
/// here does not fail, it expires).
pub fn status_word(order: &Order) -> &'static str {
    match order.status {
        OrderStatus::Pending => "pending",
        OrderStatus::Completed => "paid",
        OrderStatus::Expired => "expired",
    }
}

/// The default `chain_type` → chain id mapping: 1 → Tron (TRC20), 2 → Ethereum (ERC20).
pub fn default_chain_types() -> BTreeMap<String, String> {
    [("1", "tron"), ("2", "ethereum")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What `payin dev` maps `chain_type` to: 1 → `local-tron`, 2 → `local`.
pub fn dev_chain_types() -> BTreeMap<String, String> {
    [("1", "local-tron"), ("2", "local")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The wallet type word of a `chain_type` (`u_type` in answers): `TRC20` for 1, `ERC20` for 2.
pub fn wallet_type(chain_type: &str) -> &'static str {
    match chain_type {
        "1" => "TRC20",
        _ => "ERC20",
    }
}

/// A time as QieJiao writes it: Unix seconds.
pub fn unix_seconds(t: Timestamp) -> i64 {
    t.timestamp()
}

/// QieJiao notifications: a form-encoded `POST` (what `$_POST` and epay handlers read) of
/// `pid, plat_order_no, order_no, chain_type, amount, cny_amount, status, paytime, createtime,
/// param` and their `signature` (upper-case MD5 under the merchant's key) to the order's
/// `notify_url`; received when the merchant answers 200 with the text `success` (trimmed, any
/// case); anything else is retried on the dispatcher's schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct QiejiaoNotifier;

impl QiejiaoNotifier {
    /// The notification's parameters (signature included) for the stored event and the
    /// endpoint's order context.
    pub fn params(payload: &str, context: Option<&str>, key: &str) -> Result<Vec<(String, String)>, RenderError> {
        let event: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| RenderError::Unrenderable(format!("stored event: {e}")))?;
        if event.get("type").and_then(|t| t.as_str()) != Some(EventType::OrderCompleted.as_str()) {
            return Err(RenderError::Unrenderable(
                "only order.completed is reported to QieJiao notifications".into(),
            ));
        }
        let order: Order = serde_json::from_value(event.get("data").cloned().unwrap_or_default())
            .map_err(|e| RenderError::Unrenderable(format!("stored event's order: {e}")))?;
        let context: serde_json::Value = context
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| RenderError::Unrenderable("the endpoint has no order context".into()))?;
        let text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let extra = context.get("extra");
        let chain_type = text(extra.and_then(|e| e.get("chainType")));
        let mut params: Vec<(String, String)> = vec![
            ("pid".into(), text(context.get("pid"))),
            ("plat_order_no".into(), order.order_id.clone()),
            ("order_no".into(), text(context.get("orderNo"))),
            ("chain_type".into(), chain_type),
            ("amount".into(), order.pay_amount.to_string()),
            ("cny_amount".into(), text(extra.and_then(|e| e.get("cnyAmount")))),
            ("status".into(), status_word(&order).to_string()),
            (
                "paytime".into(),
                order
                    .completed_at
                    .map(|t| unix_seconds(t).to_string())
                    .unwrap_or_default(),
            ),
            ("createtime".into(), unix_seconds(order.created_at).to_string()),
            ("param".into(), text(context.get("param"))),
        ];
        let signature = sign(params.iter().map(|(k, v)| (k.as_str(), v.as_str())), key);
        params.push((SIGNATURE_FIELD.into(), signature));
        Ok(params)
    }
}

impl Notifier for QiejiaoNotifier {
    fn render(
        &self,
        n: &Notification<'_>,
        secrets: &Secrets<'_>,
        _: Timestamp,
    ) -> Result<OutgoingRequest, RenderError> {
        let params = QiejiaoNotifier::params(n.payload, n.context, secrets.current)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        Ok(OutgoingRequest {
            method: Method::POST,
            url: n.url.to_string(),
            content_type: "application/x-www-form-urlencoded",
            body: body.into_bytes(),
            headers: Default::default(),
        })
    }

    fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        if super::answered_success(status, body) {
            Verdict::Succeeded
        } else {
            Verdict::Retry
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_epusdt_vector_of_compat_md() {
        let params = [
            ("amount", "42"),
            ("notify_url", "http://example.com/notify"),
            ("order_id", "20220201030210321"),
            ("redirect_url", "http://example.com/redirect"),
        ];
        assert_eq!(
            string_to_sign(params),
            "amount=42&notify_url=http://example.com/notify&order_id=20220201030210321&redirect_url=http://example.com/redirect"
        );
        let key = "epusdt_password_xasddawqe";
        assert_eq!(
            sign(params, key),
            "1cd4b52df5587cfb1968b0c0c6e156cd".to_ascii_uppercase()
        );
        assert!(verify(params, key, "1cd4b52df5587cfb1968b0c0c6e156cd"));
        assert!(verify(params, key, "1CD4B52DF5587CFB1968B0C0C6E156CD"));
        assert!(!verify(params, "another key", "1cd4b52df5587cfb1968b0c0c6e156cd"));
        assert!(!verify(params, key, "1cd4b52df5587cfb1968b0c0c6e156c"));
    }

    #[test]
    fn empty_values_and_the_signature_are_not_signed_and_order_does_not_matter() {
        let a = [("b", "2"), ("a", "1"), ("empty", ""), ("signature", "XYZ")];
        let b = [("a", "1"), ("b", "2")];
        assert_eq!(string_to_sign(a), "a=1&b=2");
        assert_eq!(sign(a, "k"), sign(b, "k"));
        assert_ne!(sign(b, "k"), sign([("a", "1"), ("b", "3")], "k"));
    }

    #[test]
    fn answers_other_than_success_are_retried() {
        assert_eq!(QiejiaoNotifier.judge(200, b"success"), Verdict::Succeeded);
        assert_eq!(QiejiaoNotifier.judge(200, b"  Success\r\n"), Verdict::Succeeded);
        assert_eq!(QiejiaoNotifier.judge(200, b"fail"), Verdict::Retry);
        assert_eq!(QiejiaoNotifier.judge(500, b"success"), Verdict::Retry);
        assert_eq!(QiejiaoNotifier.judge(200, b""), Verdict::Retry);
    }
}
