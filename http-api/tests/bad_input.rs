//! Bad input of every kind gets a 4xx envelope naming the field, never a 500 and never a
//! partial write.

mod common;

use common::{TestApp, assert_error};
use payin_core::testing::Backend;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    order_validation_names_the_field_and_writes_nothing,
    malformed_bodies_are_refused_before_the_engine,
    list_queries_validate_every_parameter,
    deposit_validation_names_the_field,
    import_rejects_the_whole_batch_on_one_bad_address,
    config_values_are_validated,
    api_key_is_required_and_checked,
);

fn order(overrides: Value) -> Value {
    let mut base = json!({"orderReference": "ref-1", "amount": "10.00", "currency": "USDT", "chainId": "ethereum"});
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

async fn assert_nothing_written(app: &TestApp) {
    let (_, body) = app.get("/api/v1/orders").await;
    assert_eq!(body["data"]["pagination"]["total"], 0, "an order was written: {body}");
    let (_, body) = app.get("/api/v1/events").await;
    assert_eq!(body["data"]["pagination"]["total"], 0, "an event was written: {body}");
    let pool = app.evm_pool().await;
    assert_eq!(pool["assigned"], 0, "an address was assigned: {pool}");
}

async fn order_validation_names_the_field_and_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(10, 5).await;
    let eleven: serde_json::Map<String, Value> = (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            order(json!({"orderReference": null})),
            400,
            "VALIDATION_ERROR",
            "orderReference",
        ),
        (order(json!({"amount": null})), 400, "VALIDATION_ERROR", "amount"),
        (order(json!({"currency": null})), 400, "VALIDATION_ERROR", "currency"),
        (order(json!({"chainId": null})), 400, "VALIDATION_ERROR", "chainId"),
        (
            order(json!({"orderReference": 42})),
            400,
            "VALIDATION_ERROR",
            "orderReference",
        ),
        (
            order(json!({"orderReference": ""})),
            400,
            "VALIDATION_ERROR",
            "orderReference",
        ),
        (
            order(json!({"orderReference": "x".repeat(256)})),
            400,
            "VALIDATION_ERROR",
            "orderReference",
        ),
        (order(json!({"amount": "0"})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": "0.00"})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": "-5"})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": "1e3"})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": "abc"})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": 100})), 400, "INVALID_AMOUNT", "amount"),
        (order(json!({"amount": "1.1234567"})), 400, "INVALID_AMOUNT", "amount"),
        (
            order(json!({"amount": "1.0000000000000000001", "currency": "DAI"})),
            400,
            "INVALID_AMOUNT",
            "amount",
        ),
        (order(json!({"currency": "BTC"})), 400, "INVALID_CURRENCY", "currency"),
        (order(json!({"currency": "usdt"})), 400, "INVALID_CURRENCY", "currency"),
        (
            order(json!({"chainId": "invalid-chain"})),
            400,
            "INVALID_CHAIN",
            "chainId",
        ),
        (
            order(json!({"chainId": "ethereum-sepolia"})),
            400,
            "INVALID_CURRENCY",
            "currency",
        ),
        // Tron USDT has a known contract, but no watcher detects Tron payments yet.
        (order(json!({"chainId": "tron"})), 400, "INVALID_CHAIN", "chainId"),
        (order(json!({"metadata": eleven})), 400, "VALIDATION_ERROR", "metadata"),
        (order(json!({"metadata": [1, 2]})), 400, "VALIDATION_ERROR", "metadata"),
        (
            order(json!({"successUrl": "not a url"})),
            400,
            "VALIDATION_ERROR",
            "successUrl",
        ),
        (
            order(json!({"cancelUrl": "ftp://x.example/"})),
            400,
            "VALIDATION_ERROR",
            "cancelUrl",
        ),
        (
            order(json!({"paymentWindowMinutes": 0})),
            400,
            "VALIDATION_ERROR",
            "paymentWindowMinutes",
        ),
        (
            order(json!({"paymentWindowMinutes": -1})),
            400,
            "VALIDATION_ERROR",
            "paymentWindowMinutes",
        ),
        (
            order(json!({"paymentWindowMinutes": "10"})),
            400,
            "VALIDATION_ERROR",
            "paymentWindowMinutes",
        ),
        (
            order(json!({"graceMinutes": 99999})),
            400,
            "VALIDATION_ERROR",
            "graceMinutes",
        ),
        (
            order(json!({"sucessUrl": "https://typo.example/"})),
            400,
            "VALIDATION_ERROR",
            "sucessUrl",
        ),
    ];
    for (body, status, code, field) in cases {
        let (got_status, got) = app.post("/api/v1/orders", body.clone()).await;
        assert_error(got_status, &got, status, code, Some(field));
        // The ethereum-sepolia case must say which config key fixes it.
        if body["chainId"] == "ethereum-sepolia" {
            assert!(
                got["message"]
                    .as_str()
                    .unwrap()
                    .contains("chains.ethereum-sepolia.tokens.USDT"),
                "{got}"
            );
        }
    }
    assert_nothing_written(&app).await;
}

