use axum::extract::State;
use axum::response::Response;
use payin_core::pool::{AddXpubRequest, ImportAddressesRequest, ImportResult, XpubKey};

use crate::AppState;
use crate::envelope::{Envelope, ok, respond};
use crate::error::ApiError;
use crate::extract::{ApiJson, IMPORT_BODY_LIMIT};
use crate::openapi::{PoolList, XpubList};

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

/// Add a watch-only HD key: the ACCOUNT-level xpub of an `evm` (m/44'/60'/0') or `tron`
/// (m/44'/195'/0') wallet account. The pool derives addresses `…/0/i` from it, from `start`
/// on, each index once, and keeps itself topped up above its low watermark. The answer carries
/// the key's fingerprint and the first three addresses: compare them with the wallet before
/// using the pool. Adding the same xpub again answers 200 with the stored key. An `xprv`/`tprv`
/// or any private key, a mnemonic, a bad checksum or other version bytes are refused with 400
/// naming `xpub`; PayIn never takes private keys and never logs what was refused.
#[utoipa::path(post, path = "/api/v1/addresses/xpubs", tag = "addresses", request_body = AddXpubRequest,
    responses((status = 201, body = Envelope<XpubKey>), (status = 200, body = Envelope<XpubKey>, description = "Already added"),
        (status = 400, body = ApiError)))]
pub async fn add_xpub(State(s): State<AppState>, ApiJson(req): ApiJson<AddXpubRequest>) -> Result<Response, ApiError> {
    let (key, new) = s.engine.add_xpub(req).await?;
    let (status, message) = if new {
        (
            axum::http::StatusCode::CREATED,
            format!("Added {} xpub {} ({})", key.protocol, key.fingerprint, key.path),
        )
    } else {
        (
            axum::http::StatusCode::OK,
            format!("{} xpub {} was already added", key.protocol, key.fingerprint),
        )
    };
    Ok(respond(status, key, Some(message)))
}

/// The pool's watch-only HD keys, oldest first, each with its next index and first addresses.
#[utoipa::path(get, path = "/api/v1/addresses/xpubs", tag = "addresses", responses((status = 200, body = Envelope<XpubList>)))]
pub async fn list_xpubs(State(s): State<AppState>) -> Result<Response, ApiError> {
    Ok(ok(XpubList {
        xpubs: s.engine.list_xpubs().await?,
    }))
}
