//! Webhook endpoints, their deliveries and the requests that manage them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::EventType;
use crate::page::PageRequest;
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

/// The subscription rule: an endpoint with the subscribed `events` receives events of
/// `event_type`. An empty list subscribes to every type.
pub fn subscribes(events: &[EventType], event_type: EventType) -> bool {
    events.is_empty() || events.contains(&event_type)
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
        subscribes(&self.events, event_type)
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
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "https://shop.example/webhooks/payin",
            format = "uri",
            min_length = 1,
            max_length = 2048
        )
    )]
    pub url: String,
    /// Event types to deliver, e.g. ["order.completed", "deposit.confirmed"]; empty or
    /// omitted: every type.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Free text, at most 500 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
}

/// The optional body of `POST /webhooks/:id/rotate-secret`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the previous secret keeps signing deliveries next to the new one, 0 to 168
    /// hours (default 24): time to switch every receiver without losing a webhook.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 168))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct WebhookListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
}

/// Query of `GET /webhooks/deliveries`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    /// Deliveries of this event (evt_…).
    pub event_id: Option<String>,
    /// Deliveries to this endpoint (whe_…).
    pub endpoint_id: Option<String>,
    /// pending, succeeded or failed.
    #[cfg_attr(feature = "openapi", param(value_type = Option<DeliveryStatus>))]
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

impl WebhookListQuery {
    /// The page asked for.
    pub fn parse(&self) -> Result<PageRequest> {
        PageRequest::parse(self.page.as_deref(), self.limit.as_deref())
    }
}

impl DeliveryListQuery {
    /// The query as sent, parsed once into a validated filter.
    pub fn parse(&self) -> Result<DeliveryFilter> {
        Ok(DeliveryFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            event_id: self.event_id.clone().filter(|s| !s.is_empty()),
            endpoint_id: self.endpoint_id.clone().filter(|s| !s.is_empty()),
            status: self
                .status
                .as_deref()
                .map(|s| DeliveryStatus::parse("status", s))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_list_query_parses_into_a_typed_filter() {
        let q = DeliveryListQuery {
            event_id: Some("evt_1".into()),
            endpoint_id: Some(String::new()),
            status: Some("failed".into()),
            ..DeliveryListQuery::default()
        };
        let f = q.parse().unwrap();
        assert_eq!((f.event_id.as_deref(), f.endpoint_id), (Some("evt_1"), None));
        assert_eq!(f.status, Some(DeliveryStatus::Failed));
        let bad = DeliveryListQuery {
            page: Some("x".into()),
            ..DeliveryListQuery::default()
        };
        assert_eq!(bad.parse().unwrap_err().field(), Some("page"));
        assert_eq!(WebhookListQuery::default().parse().unwrap(), PageRequest::default());
    }
}
