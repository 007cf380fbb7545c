//! HashNut v3 (seed 002), drop-in: a HashNut merchant changes the base URL and credentials and
//! keeps its code, callback handler included.
//!
//! - `POST /api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey`: signed with
//!   `hashnut-request-uuid/timestamp/sign` over the raw body (see `payin_core::compat::hashnut`);
//! - `POST /api/v3.0.0/pay/queryPayOrderWithAccessSign`: authorised by `accessSign`; signature
//!   headers optional, verified when sent;
//! - `GET /pay?accessSign=…&payOrderId=…`: the URL merchants build, redirected to the order's
//!   hosted page (`/pay/{orderId}`).
//!
//! Parse → engine → render, in HashNut's `{code, msg, data}` envelope ([`error`], [`types`]).

pub mod error;
pub mod types;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payin_core::compat::hashnut::{self as rules, SIGN_HEADER, TIMESTAMP_HEADER, UUID_HEADER};
use payin_core::compat::{CompatApi, CompatOrder, MerchantCredentials, NewCompatOrder};
use payin_core::order::CreateOrderRequest;
use serde::Deserialize;
use serde_json::{Map, Value};

use self::error::HashnutError;
use self::types::{CreatedPayOrder, Envelope, PayOrder, number};
use crate::AppState;

pub const CREATE_PATH: &str = "/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey";
pub const QUERY_PATH: &str = "/api/v3.0.0/pay/queryPayOrderWithAccessSign";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CREATE_PATH, post(create))
        .route(QUERY_PATH, post(query))
        .route("/pay", get(pay_page))
}

/// The three signature headers, when all are present; `Err` when only some are.
fn signature_headers(headers: &HeaderMap) -> Result<Option<(String, String, String)>, HashnutError> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    match (get(UUID_HEADER), get(TIMESTAMP_HEADER), get(SIGN_HEADER)) {
        (Some(u), Some(t), Some(s)) => Ok(Some((u, t, s))),
        (None, None, None) => Ok(None),
        _ => Err(HashnutError::Unauthorized),
    }
}

/// Verifies a signed request against the merchant's secret: the signature over the raw body,
/// the timestamp within the replay window, and the uuid not seen within it (recorded only once
/// the signature holds, so nobody can burn another's uuids).
async fn verify(
    s: &AppState,
    credentials: &MerchantCredentials,
    (uuid, timestamp, sign): &(String, String, String),
    body: &[u8],
) -> Result<(), HashnutError> {
    if uuid.len() > 128 || !rules::timestamp_is_fresh(timestamp, s.engine.now()) {
        return Err(HashnutError::Unauthorized);
    }
    if !rules::verify(&credentials.secret, uuid, timestamp, body, sign) {
        return Err(HashnutError::Unauthorized);
    }
    match s.engine.first_use_of_nonce(CompatApi::Hashnut, uuid).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(HashnutError::Unauthorized),
        Err(e) => Err(HashnutError::from_engine(e)),
    }
}

/// The body as a JSON object; anything else is a parameter error naming `body`.
fn object(body: &[u8]) -> Result<Map<String, Value>, HashnutError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(HashnutError::InvalidParameter("body".into())),
    }
}

/// An optional string parameter: absent, null or blank is `None`; another type is invalid.
fn text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, HashnutError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(HashnutError::InvalidParameter(key.into())),
    }
}

fn required(map: &Map<String, Value>, key: &str) -> Result<String, HashnutError> {
    text(map, key)?.ok_or_else(|| HashnutError::InvalidParameter(key.into()))
}

