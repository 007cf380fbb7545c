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

/// Every compatible API's routes, mounted at the gateway root beside `/api/v1`.
pub fn routes() -> Router<AppState> {
    hashnut::routes().merge(qiejiao::routes())
}
