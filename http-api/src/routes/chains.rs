use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::envelope::{Envelope, ok};
use crate::openapi::ChainList;

/// Networks, their tokens (with decimals and whether a contract is configured) and required
/// confirmations. EVM chains (`protocol: "evm"`) and Tron (`protocol: "tron"`: `tron`,
/// `tron-nile`, and the dev chain `local-tron`) are watched once `rpc_urls` is set; a Tron chain's
/// URL must serve java-tron's JSON-RPC (e.g. `https://api.trongrid.io/jsonrpc`, with TronGrid's
/// `TRON-PRO-API-KEY` header in `rpc_headers`), as its `rpcRequirements` says. Tron addresses
/// and token contracts are shown as base58check `T…`.
#[utoipa::path(get, path = "/api/v1/chains", tag = "chains", responses((status = 200, body = Envelope<ChainList>)))]
pub async fn list(State(s): State<AppState>) -> Response {
    ok(ChainList {
        chains: s.engine.chains().describe(),
    })
}
