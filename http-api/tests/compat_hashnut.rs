//! HashNut v3 compatibility (issue 13; seed 002, compat.md): signed creation over the raw body,
//! the signature failures, parameter errors in HashNut's envelope, duplicates, the query with
//! every field of the seed, the pay URL, and an end-to-end payment on the dev chain (anvil) with
//! the per-order callback retried until the merchant answers `success`.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use common::TestApp;
use payin_core::chain::Currency;
use payin_core::clock::ManualClock;
use payin_core::compat::hashnut::sign;
use payin_core::testing::{Backend, evm_addresses, fresh_database};
use payin_core::{Engine, EngineOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    a_signed_creation_returns_ids_and_the_query_returns_every_seed_field,
    signature_failures_are_401_in_the_seed_envelope,
    bad_parameters_are_400_naming_the_field,
    a_merchant_order_id_is_unique_per_merchant,
    concurrent_duplicates_and_replays_let_exactly_one_through,
    the_pay_url_opens_the_hosted_order_page,
    a_receipt_address_opens_a_shared_address_order_with_a_unique_amount,
    a_payment_on_the_dev_chain_reaches_state_4_and_calls_back_until_success,
);

const CREATE: &str = "/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey";
const QUERY: &str = "/api/v3.0.0/pay/queryPayOrderWithAccessSign";

struct Merchant {
    access_key_id: String,
    secret: String,
}

