//! The public page of a payment link (`checkoutUrl`, `/checkout/{slug}`): the link's title,
//! description and price; the payer picks a currency and network (and types the amount when
//! the link leaves it open) and posts the form, which opens a new order carrying the link's id
//! and answers 303 to the order's payment page (`paymentUrl`).
//!
//! Statuses: an unknown slug or a draft is 404; an archived or expired link 410; a sold-out
//! link 409 (units may come back when pending orders expire); a bad choice or amount 400 (the
//! form again, with the reason); a cross-site post 403. Every answer is an HTML page in the
//! payer's language (English or Simplified Chinese, like the payment page), never JSON.
//!
//! The form is public and unauthenticated and can only open an order. Cross-site posts are
//! refused by `Sec-Fetch-Site` / `Origin` (a browser always sends one of them on a form post),
//! so another site cannot make visitors' browsers reserve a link's inventory; the per-IP rate
//! limit (`ratelimit::per_client_ip`) covers both GET and POST. The page runs no script; its
//! Content-Security-Policy allows only its own hashed style and posts to this server.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use payin_core::payment_link::{LinkOrder, LinkRefusal, PaymentLink};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::pay::{Lang, escape, fill};
use crate::AppState;

const TEMPLATE: &str = include_str!("../pages/checkout.html");

/// Longest slug looked up (slugs PayIn makes are 12 characters of `[a-z0-9]`).
const MAX_SLUG: usize = 64;
/// Largest form body read.
const MAX_FORM_BYTES: usize = 4096;

struct Text {
    choose: &'static str,
    amount_label: &'static str,
    between: &'static str,
    at_least: &'static str,
    at_most: &'static str,
    pay: &'static str,
    payer_chooses: &'static str,
    on: &'static str,
    left: &'static str,
    not_found: (&'static str, &'static str),
    archived: (&'static str, &'static str),
    expired: (&'static str, &'static str),
    sold_out: (&'static str, &'static str),
    forbidden: (&'static str, &'static str),
    bad_request: (&'static str, &'static str),
    unavailable: (&'static str, &'static str),
    failed: (&'static str, &'static str),
    bad_choice: &'static str,
    bad_amount: &'static str,
    amount_low: &'static str,
    amount_high: &'static str,
    no_redirect: &'static str,
}

static EN: Text = Text {
    choose: "Pay with",
    amount_label: "Amount",
    between: "Between {min} and {max}",
    at_least: "At least {min}",
    at_most: "At most {max}",
    pay: "Continue to payment",
    payer_chooses: "Choose your amount",
    on: "on",
    left: "{n} left",
    not_found: (
        "Payment link not found",
        "This payment link does not exist. Please check the address you were given.",
    ),
    archived: (
        "This payment link is closed",
        "The seller no longer accepts payments through this link.",
    ),
    expired: (
        "This payment link has expired",
        "The seller's offer ended. Please contact the seller for a new link.",
    ),
    sold_out: (
        "Sold out",
        "Everything offered through this link is sold or reserved. Reserved items come back if their payment is not made in time.",
    ),
    forbidden: (
        "Request refused",
        "This form can only be sent from its own page. Please open the payment link again.",
    ),
    bad_request: (
        "Something is wrong with this request",
        "Please open the payment link again.",
    ),
    unavailable: (
        "Please try again shortly",
        "Payments cannot be opened right now. Please try again in a few minutes.",
    ),
    failed: (
        "Something went wrong",
        "Your payment could not be opened. Please try again.",
    ),
    bad_choice: "Please choose one of the currencies and networks listed.",
    bad_amount: "Please enter an amount such as 25 or 25.50.",
    amount_low: "The amount must be at least {min}.",
    amount_high: "The amount must be at most {max}.",
    no_redirect: "Open your payment",
};

static ZH: Text = Text {
    choose: "支付方式",
    amount_label: "金额",
    between: "介于 {min} 与 {max} 之间",
    at_least: "至少 {min}",
    at_most: "至多 {max}",
    pay: "前往付款",
    payer_chooses: "请输入金额",
    on: "网络：",
    left: "剩余 {n} 件",
    not_found: ("未找到付款链接", "此付款链接不存在，请检查您收到的地址。"),
    archived: ("此付款链接已关闭", "卖家已不再通过此链接收款。"),
    expired: ("此付款链接已过期", "卖家的报价已结束，请联系卖家获取新链接。"),
    sold_out: ("已售罄", "此链接的商品已全部售出或被预留。未按时付款的预留会重新释放。"),
    forbidden: ("请求被拒绝", "此表单只能从其自身页面提交，请重新打开付款链接。"),
    bad_request: ("请求有误", "请重新打开付款链接。"),
    unavailable: ("请稍后再试", "暂时无法创建付款，请几分钟后再试。"),
    failed: ("出错了", "无法创建您的付款，请重试。"),
    bad_choice: "请选择列出的币种和网络之一。",
    bad_amount: "请输入金额，例如 25 或 25.50。",
    amount_low: "金额至少为 {min}。",
    amount_high: "金额至多为 {max}。",
    no_redirect: "打开付款页面",
};

fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let asked = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")));
    Lang::negotiate(asked, headers)
}

/// A slug PayIn could have made: short, lowercase letters and digits. Anything else (a
/// tampered slug, NUL bytes, markup) is "not found" without a database read.
fn plausible_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.len() <= MAX_SLUG && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The public checkout page of a payment link (HTML).
#[utoipa::path(get, path = "/checkout/{slug}", tag = "pay", security(),
    params(("slug" = String, Path, description = "The link's slug (last segment of its checkoutUrl)")),
    responses((status = 200, description = "The checkout page", content_type = "text/html"),
        (status = 400, description = "A slug that is not valid text (control characters, bad encoding): a page saying so", content_type = "text/html"),
        (status = 429, description = "Too many requests from this client: a page saying when to come back (Retry-After)", content_type = "text/html"),
        (status = 404, description = "Unknown slug or a draft link", content_type = "text/html"),
        (status = 409, description = "Sold out", content_type = "text/html"),
        (status = 410, description = "Archived or expired", content_type = "text/html")))]
pub async fn checkout_page(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(query.as_deref(), &headers);
    match load(&s, &slug).await {
        Ok(Ok(link)) => form_page(&s, StatusCode::OK, &link, lang, None, None, ""),
        Ok(Err(refusal)) => refusal_page(refusal, lang),
        Err(_) => message_page(StatusCode::INTERNAL_SERVER_ERROR, lang, text(lang).failed),
    }
}

/// The link of `slug` if it sells now, else why not.
async fn load(s: &AppState, slug: &str) -> payin_core::Result<Result<PaymentLink, LinkRefusal>> {
    if !plausible_slug(slug) {
        return Ok(Err(LinkRefusal::NotFound));
    }
    let Some(link) = s.engine.payment_link_by_slug(slug).await? else {
        return Ok(Err(LinkRefusal::NotFound));
    };
    Ok(match payin_core::payment_link::refusal(&link, s.engine.now()) {
        Some(r) => Err(r),
        None => Ok(link),
    })
}

/// The form's post: opens an order and answers 303 to its payment page.
#[utoipa::path(post, path = "/checkout/{slug}", tag = "pay", security(),
    params(("slug" = String, Path)),
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "option: the index of the chosen currency/network in the link's currencies; amount: when the link's amount is \"0\""),
    responses((status = 303, description = "To the new order's paymentUrl"),
        (status = 400, description = "Bad choice or amount: the form again", content_type = "text/html"),
        (status = 403, description = "A cross-site post", content_type = "text/html"),
        (status = 429, description = "Too many requests from this client: a page saying when to come back (Retry-After)", content_type = "text/html"),
        (status = 404, description = "Unknown slug or a draft link", content_type = "text/html"),
        (status = 409, description = "Sold out", content_type = "text/html"),
        (status = 410, description = "Archived or expired", content_type = "text/html")))]
