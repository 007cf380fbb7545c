use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use payin_core::config::Settings;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::envelope::{Envelope, ok, respond};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Body of `PUT /config/:key`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetConfigRequest {
    /// Minutes as a whole number, a URL string, or null to clear a URL.
    #[schema(value_type = Object)]
    pub value: Value,
}

/// The effective settings.
#[utoipa::path(get, path = "/api/v1/config", tag = "config", responses((status = 200, body = Envelope<Settings>)))]
pub async fn get_all(State(s): State<AppState>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.reload_settings().await?))
}

/// Change one setting: payment_window_minutes, grace_minutes, address_cooldown_minutes,
/// default_order_success_url, default_order_cancel_url, pool_low_watermark.
#[utoipa::path(put, path = "/api/v1/config/{key}", tag = "config", request_body = SetConfigRequest,
    params(("key" = String, Path)),
    responses((status = 200, body = Envelope<Settings>), (status = 400, body = ApiError), (status = 404, description = "Unknown key", body = ApiError)))]
pub async fn set(
    State(s): State<AppState>,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<SetConfigRequest>,
) -> Result<Response, ApiError> {
    let settings = s.engine.set_config(&key, &req.value).await?;
    Ok(respond(StatusCode::OK, settings, Some(format!("{key} updated"))))
}