async fn merchant(app: &TestApp) -> Merchant {
    let (status, body) = app
        .post("/api/v1/compat/hashnut/merchants", json!({"name": "shop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Merchant {
        access_key_id: body["data"]["publicId"].as_str().unwrap().into(),
        secret: body["data"]["secret"].as_str().unwrap().into(),
    }
}

/// Sends `body` (raw text, signed as is) with the three HashNut headers.
async fn signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    uuid: &str,
    timestamp: i64,
    body: &str,
) -> (StatusCode, Value) {
    let ts = timestamp.to_string();
    let resp = client
        .post(url)
        .header("hashnut-request-uuid", uuid)
        .header("hashnut-request-timestamp", &ts)
        .header("hashnut-request-sign", sign(secret, uuid, &ts, body.as_bytes()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn create(app: &TestApp, m: &Merchant, body: &Value) -> (StatusCode, Value) {
    let now = app.engine.now().timestamp_millis();
    signed(
        &app.client,
        &app.url(CREATE),
        &m.secret,
        &uuid(),
        now,
        &body.to_string(),
    )
    .await
}

fn order_body(m: &Merchant, merchant_order_id: &str) -> Value {
    json!({
        "accessKeyId": m.access_key_id,
        "merchantOrderId": merchant_order_id,
        "chainCode": "erc20",
        "coinCode": "usdt",
        "amount": 12.345,
        "callBackUrl": "https://shop.example/hashnut/callback",
        "frontendCallbackUrl": "https://shop.example/paid",
    })
}

#[track_caller]
fn assert_envelope(status: StatusCode, body: &Value, want_status: u16, code: i64, msg: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["msg"], msg, "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 3, "only code, msg, data: {body}");
}

async fn a_signed_creation_returns_ids_and_the_query_returns_every_seed_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 3).await;
    let m = merchant(&app).await;
    let (status, body) = create(&app, &m, &order_body(&m, "ORD-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], 0);
    assert_eq!(body["msg"], "success");
    let data = &body["data"];
    let pay_order_id = data["payOrderId"].as_str().unwrap();
    let access_sign = data["accessSign"].as_str().unwrap();
    assert_eq!(data["merchantOrderId"], "ORD-1");
    assert!(pay_order_id.starts_with("ord_"), "{body}");
    assert_eq!(access_sign.len(), 64);
    assert!(
        access_sign
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "{access_sign}"
    );

    // The engine order behind it: the amount rounded to 2 places, the mapped chain and token.
    let (_, order) = app.get(&format!("/api/v1/orders/{pay_order_id}")).await;
    assert_eq!(order["data"]["amount"], "12.35", "{order}");
    assert_eq!(order["data"]["chainId"], "ethereum");
    assert_eq!(order["data"]["currency"], "USDT");

    // The query needs no signature; the answer carries every field of the seed.
    let query = json!({"merchantOrderId": "ORD-1", "payOrderId": pay_order_id, "accessSign": access_sign});
    let resp = app.client.post(app.url(QUERY)).json(&query).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    // Amounts are JSON numbers, written from the decimal digit for digit.
    assert!(text.contains(r#""amount":12.35"#), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], 0, "{body}");
    let d = &body["data"];
    for field in [
        "merchantAddress",
        "chain",
        "chainCode",
        "coinCode",
        "createChannel",
        "accessChannel",
        "merchantOrderId",
        "payOrderId",
        "tokenAddress",
        "receiptAddress",
        "amount",
        "state",
        "accessSign",
        "payTxId",
        "confirmCount",
        "walletConnectEnable",
        "bridgeServerAddress",
        "eip712ChainId",
        "chainId",
        "callBackUrl",
        "createTime",
        "rate",
        "obtainAmount",
        "platformFee",
    ] {
        assert!(d.get(field).is_some(), "{field} missing: {d}");
    }
    assert_eq!(d["state"], 0);
    assert_eq!(d["chainCode"], "erc20");
    assert_eq!(d["coinCode"], "usdt");
    assert_eq!(d["chain"], "Ethereum");
    assert_eq!(d["chainId"], "1");
    assert_eq!(d["tokenAddress"], "0xdAC17F958D2ee523a2206206994597C13D831ec7");
    assert_eq!(d["receiptAddress"], order["data"]["address"]);
    assert_eq!(d["amount"].as_f64(), Some(12.35));
    assert_eq!(d["confirmCount"], "0");
    assert!(d["payTxId"].is_null());
    assert_eq!(d["callBackUrl"], "https://shop.example/hashnut/callback");
    assert_eq!(d["createTime"], "2025-01-20T10:30:00Z");
    assert_eq!(d["obtainAmount"].as_f64(), Some(0.0));
    assert_eq!(d["accessSign"], access_sign);

    // Signature headers are optional on the query, but verified when sent.
    let now = app.engine.now().timestamp_millis();
    let (status, body) = signed(
        &app.client,
        &app.url(QUERY),
        &m.secret,
        &uuid(),
        now,
        &query.to_string(),
    )
    .await;
    assert_eq!((status, &body["code"]), (StatusCode::OK, &json!(0)), "{body}");
    let (status, body) = signed(&app.client, &app.url(QUERY), "wrong", &uuid(), now, &query.to_string()).await;
    assert_envelope(status, &body, 401, -2, "Invalid signature or credentials");

    // An unknown accessSign, or ids of another order, find nothing.
    for q in [
        json!({"accessSign": "0".repeat(64), "payOrderId": pay_order_id}),
        json!({"accessSign": access_sign, "payOrderId": "ord_other"}),
        json!({"accessSign": access_sign, "merchantOrderId": "ORD-2"}),
    ] {
        let resp = app.client.post(app.url(QUERY)).json(&q).send().await.unwrap();
        let status = resp.status();
        assert_envelope(status, &resp.json().await.unwrap(), 404, -5, "Order not found");
    }
    let resp = app
        .client
        .post(app.url(QUERY))
        .json(&json!({"payOrderId": pay_order_id}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_envelope(
        status,
        &resp.json().await.unwrap(),
        400,
        -2,
        "Invalid parameters: accessSign",
    );
}

async fn signature_failures_are_401_in_the_seed_envelope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(2, 3).await;
    let m = merchant(&app).await;
    let url = app.url(CREATE);
    let now = app.engine.now().timestamp_millis();
    let body = order_body(&m, "SIG-1").to_string();
    let unauthorized = "Invalid signature or credentials";

    // A bad signature: another secret, or the body changed after signing.
    let (status, answer) = signed(&app.client, &url, "not-the-secret", &uuid(), now, &body).await;
    assert_envelope(status, &answer, 401, -2, unauthorized);
    let id = uuid();
    let ts = now.to_string();
    let resp = app
        .client
        .post(&url)
        .header("hashnut-request-uuid", &id)
        .header("hashnut-request-timestamp", &ts)
        .header("hashnut-request-sign", sign(&m.secret, &id, &ts, body.as_bytes()))
        .body(format!("{body} "))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_envelope(status, &resp.json().await.unwrap(), 401, -2, unauthorized);
    // Missing headers.
    let resp = app.client.post(&url).body(body.clone()).send().await.unwrap();
    let status = resp.status();
    assert_envelope(status, &resp.json().await.unwrap(), 401, -2, unauthorized);

    // Timestamps more than 5 minutes off, either way; seconds instead of milliseconds.
    for ts in [now - 300_001, now + 300_001, now / 1000] {
        let (status, answer) = signed(&app.client, &url, &m.secret, &uuid(), ts, &body).await;
        assert_envelope(status, &answer, 401, -2, unauthorized);
    }
    // Within the window it passes; the same uuid again is a replay.
    let id = uuid();
    let (status, answer) = signed(&app.client, &url, &m.secret, &id, now - 299_000, &body).await;
    assert_eq!((status, &answer["code"]), (StatusCode::OK, &json!(0)), "{answer}");
    let other = order_body(&m, "SIG-2").to_string();
    let (status, answer) = signed(&app.client, &url, &m.secret, &id, now, &other).await;
    assert_envelope(status, &answer, 401, -2, unauthorized);

    // An unknown access key id; a revoked one.
    let mut unknown = order_body(&m, "SIG-3");
    unknown["accessKeyId"] = json!("AKNOBODY");
    let (status, answer) = create(&app, &m, &unknown).await;
    assert_envelope(status, &answer, 401, -2, unauthorized);
    let (status, _) = app
        .delete(&format!("/api/v1/compat/hashnut/merchants/{}", m.access_key_id))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = create(&app, &m, &order_body(&m, "SIG-4")).await;
    assert_envelope(status, &answer, 401, -2, unauthorized);
}

async fn bad_parameters_are_400_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(3, 3).await;
    let m = merchant(&app).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("merchantOrderId", Value::Null, "merchantOrderId"),
        ("merchantOrderId", json!("x".repeat(256)), "merchantOrderId"),
        ("merchantOrderId", json!(42), "merchantOrderId"),
        ("chainCode", Value::Null, "chainCode"),
        ("chainCode", json!("ERC20"), "chainCode"),
        ("chainCode", json!("solana"), "chainCode"),
        ("coinCode", json!("USDT"), "coinCode"),
        ("coinCode", json!("MockUSDT"), "coinCode"),
        ("coinCode", Value::Null, "coinCode"),
        ("amount", json!(0.004), "amount"),
        ("amount", json!(0), "amount"),
        ("amount", json!(-1), "amount"),
        ("amount", json!("ten"), "amount"),
        ("amount", Value::Null, "amount"),
        ("callBackUrl", json!("not a url"), "callBackUrl"),
        ("callBackUrl", json!("ftp://shop.example/cb"), "callBackUrl"),
        // The SSRF guard: a private address the server's config does not allow.
        ("callBackUrl", json!("http://10.1.2.3/cb"), "callBackUrl"),
        ("callBackUrl", json!("http://169.254.169.254/latest"), "callBackUrl"),
        ("frontendCallbackUrl", json!("nope"), "frontendCallbackUrl"),
        (
            "splitterAddress",
            json!("0x1111111111111111111111111111111111111111"),
            "splitterAddress",
        ),
        ("receiptAddress", json!("0xnot-an-address"), "receiptAddress"),
        ("receiptAddress", json!("TXYZ"), "receiptAddress"),
        ("expireDuration", json!(-5), "expireDuration"),
    ];
    for (i, (key, value, field)) in cases.into_iter().enumerate() {
        let mut body = order_body(&m, &format!("BAD-{i}"));
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
        let (status, answer) = create(&app, &m, &body).await;
        assert_envelope(status, &answer, 400, -2, &format!("Invalid parameters: {field}"));
    }
    // Not JSON at all, once signed, is a parameter error too... but unsigned it is 401 first.
    let now = app.engine.now().timestamp_millis();
    let (status, answer) = signed(&app.client, &app.url(CREATE), &m.secret, &uuid(), now, "[1,2]").await;
    assert_envelope(status, &answer, 401, -2, "Invalid signature or credentials");
    // No order was written by any of them.
    let (_, orders) = app.get("/api/v1/orders").await;
    assert_eq!(orders["data"]["pagination"]["total"], 0, "{orders}");
    // The SDK's alias and an expiry are accepted.
    let mut body = order_body(&m, "ALIAS-1");
    body.as_object_mut().unwrap().remove("callBackUrl");
    body["customCallBackUrl"] = json!("https://shop.example/alias");
    body["expireDuration"] = json!(1800);
    body["subject"] = json!("T-shirt");
    let (status, answer) = create(&app, &m, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["data"]["payOrderId"].as_str().unwrap();
    let (_, order) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(order["data"]["paymentWindowMinutes"], 30, "{order}");
    let record = app.engine.compat_order(id).await.unwrap().unwrap();
    assert_eq!(record.callback_url.as_deref(), Some("https://shop.example/alias"));
    assert_eq!(record.extra["subject"], "T-shirt");
}

async fn a_merchant_order_id_is_unique_per_merchant(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(4, 5).await;
    let a = merchant(&app).await;
    let b = merchant(&app).await;
    let (status, first) = create(&app, &a, &order_body(&a, "SAME")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, answer) = create(&app, &a, &order_body(&a, "SAME")).await;
    assert_envelope(status, &answer, 409, -4, "Duplicate merchantOrderId");
    // Another merchant may use the same id.
    let (status, answer) = create(&app, &b, &order_body(&b, "SAME")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, orders) = app.get("/api/v1/orders").await;
    assert_eq!(orders["data"]["pagination"]["total"], 2, "{orders}");
    // A failed opening (empty pool) releases the merchant order id for a retry.
    let (status, answer) = create(&app, &a, &order_body(&a, "LATER")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut drained = 0;
    loop {
        let (status, answer) = create(&app, &a, &order_body(&a, &format!("FILL-{drained}"))).await;
        if status != StatusCode::OK {
            assert_envelope(
                status,
                &answer,
                503,
                -6,
                "No receiving address available, try again later",
            );
            break;
        }
        drained += 1;
        assert!(drained < 10, "{answer}");
    }
    app.import_evm(40, 1).await;
    let (status, answer) = create(&app, &a, &order_body(&a, &format!("FILL-{drained}"))).await;
    assert_eq!(status, StatusCode::OK, "the reservation was released: {answer}");
}

async fn concurrent_duplicates_and_replays_let_exactly_one_through(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(8, 12).await;
    let m = merchant(&app).await;
    let now = app.engine.now().timestamp_millis();
    // Eight requests with the same merchantOrderId, each its own uuid: one order.
    let body = order_body(&m, "RACE-1").to_string();
    let url = app.url(CREATE);
    let answers = futures::future::join_all((0..8).map(|_| {
        let (client, url, secret, body) = (app.client.clone(), url.clone(), m.secret.clone(), body.clone());
        async move { signed(&client, &url, &secret, &uuid(), now, &body).await }
    }))
    .await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_envelope(*status, answer, 409, -4, "Duplicate merchantOrderId");
    }
    // Eight requests with the same uuid (different orders): one passes, the rest are replays.
    let id = uuid();
    let answers = futures::future::join_all((0..8).map(|i| {
        let (client, url, secret, id) = (app.client.clone(), url.clone(), m.secret.clone(), id.clone());
        let body = order_body(&m, &format!("REPLAY-{i}")).to_string();
        async move { signed(&client, &url, &secret, &id, now, &body).await }
    }))
    .await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_envelope(*status, answer, 401, -2, "Invalid signature or credentials");
    }
    let (_, orders) = app.get("/api/v1/orders").await;
    assert_eq!(orders["data"]["pagination"]["total"], 2, "{orders}");
}

async fn the_pay_url_opens_the_hosted_order_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(5, 2).await;
    let m = merchant(&app).await;
    let (_, answer) = create(&app, &m, &order_body(&m, "PAGE-1")).await;
    let d = &answer["data"];
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!(
        "{}/pay?accessSign={}&merchantOrderId=PAGE-1&payOrderId={}&chainCode=erc20",
        app.base,
        d["accessSign"].as_str().unwrap(),
        d["payOrderId"].as_str().unwrap()
    );
    let resp = no_redirect.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/pay/{}", d["payOrderId"].as_str().unwrap()).as_str()
    );
    // Followed, it is the order's page.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(d["payOrderId"].as_str().unwrap()));
    // The shopper returns to frontendCallbackUrl with state=4 and the ids.
    let (_, order) = app
        .get(&format!("/api/v1/orders/{}", d["payOrderId"].as_str().unwrap()))
        .await;
    let success = order["data"]["successUrl"].as_str().unwrap();
    assert!(
        success.starts_with(&format!(
            "https://shop.example/paid?state=4&payOrderId={}&merchantOrderId=PAGE-1",
            d["payOrderId"].as_str().unwrap()
        )),
        "{success}"
    );
    // A wrong accessSign finds nothing.
    let resp = no_redirect
        .get(format!("{}/pay?accessSign={}", app.base, "A".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn a_receipt_address_opens_a_shared_address_order_with_a_unique_amount(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let pool = app.import_evm(6, 2).await;
    let m = merchant(&app).await;
    let own = "0x2222222222222222222222222222222222222222";
    let mut answers = Vec::new();
    for id in ["SHARED-1", "SHARED-2"] {
        let mut body = order_body(&m, id);
        body["receiptAddress"] = json!(own);
        body["amount"] = json!(10);
        let (status, answer) = create(&app, &m, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let d = &answer["data"];
        let query = json!({"accessSign": d["accessSign"], "payOrderId": d["payOrderId"]});
        let resp = app.client.post(app.url(QUERY)).json(&query).send().await.unwrap();
        let data = resp.json::<Value>().await.unwrap()["data"].clone();
        assert_eq!(
            data["receiptAddress"].as_str().map(str::to_lowercase).as_deref(),
            Some(own),
            "{data}"
        );
        answers.push(data);
    }
    // Both pay the same address, each by its own exact amount (10 plus a unique tail).
    let amounts: Vec<f64> = answers.iter().map(|d| d["amount"].as_f64().unwrap()).collect();
    assert!(amounts.iter().all(|a| *a >= 10.0 && *a < 10.01), "{amounts:?}");
    assert_ne!(amounts[0], amounts[1], "{amounts:?}");
    // No pool address was used.
    assert_eq!(app.evm_pool().await["available"], pool.len(), "the pool is untouched");
    // A pool address is not the merchant's own.
    let mut body = order_body(&m, "SHARED-3");
    body["receiptAddress"] = json!(pool[0]);
    let (status, answer) = create(&app, &m, &body).await;
    assert_envelope(status, &answer, 400, -2, "Invalid parameters: receiptAddress");
}

/// A merchant's callback handler on 127.0.0.1: records each body, answers `fail` to the first
/// and ` SUCCESS\n` to the rest.
async fn callback_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let handler_seen = seen.clone();
    let app = axum::Router::new().route(
        "/hashnut/callback",
        axum::routing::post(move |body: Bytes| {
            let seen = handler_seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                if seen.len() == 1 { "fail" } else { " SUCCESS\n" }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hashnut/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn a_payment_on_the_dev_chain_reaches_state_4_and_calls_back_until_success(backend: Backend) {
    let Some(chain) = payin_core::testing::anvil_with_tokens().await else {
        return;
    };
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    // The clock starts now (the chain's blocks are stamped now) and is moved on for retries.
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut options = EngineOptions::new(db.url.clone());
    options.clock = clock.clone();
    options.config = payin_core::testing::local_chain_config(&chain);
    options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
    // As `payin dev` maps them: HashNut's EVM codes to the local chain.
    options.config.compat.hashnut.chains = payin_core::config::HashnutConfig::dev_chains();
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(payin_core::pool::ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: evm_addresses(77, 2),
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = payin_http::router(engine.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let created = engine
        .create_compat_merchant(
            payin_core::compat::CompatApi::Hashnut,
            payin_core::compat::CreateCompatMerchantRequest { name: "shop".into() },
        )
        .await
        .unwrap();
    let (callback, seen) = callback_receiver().await;
    let client = reqwest::Client::new();
    let body = json!({
        "accessKeyId": created.merchant.public_id,
        "merchantOrderId": "E2E-1",
        "chainCode": "erc20",
        "coinCode": "usdt",
        "amount": 2.5,
        "callBackUrl": callback,
    });
    let (status, answer) = signed(
        &client,
        &format!("{base}{CREATE}"),
        &created.secret,
        &uuid(),
        clock_ms(&engine),
        &body.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pay_order_id = answer["data"]["payOrderId"].as_str().unwrap().to_string();
    let access_sign = answer["data"]["accessSign"].as_str().unwrap().to_string();
    let order = engine.get_order(&pay_order_id).await.unwrap();
    assert_eq!(order.chain_id, "local");

    // The shopper pays 2.50 USDT on chain.
    let usdt = chain.token(Currency::Usdt);
    let sent = chain
        .transfer(
            usdt.address,
            order.address.parse().unwrap(),
            alloy_primitives::U256::from(2_500_000u64),
        )
        .await
        .unwrap();
    let network = engine.chains().get("local").unwrap().clone();
    let mut scan = payin_core::chain::scanner::ScanOptions::for_network(&network);
    scan.start_block = Some(0);
    let mut scanner = payin_core::chain::scanner::Scanner::new(engine.clone(), network, scan)
        .unwrap()
        .unwrap();
    let query = |client: reqwest::Client| {
        let (url, access_sign, id) = (format!("{base}{QUERY}"), access_sign.clone(), pay_order_id.clone());
        async move {
            let resp = client
                .post(url)
                .json(&json!({"payOrderId": id, "merchantOrderId": "E2E-1", "accessSign": access_sign}))
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()["data"].clone()
        }
    };
    let mut state = json!(0);
    for _ in 0..60 {
        chain.mine(1).await.unwrap();
        while !scanner.pass().await.unwrap().caught_up {}
        state = query(client.clone()).await["state"].clone();
        if state == 4 {
            break;
        }
    }
    assert_eq!(state, 4, "the order completes");
    let data = query(client.clone()).await;
    let tx = format!("{:#x}", sent.tx_hash);
    assert_eq!(data["payTxId"].as_str().map(str::to_lowercase), Some(tx), "{data}");
    assert!(
        data["confirmCount"].as_str().unwrap().parse::<u64>().unwrap() >= 1,
        "{data}"
    );
    assert_eq!(data["obtainAmount"].as_f64(), Some(2.5), "{data}");

    // Callbacks: sent through the dispatcher, the first answered `fail` and retried.
    let dispatcher = payin_core::webhook::dispatch::Dispatcher::new(engine.clone(), Default::default()).unwrap();
    let endpoint = engine.compat_callback_endpoint(&pay_order_id).await.unwrap().unwrap();
    let mut delivered = false;
    for _ in 0..20 {
        dispatcher.run_once().await.unwrap();
        let deliveries = engine
            .list_webhook_deliveries(&payin_core::webhook::DeliveryListQuery {
                endpoint_id: Some(endpoint.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        if !deliveries.items.is_empty()
            && deliveries
                .items
                .iter()
                .all(|d| d.status == payin_core::webhook::DeliveryStatus::Succeeded)
        {
            delivered = true;
            break;
        }
        // Past the first retry's delay (5 s, with jitter).
        clock.advance(chrono::Duration::seconds(10));
    }
    assert!(delivered, "every callback delivery succeeds in the end");
    let bodies = seen.lock().unwrap().clone();
    let expect = |state: i64| json!({"payOrderId": pay_order_id, "merchantOrderId": "E2E-1", "accessSign": access_sign, "state": state});
    assert!(bodies.contains(&expect(4)), "the completion is reported: {bodies:?}");
    assert!(
        bodies.contains(&expect(3)),
        "the detected payment is reported as confirming: {bodies:?}"
    );
    // The callback answered `fail` first was sent again (both may be in flight at once and a
    // retry keeps its own schedule, so the order of arrival is not the order of states:
    // HashNut receivers re-query the order, as its demos do).
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| **b == bodies[0]).count(), 2, "{bodies:?}");
    // The first attempt was answered `fail`, so one delivery has two attempts in the log.
    let deliveries = engine
        .list_webhook_deliveries(&payin_core::webhook::DeliveryListQuery {
            endpoint_id: Some(endpoint.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        bodies.len(),
        deliveries.items.iter().map(|d| d.attempts.len()).sum::<usize>()
    );
    assert!(
        deliveries.items.iter().any(|d| d.attempts.len() == 2),
        "{:?}",
        deliveries.items
    );
    // The registered endpoint list does not show the per-order one.
    let endpoints = engine.list_webhook_endpoints(&Default::default()).await.unwrap();
    assert!(endpoints.items.is_empty());

    // Resendable: the completion event goes to the callback again.
    let completed = deliveries
        .items
        .iter()
        .find(|d| d.event_type == payin_core::event::EventType::OrderCompleted)
        .unwrap();
    let resent = engine
        .resend_event(
            &completed.event_id,
            payin_core::webhook::ResendRequest {
                endpoint_id: Some(endpoint.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(resent.deliveries.len(), 1);
    dispatcher.run_once().await.unwrap();
    assert_eq!(seen.lock().unwrap().last(), Some(&expect(4)));
    assert_eq!(seen.lock().unwrap().len(), bodies.len() + 1);
}

fn clock_ms(engine: &Engine) -> i64 {
    engine.now().timestamp_millis()
}
