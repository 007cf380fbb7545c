//! Rate limits through the real server loop: per API key on the authenticated API, per client
//! IP on public routes, 429 in the error envelope with `Retry-After` and the IETF `RateLimit`
//! fields; loopback exempt when configured; clients behind a trusted proxy told apart.

mod common;

use common::{TestApp, assert_error};
use payin_core::config::{RateLimitConfig, RateQuota};
use payin_core::testing::Backend;
use reqwest::header::HeaderMap;
use serde_json::Value;

fn limits(api_key: u32, client_ip: u32) -> RateLimitConfig {
    RateLimitConfig {
        api_key: RateQuota {
            requests: api_key,
            window_seconds: 60,
        },
        client_ip: RateQuota {
            requests: client_ip,
            window_seconds: 60,
        },
        ..Default::default()
    }
}

async fn app(config: RateLimitConfig) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, Default::default(), config)
        .await
        .unwrap()
}

async fn send(req: reqwest::RequestBuilder) -> (u16, HeaderMap, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

#[tokio::test]
async fn each_api_key_has_its_quota_then_429_with_retry_after_and_ratelimit_fields() {
    let app = app(limits(3, 100)).await;
    let orders = app.url("/api/v1/orders");
    for remaining in [2, 1, 0] {
        let (s, h, b) = send(app.client.get(&orders).bearer_auth(&app.key)).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(header(&h, "ratelimit-policy"), "\"api-key\";q=3;w=60");
        assert!(
            header(&h, "ratelimit").starts_with(&format!("\"api-key\";r={remaining};t=")),
            "{h:?}"
        );
    }
    let (s, h, b) = send(app.client.get(&orders).bearer_auth(&app.key)).await;
    assert_error(reqwest::StatusCode::from_u16(s).unwrap(), &b, 429, "RATE_LIMITED", None);
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("3 requests per 60 s per API key"),
        "{b}"
    );
    let retry: u64 = header(&h, "retry-after").parse().unwrap();
    assert!((1..=20).contains(&retry), "one request comes back every 20 s: {retry}");
    assert_eq!(b["retryAfterSeconds"], retry);
    assert_eq!(header(&h, "ratelimit"), format!("\"api-key\";r=0;t={retry}"));
    assert_eq!(header(&h, "ratelimit-policy"), "\"api-key\";q=3;w=60");
    assert_eq!(header(&h, "content-type"), "application/json");
    // POSTs count too, and a refused one writes nothing.
    let (s, _, _) = send(app.client.post(&orders).bearer_auth(&app.key).json(
        &serde_json::json!({"orderReference": "rl-1", "amount": "1", "currency": "USDT", "chainId": "ethereum"}),
    ))
    .await;
    assert_eq!(s, 429);
    // Another key has a quota of its own.
    let (second, _) = app.engine.create_api_key("second").await.unwrap();
    let (s, _, b) = send(app.client.get(&orders).header("x-api-key", &second)).await;
    assert_eq!(s, 200, "{b}");
    // Public routes are limited per client, not per key: still open.
    let (s, h, _) = send(app.client.get(app.url("/health"))).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "ratelimit-policy"), "\"client-ip\";q=100;w=60");
    // Nothing was created by the refused POST.
    let total = app
        .engine
        .list_orders(&Default::default())
        .await
        .unwrap()
        .pagination
        .total;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn public_pages_are_limited_per_client_ip() {
    let app = app(limits(100, 2)).await;
    for path in ["/pay/ord_missing/status", "/api/v1/openapi.json"] {
        let (s, h, _) = send(app.client.get(app.url(path))).await;
        assert!(s == 200 || s == 404, "{path}: {s}");
        assert!(header(&h, "ratelimit").starts_with("\"client-ip\";r="), "{h:?}");
    }
    for path in ["/health", "/api/v1/health"] {
        let (s, h, b) = send(app.client.get(app.url(path))).await;
        assert_error(reqwest::StatusCode::from_u16(s).unwrap(), &b, 429, "RATE_LIMITED", None);
        assert!(b["message"].as_str().unwrap().contains("per client IP"), "{b}");
        assert!(!header(&h, "retry-after").is_empty());
    }
    // The payment page answers its 429 as a page (issue 12), with the same headers.
    let (s, h, _) = send(app.client.get(app.url("/pay/ord_missing"))).await;
    assert_eq!((s, header(&h, "content-type")), (429, "text/html; charset=utf-8"));
    assert!(!header(&h, "retry-after").is_empty());
    // The authenticated API counts against the key, not the exhausted client quota.
    let (s, h, _) = send(app.client.get(app.url("/api/v1/orders")).bearer_auth(&app.key)).await;
    assert_eq!(s, 200);
    assert!(header(&h, "ratelimit").starts_with("\"api-key\";r=99;"), "{h:?}");
}

