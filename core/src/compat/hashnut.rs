//! HashNut v3 in the engine: the request signature, the replay window, chain and coin codes,
//! order states, and the per-order callback ([`HashnutNotifier`]). The HTTP adapter
//! (`payin-http`'s `compat::hashnut`) parses, calls these and renders HashNut's envelope.

use std::str::FromStr;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use reqwest::Method;
use rust_decimal::Decimal;
use sha2::Sha256;

use super::REPLAY_WINDOW;
use crate::chain::Currency;
use crate::config::HashnutConfig;
use crate::engine::DetectedPayment;
use crate::event::EventType;
use crate::order::{Order, OrderStatus};
use crate::time::Timestamp;
use crate::webhook::notifier::{Notification, Notifier, OutgoingRequest, RenderError, Secrets, Verdict};

/// Request headers of a signed HashNut request.
pub const UUID_HEADER: &str = "hashnut-request-uuid";
pub const TIMESTAMP_HEADER: &str = "hashnut-request-timestamp";
pub const SIGN_HEADER: &str = "hashnut-request-sign";

/// The events an order's HashNut callback reports (state 1 or 3, 4, -2, -1).
pub const CALLBACK_EVENTS: [EventType; 4] = [
    EventType::OrderPaymentDetected,
    EventType::OrderCompleted,
    EventType::OrderExpired,
    EventType::PaymentReversed,
];

/// `Base64(HMAC-SHA256(secret, uuid + timestamp + body))`, as HashNut's SDK signs a request.
pub fn sign(secret: &str, uuid: &str, timestamp: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, uuid, timestamp, body).finalize().into_bytes())
}

