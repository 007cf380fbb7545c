use axum::extract::{Path, State};
use axum::response::Response;
use payin_core::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, DepositReference, UnbindRequest, Unbound,
};
use payin_core::engine::{DepositListQuery, ReferenceListQuery};
use serde::Deserialize;

use crate::AppState;
use crate::envelope::ok;
use crate::envelope::{Envelope, ListOf, created, respond};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::openapi::{DepositList, ReferenceList};

/// Bind a permanent deposit address for a reference on one chain and currency.
#[utoipa::path(post, path = "/api/v1/deposits/references", tag = "deposits", request_body = BindReferenceRequest,
    responses(
        (status = 201, body = Envelope<BoundReference>),
        (status = 400, body = ApiError),
        (status = 409, description = "DUPLICATE_DEPOSIT_REFERENCE", body = ApiError),
        (status = 503, description = "NO_AVAILABLE_ADDRESSES", body = ApiError),
    ))]
pub async fn bind_reference(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<BindReferenceRequest>,
) -> Result<Response, ApiError> {
    Ok(created(
        s.engine.bind_deposit_reference(req).await?,
        "Deposit address bound",
    ))
}

/// Bind one address for a reference, watched on every chain of a protocol family.
#[utoipa::path(post, path = "/api/v1/deposits/bind", tag = "deposits", request_body = BindProtocolRequest,
    responses(
        (status = 201, body = Envelope<BoundProtocol>),
        (status = 400, body = ApiError),
        (status = 409, description = "DUPLICATE_DEPOSIT_REFERENCE", body = ApiError),
        (status = 503, description = "NO_AVAILABLE_ADDRESSES", body = ApiError),
    ))]
pub async fn bind_protocol(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<BindProtocolRequest>,
) -> Result<Response, ApiError> {
    Ok(created(
        s.engine.bind_deposit_protocol(req).await?,
        "Deposit address bound",
    ))
}

/// A reference's addresses and deposit totals.
#[utoipa::path(get, path = "/api/v1/deposits/references/{depositReference}", tag = "deposits",
    params(("depositReference" = String, Path)),
    responses((status = 200, body = Envelope<DepositReference>), (status = 404, description = "DEPOSIT_REFERENCE_NOT_FOUND", body = ApiError)))]
pub async fn get_reference(State(s): State<AppState>, Path(reference): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_deposit_reference(&reference).await?))
}

/// List deposit references.
#[utoipa::path(get, path = "/api/v1/deposits/references", tag = "deposits", params(ReferenceListQuery),
    responses((status = 200, body = Envelope<ReferenceList>), (status = 400, body = ApiError)))]
pub async fn list_references(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ReferenceListQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new(
        "references",
        s.engine.list_deposit_references(&q).await?,
    )))
}

/// List deposit records.
#[utoipa::path(get, path = "/api/v1/deposits", tag = "deposits", params(DepositListQuery),
    responses((status = 200, body = Envelope<DepositList>), (status = 400, body = ApiError)))]
pub async fn list_deposits(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DepositListQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new("deposits", s.engine.list_deposits(&q).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct UnbindQuery {
    /// Unbind only this chain; all chains when omitted.
    chain_id: Option<String>,
}

/// Unbind a reference (all chains, or one with `chainId`). The address goes into cooldown
/// once its last binding is gone.
#[utoipa::path(delete, path = "/api/v1/deposits/references/{depositReference}", tag = "deposits",
    params(("depositReference" = String, Path), UnbindQuery),
    responses((status = 200, body = Envelope<Unbound>), (status = 404, body = ApiError)))]
pub async fn delete_reference(
    State(s): State<AppState>,
    Path(reference): Path<String>,
    ApiQuery(q): ApiQuery<UnbindQuery>,
) -> Result<Response, ApiError> {
    let unbound = s.engine.unbind_deposit(&reference, q.chain_id.as_deref()).await?;
    Ok(respond(
        axum::http::StatusCode::OK,
        unbound,
        Some("Deposit reference unbound".into()),
    ))
}

/// Unbind a reference (body form).
#[utoipa::path(post, path = "/api/v1/deposits/unbind", tag = "deposits", request_body = UnbindRequest,
    responses((status = 200, body = Envelope<Unbound>), (status = 404, body = ApiError)))]
pub async fn unbind(State(s): State<AppState>, ApiJson(req): ApiJson<UnbindRequest>) -> Result<Response, ApiError> {
    let unbound = s
        .engine
        .unbind_deposit(&req.deposit_reference, req.chain_id.as_deref())
        .await?;
    Ok(respond(
        axum::http::StatusCode::OK,
        unbound,
        Some("Deposit reference unbound".into()),
    ))
}