#[tokio::test]
async fn loopback_is_exempt_when_configured() {
    let app = app(RateLimitConfig {
        exempt_loopback: true,
        ..limits(1, 1)
    })
    .await;
    for _ in 0..5 {
        let (s, h, _) = send(app.client.get(app.url("/api/v1/orders")).bearer_auth(&app.key)).await;
        assert_eq!(s, 200);
        assert!(h.get("ratelimit").is_none(), "not limited, so no fields");
        let (s, _, _) = send(app.client.get(app.url("/health"))).await;
        assert_eq!(s, 200);
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_quotas_of_their_own() {
    let app = app(RateLimitConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..limits(100, 1)
    })
    .await;
    let from = |client: &str| app.client.get(app.url("/health")).header("x-forwarded-for", client);
    assert_eq!(send(from("198.51.100.1")).await.0, 200);
    assert_eq!(send(from("198.51.100.2")).await.0, 200);
    assert_eq!(send(from("198.51.100.1")).await.0, 429);
    // Prepending an address does not make a new client.
    assert_eq!(send(from("203.0.113.5, 198.51.100.2")).await.0, 429);
}

#[tokio::test]
async fn no_limits_when_disabled() {
    let app = app(RateLimitConfig {
        enabled: false,
        ..limits(1, 1)
    })
    .await;
    for _ in 0..3 {
        let (s, h, _) = send(app.client.get(app.url("/api/v1/orders")).bearer_auth(&app.key)).await;
        assert_eq!(s, 200);
        assert!(h.get("ratelimit").is_none());
    }
}

/// A payment link's checkout page and its form's post share the per-IP quota (issue 12): a
/// client that exhausted it opens no more orders.
#[tokio::test]
async fn the_checkout_page_and_its_post_are_limited_per_client_ip() {
    let app = app(limits(100, 2)).await;
    let (s, h, _) = send(app.client.get(app.url("/checkout/nosuchlink"))).await;
    assert_eq!(s, 404);
    assert!(header(&h, "ratelimit").starts_with("\"client-ip\";r=1;"), "{h:?}");
    let (s, _, _) = send(app.client.post(app.url("/checkout/nosuchlink")).body("option=0")).await;
    assert_eq!(s, 404);
    let (s, h, _) = send(app.client.post(app.url("/checkout/nosuchlink")).body("option=0")).await;
    assert_eq!(s, 429, "the post counts against the client's quota");
    assert!(!header(&h, "retry-after").is_empty());
    assert_eq!(
        header(&h, "content-type"),
        "text/html; charset=utf-8",
        "a page, not JSON"
    );
}

#[tokio::test]
async fn the_compatible_apis_answer_their_429_in_their_own_envelope() {
    let qj = app(limits(100, 2)).await;
    // QieJiao: `{code, msg, data}` with the seed's 429.
    let create = qj.url("/api/pay/create");
    for _ in 0..2 {
        let (s, _, b) = send(qj.client.post(&create).json(&serde_json::json!({"pid": "1"}))).await;
        assert_eq!((s, &b["code"]), (403, &serde_json::json!(403)), "{b}");
    }
    let (s, h, b) = send(qj.client.post(&create).json(&serde_json::json!({"pid": "1"}))).await;
    assert_eq!(
        (s, &b["code"], &b["data"]),
        (429, &serde_json::json!(429), &Value::Null),
        "{b}"
    );
    assert!(b["msg"].as_str().unwrap().contains("Retry-After"), "{b}");
    assert!(header(&h, "retry-after").parse::<u64>().unwrap() > 0, "{h:?}");
    assert_eq!(header(&h, "content-type"), "application/json");

    // HashNut: its `{code, msg, data}` with code -7, on another client's quota (a new app).
    let other = app(limits(100, 2)).await;
    let hashnut = other.url("/api/v3.0.0/pay/queryPayOrderWithAccessSign");
    for _ in 0..2 {
        send(other.client.post(&hashnut).json(&serde_json::json!({}))).await;
    }
    let (s, h, b) = send(other.client.post(&hashnut).json(&serde_json::json!({}))).await;
    assert_eq!(
        (s, &b["code"], &b["data"]),
        (429, &serde_json::json!(-7), &Value::Null),
        "{b}"
    );
    assert!(header(&h, "retry-after").parse::<u64>().unwrap() > 0, "{h:?}");
}
