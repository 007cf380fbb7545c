//! The QieJiao (epay-style) API of seed 003 over the engine, so a QieJiao merchant switches by
//! changing the base URL, `pid` and key:
//! - `POST /api/pay/create` (JSON or form-encoded), signed with the MD5 `signature`
//!   ([`payin_core::compat::qiejiao`]): an order on the chain `chain_type` maps to, priced in
//!   USDT or in CNY converted at the configured rate; `scanpay` 1 answers what to pay, 0 the
//!   hosted page's URL (in Chinese);
//! - `GET /api/pay/query` — an order by the merchant's `order_no`;
//! - `POST /api/pay/supplement` (补单) — a transaction hash checked on chain
//!   ([`payin_core::claim`]) before the order is paid.
//!
//! Answers are `{code, msg, data}`: `code` 200 and HTTP 200 on success; otherwise the seed's
//! error codes (403 signature or merchant, 404 no such order, 409 duplicate `order_no`, 422 any
//! parameter or business rule, 429, 500, 503), with the same HTTP status, and `msg` saying what
//! and which parameter.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payin_core::Amount;
use payin_core::compat::qiejiao::{self, SIGNATURE_FIELD};
use payin_core::compat::{CompatApi, CompatOrder, MerchantCredentials, NewCompatOrder};
use payin_core::order::{CreateOrderRequest, Order};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::AppState;

/// QieJiao's routes, at the gateway root.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/pay/create", post(create))
        .route("/api/pay/query", get(query))
        .route("/api/pay/supplement", post(supplement))
}

/// A QieJiao answer that is not a success: its code (also the HTTP status) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QjError {
    pub code: u16,
    pub msg: String,
}

impl QjError {
    fn new(code: u16, msg: impl Into<String>) -> QjError {
        QjError { code, msg: msg.into() }
    }

    /// 422: a parameter is missing or wrong, or a business rule refuses the request.
    fn invalid(field: &str, msg: impl std::fmt::Display) -> QjError {
        QjError::new(422, format!("{field}: {msg}"))
    }

    fn forbidden(msg: impl Into<String>) -> QjError {
        QjError::new(403, msg)
    }

    /// 429: over the per-client request quota (`Retry-After` says when to come back).
    pub fn too_many_requests() -> QjError {
        QjError::new(
            429,
            "too many requests; retry after the number of seconds in Retry-After",
        )
    }
}

impl IntoResponse for QjError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({"code": self.code, "msg": self.msg, "data": null}))).into_response()
    }
}

/// The engine's errors in QieJiao's words: its field names, its codes.
impl From<payin_core::Error> for QjError {
    fn from(e: payin_core::Error) -> QjError {
        use payin_core::Error as E;
        match e {
            E::Invalid { field, message, .. } => {
                let ours = match field.as_str() {
                    "chainId" => "chain_type",
                    "orderReference" | "merchantOrderId" => "order_no",
                    "successUrl" | "cancelUrl" => "return_url",
                    "callBackUrl" => "notify_url",
                    "hash" => "hash",
                    other => other,
                };
                QjError::invalid(ours, message)
            }
            E::DuplicateOrderReference { .. } => QjError::new(409, "order_no: this order number already exists"),
            E::OrderNotFound(_) | E::NotFound(_) => QjError::new(404, "order not found"),
            E::NoAvailableAddresses(_) => QjError::new(503, "no receiving address is free right now; retry shortly"),
            E::RateLimited(m) => QjError::new(429, m),
            other => {
                tracing::error!(error = %other, "qiejiao: internal error");
                QjError::new(500, "server error")
            }
        }
    }
}

fn ok(data: Value) -> Response {
    Json(json!({"code": 200, "msg": "success", "data": data})).into_response()
}