async fn malformed_bodies_are_refused_before_the_engine(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(11, 1).await;
    let post_raw = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&app.key)
            .header("content-type", content_type)
            .body(body)
    };
    let (s, b) = app
        .send(post_raw(b"{\"orderReference\": ".to_vec(), "application/json"))
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app.send(post_raw(b"[1, 2]".to_vec(), "application/json")).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app.send(post_raw(b"".to_vec(), "application/json")).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app
        .send(post_raw(order(json!({})).to_string().into_bytes(), "text/plain"))
        .await;
    assert_error(s, &b, 415, "VALIDATION_ERROR", Some("Content-Type"));
    let big = order(json!({"metadata": {"blob": "x".repeat(70 * 1024)}}))
        .to_string()
        .into_bytes();
    let (s, b) = app.send(post_raw(big, "application/json")).await;
    assert_error(s, &b, 413, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app.send(post_raw(vec![0xff, 0xfe, b'{'], "application/json")).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    assert_nothing_written(&app).await;
}

async fn list_queries_validate_every_parameter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (path, code, field) in [
        ("/api/v1/orders?page=0", "VALIDATION_ERROR", "page"),
        ("/api/v1/orders?page=-1", "VALIDATION_ERROR", "page"),
        ("/api/v1/orders?page=two", "VALIDATION_ERROR", "page"),
        ("/api/v1/orders?limit=0", "VALIDATION_ERROR", "limit"),
        ("/api/v1/orders?limit=101", "VALIDATION_ERROR", "limit"),
        ("/api/v1/orders?limit=1.5", "VALIDATION_ERROR", "limit"),
        ("/api/v1/orders?status=paid", "VALIDATION_ERROR", "status"),
        ("/api/v1/orders?currency=BTC", "INVALID_CURRENCY", "currency"),
        ("/api/v1/orders?chainId=nope", "INVALID_CHAIN", "chainId"),
        ("/api/v1/orders?sortBy=price", "VALIDATION_ERROR", "sortBy"),
        ("/api/v1/orders?sortOrder=up", "VALIDATION_ERROR", "sortOrder"),
        ("/api/v1/deposits?status=done", "VALIDATION_ERROR", "status"),
        ("/api/v1/deposits?sortBy=x", "VALIDATION_ERROR", "sortBy"),
        ("/api/v1/deposits?limit=1000", "VALIDATION_ERROR", "limit"),
        ("/api/v1/deposits/references?page=0", "VALIDATION_ERROR", "page"),
        ("/api/v1/events?type=order.paid", "VALIDATION_ERROR", "type"),
        ("/api/v1/orders?limit=1&limit=2", "VALIDATION_ERROR", "query"),
    ] {
        let (s, b) = app.get(path).await;
        assert_error(s, &b, 400, code, Some(field));
    }
}

