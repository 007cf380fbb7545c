//! The hosted payment page of an order (its `paymentUrl`): public, reached by the order's
//! unguessable id. It shows the payer what to send, where and until when, follows the order
//! while it is pending, and sends the payer back to the shop (`successUrl` / `cancelUrl`, with
//! the outcome appended) once it has ended.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use payin_core::chain::Currency;
use payin_core::order::{Order, OrderStatus};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::envelope::{Envelope, ok};
use crate::error::ApiError;

const TEMPLATE: &str = include_str!("../pages/pay.html");

/// What the payment page shows, and what it polls: no metadata, no merchant settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatus {
    pub order_id: String,
    pub order_reference: String,
    pub status: OrderStatus,
    #[schema(value_type = String, example = "10.00")]
    pub amount: String,
    #[schema(value_type = String, example = "0.00")]
    pub amount_received: String,
    pub currency: Currency,
    pub chain_id: String,
    /// The network's display name, e.g. "Ethereum".
    pub chain_name: String,
    pub address: String,
    /// The token's contract on this chain, so the payer's wallet sends the right token.
    pub token_contract: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub tx_hash: Option<String>,
    /// Where the page sends the payer once the order has ended (`successUrl` or `cancelUrl`
    /// with `orderReference, status, amount, currency, chainId, txHash` appended).
    pub redirect_url: Option<String>,
    /// This document's own URL, relative to the server.
    pub status_url: String,
}

impl PaymentStatus {
    fn of(order: &Order, state: &AppState) -> PaymentStatus {
        let network = state.engine.chains().get(&order.chain_id);
        PaymentStatus {
            order_id: order.order_id.clone(),
            order_reference: order.order_reference.clone(),
            status: order.status,
            amount: order.amount.to_string(),
            amount_received: order.amount_received.to_string(),
            currency: order.currency,
            chain_id: order.chain_id.clone(),
            chain_name: network.map_or_else(|| order.chain_id.clone(), |n| n.name.clone()),
            address: order.address.clone(),
            token_contract: network
                .and_then(|n| n.token(order.currency))
                .and_then(|t| t.contract.clone()),
            expires_at: payin_core::time::format(&order.expires_at),
            tx_hash: order.tx_hash.clone(),
            redirect_url: order.redirect_url(),
            status_url: format!("/pay/{}/status", order.order_id),
        }
    }
}

/// The order's payment state, as the payment page polls it. Public: the order id is the key.
#[utoipa::path(get, path = "/pay/{orderId}/status", tag = "pay", security(),
    params(("orderId" = String, Path)),
    responses((status = 200, body = Envelope<PaymentStatus>), (status = 404, description = "ORDER_NOT_FOUND", body = ApiError)))]
pub async fn status(State(s): State<AppState>, Path(order_id): Path<String>) -> Result<Response, ApiError> {
    let order = s.engine.get_order(&order_id).await?;
    let mut resp = ok(PaymentStatus::of(&order, &s));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The hosted payment page (HTML). Public: the order id is the key.
#[utoipa::path(get, path = "/pay/{orderId}", tag = "pay", security(),
    params(("orderId" = String, Path)),
    responses((status = 200, description = "The payment page", content_type = "text/html"),
        (status = 404, description = "No such order", content_type = "text/html")))]
pub async fn page(State(s): State<AppState>, Path(order_id): Path<String>) -> Response {
    match s.engine.get_order(&order_id).await {
        Ok(order) => html(StatusCode::OK, render(&PaymentStatus::of(&order, &s))),
        Err(payin_core::Error::OrderNotFound(_)) => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_string()),
        Err(e) => ApiError::from(e).into_response(),
    }
}

const NOT_FOUND_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Payment not found</title></head>\
<body><main><h1>Payment not found</h1><p>This payment link is not valid. Please go back to the shop.</p>\
</main></body></html>";

fn render(p: &PaymentStatus) -> String {
    let status_text = match p.status {
        OrderStatus::Pending => "Waiting for your payment.",
        OrderStatus::Completed => "Payment received. Thank you!",
        OrderStatus::Expired => "This payment request has expired.",
    };
    // The data the script starts from; `<` escaped so no value can close the script element.
    let json = serde_json::to_string(p)
        .expect("the payment status serializes")
        .replace('<', "\\u003c");
    fill(
        TEMPLATE,
        &[
            ("AMOUNT", escape(&p.amount)),
            ("CURRENCY", p.currency.as_str().to_string()),
            ("REFERENCE", escape(&p.order_reference)),
            ("CHAIN_NAME", escape(&p.chain_name)),
            ("ADDRESS", escape(&p.address)),
            ("CONTRACT", escape(p.token_contract.as_deref().unwrap_or(""))),
            ("STATUS", p.status.as_str().to_string()),
            ("STATUS_TEXT", status_text.to_string()),
            ("ORDER_JSON", json),
        ],
    )
}

/// Fills each `{{NAME}}` of `template` in one pass over the template: a value is never scanned
/// again, so merchant text such as an `orderReference` of `{{ORDER_JSON}}` stays literal.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            values
                .iter()
                .find(|(name, _)| *name == &after[..end])
                .map(|(_, v)| (end, v))
        });
        match value {
            Some((end, v)) => {
                out.push_str(v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Only this page's own inline style and script may run, and it may only call this server.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = |open: &str, close: &str| {
        let start = TEMPLATE.find(open).expect("the template has the block") + open.len();
        let end = start + TEMPLATE[start..].find(close).expect("the block is closed");
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&TEMPLATE.as_bytes()[start..end]))
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash("<style>", "</style>"),
        hash("<script>", "</script>"),
    )
});

fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&CONTENT_SECURITY_POLICY).expect("the policy is ASCII"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_the_markup() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn placeholders_in_values_are_not_expanded() {
        let filled = fill(
            "<h1>{{REFERENCE}}</h1><script>{{ORDER_JSON}}</script>{{UNKNOWN}}",
            &[
                ("REFERENCE", "{{ORDER_JSON}}".into()),
                ("ORDER_JSON", "{\"a\":1}".into()),
            ],
        );
        assert_eq!(filled, "<h1>{{ORDER_JSON}}</h1><script>{\"a\":1}</script>{{UNKNOWN}}");
        assert_eq!(fill("{{A}}{{", &[("A", "x".into())]), "x{{");
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_blocks_of_the_template() {
        let policy = CONTENT_SECURITY_POLICY.as_str();
        assert!(policy.contains("script-src 'sha256-") && policy.contains("style-src 'sha256-"));
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        // Placeholders stay outside the hashed blocks, or the hashes would not match the page.
        let script = &TEMPLATE[TEMPLATE.find("<script>").unwrap()..];
        let style = &TEMPLATE[TEMPLATE.find("<style>").unwrap()..TEMPLATE.find("</style>").unwrap()];
        assert!(!script[..script.find("</script>").unwrap()].contains("{{"));
        assert!(!style.contains("{{"));
    }
}
