//! The notifier seam: how one endpoint is told about an event. Each endpoint has a kind
//! ([`EndpointKind`]); its [`Notifier`] renders the request at send time (URL, method, body,
//! headers) and judges the receiver's answer. The dispatcher owns everything else (claims,
//! leases, retries, recording), so a new callback style (an epay form with an MD5 signature, a
//! HashNut callback) is one more implementation, not another dispatcher.

use std::collections::BTreeMap;

use reqwest::Method;

use super::signature::{InvalidSecret, SignatureHeaders};
use crate::time::Timestamp;

/// Most bytes of a receiver's answer read for [`Notifier::judge`]; the rest is ignored.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What a notifier needs to know about the event and the endpoint it is sent to.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    pub event_id: &'a str,
    /// The stored event body (`{"id","type","createdAt","data"}`), exactly as written.
    pub payload: &'a str,
    /// The endpoint's registered URL.
    pub url: &'a str,
    /// What an endpoint scoped to one order carries for its kind to render (a JSON object,
    /// e.g. HashNut's `merchantOrderId` and `accessSign`); `None` for registered endpoints.
    pub context: Option<&'a str>,
}

/// The endpoint's signing secrets at the moment of sending.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    pub current: &'a str,
    /// The secret before the last rotation, while it still signs.
    pub previous: Option<&'a str>,
}

/// One rendered request, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    pub method: Method,
    pub url: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Headers that authenticate the request; recorded with the attempt so a merchant can
    /// check a delivery against their secret.
    pub headers: BTreeMap<String, String>,
}

/// How a receiver's answer ends an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    /// Try again on the retry schedule (given up when it runs out).
    Retry,
    /// The receiver is gone: disable the endpoint; its pending deliveries fail.
    DisableEndpoint,
}

/// Why a request could not be rendered; recorded as the attempt's error and retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    InvalidSecret(#[from] InvalidSecret),
    #[error("unknown endpoint kind '{0}'")]
    UnknownKind(String),
    /// The event or the endpoint's context lacks what the kind renders.
    #[error("cannot render the callback: {0}")]
    Unrenderable(String),
}

/// One style of notification: the request's shape and signature, and what counts as received.
pub trait Notifier: Send + Sync {
    /// Renders the request for one attempt made at `now`.
    fn render(
        &self,
        n: &Notification<'_>,
        secrets: &Secrets<'_>,
        now: Timestamp,
    ) -> Result<OutgoingRequest, RenderError>;

    /// Judges an answer: its HTTP status and the first [`MAX_ANSWER_BYTES`] of its body.
    fn judge(&self, status: u16, body: &[u8]) -> Verdict;
}

/// The kind of an endpoint, stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// PayIn webhooks: the event JSON, both signature schemes, any 2xx is received.
    Payin,
    /// HashNut v3 callbacks of one order (issue 13): unsigned JSON `{payOrderId,
    /// merchantOrderId, accessSign, state}`, received when answered 200 `success`.
    Hashnut,
    /// QieJiao notifications of one order (issue 13): a form-encoded `POST` signed with the
    /// merchant's key (upper-case MD5), received when answered 200 `success`.
    Qiejiao,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Payin => "payin",
            EndpointKind::Hashnut => "hashnut",
            EndpointKind::Qiejiao => "qiejiao",
        }
    }

    pub fn from_stored(s: &str) -> Result<EndpointKind, RenderError> {
        match s {
            "payin" => Ok(EndpointKind::Payin),
            "hashnut" => Ok(EndpointKind::Hashnut),
            "qiejiao" => Ok(EndpointKind::Qiejiao),
            _ => Err(RenderError::UnknownKind(s.to_string())),
        }
    }

    /// The notifier that renders and judges deliveries to endpoints of this kind.
    pub fn notifier(self) -> &'static dyn Notifier {
        match self {
            EndpointKind::Payin => &PayinNotifier,
            EndpointKind::Hashnut => &crate::compat::hashnut::HashnutNotifier,
            EndpointKind::Qiejiao => &crate::compat::qiejiao::QiejiaoNotifier,
        }
    }
}

/// PayIn webhooks: `POST` of the stored event JSON, byte for byte, signed with both schemes
/// (`X-PayIn-Signature` with the current secret; Standard Webhooks with the current and, during a
/// rotation, the previous secret). Any 2xx is received; 410 Gone disables the endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayinNotifier;

impl Notifier for PayinNotifier {
    fn render(
        &self,
        n: &Notification<'_>,
        secrets: &Secrets<'_>,
        now: Timestamp,
    ) -> Result<OutgoingRequest, RenderError> {
        let signed = SignatureHeaders::sign_rotating(
            secrets.current,
            secrets.previous,
            n.event_id,
            now.timestamp(),
            n.payload.as_bytes(),
        )?;
        Ok(OutgoingRequest {
            method: Method::POST,
            url: n.url.to_string(),
            content_type: "application/json",
            body: n.payload.as_bytes().to_vec(),
            headers: signed
                .pairs()
                .into_iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        })
    }