/// A request's parameters as sent: each value the text that is signed. JSON strings are taken
/// unquoted, numbers and objects as their JSON text (`42.50` stays `42.50`), `null` as empty.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// The body of a JSON or form-encoded request (by `Content-Type`; a body starting with `{`
    /// is taken as JSON without one).
    pub fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, QjError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let trimmed = body.iter().skip_while(|b| b.is_ascii_whitespace()).copied().next();
        if content_type.starts_with("application/json") || (!content_type.contains("form") && trimmed == Some(b'{')) {
            let raw: BTreeMap<String, Box<serde_json::value::RawValue>> = serde_json::from_slice(body)
                .map_err(|e| QjError::invalid("body", format!("not a JSON object of parameters ({e})")))?;
            let mut params = BTreeMap::new();
            for (k, v) in raw {
                let text = v.get();
                let value = if text.starts_with('"') {
                    serde_json::from_str::<String>(text).map_err(|e| QjError::invalid(&k, e))?
                } else if text == "null" {
                    String::new()
                } else {
                    text.to_string()
                };
                params.insert(k, value);
            }
            Ok(Params(params))
        } else {
            Ok(Params::from_query(body))
        }
    }

    /// Form-encoded parameters (a query string or a form body); a repeated name keeps the last.
    pub fn from_query(text: &[u8]) -> Params {
        Params(
            url::form_urlencoded::parse(text)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, field: &str) -> Result<&str, QjError> {
        self.get(field).ok_or_else(|| QjError::invalid(field, "is required"))
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The merchant named by `pid`, if the request is signed with its key.
    async fn verified(&self, s: &AppState, signed: bool) -> Result<MerchantCredentials, QjError> {
        let pid = self.required("pid")?;
        let merchant = s
            .engine
            .compat_credentials(CompatApi::Qiejiao, pid)
            .await?
            .ok_or_else(|| QjError::forbidden("pid: no active merchant with this pid"))?;
        match self.get(SIGNATURE_FIELD) {
            Some(given) if !qiejiao::verify(self.pairs(), &merchant.secret, given) => {
                return Err(QjError::forbidden(
                    "signature: does not match the parameters and the merchant's key",
                ));
            }
            None if signed => return Err(QjError::invalid(SIGNATURE_FIELD, "is required")),
            _ => {}
        }
        Ok(merchant)
    }
}

/// The chain a `chain_type` names, from `[compat.qiejiao] chain_types`.
fn chain_of(s: &AppState, chain_type: &str) -> Result<String, QjError> {
    s.engine.compat_config().qiejiao.chain_id(chain_type).ok_or_else(|| {
        QjError::invalid(
            "chain_type",
            format!("'{chain_type}' is not a supported chain type (1 = TRC20, 2 = ERC20)"),
        )
    })
}

fn decimal(field: &str, s: &str) -> Result<Decimal, QjError> {
    let d: Decimal = s
        .trim()
        .parse()
        .map_err(|_| QjError::invalid(field, format!("'{s}' is not a decimal amount")))?;
    if d <= Decimal::ZERO {
        return Err(QjError::invalid(field, "must be greater than 0"));
    }
    Ok(d)
}

/// `POST /api/pay/create`.
pub async fn create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match create_order(&s, &headers, &body).await {
        Ok(data) => ok(data),
        Err(e) => e.into_response(),
    }
}