fn mac(secret: &str, uuid: &str, timestamp: &str, body: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(uuid.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

/// Whether `signature` is the request's signature under `secret` (compared in constant time,
/// over the raw body as received).
pub fn verify(secret: &str, uuid: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(secret, uuid, timestamp, body).verify_slice(&tag).is_ok()
}

/// Whether a `hashnut-request-timestamp` (Unix milliseconds, decimal) is within the replay
/// window of `now`.
pub fn timestamp_is_fresh(timestamp: &str, now: Timestamp) -> bool {
    let Ok(ms) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    (now.timestamp_millis() - ms).abs() <= REPLAY_WINDOW.num_milliseconds()
}

/// A HashNut `coinCode` (case-sensitive: `usdt`, `usdc`) as a currency.
pub fn coin(code: &str) -> Option<Currency> {
    match code {
        "usdt" => Some(Currency::Usdt),
        "usdc" => Some(Currency::Usdc),
        _ => None,
    }
}

/// The lowercase coin code of a currency.
pub fn coin_code(currency: Currency) -> String {
    currency.as_str().to_ascii_lowercase()
}

/// The chain id a `chainCode` names under the config (case-sensitive).
pub fn chain(config: &HashnutConfig, code: &str) -> Option<String> {
    config.chain_id(code)
}

/// A HashNut amount: at least 0.01, rounded to 2 places (half away from zero). `None` when
/// below the minimum after rounding, negative, or beyond what a decimal holds.
pub fn amount(sent: &str) -> Option<Decimal> {
    let sent = sent.trim();
    let d = Decimal::from_str(sent)
        .or_else(|_| Decimal::from_scientific(sent))
        .ok()?;
    let rounded = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let mut rounded = rounded;
    rounded.rescale(2);
    (rounded >= Decimal::new(1, 2)).then_some(rounded)
}

/// Where the shopper returns after paying: the merchant's `frontendCallbackUrl` with
/// `state=4`, `payOrderId` and `merchantOrderId` appended as query parameters. `None` when
/// the URL does not parse.
pub fn return_url(frontend: &str, pay_order_id: &str, merchant_order_id: &str) -> Option<String> {
    let mut url = url::Url::parse(frontend.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.query_pairs_mut()
        .append_pair("state", &state::SUCCESS.to_string())
        .append_pair("payOrderId", pay_order_id)
        .append_pair("merchantOrderId", merchant_order_id);
    Some(url.to_string())
}

/// HashNut's order states.
pub mod state {
    pub const UNPAID: i32 = 0;
    pub const PARTLY_PAID: i32 = 1;
    pub const WAITING_CONFIRMATION: i32 = 2;
    pub const CONFIRMING: i32 = 3;
    pub const SUCCESS: i32 = 4;
    pub const FAILED: i32 = -1;
    pub const EXPIRED: i32 = -2;
    pub const CANCELLED: i32 = -3;
}

/// An order's HashNut state: completed 4, expired -2; pending: nothing received 0, less than
/// the amount 1, the amount seen and not yet confirmed 2 (in its first block) or 3 (gathering
/// confirmations). `amountReceived` counts payments from their detection.
pub fn order_state(order: &Order, detected: Option<&DetectedPayment>) -> i32 {
    match order.status {
        OrderStatus::Completed => state::SUCCESS,
        OrderStatus::Expired => state::EXPIRED,
        OrderStatus::Pending => {
            if order.amount_received.is_zero() {
                state::UNPAID
            } else if order.amount_received < order.amount {
                state::PARTLY_PAID
            } else {
                match detected {
                    Some(d) if d.confirmations > 1 => state::CONFIRMING,
                    _ => state::WAITING_CONFIRMATION,
                }
            }
        }
    }
}

/// The state a callback of `event_type` about `data` (the event's order) reports; `None` for
/// events callbacks do not report.
pub fn callback_state(event_type: EventType, data: &serde_json::Value) -> Option<i32> {
    match event_type {
        EventType::OrderCompleted => Some(state::SUCCESS),
        EventType::OrderExpired => Some(state::EXPIRED),
        EventType::PaymentReversed => Some(state::FAILED),
        EventType::OrderPaymentDetected => {
            let decimal = |k: &str| {
                data.get(k)
                    .and_then(|v| v.as_str())
                    .and_then(|s| Decimal::from_str(s).ok())
            };
            match (decimal("amountReceived"), decimal("amount")) {
                (Some(received), Some(amount)) if received < amount => Some(state::PARTLY_PAID),
                _ => Some(state::CONFIRMING),
            }
        }
        _ => None,
    }
}

/// HashNut callbacks: `POST` of unsigned JSON `{payOrderId, merchantOrderId, accessSign, state}`
/// to the order's `callBackUrl`; received when the merchant answers 200 with the text
/// `success` (trimmed, any case); anything else is retried on the dispatcher's schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashnutNotifier;

impl Notifier for HashnutNotifier {
    fn render(&self, n: &Notification<'_>, _: &Secrets<'_>, _: Timestamp) -> Result<OutgoingRequest, RenderError> {
        let event: serde_json::Value =
            serde_json::from_str(n.payload).map_err(|e| RenderError::Unrenderable(format!("stored event: {e}")))?;
        let event_type = event
            .get("type")
            .and_then(|t| t.as_str())
            .and_then(|t| EventType::parse("type", t).ok())
            .ok_or_else(|| RenderError::Unrenderable("stored event has no known type".into()))?;
        let data = event.get("data").cloned().unwrap_or_default();
        let state = callback_state(event_type, &data).ok_or_else(|| {
            RenderError::Unrenderable(format!("{} is not reported to HashNut callbacks", event_type.as_str()))
        })?;
        let context: serde_json::Value = n
            .context
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| RenderError::Unrenderable("the endpoint has no order context".into()))?;
        let field = |k: &str| {
            context
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| RenderError::Unrenderable(format!("the order context has no {k}")))
        };
        let body = serde_json::json!({
            "payOrderId": field("payOrderId")?,
            "merchantOrderId": field("merchantOrderId")?,
            "accessSign": field("accessSign")?,
            "state": state,
        });
        Ok(OutgoingRequest {
            method: Method::POST,
            url: n.url.to_string(),
            content_type: "application/json",
            body: body.to_string().into_bytes(),
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
    fn signs_the_compat_md_vector() {
        let body = br#"{"accessKeyId":"AK1","merchantOrderId":"ORD-1","chainCode":"tron-trc20","coinCode":"usdt","amount":0.01}"#;
        let uuid = "550e8400-e29b-41d4-a716-446655440000";
        let sig = sign("test-secret", uuid, "1704067200000", body);
        assert_eq!(sig, "uQv2CqJtNYeiFr/pdOn250YSzU87nuc7tdQXa3ANwxY=");
        assert!(verify("test-secret", uuid, "1704067200000", body, &sig));
        assert!(!verify("test-secret2", uuid, "1704067200000", body, &sig));
        assert!(!verify("test-secret", uuid, "1704067200001", body, &sig));
        // One byte of whitespace more in the body is another message.
        let mut spaced = body.to_vec();
        spaced.push(b' ');
        assert!(!verify("test-secret", uuid, "1704067200000", &spaced, &sig));
        assert!(!verify("test-secret", uuid, "1704067200000", body, "not base64!"));
    }

    #[test]
    fn timestamps_are_milliseconds_within_five_minutes() {
        let now = chrono::DateTime::from_timestamp_millis(1_704_067_200_000).unwrap();
        assert!(timestamp_is_fresh("1704067200000", now));
        assert!(timestamp_is_fresh("1704067500000", now));
        assert!(timestamp_is_fresh("1704066900000", now));
        assert!(!timestamp_is_fresh("1704067500001", now));
        assert!(!timestamp_is_fresh("1704066899999", now));
        // Seconds are 1970 in milliseconds: far off.
        assert!(!timestamp_is_fresh("1704067200", now));
        assert!(!timestamp_is_fresh("", now));
        assert!(!timestamp_is_fresh("soon", now));
    }

    #[test]
    fn amounts_round_to_two_places_with_a_minimum_of_one_cent() {
        assert_eq!(amount("0.01").unwrap().to_string(), "0.01");
        assert_eq!(amount("1").unwrap().to_string(), "1.00");
        assert_eq!(amount("12.345").unwrap().to_string(), "12.35");
        assert_eq!(amount("12.344").unwrap().to_string(), "12.34");
        assert_eq!(amount("1e-2").unwrap().to_string(), "0.01");
        assert_eq!(amount("0.005").unwrap().to_string(), "0.01");
        for bad in ["0.004", "0", "-1", "abc", ""] {
            assert!(amount(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_return_url_carries_state_4_and_the_ids() {
        assert_eq!(
            return_url("https://shop.example/done?x=1", "ord_1", "ORD 1").as_deref(),
            Some("https://shop.example/done?x=1&state=4&payOrderId=ord_1&merchantOrderId=ORD+1")
        );
        assert_eq!(return_url("not a url", "ord_1", "ORD-1"), None);
    }

    #[test]
    fn coin_codes_are_case_sensitive() {
        assert_eq!(coin("usdt"), Some(Currency::Usdt));
        assert_eq!(coin("usdc"), Some(Currency::Usdc));
        for bad in ["USDT", "Usdt", "MockUSDT", "dai", ""] {
            assert_eq!(coin(bad), None, "{bad}");
        }
    }

    #[test]
    fn chain_codes_default_to_mainnets_and_follow_the_config() {
        let config = HashnutConfig::default();
        assert_eq!(chain(&config, "erc20").as_deref(), Some("ethereum"));
        assert_eq!(chain(&config, "bsc-erc20").as_deref(), Some("bsc"));
        assert_eq!(chain(&config, "polygon-erc20").as_deref(), Some("polygon"));
        assert_eq!(chain(&config, "tron-trc20").as_deref(), Some("tron"));
        assert_eq!(chain(&config, "ERC20"), None);
        let dev = HashnutConfig {
            chains: HashnutConfig::dev_chains(),
        };
        assert_eq!(chain(&dev, "erc20").as_deref(), Some("local"));
        assert_eq!(chain(&dev, "tron-trc20").as_deref(), Some("local-tron"));
        assert_eq!(dev.code_of("local-tron").as_deref(), Some("tron-trc20"));
    }

    fn notification<'a>(payload: &'a str, context: Option<&'a str>) -> Notification<'a> {
        Notification {
            event_id: "evt_1",
            payload,
            url: "https://shop.example/hashnut/callback",
            context,
        }
    }

    const CONTEXT: &str = r#"{"payOrderId":"ord_1","merchantOrderId":"ORD-1","accessSign":"AB12"}"#;

    fn render(event_type: &str, data: &str) -> serde_json::Value {
        let payload =
            format!(r#"{{"id":"evt_1","type":"{event_type}","createdAt":"2025-01-20T10:30:00.000Z","data":{data}}}"#);
        let secrets = Secrets {
            current: "unused",
            previous: None,
        };
        let r = HashnutNotifier
            .render(&notification(&payload, Some(CONTEXT)), &secrets, chrono::Utc::now())
            .unwrap();
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.url, "https://shop.example/hashnut/callback");
        assert_eq!(r.content_type, "application/json");
        assert!(r.headers.is_empty(), "unsigned");
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn callbacks_post_the_ids_and_the_state_of_the_event() {
        let body = render("order.completed", r#"{"orderId":"ord_1"}"#);
        assert_eq!(
            body,
            serde_json::json!({"payOrderId":"ord_1","merchantOrderId":"ORD-1","accessSign":"AB12","state":4})
        );
        assert_eq!(render("order.expired", "{}")["state"], -2);
        assert_eq!(render("payment.reversed", "{}")["state"], -1);
        assert_eq!(
            render(
                "order.payment_detected",
                r#"{"amount":"10.00","amountReceived":"4.00"}"#
            )["state"],
            1
        );
        assert_eq!(
            render(
                "order.payment_detected",
                r#"{"amount":"10.00","amountReceived":"10.00"}"#
            )["state"],
            3
        );
    }

    #[test]
    fn callbacks_need_the_order_context() {
        let payload = r#"{"id":"evt_1","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z","data":{}}"#;
        let secrets = Secrets {
            current: "unused",
            previous: None,
        };
        assert!(matches!(
            HashnutNotifier.render(&notification(payload, None), &secrets, chrono::Utc::now()),
            Err(RenderError::Unrenderable(_))
        ));
    }

    #[test]
    fn only_200_success_is_received() {
        assert_eq!(HashnutNotifier.judge(200, b"success"), Verdict::Succeeded);
        assert_eq!(HashnutNotifier.judge(200, b" SUCCESS\n"), Verdict::Succeeded);
        assert_eq!(HashnutNotifier.judge(200, b"ok"), Verdict::Retry);
        assert_eq!(HashnutNotifier.judge(204, b""), Verdict::Retry);
        // A gone receiver is retried, never disabled: the endpoint is the order's own.
        assert_eq!(HashnutNotifier.judge(410, b"success"), Verdict::Retry);
    }
}
