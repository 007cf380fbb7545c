use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payin_core::engine::Health;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The body of `/health`: the success envelope around [`Health`], plus `status`, `version` and
/// `timestamp` at the top level for load balancers that read only those.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// True when healthy (the answer is then 200; 503 otherwise).
    pub success: bool,
    /// healthy or unhealthy.
    pub status: &'static str,
    pub version: &'static str,
    #[schema(format = DateTime)]
    pub timestamp: String,
    pub data: Health,
}

/// Liveness and database status; public. 503 when the database does not answer.
#[utoipa::path(get, path = "/health", tag = "health", security(),
    responses((status = 200, body = HealthResponse), (status = 503, body = HealthResponse)))]
pub async fn health(State(s): State<AppState>) -> Response {
    let h = s.engine.health().await;
    let healthy = h.status == "healthy";
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = HealthResponse {
        success: healthy,
        status: h.status,
        version: h.version,
        timestamp: payin_core::time::format(&h.timestamp),
        data: h,
    };
    (status, Json(body)).into_response()
}
