//! The dev chain of `payin dev`: real payments and blocks on request, for trying an integration
//! end to end. Every other chain answers `DEV_CHAIN_UNAVAILABLE`. Mounted, and documented in the
//! OpenAPI document, only with the `dev` feature.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use payin_core::dev::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use utoipa::OpenApi;

use crate::AppState;
use crate::envelope::{Envelope, created, respond};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// The routes under `/api/v1` (behind the API key, like the rest of the API).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dev/simulate-payment", post(simulate_payment))
        .route("/dev/mine-blocks", post(mine_blocks))
}

/// Their part of the OpenAPI document, merged into [`crate::openapi::document`].
#[derive(OpenApi)]
#[openapi(paths(simulate_payment, mine_blocks))]
pub(crate) struct DevApi;

/// Pay an order (exact, partial, over or late) or any address with a real token transfer on
/// a dev chain of `payin dev`: chain `local`, or `local-tron` (its Tron-shaped chain, anvil behind
/// a test double of a Tron node) for an order there or a `T…` address; answers once the
/// transaction is mined. Addresses in the answer are written as the chain writes them.
#[utoipa::path(post, path = "/api/v1/dev/simulate-payment", tag = "dev", request_body = SimulatePaymentRequest,
    responses(
        (status = 201, description = "Payment mined on chain local or local-tron", body = Envelope<SimulatedPayment>),
        (status = 400, description = "VALIDATION_ERROR or INVALID_AMOUNT naming the field", body = ApiError),
        (status = 404, description = "ORDER_NOT_FOUND", body = ApiError),
        (status = 503, description = "DEV_CHAIN_UNAVAILABLE: no `payin dev` chain recorded or answering", body = ApiError),
    ))]
pub async fn simulate_payment(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SimulatePaymentRequest>,
) -> Result<Response, ApiError> {
    Ok(created(
        s.engine.simulate_payment(req).await?,
        "Payment sent on the dev chain",
    ))
}

/// Mine empty blocks on the local chain (confirmations for pending payments).
#[utoipa::path(post, path = "/api/v1/dev/mine-blocks", tag = "dev", request_body = MineBlocksRequest,
    responses(
        (status = 200, body = Envelope<MinedBlocks>),
        (status = 400, description = "VALIDATION_ERROR naming blocks", body = ApiError),
        (status = 503, description = "DEV_CHAIN_UNAVAILABLE", body = ApiError),
    ))]
pub async fn mine_blocks(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<MineBlocksRequest>,
) -> Result<Response, ApiError> {
    Ok(respond(
        axum::http::StatusCode::OK,
        s.engine.mine_blocks(req).await?,
        None,
    ))
}
