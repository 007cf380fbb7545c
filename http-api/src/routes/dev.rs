//! The dev chain of `payin dev`: real payments and blocks on request, for trying an integration
//! end to end. Every other chain answers `DEV_CHAIN_UNAVAILABLE`.

use axum::extract::State;
use axum::response::Response;
use payin_core::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};

use crate::AppState;
use crate::envelope::{Envelope, created, respond};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Pay an order (exact, partial, over or late) or any address with a real ERC-20 transfer on
/// the local chain of `payin dev`; answers once the transaction is mined.
#[utoipa::path(post, path = "/api/v1/dev/simulate-payment", tag = "dev", request_body = SimulatePaymentRequest,
    responses(
        (status = 201, description = "Payment mined on chain local", body = Envelope<SimulatedPayment>),
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
