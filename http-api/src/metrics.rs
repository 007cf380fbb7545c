//! Prometheus metrics over HTTP: the exporter (one per process, installed on first use), the
//! middleware that counts and times every request by its route template, and `GET /metrics`.
//!
//! `/metrics` on the API's own listener sits behind the API key like `/api/v1` (the counts say
//! how much business the gateway does); [`metrics_router`] serves it without a key on a
//! listener of its own (`payin serve --metrics-listen`), the recommended production setup,
//! reachable only from the monitoring network. What is measured: `payin_core::metrics`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use payin_core::Engine;
use payin_core::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};

use crate::AppState;
use crate::error::ApiError;

/// Latency buckets of `payin_http_request_duration_seconds`, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static EXPORTER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus exporter, installed as the `metrics` recorder on first use. If the
/// embedding program installed another recorder first, that one receives the measurements and
/// `/metrics` shows only what this handle sees (a warning says so).
pub fn exporter() -> &'static PrometheusHandle {
    EXPORTER.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.to_string()), &LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will not see PayIn's measurements");
        }
        payin_core::metrics::describe();
        // Histogram samples pile up until drained: drain them even when nobody scrapes.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("payin-metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread; histograms are drained only by scrapes");
        }
        handle
    })
}

/// Counts and times each request by method, route template (`/api/v1/orders/{order_id}`, never
/// the raw path; `unmatched` for the fallback) and status.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// A bounded label: an arbitrary method name must not create a series per client.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Prometheus metrics (text exposition format): state read from the database now, counters
/// and histograms since the process started. Needs the API key on the API's listener; `payin
/// serve --metrics-listen` serves it without one on an address of its own.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4)", content_type = "text/plain", body = String),
        (status = 401, description = "UNAUTHORIZED: missing or unknown API key", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR: the database did not answer", body = ApiError),
    ))]
pub async fn serve(State(s): State<AppState>) -> Result<Response, ApiError> {
    let exporter = exporter();
    payin_core::metrics::observe_state(&s.engine).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        exporter.render(),
    )
        .into_response())
}

/// `/metrics` alone, without an API key: for a listener of its own that only the monitoring
/// network reaches (`payin serve --metrics-listen`).
pub fn metrics_router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .fallback(crate::error::not_found)
        .with_state(AppState::new(engine))
}
