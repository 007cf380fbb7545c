//! The PayIn REST API (`/api/v1`) over the engine: authentication, the JSON envelope, the
//! error mapping and the OpenAPI document. Handlers are thin: parse, call the engine, render.

mod auth;
// Issue 13: HashNut v3 (and QieJiao) compatible APIs, each in its own module and envelope.
pub mod compat;
mod envelope;
mod error;
mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
mod routes;
pub mod server;
mod transport;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use payin_core::Engine;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use envelope::{Envelope, ListOf};
pub use error::ApiError;
pub use extract::from_json_value;
pub use metrics::metrics_router;
/// The typed client now lives in `payin-client` (no server stack); re-exported for
/// existing users of `payin_http::Client`.
#[cfg(feature = "client")]
pub use payin_client::Client;
pub use ratelimit::RateLimits;
pub use server::{ServerOptions, serve};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Request rate limits, shared by every route that has one.
    pub limits: Arc<RateLimits>,
}

impl AppState {
    /// The engine with no rate limits.
    pub fn new(engine: Arc<Engine>) -> AppState {
        AppState {
            engine,
            limits: Arc::new(RateLimits::none()),
        }
    }

    pub fn with_rate_limits(mut self, limits: RateLimits) -> AppState {
        self.limits = Arc::new(limits);
        self
    }
}

/// Puts `routes` (e.g. the MCP endpoint mounted by the binary) behind the same API-key check
/// and per-key rate limit as `/api/v1`.
pub fn with_api_key(routes: Router, state: &AppState) -> Router {
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::per_api_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ))
}

/// The whole HTTP application without rate limits: `/health`, `/api/v1/…`, the OpenAPI
/// document and the payment pages.
pub fn router(engine: Arc<Engine>) -> Router {
    router_with(AppState::new(engine))
}

/// The whole HTTP application on `state` (its engine and rate limits).
pub fn router_with(state: AppState) -> Router {
    let api = Router::new()
        .route("/orders", post(routes::orders::create).get(routes::orders::list))
        .route("/orders/{order_id}", get(routes::orders::get))
        .route(
            "/orders/by-reference/{order_reference}",
            get(routes::orders::get_by_reference),
        )
        .route(
            "/deposits/references",
            post(routes::deposits::bind_reference).get(routes::deposits::list_references),
        )
        .route(
            "/deposits/references/{deposit_reference}",
            get(routes::deposits::get_reference).delete(routes::deposits::delete_reference),
        )
        .route("/deposits/bind", post(routes::deposits::bind_protocol))
        .route("/deposits/unbind", post(routes::deposits::unbind))
        .route("/deposits", get(routes::deposits::list_deposits))
        .route("/config", get(routes::config::get_all))
        .route("/config/{key}", put(routes::config::set))
        .route("/chains", get(routes::chains::list))
        .route("/addresses/import", post(routes::pool::import))
        .route("/addresses/pool", get(routes::pool::status))
        .route(
            "/addresses/xpubs",
            post(routes::pool::add_xpub).get(routes::pool::list_xpubs),
        )
        .route("/events", get(routes::events::list))
        .route("/events/{event_id}", get(routes::events::get))
        .route("/events/{event_id}/resend", post(routes::webhooks::resend))
        .route("/webhooks", post(routes::webhooks::create).get(routes::webhooks::list))
        .route("/webhooks/deliveries", get(routes::webhooks::list_deliveries))
        .route(
            "/webhooks/{webhook_id}/rotate-secret",
            post(routes::webhooks::rotate_secret),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(routes::webhooks::get).delete(routes::webhooks::delete),
        )
        // Payment links (issue 12).
        .route(
            "/payment-links",
            post(routes::payment_links::create).get(routes::payment_links::list),
        )
        .route("/payment-links/{link_id}", get(routes::payment_links::get))
        .route("/payment-links/{link_id}/publish", post(routes::payment_links::publish))
        .route("/payment-links/{link_id}/archive", post(routes::payment_links::archive))
        // Credentials of the compatible APIs (issue 13).
        .route(
            "/compat/{api}/merchants",
            post(routes::compat::create).get(routes::compat::list),
        )
        .route(
            "/compat/{api}/merchants/{merchant_id}",
            axum::routing::delete(routes::compat::revoke),
        );
    // The dev chain's routes, only in builds with dev support (`payin dev`, `payin serve`).
    #[cfg(feature = "dev")]
    let api = api.merge(routes::dev::routes());
    // Rate limits: per API key behind the key check, per client IP on the public routes.
    let per_api_key = axum::middleware::from_fn_with_state(state.clone(), ratelimit::per_api_key);
    let per_client_ip = axum::middleware::from_fn_with_state(state.clone(), ratelimit::per_client_ip);
    let api = api
        // Inside authentication: idempotency keys are scoped by the API key.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        // Over its quota, a request is refused before it runs or is replayed.
        .route_layer(per_api_key)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ))
        .merge(
            Router::new()
                .route("/openapi.json", get(openapi::serve))
                .route("/health", get(routes::health::health))
                .route_layer(per_client_ip.clone()),
        );

    // Prometheus metrics: behind the API key on this listener (see `metrics`).
    metrics::exporter();
    let metrics_route = get(metrics::serve).route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_api_key,
    ));

    Router::new()
        .route("/health", get(routes::health::health))
        .route("/pay/{order_id}", get(routes::pay::page))
        .route("/pay/{order_id}/status", get(routes::pay::status))
        // A payment link's public page and its form's post (issue 12), per-IP limited too.
        .route(
            "/checkout/{slug}",
            get(routes::checkout::checkout_page).post(routes::checkout::checkout_submit),
        )
        // The compatible APIs (issue 13): their own paths, authentication and envelopes.
        .merge(compat::routes())
        .route_layer(per_client_ip)
        // Not rate limited: an orchestrator's probes must never read 429 as "down", and the
        // metrics scrape is behind the API key.
        .route("/livez", get(routes::health::livez))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", metrics_route)
        .nest("/api/v1", api)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TraceLayer::new_for_http())
        // Outermost: every answer is counted, whatever layer produced it.
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}