async fn deposit_validation_names_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(12, 2).await;
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "/api/v1/deposits/bind",
            json!({"depositReference": "u", "protocol": "bitcoin"}),
            400,
            "VALIDATION_ERROR",
            "protocol",
        ),
        (
            "/api/v1/deposits/bind",
            json!({"depositReference": "u", "protocol": "solana"}),
            400,
            "VALIDATION_ERROR",
            "protocol",
        ),
        (
            "/api/v1/deposits/bind",
            json!({"protocol": "evm"}),
            400,
            "VALIDATION_ERROR",
            "depositReference",
        ),
        (
            "/api/v1/deposits/bind",
            json!({"depositReference": "u", "protocol": "evm", "metadata": "x"}),
            400,
            "VALIDATION_ERROR",
            "metadata",
        ),
        (
            "/api/v1/deposits/references",
            json!({"depositReference": "u", "currency": "USDT", "chainId": "mars"}),
            400,
            "INVALID_CHAIN",
            "chainId",
        ),
        (
            "/api/v1/deposits/references",
            json!({"depositReference": "u", "currency": "USDT", "chainId": "tron"}),
            400,
            "INVALID_CHAIN",
            "chainId",
        ),
        (
            "/api/v1/deposits/bind",
            json!({"depositReference": "u", "protocol": "tron"}),
            400,
            "INVALID_CHAIN",
            "protocol",
        ),
        (
            "/api/v1/deposits/references",
            json!({"depositReference": "u", "currency": "EUR", "chainId": "ethereum"}),
            400,
            "INVALID_CURRENCY",
            "currency",
        ),
        (
            "/api/v1/deposits/references",
            json!({"depositReference": "u", "currency": "DAI", "chainId": "base"}),
            400,
            "INVALID_CURRENCY",
            "currency",
        ),
        (
            "/api/v1/deposits/references",
            json!({"depositReference": "", "currency": "USDT", "chainId": "ethereum"}),
            400,
            "VALIDATION_ERROR",
            "depositReference",
        ),
        (
            "/api/v1/deposits/unbind",
            json!({"chainId": "ethereum"}),
            400,
            "VALIDATION_ERROR",
            "depositReference",
        ),
        (
            "/api/v1/deposits/unbind",
            json!({"depositReference": "ghost"}),
            404,
            "DEPOSIT_REFERENCE_NOT_FOUND",
            "",
        ),
    ];
    for (path, body, status, code, field) in cases {
        let (s, b) = app.post(path, body).await;
        assert_error(s, &b, status, code, (!field.is_empty()).then_some(field));
    }
    let (s, b) = app.get("/api/v1/deposits/references/ghost").await;
    assert_error(s, &b, 404, "DEPOSIT_REFERENCE_NOT_FOUND", None);
    let (s, b) = app.delete("/api/v1/deposits/references/ghost?chainId=ethereum").await;
    assert_error(s, &b, 404, "DEPOSIT_REFERENCE_NOT_FOUND", None);
    let (_, refs) = app.get("/api/v1/deposits/references").await;
    assert_eq!(refs["data"]["pagination"]["total"], 0);
    assert_eq!(app.evm_pool().await["assigned"], 0);
}

