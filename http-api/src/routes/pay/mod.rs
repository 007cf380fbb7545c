//! The hosted payment page of an order (its `paymentUrl`): public, reached by the order's
//! unguessable id. It shows the payer what to send, where and until when, follows the order
//! while it is pending, and sends the payer back to the shop (`successUrl` / `cancelUrl`, with
//! the outcome appended) once it has ended.

mod text;

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use payin_core::amount::{Amount, AmountUnits};
use payin_core::chain::{Currency, Network, Protocol};
use payin_core::order::{Order, OrderStatus};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::envelope::{Envelope, ok};
use crate::error::ApiError;
pub use text::Lang;

const TEMPLATE: &str = include_str!("../../pages/pay.html");

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
    /// Payments seen on chain and still confirming (pending orders only).
    pub detected: Option<DetectedView>,
    /// What the page's QR code holds: an EIP-681 token transfer on EVM chains
    /// (`ethereum:<token>@<chainId>/transfer?address=<to>&uint256=<base units>`, the amount
    /// still due), the plain address on other chains.
    pub payment_uri: String,
    /// The server's clock when this was read: the page counts down by it, not the phone's.
    #[schema(format = DateTime)]
    pub server_time: String,
    /// Where the page sends the payer once the order has ended (`successUrl` or `cancelUrl`
    /// with `orderReference, status, amount, currency, chainId, txHash` appended).
    pub redirect_url: Option<String>,
    /// This document's own URL, relative to the server.
    pub status_url: String,
}

/// Payments to the order seen on chain, waiting for their confirmations.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetectedView {
    /// Their sum, not yet counted in `amountReceived`.
    #[schema(value_type = String, example = "10.00")]
    pub amount: String,
    /// Confirmations of the newest of them so far.
    pub confirmations: u64,
    /// Confirmations the chain needs before a payment counts.
    pub confirmations_required: u32,
}

impl PaymentStatus {
    async fn load(order: &Order, state: &AppState) -> Result<PaymentStatus, payin_core::Error> {
        let detected = state.engine.detected_payment(order).await?.map(|d| DetectedView {
            amount: d.amount.to_string(),
            confirmations: d.confirmations,
            confirmations_required: d.confirmations_required,
        });
        Ok(PaymentStatus {
            detected,
            ..PaymentStatus::of(order, state)
        })
    }

    fn of(order: &Order, state: &AppState) -> PaymentStatus {
        let network = state.engine.chains().get(&order.chain_id);
        PaymentStatus {
            order_id: order.order_id.clone(),
            order_reference: order.order_reference.clone(),
            status: order.status,
            // What to send: a shared-address order is only paid by its exact `payAmount`.
            amount: order.pay_amount.to_string(),
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
            detected: None,
            payment_uri: payment_uri(network, order),
            server_time: payin_core::time::format(&state.engine.now()),
            redirect_url: order.redirect_url(),
            status_url: format!("/pay/{}/status", order.order_id),
        }
    }
}

/// What a wallet should scan to pay `order`: on an EVM chain with a known token contract, an
/// EIP-681 call of the token's `transfer` for the amount still due in base units (wallets fill
/// in token, network, recipient and amount); anywhere else — Tron, whose wallets read a bare
/// address, or a token without a contract — the address alone.
pub fn payment_uri(network: Option<&Network>, order: &Order) -> String {
    let transfer = network.filter(|n| n.protocol == Protocol::Evm).and_then(|n| {
        let token = n.token(order.currency)?;
        let contract = token.contract.as_deref()?;
        let chain_id = n.evm_chain_id?;
        let pay = order.pay_amount.as_decimal();
        let due = if order.amount_received.as_decimal() < pay {
            Amount::from_decimal(pay - order.amount_received.as_decimal())
        } else {
            order.pay_amount
        };
        let units = due.to_base_units(token.decimals)?;
        Some(format!(
            "ethereum:{contract}@{chain_id}/transfer?address={}&uint256={units}",
            order.address
        ))
    });
    transfer.unwrap_or_else(|| order.address.clone())
}

/// The QR code of `data` as inline SVG (no script, no external image), dark on white whatever
/// the page's colour scheme; empty when the data cannot be encoded (the address stays shown).
fn qr_svg(data: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data, EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(4, 4)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // Inline in HTML: no XML declaration; a role and label for screen readers.
    let image = image.find("<svg").map_or(image.as_str(), |i| &image[i..]);
    image.replacen("<svg ", "<svg role=\"img\" aria-label=\"QR code\" ", 1)
}

