//! Webhooks: the endpoints merchants register, the deliveries written beside every event
//! (a transactional outbox: [`outbox`] decides who gets one, the store inserts them in the
//! event's own transaction), how each endpoint's kind renders and judges a request
//! ([`notifier`]), how PayIn webhooks are signed ([`signature`]), when failures are retried
//! ([`retry`]) and the background [`dispatch::Dispatcher`] that sends them.

pub mod dispatch;
pub mod notifier;
pub mod outbox;
pub mod retry;
pub mod signature;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::ids;
use crate::page::{Page, PageRequest};
use crate::time::{Timestamp, serde_millis};

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Longest endpoint description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 500;
/// `disabledReason` of an endpoint removed through the API or CLI.
pub const DELETED_REASON: &str = "deleted";
/// `disabledReason` of an endpoint that answered 410 Gone.
pub const GONE_REASON: &str = "endpoint answered 410 Gone";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EndpointStatus {
    /// Receives deliveries.
    Active,
    /// Receives nothing more: deleted, or it answered 410 Gone.
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Active => "active",
            EndpointStatus::Disabled => "disabled",
        }
    }

    pub fn from_stored(s: &str) -> Result<EndpointStatus> {
        match s {
            "active" => Ok(EndpointStatus::Active),
            "disabled" => Ok(EndpointStatus::Disabled),
            _ => Err(Error::Internal(format!("stored endpoint status '{s}'"))),
        }
    }
}

/// A webhook endpoint as listed. Its secret is returned once, by the creation call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    #[cfg_attr(feature = "openapi", schema(example = "whe_k3j9x2m4p7q1w8e5"))]
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// Event types delivered to this endpoint; empty means every type.
    pub events: Vec<EventType>,
    pub status: EndpointStatus,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub disabled_at: Option<Timestamp>,
    /// Why it was disabled: "deleted", or "endpoint answered 410 Gone".
    pub disabled_reason: Option<String>,
}

impl WebhookEndpoint {
    /// Whether events of `event_type` are delivered to this endpoint (when active).
    pub fn subscribes_to(&self, event_type: EventType) -> bool {
        outbox::subscribes(&self.events, event_type)
    }
}

/// The creation response: the endpoint and its signing secret, shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: keys both signature schemes. Store it now; it is not shown again.
    #[cfg_attr(feature = "openapi", schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))]
    pub secret: String,
}

/// The body of `POST /webhooks`, as the client sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Absolute https URL (plain http only for localhost) that receives POSTed events.
    #[cfg_attr(feature = "openapi", schema(example = "https://shop.example/webhooks/payin"))]
    pub url: String,
    /// Event types to deliver, e.g. ["order.completed", "deposit.confirmed"]; empty or
    /// omitted: every type.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
}

/// The optional body of `POST /webhooks/:id/rotate-secret`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the previous secret keeps signing deliveries next to the new one, 0 to 168
    /// hours (default 24): time to switch every receiver without losing a webhook.
    pub keep_previous_hours: Option<u32>,
}

/// A rotated endpoint: its new secret (shown only here) and until when the old one signs too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The new `whsec_…` secret. Store it now; it is not shown again.
    pub secret: String,
    /// Until when deliveries also carry a signature made with the previous secret (null: the
    /// previous secret stopped signing at once).
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub previous_secret_expires_at: Option<Timestamp>,
}

/// Longest overlap of an old and a new secret.
pub const MAX_KEEP_PREVIOUS_HOURS: u32 = 168;

/// The optional body of `POST /events/:id/resend`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResendRequest {
    /// Resend to this endpoint only; by default to every active endpoint subscribed to the
    /// event's type.
    pub endpoint_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt got a 2xx answer.
    Succeeded,
    /// Given up: attempts exhausted, or the endpoint was disabled.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<DeliveryStatus> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "succeeded" => Ok(DeliveryStatus::Succeeded),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(Error::validation(
                field,
                format!("{field} must be one of pending, succeeded, failed"),
            )),
        }
    }

    pub fn from_stored(s: &str) -> Result<DeliveryStatus> {
        DeliveryStatus::parse("status", s).map_err(|_| Error::Internal(format!("stored delivery status '{s}'")))
    }
}

/// One event on its way to one endpoint, with every attempt so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    #[cfg_attr(feature = "openapi", schema(example = "dlv_3f9a0c1d2e4b5a69"))]
    pub id: String,
    pub event_id: String,
    pub event_type: EventType,
    pub endpoint_id: String,
    pub status: DeliveryStatus,
    /// Attempts started so far.
    pub attempt_count: u32,
    /// When the next attempt is due (pending deliveries only).
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<Timestamp>,
    /// HTTP status of the last attempt, if it got an answer.
    pub last_http_status: Option<u16>,
    /// Why the last attempt got no answer (timeout, connection refused …).
    pub last_error: Option<String>,
    pub last_duration_ms: Option<u64>,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<Timestamp>,
    /// Every attempt, first to last.
    pub attempts: Vec<DeliveryAttempt>,
}

/// One try at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// From 1.
    pub attempt: u32,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    /// The endpoint's answer; only 2xx counts as delivered.
    pub http_status: Option<u16>,
    /// Why there was no answer; both are null while the attempt is in flight.
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    /// The signature headers sent (`webhook-id`, `webhook-timestamp`, `webhook-signature`,
    /// `X-PayIn-Signature`). With the event's body they let you check a secret against a real
    /// delivery (MCP `verify_webhook_signature` with `eventId`). Null until the attempt is sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub headers: Option<BTreeMap<String, String>>,
}

/// `POST /events/:id/resend`: the deliveries it queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    pub event_id: String,
    pub deliveries: Vec<Delivery>,
}

/// Query of `GET /webhooks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
pub struct WebhookListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
}

/// Query of `GET /webhooks/deliveries`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    /// Deliveries of this event (evt_…).
    pub event_id: Option<String>,
    /// Deliveries to this endpoint (whe_…).
    pub endpoint_id: Option<String>,
    /// pending, succeeded or failed.
    pub status: Option<String>,
}

/// A validated `GET /webhooks/deliveries` query; newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub page: PageRequest,
    pub event_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub status: Option<DeliveryStatus>,
}

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
    /// already happened are not delivered to it.
    pub async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint> {
        let url = parse_url("url", &req.url)?;
        let events = parse_events("events", req.events.as_deref().unwrap_or_default())?;
        let description = parse_description("description", req.description.as_deref())?;
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
        let page = PageRequest::parse(q.page.as_deref(), q.limit.as_deref())?;
        self.store().list_webhook_endpoints(page).await
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
        let filter = DeliveryFilter {
            page: PageRequest::parse(q.page.as_deref(), q.limit.as_deref())?,
            event_id: q.event_id.clone().filter(|s| !s.is_empty()),
            endpoint_id: q.endpoint_id.clone().filter(|s| !s.is_empty()),
            status: q
                .status
                .as_deref()
                .map(|s| DeliveryStatus::parse("status", s))
                .transpose()?,
        };
        self.store().list_deliveries(&filter).await
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
            .create_deliveries(&event.id, event.event_type, endpoint_id, self.now())
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
        ] {
            assert_eq!(field_of(parse_url("url", bad).unwrap_err()), "url", "{bad}");
        }
        let long = format!("https://shop.example/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_url("url", &long).is_err());
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