pub async fn checkout_submit(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = lang_of(query.as_deref(), &headers);
    let t = text(lang);
    if cross_site(&headers) {
        return message_page(StatusCode::FORBIDDEN, lang, t.forbidden);
    }
    let link = match load(&s, &slug).await {
        Ok(Ok(link)) => link,
        Ok(Err(refusal)) => return refusal_page(refusal, lang),
        Err(_) => return message_page(StatusCode::INTERNAL_SERVER_ERROR, lang, t.failed),
    };
    let Some(form) = parse_form(&body) else {
        return message_page(StatusCode::BAD_REQUEST, lang, t.bad_request);
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let typed = field("amount").unwrap_or("");
    let choice = field("option")
        .and_then(|o| o.parse::<usize>().ok())
        .and_then(|i| link.currencies.get(i).map(|c| (i, c)));
    let Some((index, choice)) = choice else {
        return form_page(
            &s,
            StatusCode::BAD_REQUEST,
            &link,
            lang,
            Some(t.bad_choice.to_string()),
            None,
            typed,
        );
    };
    let outcome = s
        .engine
        .checkout_payment_link(&link.slug, &choice.currency, &choice.chain_id, Some(typed))
        .await;
    match outcome {
        Ok(LinkOrder::Opened(order)) => see_other(&order.payment_url, lang),
        Ok(LinkOrder::Refused(refusal)) => refusal_page(refusal, lang),
        Err(payin_core::Error::Invalid { field, message, .. }) => {
            let reason = if field == "amount" {
                if message.starts_with("amount must be at least") {
                    t.amount_low
                        .replace("{min}", &link.min_amount.map(|a| a.to_string()).unwrap_or_default())
                } else if message.starts_with("amount must be at most") {
                    t.amount_high
                        .replace("{max}", &link.max_amount.map(|a| a.to_string()).unwrap_or_default())
                } else {
                    t.bad_amount.to_string()
                }
            } else {
                t.bad_choice.to_string()
            };
            form_page(
                &s,
                StatusCode::BAD_REQUEST,
                &link,
                lang,
                Some(reason),
                Some(index),
                typed,
            )
        }
        Err(payin_core::Error::NoAvailableAddresses(_)) => {
            message_page(StatusCode::SERVICE_UNAVAILABLE, lang, t.unavailable)
        }
        Err(e) => {
            tracing::error!(error = %e, "checkout failed");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, lang, t.failed)
        }
    }
}

/// True for a post a browser made from another site: `Sec-Fetch-Site: cross-site`, or an
/// `Origin` (sent by browsers on every form post) that is not this server's `Host`.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes().eq_ignore_ascii_case(b"cross-site");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    match origin.split_once("://") {
        Some((_, authority)) => !authority.eq_ignore_ascii_case(host),
        None => true, // "null" (a sandboxed or privacy-sensitive context) or garbage
    }
}

/// An `application/x-www-form-urlencoded` body; `None` when too large, not UTF-8 or holding
/// control characters (NUL bytes …).
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    if body.len() > MAX_FORM_BYTES {
        return None;
    }
    let body = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let s = s.replace('+', " ");
        let text = String::from_utf8(percent_decode_str(&s).collect()).ok()?;
        (!text.chars().any(char::is_control)).then_some(text)
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn see_other(location: &str, lang: Lang) -> Response {
    let t = text(lang);
    let body = format!("<p><a href=\"{}\">{}</a></p>", escape(location), escape(t.no_redirect));
    let mut resp = html(StatusCode::SEE_OTHER, wrap(lang, t.no_redirect, &body, ""));
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn refusal_page(refusal: LinkRefusal, lang: Lang) -> Response {
    let t = text(lang);
    let words = match refusal {
        LinkRefusal::NotFound => t.not_found,
        LinkRefusal::Archived => t.archived,
        LinkRefusal::Expired => t.expired,
        LinkRefusal::SoldOut => t.sold_out,
    };
    let status = StatusCode::from_u16(refusal.status_code()).unwrap_or(StatusCode::NOT_FOUND);
    let mut resp = message_page(status, lang, words);
    resp.headers_mut()
        .insert("x-payin-link-state", HeaderValue::from_static(refusal.as_str()));
    resp
}

/// A page of one heading and one paragraph, with `status`: what every refusal and failure of
/// a public page shows (also the transport layer's refusals of `/checkout/…` and `/pay/…`).
pub fn message_page(status: StatusCode, lang: Lang, (title, body): (&str, &str)) -> Response {
    let content = format!("<h1>{}</h1><p class=\"desc\">{}</p>", escape(title), escape(body));
    html(status, wrap(lang, title, &content, ""))
}

/// The words of a refused request on a public page, by status, for [`message_page`].
pub fn refused_request(status: StatusCode, lang: Lang) -> (&'static str, &'static str) {
    let t = text(lang);
    match status.as_u16() {
        404 => t.not_found,
        403 => t.forbidden,
        429 | 503 => t.unavailable,
        500..=599 => t.failed,
        _ => t.bad_request,
    }
}

fn form_page(
    s: &AppState,
    status: StatusCode,
    link: &PaymentLink,
    lang: Lang,
    error: Option<String>,
    chosen: Option<usize>,
    typed: &str,
) -> Response {
    let t = text(lang);
    let mut body = String::with_capacity(2048);
    body.push_str(&format!("<h1>{}</h1>", escape(&link.title)));
    if let Some(d) = &link.description {
        body.push_str(&format!("<p class=\"desc\">{}</p>", escape(d)));
    }
    let single_currency = {
        let first = link.currencies.first().map(|c| c.currency.as_str());
        link.currencies
            .iter()
            .all(|c| Some(c.currency.as_str()) == first)
            .then(|| first.unwrap_or(""))
    };
    if link.is_open_amount() {
        body.push_str(&format!(
            "<p class=\"price\" id=\"price\">{}</p>",
            escape(t.payer_chooses)
        ));
    } else {
        body.push_str(&format!(
            "<p class=\"price\" id=\"price\">{} {}</p>",
            escape(&link.amount.to_string()),
            escape(single_currency.unwrap_or(""))
        ));
    }
    if let Some(n) = link.inventory_remaining {
        body.push_str(&format!(
            "<p class=\"fine\" id=\"left\">{}</p>",
            escape(&t.left.replace("{n}", &n.to_string()))
        ));
    }
    if let Some(e) = &error {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/checkout/{}?lang={}\"><fieldset><legend>{}</legend>",
        escape(&link.slug),
        lang.tag(),
        escape(t.choose)
    ));
    let checked_index = chosen.unwrap_or(0);
    for (i, c) in link.currencies.iter().enumerate() {
        let network = s
            .engine
            .chains()
            .get(&c.chain_id)
            .map_or_else(|| c.chain_id.clone(), |n| n.name.clone());
        let checked = if i == checked_index { " checked" } else { "" };
        body.push_str(&format!(
            "<label class=\"opt\"><input type=\"radio\" name=\"option\" value=\"{i}\"{checked}> \
             <span><strong>{}</strong> {} {}</span></label>",
            escape(&c.currency),
            escape(t.on),
            escape(&network),
        ));
    }
    body.push_str("</fieldset>");
    if link.is_open_amount() {
        let hint = match (link.min_amount, link.max_amount) {
            (Some(lo), Some(hi)) => t
                .between
                .replace("{min}", &lo.to_string())
                .replace("{max}", &hi.to_string()),
            (Some(lo), None) => t.at_least.replace("{min}", &lo.to_string()),
            (None, Some(hi)) => t.at_most.replace("{max}", &hi.to_string()),
            (None, None) => String::new(),
        };
        body.push_str(&format!(
            "<label class=\"field\" for=\"amount\">{} {}</label>\
             <input type=\"text\" id=\"amount\" name=\"amount\" inputmode=\"decimal\" autocomplete=\"off\" \
             required maxlength=\"40\" value=\"{}\">",
            escape(t.amount_label),
            escape(&hint),
            escape(typed)
        ));
    }
    body.push_str(&format!(
        "<button type=\"submit\" id=\"pay\">{}</button></form>",
        escape(t.pay)
    ));
    html(status, wrap(lang, &link.title, &body, &link.slug))
}

