use axum::extract::State;
use axum::response::Response;
use payin_core::pool::{ImportAddressesRequest, ImportResult};

use crate::AppState;
use crate::envelope::{Envelope, ok, respond};
use crate::error::ApiError;
use crate::extract::{ApiJson, IMPORT_BODY_LIMIT};
use crate::openapi::PoolList;

/// Import watch-only addresses into a protocol's pool. Every address is validated first; one
/// bad address rejects the request (naming `addresses[i]`) and nothing is written.
#[utoipa::path(post, path = "/api/v1/addresses/import", tag = "addresses", request_body = ImportAddressesRequest,
    responses((status = 200, body = Envelope<ImportResult>), (status = 400, body = ApiError), (status = 413, body = ApiError)))]
pub async fn import(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ImportAddressesRequest, IMPORT_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    let result = s.engine.import_addresses(req).await?;
    let message = format!("Imported {} of {} addresses", result.imported, result.received);
    Ok(respond(axum::http::StatusCode::OK, result, Some(message)))
}

/// Available / assigned / cooldown counts per protocol.
#[utoipa::path(get, path = "/api/v1/addresses/pool", tag = "addresses", responses((status = 200, body = Envelope<PoolList>)))]
pub async fn status(State(s): State<AppState>) -> Result<Response, ApiError> {
    Ok(ok(PoolList {
        pools: s.engine.pool_status().await?,
    }))
}
