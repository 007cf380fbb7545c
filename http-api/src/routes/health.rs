use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payin_core::engine::Health;
use serde_json::json;

use crate::AppState;
use crate::envelope::Envelope;

/// Liveness and database status; public. 503 when the database does not answer.
/// `status`, `version` and `timestamp` are also given at the top level for load balancers.
#[utoipa::path(get, path = "/health", tag = "health", security(),
    responses((status = 200, body = Envelope<Health>), (status = 503, body = Envelope<Health>)))]
pub async fn health(State(s): State<AppState>) -> Response {
    let h = s.engine.health().await;
    let status = if h.status == "healthy" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "success": status == StatusCode::OK,
        "status": h.status,
        "version": h.version,
        "timestamp": payin_core::time::format(&h.timestamp),
        "data": h,
    });
    (status, Json(body)).into_response()
}
