//! Webhooks: the endpoints merchants register, the deliveries written beside every event
//! (a transactional outbox: [`outbox`] decides who gets one, the store inserts them in the
//! event's own transaction), how each endpoint's kind renders and judges a request
//! ([`notifier`]), how PayIn webhooks are signed ([`signature`]), when failures are retried
//! ([`retry`]) and the background [`dispatch::Dispatcher`] that sends them.

pub mod dispatch;
pub mod guard;
pub mod notifier;
pub mod outbox;
pub mod retry;
pub mod signature;

use std::collections::BTreeMap;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::ids;
use crate::page::Page;
use crate::time::Timestamp;

pub use payin_types::webhook::*;

/// A delivery claimed for one attempt, with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery_id: String,
    /// The number of the attempt about to be made, from 1.
    pub attempt: u32,
    pub event_id: String,
    /// The stored event body, sent byte for byte.
    pub payload: String,
    pub endpoint_id: String,
    /// The endpoint's stored kind (see [`notifier::EndpointKind`]): how the attempt is rendered
    /// and judged.
    pub kind: String,
    pub url: String,
    pub secret: String,
    /// The secret before the last rotation, while it still signs (see `rotate_webhook_secret`).
    pub previous_secret: Option<String>,
    /// What an endpoint scoped to one order carries for its kind (see `Notification::context`).
    pub context: Option<String>,
}

/// What follows an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    RetryAt(Timestamp),
    /// Attempts exhausted.
    GiveUp,
    /// The endpoint's answer says it is gone (410 for PayIn webhooks): disable it; its pending
    /// deliveries fail.
    DisableEndpoint,
}

/// The recorded result of one attempt.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: String,
    pub attempt: u32,
    pub endpoint_id: String,
    pub finished_at: Timestamp,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub next: NextStep,
    /// The signature headers the request carried; `None` when it could not be signed.
    pub headers: Option<BTreeMap<String, String>>,
}

impl AttemptOutcome {
    /// The delivery's status after this attempt.
    pub fn status(&self) -> DeliveryStatus {
        match self.next {
            NextStep::Succeeded => DeliveryStatus::Succeeded,
            NextStep::RetryAt(_) => DeliveryStatus::Pending,
            NextStep::GiveUp | NextStep::DisableEndpoint => DeliveryStatus::Failed,
        }
    }

    pub fn next_attempt_at(&self) -> Option<Timestamp> {
        match self.next {
            NextStep::RetryAt(at) => Some(at),
            _ => None,
        }
    }

    pub fn delivered_at(&self) -> Option<Timestamp> {
        (self.next == NextStep::Succeeded).then_some(self.finished_at)
    }
}

/// `last_error` of deliveries failed because their endpoint was disabled.
pub fn disabled_error(reason: &str) -> String {
    format!("endpoint disabled ({reason}); not attempted further")
}

/// `error` of an attempt whose worker stopped before recording an outcome.
pub const INTERRUPTED_ERROR: &str = "interrupted: no outcome was recorded before the attempt's lease ended";

/// An endpoint URL: absolute https, or plain http to a loopback host (a receiver on the same
/// machine, e.g. in development), at most [`MAX_URL_LEN`] characters.
pub fn parse_url(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::validation(field, format!("{field} is required")));
    }
    if s.len() > MAX_URL_LEN {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {MAX_URL_LEN} characters"),
        ));
    }
    let url =
        url::Url::parse(s).map_err(|_| Error::validation(field, format!("{field} must be an absolute https URL")))?;
    let Some(host) = url.host() else {
        return Err(Error::validation(field, format!("{field} must name a host")));
    };
    // Never stored, so never shown in a listing or a log; the message does not repeat them.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::validation(
            field,
            format!(
                "{field} must not contain credentials (user:password@); authenticate deliveries by their signature"
            ),
        ));
    }
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if is_loopback(&host) => Ok(url.to_string()),
        "http" => Err(Error::validation(
            field,
            format!("{field} must use https (plain http is accepted only for localhost)"),
        )),
        _ => Err(Error::validation(
            field,
            format!("{field} must be an absolute https URL"),
        )),
    }
}