/// The page around `body`; the language switch keeps the page (`?lang=`).
fn wrap(lang: Lang, title: &str, body: &str, _slug: &str) -> String {
    let switch = [(Lang::Zh, "中文"), (Lang::En, "English")]
        .iter()
        .map(|(l, name)| {
            let current = if *l == lang { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"?lang={}\" lang=\"{}\"{current}>{name}</a>", l.tag(), l.tag())
        })
        .collect::<String>();
    fill(
        TEMPLATE,
        &[
            ("LANG", lang.tag().to_string()),
            ("TITLE", escape(title)),
            ("LANG_SWITCH", switch),
            ("BODY", body.to_string()),
        ],
    )
}

/// Only the page's own style; forms post to this server only; no script at all.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let start = TEMPLATE.find("<style>").expect("the template has a style") + "<style>".len();
    let end = start + TEMPLATE[start..].find("</style>").expect("the style is closed");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&TEMPLATE.as_bytes()[start..end]));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; script-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
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
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
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
    fn only_plausible_slugs_are_looked_up() {
        assert!(plausible_slug("abc123xyz789"));
        for bad in ["", "ABC", "a/b", "a\u{0}b", "<script>", &"a".repeat(65), "a b", "ａ"] {
            assert!(!plausible_slug(bad), "{bad:?}");
        }
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(!cross_site(&h(&[])), "no browser headers: curl, a server");
        assert!(!cross_site(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(!cross_site(&h(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(cross_site(&h(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(cross_site(&h(&[("origin", "null"), ("host", "127.0.0.1:8080")])));
    }

    #[test]
    fn forms_are_decoded_and_nul_bytes_refused() {
        assert_eq!(
            parse_form(b"option=1&amount=12.5+x").unwrap(),
            vec![("option".into(), "1".into()), ("amount".into(), "12.5 x".into())]
        );
        assert!(parse_form(b"amount=1%00").is_none());
        assert!(parse_form(b"amount=%ff").is_none());
        assert!(parse_form(&vec![b'a'; MAX_FORM_BYTES + 1]).is_none());
    }
}