    fn judge(&self, status: u16, _body: &[u8]) -> Verdict {
        match status {
            200..=299 => Verdict::Succeeded,
            410 => Verdict::DisableEndpoint,
            _ => Verdict::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::signature::{self, Scheme};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const PAYLOAD: &str = r#"{"id":"evt_1","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z","data":{}}"#;

    fn notification() -> Notification<'static> {
        Notification {
            event_id: "evt_1",
            payload: PAYLOAD,
            url: "https://shop.example/webhooks/payin",
            context: None,
        }
    }

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn payin_posts_the_stored_event_byte_for_byte_to_the_endpoint_url() {
        let secrets = Secrets {
            current: SECRET,
            previous: None,
        };
        let r = PayinNotifier
            .render(&notification(), &secrets, at(1_737_369_000))
            .unwrap();
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.url, "https://shop.example/webhooks/payin");
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.body, PAYLOAD.as_bytes());
    }

    #[test]
    fn payin_headers_are_both_signature_schemes_at_send_time() {
        let secrets = Secrets {
            current: SECRET,
            previous: None,
        };
        let r = PayinNotifier
            .render(&notification(), &secrets, at(1_737_369_000))
            .unwrap();
        let names: std::collections::BTreeSet<&str> = r.headers.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                signature::PAYIN_SIGNATURE_HEADER,
                signature::ID_HEADER,
                signature::TIMESTAMP_HEADER,
                signature::SIGNATURE_HEADER
            ]
            .into()
        );
        assert_eq!(r.headers[signature::ID_HEADER], "evt_1");
        assert_eq!(r.headers[signature::TIMESTAMP_HEADER], "1737369000");
        assert_eq!(
            r.headers[signature::PAYIN_SIGNATURE_HEADER],
            signature::payin_signature(SECRET, PAYLOAD.as_bytes())
        );
        let schemes = signature::verify(SECRET, PAYLOAD.as_bytes(), &r.headers, 1_737_369_000, 300).unwrap();
        assert!(schemes.contains(&Scheme::PayIn) && schemes.contains(&Scheme::StandardWebhooks));
        // Rendered again later, the timestamp (and so the signature) is the new attempt's.
        let later = PayinNotifier
            .render(&notification(), &secrets, at(1_737_369_060))
            .unwrap();
        assert_eq!(later.headers[signature::TIMESTAMP_HEADER], "1737369060");
        assert_ne!(
            later.headers[signature::SIGNATURE_HEADER],
            r.headers[signature::SIGNATURE_HEADER]
        );
    }

    #[test]
    fn payin_signs_with_the_previous_secret_too_during_a_rotation() {
        let secrets = Secrets {
            current: SECRET,
            previous: Some(OLD_SECRET),
        };
        let r = PayinNotifier
            .render(&notification(), &secrets, at(1_737_369_000))
            .unwrap();
        let entries: Vec<&str> = r.headers[signature::SIGNATURE_HEADER].split(' ').collect();
        assert_eq!(
            entries,
            [
                signature::standard_signature(SECRET, "evt_1", 1_737_369_000, PAYLOAD.as_bytes()).unwrap(),
                signature::standard_signature(OLD_SECRET, "evt_1", 1_737_369_000, PAYLOAD.as_bytes()).unwrap(),
            ]
        );
        // The seed scheme holds one value: the current secret's.
        assert_eq!(
            r.headers[signature::PAYIN_SIGNATURE_HEADER],
            signature::payin_signature(SECRET, PAYLOAD.as_bytes())
        );
    }

    #[test]
    fn payin_cannot_render_with_a_malformed_secret() {
        let secrets = Secrets {
            current: "whsec_!!!",
            previous: None,
        };
        assert_eq!(
            PayinNotifier.render(&notification(), &secrets, at(0)),
            Err(RenderError::InvalidSecret(InvalidSecret))
        );
    }

    #[test]
    fn payin_counts_any_2xx_whatever_the_body() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(PayinNotifier.judge(status, b""), Verdict::Succeeded, "{status}");
            assert_eq!(PayinNotifier.judge(status, b"fail"), Verdict::Succeeded, "{status}");
        }
    }

    #[test]
    fn payin_disables_on_410_and_retries_everything_else() {
        assert_eq!(PayinNotifier.judge(410, b""), Verdict::DisableEndpoint);
        for status in [100, 199, 300, 301, 304, 400, 401, 404, 409, 429, 500, 502, 503] {
            assert_eq!(PayinNotifier.judge(status, b"success"), Verdict::Retry, "{status}");
        }
    }

    #[test]
    fn kinds_round_trip_through_storage() {
        assert_eq!(EndpointKind::from_stored("payin"), Ok(EndpointKind::Payin));
        assert_eq!(EndpointKind::Payin.as_str(), "payin");
        assert_eq!(
            EndpointKind::from_stored("epay"),
            Err(RenderError::UnknownKind("epay".into()))
        );
    }
}