/// An endpoint URL as listings show it: credentials that an endpoint registered before they
/// were refused may still carry are masked (deliveries still use the stored URL).
pub(crate) fn without_credentials(url: String) -> String {
    match url::Url::parse(&url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url,
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Subscribed event types, each a known type; duplicates are dropped, order kept.
pub fn parse_events(field: &str, names: &[String]) -> Result<Vec<EventType>> {
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let t = EventType::parse(&format!("{field}[{i}]"), name.trim())?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn parse_description(field: &str, s: Option<&str>) -> Result<Option<String>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    Ok(Some(s.to_string()))
}

fn endpoint_not_found(id: &str) -> Error {
    Error::NotFound(format!("Webhook endpoint '{id}' not found"))
}

impl Engine {
    /// Registers an endpoint; the returned secret is never retrievable again. Events that
    /// already happened are not delivered to it. A URL no delivery could reach under the SSRF
    /// guard ([`guard`]) is refused.
    pub async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint> {
        let url = parse_url("url", &req.url)?;
        let events = parse_events("events", req.events.as_deref().unwrap_or_default())?;
        let description = parse_description("description", req.description.as_deref())?;
        self.webhook_policy().check_registration("url", &url).await?;
        let endpoint = WebhookEndpoint {
            id: format!("whe_{}", ids::random_lower_alnum(16)),
            url,
            description,
            events,
            status: EndpointStatus::Active,
            created_at: self.now(),
            disabled_at: None,
            disabled_reason: None,
        };
        let secret = signature::generate_secret();
        self.store().insert_webhook_endpoint(&endpoint, &secret).await?;
        Ok(CreatedWebhookEndpoint { endpoint, secret })
    }

    /// Endpoints, newest first (deleted ones are not listed).
    pub async fn list_webhook_endpoints(&self, q: &WebhookListQuery) -> Result<Page<WebhookEndpoint>> {
        self.store().list_webhook_endpoints(q.parse()?).await
    }

    pub async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        self.store()
            .get_webhook_endpoint(id)
            .await?
            .ok_or_else(|| endpoint_not_found(id))
    }

    /// Gives an endpoint a new secret. The previous one keeps signing deliveries next to it
    /// (a second `webhook-signature` entry) for `keep_previous_hours` (default 24), so receivers
    /// can switch without a failed delivery; `X-PayIn-Signature` uses the new secret at once.
    pub async fn rotate_webhook_secret(&self, id: &str, req: RotateSecretRequest) -> Result<RotatedSecret> {
        let hours = req.keep_previous_hours.unwrap_or(24);
        if hours > MAX_KEEP_PREVIOUS_HOURS {
            return Err(Error::validation(
                "keepPreviousHours",
                format!("keepPreviousHours must be between 0 and {MAX_KEEP_PREVIOUS_HOURS}"),
            ));
        }
        let secret = signature::generate_secret();
        let now = self.now();
        let previous_until =
            (hours > 0).then(|| crate::time::truncate_millis(now + chrono::Duration::hours(i64::from(hours))));
        let endpoint = self
            .store()
            .rotate_webhook_secret(id, &secret, previous_until)
            .await?
            .ok_or_else(|| endpoint_not_found(id))?;
        Ok(RotatedSecret {
            endpoint,
            secret,
            previous_secret_expires_at: previous_until,
        })
    }

    /// Removes an endpoint: nothing more is delivered to it and its pending deliveries fail.
    /// Its past deliveries stay queryable.
    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        self.store()
            .delete_webhook_endpoint(id, self.now())
            .await?
            .ok_or_else(|| endpoint_not_found(id))
    }

    /// Deliveries, newest first, each with its attempts.
    pub async fn list_webhook_deliveries(&self, q: &DeliveryListQuery) -> Result<Page<Delivery>> {
        self.store().list_deliveries(&q.parse()?).await
    }

    /// Queues the event again: to one named endpoint (active and subscribed to the event's
    /// type), or to every active endpoint subscribed now.
    pub async fn resend_event(&self, event_id: &str, req: ResendRequest) -> Result<Resent> {
        let event = self.get_event(event_id).await?;
        let endpoint_id = req.endpoint_id.as_deref().map(str::trim);
        if let Some(id) = endpoint_id {
            let endpoint = self.get_webhook_endpoint(id).await?;
            if endpoint.status != EndpointStatus::Active {
                return Err(Error::validation(
                    "endpointId",
                    format!("endpointId '{id}' is disabled and receives nothing"),
                ));
            }
            if !endpoint.subscribes_to(event.event_type) {
                return Err(Error::validation(
                    "endpointId",
                    format!("endpointId '{id}' is not subscribed to {}", event.event_type.as_str()),
                ));
            }
        }
        let deliveries = self
            .store()
            .create_deliveries(
                &event.id,
                event.event_type,
                outbox::order_of(&event),
                endpoint_id,
                self.now(),
            )
            .await?;
        Ok(Resent {
            event_id: event.id,
            deliveries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: Error) -> String {
        match e {
            Error::Invalid { field, .. } => field,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        for ok in [
            "https://shop.example/webhooks/payin",
            "https://shop.example:8443/hook?x=1",
            "http://localhost:3000/hook",
            "http://127.0.0.1:9000/",
            "http://[::1]:9000/",
            "http://api.localhost/hook",
        ] {
            assert!(parse_url("url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "shop.example/hook",
            "/hook",
            "ftp://shop.example/hook",
            "http://shop.example/hook",
            "http://10.0.0.5/hook",
            "mailto:ops@shop.example",
            "https://user:pw@shop.example/hook",
            "https://user@shop.example/hook",
            "https://:pw@shop.example/hook",
        ] {
            assert_eq!(field_of(parse_url("url", bad).unwrap_err()), "url", "{bad}");
        }
        let long = format!("https://shop.example/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_url("url", &long).is_err());
    }

    #[test]
    fn credentials_are_refused_and_never_repeated() {
        let e = parse_url("url", "https://merchant:s3cret@shop.example/hook").unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("credentials") && !message.contains("s3cret"),
            "{message}"
        );
        // Stored before they were refused: listings mask them.
        assert_eq!(
            without_credentials("https://merchant:s3cret@shop.example/hook".into()),
            "https://shop.example/hook"
        );
        assert_eq!(
            without_credentials("https://shop.example/hook?a=1".into()),
            "https://shop.example/hook?a=1"
        );
    }

    #[test]
    fn events_are_known_types_without_duplicates() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_events(
                "events",
                &names(&["order.completed", "order.expired", "order.completed"])
            )
            .unwrap(),
            [EventType::OrderCompleted, EventType::OrderExpired]
        );
        assert!(parse_events("events", &[]).unwrap().is_empty());
        assert_eq!(
            field_of(parse_events("events", &names(&["order.completed", "order.paid"])).unwrap_err()),
            "events[1]"
        );
    }
}