/// The first of several alias names that is given.
fn text_of(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, HashnutError> {
    for key in keys {
        if let Some(v) = text(map, key)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// `createPayOrderOnSplitWalletWithApiKey`.
async fn create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match create_order(&s, &headers, &body).await {
        Ok(data) => Json(Envelope::success(data)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn create_order(s: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<CreatedPayOrder, HashnutError> {
    let signature = signature_headers(headers)?.ok_or(HashnutError::Unauthorized)?;
    // Who signed comes first: nothing of an unauthenticated body is judged.
    let map = object(body).map_err(|_| HashnutError::Unauthorized)?;
    let access_key_id = text(&map, "accessKeyId")
        .ok()
        .flatten()
        .ok_or(HashnutError::Unauthorized)?;
    let credentials = s
        .engine
        .compat_credentials(CompatApi::Hashnut, &access_key_id)
        .await
        .map_err(HashnutError::from_engine)?
        .ok_or(HashnutError::Unauthorized)?;
    verify(s, &credentials, &signature, body).await?;

    let merchant_order_id = required(&map, "merchantOrderId")?;
    if merchant_order_id.chars().count() > payin_core::compat::MAX_MERCHANT_ORDER_ID_LEN {
        return Err(HashnutError::InvalidParameter("merchantOrderId".into()));
    }
    let chain_code = required(&map, "chainCode")?;
    let chain_id = rules::chain(&s.engine.compat_config().hashnut, &chain_code)
        .ok_or_else(|| HashnutError::InvalidParameter("chainCode".into()))?;
    let coin_code = required(&map, "coinCode")?;
    let currency = rules::coin(&coin_code).ok_or_else(|| HashnutError::InvalidParameter("coinCode".into()))?;
    let amount = match map.get("amount") {
        Some(Value::Number(n)) => rules::amount(&n.to_string()),
        Some(Value::String(s)) => rules::amount(s),
        _ => None,
    }
    .ok_or_else(|| HashnutError::InvalidParameter("amount".into()))?;
    let callback_url = text_of(&map, &["callBackUrl", "customCallBackUrl"])?;
    let frontend_url = text(&map, "frontendCallbackUrl")?;
    // The merchant's own address: shared-address mode (a unique amount tail, `payAmount`).
    let receipt_address = text(&map, "receiptAddress")?;
    // Split contracts are not supported: refused rather than ignored, for the same reason.
    if text(&map, "splitterAddress")?.is_some() {
        return Err(HashnutError::InvalidParameter("splitterAddress".into()));
    }
    let payment_window_minutes = match map.get("expireDuration") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let seconds = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|s| *s > 0)
                .ok_or_else(|| HashnutError::InvalidParameter("expireDuration".into()))?;
            Some(
                u32::try_from(seconds.div_ceil(60))
                    .map_err(|_| HashnutError::InvalidParameter("expireDuration".into()))?,
            )
        }
    };
    let mut extra = Map::new();
    for key in ["subject", "remark", "param1", "param2"] {
        if let Some(v) = text(&map, key)? {
            if v.chars().count() > 1024 {
                return Err(HashnutError::InvalidParameter(key.into()));
            }
            extra.insert(key.into(), Value::String(v));
        }
    }
    let new = NewCompatOrder {
        api: CompatApi::Hashnut,
        merchant_id: credentials.merchant.id.clone(),
        merchant_order_id: merchant_order_id.clone(),
        callback_url,
        frontend_url,
        param: None,
        chain_code,
        coin_code,
        extra,
        order: CreateOrderRequest {
            order_reference: String::new(),
            amount: Value::String(amount.to_string()),
            currency: currency.as_str().to_string(),
            chain_id,
            metadata: None,
            success_url: None,
            cancel_url: None,
            payment_window_minutes,
            grace_minutes: None,
            receive_address: receipt_address,
        },
        quote: None,
    };
    let (record, order) = s
        .engine
        .create_compat_order(&credentials.merchant, new)
        .await
        .map_err(HashnutError::from_engine)?;
    Ok(CreatedPayOrder {
        pay_order_id: order.order_id,
        access_sign: record.access_sign,
        merchant_order_id,
    })
}

/// `queryPayOrderWithAccessSign`.
async fn query(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match query_order(&s, &headers, &body).await {
        Ok(data) => Json(Envelope::success(data)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn query_order(s: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<PayOrder, HashnutError> {
    let signature = signature_headers(headers)?;
    let map = object(body)?;
    let access_sign = required(&map, "accessSign")?;
    let pay_order_id = text(&map, "payOrderId")?;
    let merchant_order_id = text(&map, "merchantOrderId")?;
    let record = s
        .engine
        .compat_order_by_access_sign(access_sign.trim())
        .await
        .map_err(HashnutError::from_engine)?
        .filter(|r| r.api == CompatApi::Hashnut)
        .ok_or(HashnutError::OrderNotFound)?;
    // Ids that are sent must be this order's.
    if pay_order_id.is_some_and(|id| id != record.order_id)
        || merchant_order_id.is_some_and(|id| id != record.merchant_order_id)
    {
        return Err(HashnutError::OrderNotFound);
    }
    if let Some(signature) = signature {
        let credentials = s
            .engine
            .compat_credentials_by_id(&record.merchant_id)
            .await
            .map_err(HashnutError::from_engine)?
            .ok_or(HashnutError::Unauthorized)?;
        verify(s, &credentials, &signature, body).await?;
    }
    pay_order(s, record).await
}

/// The seed's order document, from the order, its record and the chain registry.
async fn pay_order(s: &AppState, record: CompatOrder) -> Result<PayOrder, HashnutError> {
    let order = s
        .engine
        .get_order(&record.order_id)
        .await
        .map_err(HashnutError::from_engine)?;
    let detected = s
        .engine
        .detected_payment(&order)
        .await
        .map_err(HashnutError::from_engine)?;
    let network = s.engine.chains().get(&order.chain_id);
    let confirmations = match (&order.confirmations, &detected) {
        (Some(c), _) => *c,
        (None, Some(d)) => d.confirmations,
        (None, None) => 0,
    };
    let chain_id = network.and_then(|n| n.evm_chain_id).map(|id| id.to_string());
    Ok(PayOrder {
        merchant_address: order.address.clone(),
        chain: network.map_or_else(|| order.chain_id.clone(), |n| n.name.clone()),
        chain_code: record.chain_code,
        coin_code: record.coin_code,
        create_channel: 0,
        access_channel: 0,
        merchant_order_id: record.merchant_order_id,
        pay_order_id: order.order_id.clone(),
        token_address: network
            .and_then(|n| n.token(order.currency))
            .and_then(|t| t.contract.clone()),
        receipt_address: order.address.clone(),
        // What the payer sends: with a receiptAddress, the amount with its unique tail.
        amount: number(&order.pay_amount.to_string()),
        state: rules::order_state(&order, detected.as_ref()),
        access_sign: record.access_sign,
        pay_tx_id: order.tx_hash.clone(),
        confirm_count: confirmations.to_string(),
        wallet_connect_enable: false,
        bridge_server_address: String::new(),
        eip712_chain_id: chain_id.clone(),
        chain_id,
        call_back_url: record.callback_url,
        create_time: order.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        rate: number("1.0"),
        obtain_amount: number(&order.amount_received.to_string()),
        platform_fee: number("0"),
    })
}

/// The query of the pay URL merchants build.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayQuery {
    access_sign: Option<String>,
    pay_order_id: Option<String>,
}

/// `GET /pay?accessSign=…&merchantOrderId=…&payOrderId=…&chainCode=…`: the order's hosted page.
async fn pay_page(State(s): State<AppState>, Query(q): Query<PayQuery>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "No such order").into_response();
    let Some(access_sign) = q.access_sign.filter(|a| !a.is_empty()) else {
        return not_found();
    };
    match s.engine.compat_order_by_access_sign(access_sign.trim()).await {
        Ok(Some(record)) if q.pay_order_id.as_ref().is_none_or(|id| *id == record.order_id) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/pay/{}", record.order_id))],
        )
            .into_response(),
        Ok(_) => not_found(),
        Err(e) => HashnutError::from_engine(e).into_response(),
    }
}
