use axum::body::to_bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use payin_core::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, DeliveryListQuery, ResendRequest, Resent, RotateSecretRequest,
    RotatedSecret, WebhookEndpoint, WebhookListQuery,
};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::envelope::{Envelope, ListOf, created, ok, respond};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, BODY_LIMIT, parse_json};
use crate::openapi::{DeliveryList, WebhookList};

/// Register an endpoint. The response carries its signing secret (`whsec_…`), shown only here.
/// Events that already happened are not delivered to it.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Endpoint created, with its secret", body = Envelope<CreatedWebhookEndpoint>),
        (status = 400, description = "VALIDATION_ERROR naming url, events[i] or description; url is refused when it carries credentials or its host is not a public address (loopback, private, link-local, CGNAT, multicast, reserved, in any IPv4/IPv6 spelling) and the server's config does not allow it", body = ApiError),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<Response, ApiError> {
    Ok(created(
        s.engine.create_webhook_endpoint(req).await?,
        "Webhook endpoint created; store the secret now, it is not shown again",
    ))
}

/// List endpoints, newest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(WebhookListQuery),
    responses((status = 200, body = Envelope<WebhookList>), (status = 400, body = ApiError)))]
pub async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<WebhookListQuery>) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new("webhooks", s.engine.list_webhook_endpoints(&q).await?)))
}

/// One endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{webhookId}", tag = "webhooks",
    params(("webhookId" = String, Path, description = "e.g. whe_k3j9x2m4p7q1w8e5")),
    responses((status = 200, body = Envelope<WebhookEndpoint>), (status = 404, description = "NOT_FOUND", body = ApiError)))]
pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_webhook_endpoint(&id).await?))
}

/// Delete an endpoint: nothing more is delivered to it and its pending deliveries are failed.
/// Its past deliveries stay listed under `GET /webhooks/deliveries`.
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhookId}", tag = "webhooks",
    params(("webhookId" = String, Path)),
    responses((status = 200, description = "The endpoint as it was disabled", body = Envelope<WebhookEndpoint>),
        (status = 404, description = "NOT_FOUND", body = ApiError)))]
pub async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let endpoint = s.engine.delete_webhook_endpoint(&id).await?;
    Ok(respond(
        StatusCode::OK,
        endpoint,
        Some("Webhook endpoint deleted".into()),
    ))
}

/// Deliveries, newest first, each with every attempt (time, HTTP status or error, duration).
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks", params(DeliveryListQuery),
    responses((status = 200, body = Envelope<DeliveryList>), (status = 400, body = ApiError)))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveryListQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new(
        "deliveries",
        s.engine.list_webhook_deliveries(&q).await?,
    )))
}

/// Give an endpoint a new signing secret (shown only in this answer). The previous secret
/// keeps signing deliveries next to the new one, as a second `webhook-signature` entry, for
/// `keepPreviousHours` (default 24): time to switch every receiver without losing a webhook.
#[utoipa::path(post, path = "/api/v1/webhooks/{webhookId}/rotate-secret", tag = "webhooks",
    params(("webhookId" = String, Path)),
    request_body = Option<RotateSecretRequest>,
    responses(
        (status = 200, description = "The endpoint with its new secret", body = Envelope<RotatedSecret>),
        (status = 400, description = "VALIDATION_ERROR naming keepPreviousHours", body = ApiError),
        (status = 404, description = "NOT_FOUND", body = ApiError),
    ))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<RotateSecretRequest>,
) -> Result<Response, ApiError> {
    let rotated = s.engine.rotate_webhook_secret(&id, req.unwrap_or_default()).await?;
    Ok(respond(StatusCode::OK, rotated, Some("Webhook secret rotated".into())))
}

/// Queue an event again: to every active endpoint subscribed to its type now, or with
/// `{"endpointId": …}` to that one. Receivers see the same `webhook-id` (the event id).
#[utoipa::path(post, path = "/api/v1/events/{eventId}/resend", tag = "events",
    params(("eventId" = String, Path)),
    request_body = Option<ResendRequest>,
    responses(
        (status = 202, description = "Deliveries queued", body = Envelope<Resent>),
        (status = 400, description = "endpointId disabled or not subscribed to the event's type", body = ApiError),
        (status = 404, description = "No such event or endpoint", body = ApiError),
    ))]
pub async fn resend(
    State(s): State<AppState>,
    Path(event_id): Path<String>,
    OptionalJson(req): OptionalJson<ResendRequest>,
) -> Result<Response, ApiError> {
    let resent = s.engine.resend_event(&event_id, req.unwrap_or_default()).await?;
    let message = format!("{} deliveries queued", resent.deliveries.len());
    Ok(respond(StatusCode::ACCEPTED, resent, Some(message)))
}

/// A JSON body that may be absent (empty). When present it is held to [`ApiJson`]'s rules;
/// a body sent without any Content-Type is still read as JSON rather than ignored.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).map(|v| {
            v.to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        let bytes = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|_| {
            ApiError::validation("body", format!("request body exceeds the {BODY_LIMIT}-byte limit"))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if content_type.is_some_and(|m| m != "application/json" && !m.ends_with("+json")) {
            return Err(
                ApiError::validation("Content-Type", "Content-Type must be application/json")
                    .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            );
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}
