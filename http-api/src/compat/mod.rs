//! Compatible APIs (issue 13): drop-in front doors for merchants of other gateways, each an
//! adapter over the same engine as REST and MCP, in its own module with its own wire types,
//! envelope and errors (as hyperswitch keeps its Stripe-compatible API apart). What they share
//! in the engine (credentials, per-order records, nonces, per-order callbacks) is
//! `payin_core::compat`.
//!
//! - [`hashnut`]: HashNut v3, `/api/v3.0.0/pay/…` and the `/pay?accessSign=…` page.
//! - [`qiejiao`]: QieJiao (epay style), `/api/pay/create`, `/api/pay/query`, `/api/pay/supplement`.

pub mod hashnut;
pub mod qiejiao;

use axum::Router;

use crate::AppState;

/// The per-IP limiter's 429 on a compatible API's path, in that API's envelope (with the same
/// `Retry-After` and rate-limit headers); `None` on other paths.
pub fn too_many_requests(path: &str, limited: &axum::response::Response) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    let mut resp = if path.starts_with("/api/pay/") {
        qiejiao::QjError::too_many_requests().into_response()
    } else if path.starts_with("/api/v3.0.0/") {
        hashnut::error::HashnutError::RateLimited.into_response()
    } else {
        return None;
    };
    for (name, value) in limited.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Some(resp)
}

/// Every compatible API's routes, mounted at the gateway root beside `/api/v1`.
pub fn routes() -> Router<AppState> {
    hashnut::routes().merge(qiejiao::routes())
}