async fn create_order(s: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, QjError> {
    let p = Params::from_body(headers, body)?;
    let merchant = p.verified(s, true).await?;
    match p.get("type").unwrap_or("1") {
        "1" => {}
        "2" => {
            return Err(QjError::invalid(
                "type",
                "2 (transfers inside an exchange: OKX, Binance, HTX) is not supported; only on-chain transfers (type 1)",
            ));
        }
        other => {
            return Err(QjError::invalid(
                "type",
                format!("must be 1 (on-chain transfer), not '{other}'"),
            ));
        }
    }
    let chain_type = p.required("chain_type")?.trim().to_string();
    let chain_id = chain_of(s, &chain_type)?;
    let order_no = p.required("order_no")?.to_string();
    let amount_text = p.required("amount")?;
    let amount = decimal("amount", amount_text)?;
    let currency = p.get("currency").unwrap_or("CNY").trim().to_ascii_uppercase();
    let mut extra = serde_json::Map::new();
    let mut quote = None;
    let usdt = match currency.as_str() {
        "USDT" => amount,
        "CNY" => {
            if amount.scale() > 2 {
                return Err(QjError::invalid("amount", "a CNY amount has at most 2 decimal places"));
            }
            let (usdt, fiat) = s
                .engine
                .quote_cny(Amount::from_decimal(amount), 2)
                .map_err(|e| match e {
                    payin_core::Error::RateUnavailable(m) => {
                        QjError::new(503, format!("currency: CNY cannot be converted now: {m}"))
                    }
                    other => QjError::from(other),
                })?;
            extra.insert("cnyAmount".into(), json!(amount.to_string()));
            extra.insert("rate".into(), json!(fiat.rate.to_string()));
            quote = Some(fiat);
            usdt.as_decimal()
        }
        other => {
            return Err(QjError::invalid(
                "currency",
                format!("must be CNY or USDT, not '{other}'"),
            ));
        }
    };
    let scanpay = match p.get("scanpay").unwrap_or("1") {
        "1" => true,
        "0" => false,
        other => return Err(QjError::invalid("scanpay", format!("must be 1 or 0, not '{other}'"))),
    };
    let return_url = p.get("return_url").map(str::to_string);
    let param = p.get("param").map(str::to_string);
    extra.insert("chainType".into(), json!(chain_type));
    extra.insert("currency".into(), json!(currency));
    let new = NewCompatOrder {
        api: CompatApi::Qiejiao,
        merchant_id: merchant.merchant.id.clone(),
        merchant_order_id: order_no.clone(),
        callback_url: p.get("notify_url").map(str::to_string),
        frontend_url: return_url.clone(),
        param,
        chain_code: chain_type.clone(),
        coin_code: "USDT".into(),
        extra,
        quote,
        order: CreateOrderRequest {
            order_reference: String::new(),
            amount: json!(usdt.to_string()),
            currency: "USDT".into(),
            chain_id,
            success_url: return_url,
            ..Default::default()
        },
    };
    let (record, order) = s
        .engine
        .create_compat_order(&merchant.merchant, new)
        .await
        .map_err(|e| match e {
            payin_core::Error::Invalid { field, message, .. } if field == "merchantOrderId" => {
                QjError::invalid("order_no", message)
            }
            other => QjError::from(other),
        })?;
    if scanpay {
        Ok(json!({
            "plat_order_no": order.order_id,
            "u_addr": order.address,
            "u_type": qiejiao::wallet_type(&record.chain_code),
            "amount": pay_amount(&order),
            "expire_time": order.expires_at.timestamp(),
        }))
    } else {
        Ok(json!({
            "url": format!("{}?lang=zh-CN", order.payment_url),
            "plat_order_no": order.order_id,
        }))
    }
}

/// What the payer sends, in USDT.
fn pay_amount(order: &Order) -> String {
    order.pay_amount.to_string()
}

/// The order as `query` and `supplement` answer it.
fn order_data(record: &CompatOrder, order: &Order) -> Value {
    json!({
        "plat_order_no": order.order_id,
        "order_no": record.merchant_order_id,
        "amount": pay_amount(order),
        "status": qiejiao::status_word(order),
        "u_type": qiejiao::wallet_type(&record.chain_code),
        "paytime": order.completed_at.map(|t| t.timestamp()),
        "createtime": order.created_at.timestamp(),
    })
}

async fn merchant_order(
    s: &AppState,
    p: &Params,
    merchant: &MerchantCredentials,
) -> Result<(CompatOrder, Order), QjError> {
    let order_no = p.required("order_no")?;
    let record = s
        .engine
        .compat_order_by_merchant_order_id(CompatApi::Qiejiao, &merchant.merchant.id, order_no)
        .await?
        .ok_or_else(|| QjError::new(404, format!("order_no: no order '{order_no}' for this pid")))?;
    let order = s.engine.get_order(&record.order_id).await?;
    Ok((record, order))
}

/// `GET /api/pay/query?pid=…&order_no=…` (a `signature` is checked when sent; the seed's own
/// example sends none).
pub async fn query(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let run = async {
        let p = Params::from_query(query.as_deref().unwrap_or("").as_bytes());
        let merchant = p.verified(&s, false).await?;
        let (record, order) = merchant_order(&s, &p, &merchant).await?;
        Ok::<_, QjError>(order_data(&record, &order))
    };
    match run.await {
        Ok(data) => ok(data),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/pay/supplement`: `hash` (and `p_addr`, the payer) checked on the order's chain.
pub async fn supplement(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let p = Params::from_body(&headers, &body)?;
        let merchant = p.verified(&s, true).await?;
        let (record, order) = merchant_order(&s, &p, &merchant).await?;
        let hash = p.required("hash")?.trim().to_string();
        let payer = p.get("p_addr").map(str::trim);
        match s.engine.claim_payment(&order.order_id, &hash, payer).await? {
            Ok(order) => Ok(order_data(&record, &order)),
            Err(refusal) => Err(QjError::invalid("hash", refusal)),
        }
    };
    match run.await {
        Ok(data) => ok(data),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        h
    }

    #[test]
    fn json_values_are_signed_as_sent() {
        let body = br#"{"pid":"10001","amount":42.50,"scanpay":1,"param":{"user_id": "123"},"notify_url":null,"order_no":"A&B"}"#;
        let p = Params::from_body(&json_headers(), body).unwrap();
        assert_eq!(p.get("amount"), Some("42.50"));
        assert_eq!(p.get("scanpay"), Some("1"));
        assert_eq!(p.get("param"), Some(r#"{"user_id": "123"}"#));
        assert_eq!(p.get("notify_url"), None);
        assert_eq!(
            qiejiao::string_to_sign(p.pairs()),
            r#"amount=42.50&order_no=A&B&param={"user_id": "123"}&pid=10001&scanpay=1"#
        );
    }

    #[test]
    fn form_bodies_and_json_without_a_content_type_parse_alike() {
        let form = Params::from_body(&HeaderMap::new(), b"pid=10001&amount=100.00&param=%7B%22a%22%3A1%7D").unwrap();
        let json = Params::from_body(
            &HeaderMap::new(),
            br#" {"pid":"10001","amount":"100.00","param":"{\"a\":1}"}"#,
        )
        .unwrap();
        assert_eq!(
            qiejiao::string_to_sign(form.pairs()),
            qiejiao::string_to_sign(json.pairs())
        );
        assert_eq!(form.get("param"), Some(r#"{"a":1}"#));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_422_naming_the_body() {
        let e = Params::from_body(&json_headers(), b"[1,2]").unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.msg.starts_with("body:"), "{}", e.msg);
    }
}