async fn import_rejects_the_whole_batch_on_one_bad_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let good = payin_core::testing::evm_addresses(13, 3);
    let mut with_bad = good.clone();
    with_bad.insert(2, "0x123".into());
    for (body, field) in [
        (json!({"protocol": "evm", "addresses": with_bad}), "addresses[2]"),
        (
            json!({"protocol": "evm", "addresses": ["0x742d35CC6634c0532925a3b844bc9e7595f0beb0"]}),
            "addresses[0]",
        ),
        (json!({"protocol": "tron", "addresses": good}), "addresses[0]"),
        (json!({"protocol": "evm", "addresses": []}), "addresses"),
        (json!({"protocol": "evm", "addresses": "0xabc"}), "addresses"),
        (json!({"protocol": "btc", "addresses": good}), "protocol"),
        (json!({"addresses": good}), "protocol"),
    ] {
        let (s, b) = app.post("/api/v1/addresses/import", body).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some(field));
    }
    assert_eq!(app.evm_pool().await["total"], 0, "nothing imported");
    // Re-importing is idempotent, case variants included.
    app.import_evm(13, 3).await;
    let upper: Vec<String> = good.iter().map(|a| format!("0x{}", a[2..].to_uppercase())).collect();
    let (s, b) = app
        .post(
            "/api/v1/addresses/import",
            json!({"protocol": "evm", "addresses": upper}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");
    assert_eq!(
        (b["data"]["imported"].as_u64(), b["data"]["duplicates"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(app.evm_pool().await["total"], 3);
}

async fn config_values_are_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (s, b) = app.get("/api/v1/config").await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(
        b["data"],
        json!({"payment_window_minutes": 10, "grace_minutes": 5, "address_cooldown_minutes": 30,
               "default_order_success_url": null, "default_order_cancel_url": null, "pool_low_watermark": 100})
    );
    for (key, body, status, code, field) in [
        (
            "payment_window_minutes",
            json!({"value": 0}),
            400,
            "VALIDATION_ERROR",
            Some("value"),
        ),
        (
            "payment_window_minutes",
            json!({"value": "soon"}),
            400,
            "VALIDATION_ERROR",
            Some("value"),
        ),
        (
            "grace_minutes",
            json!({"value": -1}),
            400,
            "VALIDATION_ERROR",
            Some("value"),
        ),
        (
            "default_order_cancel_url",
            json!({"value": 5}),
            400,
            "VALIDATION_ERROR",
            Some("value"),
        ),
        (
            "payment_window_minutes",
            json!({}),
            400,
            "VALIDATION_ERROR",
            Some("value"),
        ),
        ("no_such_key", json!({"value": 1}), 404, "NOT_FOUND", None),
    ] {
        let (s, b) = app.put(&format!("/api/v1/config/{key}"), body).await;
        assert_error(s, &b, status, code, field);
    }
    let (s, b) = app
        .put("/api/v1/config/payment_window_minutes", json!({"value": 15}))
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");
    let (_, b) = app.get("/api/v1/config").await;
    assert_eq!(b["data"]["payment_window_minutes"], 15);
    app.import_evm(14, 1).await;
    let (_, o) = app.create_order("cfg-1", "1").await;
    assert_eq!(
        o["data"]["expiresAt"], "2025-01-20T10:45:00.000Z",
        "new window applies: {o}"
    );
}

async fn api_key_is_required_and_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let url = app.url("/api/v1/orders");
    let (s, b) = app.send(app.client.get(&url)).await;
    assert_error(s, &b, 401, "UNAUTHORIZED", Some("Authorization"));
    let (s, b) = app.send(app.client.get(&url).bearer_auth("pk_wrong")).await;
    assert_error(s, &b, 401, "UNAUTHORIZED", None);
    let forged = format!("pk_{}", "a".repeat(40));
    let (s, b) = app.send(app.client.get(&url).header("x-api-key", &forged)).await;
    assert_error(s, &b, 401, "UNAUTHORIZED", None);
    let (s, _) = app.send(app.client.get(&url).header("x-api-key", &app.key)).await;
    assert_eq!(s.as_u16(), 200, "X-API-Key works");
    let (s, _) = app.send(app.client.get(&url).bearer_auth(&app.key)).await;
    assert_eq!(s.as_u16(), 200, "Bearer works");
    // Revocation takes effect on the next request.
    let (second, record) = app.engine.create_api_key("second").await.unwrap();
    app.engine.revoke_api_key(&record.id).await.unwrap();
    let (s, b) = app.send(app.client.get(&url).bearer_auth(&second)).await;
    assert_error(s, &b, 401, "UNAUTHORIZED", None);
    // Health and the OpenAPI document are public.
    let (s, b) = app.send(app.client.get(app.url("/health"))).await;
    assert_eq!((s.as_u16(), b["status"].as_str()), (200, Some("healthy")));
}