/// The order's payment state, as the payment page polls it. Public: the order id is the key.
#[utoipa::path(get, path = "/pay/{orderId}/status", tag = "pay", security(),
    params(("orderId" = String, Path)),
    responses((status = 200, body = Envelope<PaymentStatus>), (status = 404, description = "ORDER_NOT_FOUND", body = ApiError)))]
pub async fn status(State(s): State<AppState>, Path(order_id): Path<String>) -> Result<Response, ApiError> {
    let order = s.engine.get_order(&order_id).await?;
    let mut resp = ok(PaymentStatus::load(&order, &s).await?);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The hosted payment page (HTML). Public: the order id is the key.
#[utoipa::path(get, path = "/pay/{orderId}", tag = "pay", security(),
    params(("orderId" = String, Path)),
    responses((status = 200, description = "The payment page", content_type = "text/html"),
        (status = 400, description = "An order id that is not valid text (control characters, bad encoding): a page saying so", content_type = "text/html"),
        (status = 429, description = "Too many requests from this client: a page saying when to come back (Retry-After)", content_type = "text/html"),
        (status = 404, description = "No such order", content_type = "text/html")))]
pub async fn page(
    State(s): State<AppState>,
    Path(order_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // `?lang=` as the page's switch writes it; anything else in the query is ignored.
    let asked = query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")));
    let lang = Lang::negotiate(asked, &headers);
    let loaded = match s.engine.get_order(&order_id).await {
        Ok(order) => PaymentStatus::load(&order, &s).await,
        Err(e) => Err(e),
    };
    let mut resp = match loaded {
        Ok(status) => html(StatusCode::OK, render(&status, lang)),
        Err(payin_core::Error::OrderNotFound(_)) => html(StatusCode::NOT_FOUND, not_found_page(lang)),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    resp
}

fn not_found_page(lang: Lang) -> String {
    let t = lang.text();
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head>\
<body><main><h1>{}</h1><p>{}</p></main></body></html>",
        lang.tag(),
        t.not_found_title,
        t.not_found_title,
        t.not_found_body
    )
}

fn render(p: &PaymentStatus, lang: Lang) -> String {
    let t = lang.text();
    let status_text = match p.status {
        OrderStatus::Pending => t.script.awaiting.to_string(),
        OrderStatus::Completed => t.script.completed.to_string(),
        OrderStatus::Expired => t.script.expired.to_string(),
    };
    let switch = [(Lang::Zh, "中文"), (Lang::En, "English")]
        .iter()
        .map(|(l, name)| {
            let current = if *l == lang { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"?lang={}\" lang=\"{}\"{current}>{name}</a>", l.tag(), l.tag())
        })
        .collect::<String>();
    let only_counts = t
        .only_counts
        .replace("{currency}", p.currency.as_str())
        .replace("{network}", &escape(&p.chain_name));
    fill(
        TEMPLATE,
        &[
            ("LANG", lang.tag().to_string()),
            ("LANG_SWITCH", switch),
            ("T_TITLE", t.title.to_string()),
            ("T_HEADING", t.heading.to_string()),
            ("T_ON", t.on.to_string()),
            ("T_SEND_EXACTLY", t.send_exactly.to_string()),
            ("T_SCAN", t.scan.to_string()),
            ("T_TO_ADDRESS", t.to_address.to_string()),
            ("T_TOKEN_CONTRACT", t.token_contract.to_string()),
            ("T_COPY", t.script.copy.to_string()),
            ("ONLY_COUNTS", only_counts),
            ("AMOUNT", escape(&p.amount)),
            ("CURRENCY", p.currency.as_str().to_string()),
            ("REFERENCE", escape(&p.order_reference)),
            ("CHAIN_NAME", escape(&p.chain_name)),
            ("ADDRESS", escape(&p.address)),
            ("CONTRACT", escape(p.token_contract.as_deref().unwrap_or(""))),
            ("PAYMENT_URI", escape(&p.payment_uri)),
            ("QR_SVG", qr_svg(&p.payment_uri)),
            // Where to pay is shown only while the order can be paid: after it ends, its address
            // goes back to the pool (or belongs to the next order).
            (
                "PAY_TO_HIDDEN",
                if p.status == OrderStatus::Pending {
                    ""
                } else {
                    " hidden"
                }
                .to_string(),
            ),
            ("STATUS", p.status.as_str().to_string()),
            ("STATUS_TEXT", status_text),
            ("ORDER_JSON", json(p)),
            ("TEXT_JSON", json(&t.script)),
        ],
    )
}

/// Data for the page's script, in a JSON script element; `<` escaped so no value can close it.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .expect("page data serializes")
        .replace('<', "\\u003c")
}

