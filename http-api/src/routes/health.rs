use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payin_core::engine::{DatabaseHealth, Health};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The body of `/health`: the success envelope around [`Health`], plus `status`, `version` and
/// `timestamp` at the top level for load balancers that read only those.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// False only when unhealthy (the answer is then 503; 200 when healthy or degraded).
    pub success: bool,
    /// healthy, degraded (a watched chain is stalled) or unhealthy (the database is down).
    #[schema(example = "healthy")]
    pub status: &'static str,
    pub version: &'static str,
    #[schema(format = DateTime)]
    pub timestamp: String,
    pub data: Health,
}

/// Database status and each watched chain's progress and lease holder; public. 200 when healthy
/// or degraded (a watched chain has not been scanned successfully for its `stalledAfterMs`, by
/// whichever replica holds its lease), 503 when the database does not answer.
#[utoipa::path(get, path = "/health", tag = "health", security(),
    responses((status = 200, description = "healthy or degraded", body = HealthResponse),
              (status = 503, description = "unhealthy: the database does not answer", body = HealthResponse)))]
pub async fn health(State(s): State<AppState>) -> Response {
    let h = s.engine.health().await;
    let up = h.status != "unhealthy";
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = HealthResponse {
        success: up,
        status: h.status,
        version: h.version,
        timestamp: payin_core::time::format(&h.timestamp),
        data: h,
    };
    (status, Json(body)).into_response()
}

/// The body of `/livez`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LivenessResponse {
    pub success: bool,
    /// Always `alive`.
    #[schema(example = "alive")]
    pub status: &'static str,
}

/// Liveness for orchestrators; public. 200 whenever the process serves requests: it checks
/// nothing else, so a database or chain outage never gets the process restarted.
#[utoipa::path(get, path = "/livez", tag = "health", security(),
    responses((status = 200, body = LivenessResponse)))]
pub async fn livez() -> Json<LivenessResponse> {
    Json(LivenessResponse {
        success: true,
        status: "alive",
    })
}

/// The body of `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessResponse {
    /// True when ready (200); false otherwise (503).
    pub success: bool,
    /// ready or unavailable.
    #[schema(example = "ready")]
    pub status: &'static str,
    pub database: DatabaseHealth,
}

/// Readiness for orchestrators and load balancers; public. 200 when the database answers
/// within a few seconds, 503 otherwise. Chain watching does not count: a replica serves the API
/// whether or not it holds a chain's lease.
#[utoipa::path(get, path = "/readyz", tag = "health", security(),
    responses((status = 200, body = ReadinessResponse),
              (status = 503, description = "the database does not answer", body = ReadinessResponse)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let database = s.engine.database_health().await;
    let ready = database.status == "ok";
    let body = ReadinessResponse {
        success: ready,
        status: if ready { "ready" } else { "unavailable" },
        database,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
