use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::envelope::{Envelope, ok};
use crate::openapi::ChainList;

/// Networks, their tokens (with decimals and whether a contract is configured) and required
/// confirmations.
#[utoipa::path(get, path = "/api/v1/chains", tag = "chains", responses((status = 200, body = Envelope<ChainList>)))]
pub async fn list(State(s): State<AppState>) -> Response {
    ok(ChainList {
        chains: s.engine.chains().describe(),
    })
}