/// Fills each `{{NAME}}` of `template` in one pass over the template: a value is never scanned
/// again, so merchant text such as an `orderReference` of `{{ORDER_JSON}}` stays literal.
pub(crate) fn fill(template: &str, values: &[(&str, String)]) -> String {
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

pub(crate) fn escape(s: &str) -> String {
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

    fn order(amount: &str, received: &str, chain_id: &str, address: &str) -> Order {
        serde_json::from_value(serde_json::json!({
            "orderId": "ord_x", "orderReference": "r", "amount": amount, "payAmount": amount, "currency": "USDT",
            "chainId": chain_id, "protocol": "evm", "address": address, "status": "pending",
            "amountReceived": received, "metadata": {}, "successUrl": null, "cancelUrl": null,
            "paymentUrl": "http://127.0.0.1/pay/ord_x", "paymentWindowMinutes": 30, "graceMinutes": 0,
            "createdAt": "2026-11-26T00:00:00.000Z", "expiresAt": "2026-11-26T00:30:00.000Z",
            "completedAt": null, "expiredAt": null, "txHash": null, "blockNumber": null,
            "confirmations": null, "surplus": null
        }))
        .unwrap()
    }

    #[test]
    fn evm_orders_are_paid_by_an_eip681_token_transfer_of_what_is_still_due() {
        let chains = payin_core::chain::ChainRegistry::with_overrides(&Default::default()).unwrap();
        let ethereum = chains.get("ethereum");
        let to = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0";
        let usdt = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
        assert_eq!(
            payment_uri(ethereum, &order("12.5", "0", "ethereum", to)),
            format!("ethereum:{usdt}@1/transfer?address={to}&uint256=12500000")
        );
        // A partial payment: the QR asks for the rest.
        assert_eq!(
            payment_uri(ethereum, &order("12.5", "10.25", "ethereum", to)),
            format!("ethereum:{usdt}@1/transfer?address={to}&uint256=2250000")
        );
        // No canonical contract (USDT on Sepolia): the address alone.
        assert_eq!(
            payment_uri(chains.get("ethereum-sepolia"), &order("1", "0", "ethereum-sepolia", to)),
            to
        );
        assert_eq!(payment_uri(None, &order("1", "0", "mars", to)), to);
    }

    #[test]
    fn the_qr_code_is_inline_svg_without_an_xml_declaration() {
        let svg = qr_svg(
            "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x742D35CC6634c0532925A3b844BC9E7595F0BEb0&uint256=12500000",
        );
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"QR code\" "),
            "{svg:.80}"
        );
        assert!(svg.ends_with("</svg>") && !svg.contains("<?xml") && !svg.contains("style="));
        // Too long for any QR code: no image, and no panic.
        assert_eq!(qr_svg(&"x".repeat(8000)), "");
    }

    #[test]
    fn merchant_text_and_placeholders_stay_literal_in_both_languages() {
        let chains = payin_core::chain::ChainRegistry::with_overrides(&Default::default()).unwrap();
        let mut o = order("1", "0", "ethereum", "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0");
        o.order_reference = "{{ADDRESS}}<b>".into();
        for lang in [Lang::En, Lang::Zh] {
            let p = PaymentStatus {
                order_id: o.order_id.clone(),
                order_reference: o.order_reference.clone(),
                status: o.status,
                amount: o.amount.to_string(),
                amount_received: o.amount_received.to_string(),
                currency: o.currency,
                chain_id: o.chain_id.clone(),
                chain_name: "Ethereum".into(),
                address: o.address.clone(),
                token_contract: None,
                expires_at: "2026-11-26T00:30:00.000Z".into(),
                tx_hash: None,
                detected: None,
                payment_uri: payment_uri(chains.get("ethereum"), &o),
                server_time: "2026-11-26T00:00:00.000Z".into(),
                redirect_url: None,
                status_url: "/pay/ord_x/status".into(),
            };
            let page = render(&p, lang);
            assert!(page.contains("{{ADDRESS}}&lt;b&gt;"), "{lang:?}");
            // The only `{{` left are the reference's own, in the heading and the script's data.
            assert_eq!(page.matches("{{").count(), 2, "{lang:?}");
            assert_eq!(page.matches("{{ADDRESS}}").count(), 2, "{lang:?}");
            assert!(page.contains(&format!("<html lang=\"{}\">", lang.tag())));
            assert!(page.contains("<svg role=\"img\""));
            let heading = if lang == Lang::Zh {
                "<h1>付款请求 "
            } else {
                "<h1>Payment request "
            };
            assert!(page.contains(heading), "{lang:?}");
        }
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
