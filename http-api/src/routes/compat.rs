//! Merchant credentials of the compatible APIs (issue 13), under `/api/v1/compat/{api}/merchants`:
//! HashNut access key id + secret, QieJiao pid + key. The APIs themselves are in `crate::compat`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use payin_core::compat::{CompatApi, CompatMerchant, CreateCompatMerchantRequest, CreatedCompatMerchant};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::envelope::{Envelope, created, ok, respond};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// `data` of `GET /compat/{api}/merchants`.
#[derive(Serialize, ToSchema)]
pub struct CompatMerchantList {
    pub merchants: Vec<CompatMerchant>,
}

fn api(s: &str) -> Result<CompatApi, ApiError> {
    Ok(CompatApi::parse("api", s)?)
}

/// Create credentials for a compatible API: HashNut (`accessKeyId` as `publicId`, `secret`)
/// or QieJiao (`pid` as `publicId`, `key` as `secret`). The secret is shown only here.
#[utoipa::path(post, path = "/api/v1/compat/{api}/merchants", tag = "compat",
    params(("api" = String, Path, description = "hashnut or qiejiao")),
    request_body = CreateCompatMerchantRequest,
    responses(
        (status = 201, description = "Merchant created, with its secret", body = Envelope<CreatedCompatMerchant>),
        (status = 400, description = "VALIDATION_ERROR naming api or name", body = ApiError),
    ))]
pub async fn create(
    State(s): State<AppState>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<CreateCompatMerchantRequest>,
) -> Result<Response, ApiError> {
    let merchant = s.engine.create_compat_merchant(api(&name)?, req).await?;
    Ok(created(
        merchant,
        "Merchant created; store the secret now, it is not shown again",
    ))
}

/// The API's merchants, oldest first, revoked ones included (never their secrets).
#[utoipa::path(get, path = "/api/v1/compat/{api}/merchants", tag = "compat",
    params(("api" = String, Path, description = "hashnut or qiejiao")),
    responses((status = 200, body = Envelope<CompatMerchantList>), (status = 400, body = ApiError)))]
pub async fn list(State(s): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let merchants = s.engine.list_compat_merchants(api(&name)?).await?;
    Ok(ok(CompatMerchantList { merchants }))
}

/// Revoke a merchant by id (`cpm_…`) or public id: its requests are refused from now on
/// (orders it created stay, and their callbacks are still delivered).
#[utoipa::path(delete, path = "/api/v1/compat/{api}/merchants/{merchantId}", tag = "compat",
    params(("api" = String, Path, description = "hashnut or qiejiao"), ("merchantId" = String, Path)),
    responses((status = 200, description = "The merchant as revoked", body = Envelope<CompatMerchant>),
        (status = 400, body = ApiError),
        (status = 404, description = "NOT_FOUND: no active merchant with this id", body = ApiError)))]
pub async fn revoke(State(s): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let merchant = s.engine.revoke_compat_merchant(api(&name)?, &id).await?;
    Ok(respond(StatusCode::OK, merchant, Some("Merchant revoked".into())))
}
