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
    nul_and_bad_encoding_in_any_path_or_query_are_400_envelopes,
    metadata_nesting_is_bounded_and_stored_events_stay_readable,
    trailing_data_after_the_json_body_is_refused,
    blank_and_bidi_references_are_refused_naming_the_field,
    nul_in_any_body_field_is_refused_naming_it,
    merchant_text_is_not_expanded_on_the_payment_page,
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
        // Tron USDT has a known contract, but no RPC URL is configured for chain tron here.
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

async fn nul_and_bad_encoding_in_any_path_or_query_are_400_envelopes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (path, field) in [
        ("/pay/%00/status", "path"),
        ("/api/v1/orders/%00", "path"),
        ("/api/v1/orders/ord_%00abc", "path"),
        ("/api/v1/orders/by-reference/%00", "path"),
        ("/api/v1/deposits/references/%00", "path"),
        ("/api/v1/events/%ff", "path"),
        ("/api/v1/events/evt_%C3%28/resend", "path"),
        ("/api/v1/webhooks/%00", "path"),
        ("/api/v1/orders?orderReference=%00", "orderReference"),
        ("/api/v1/orders?orderReference=a%ffb", "orderReference"),
        ("/api/v1/deposits/references?search=%00", "search"),
        ("/api/v1/deposits?depositReference=x%00", "depositReference"),
        ("/api/v1/events?type=%00", "type"),
        ("/api/v1/deposits/references/u?chainId=%00", "chainId"),
    ] {
        let method = if path.ends_with("/resend") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let resp = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "{path} answers in the JSON envelope"
        );
        let body: Value = resp.json().await.unwrap();
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some(field));
    }
    // The public HTML pages answer the same 400 as a page, never JSON (issue 12).
    for path in ["/pay/%00", "/checkout/%00", "/checkout/abc%ff", "/checkout/x?lang=%00"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        let page = resp.text().await.unwrap();
        assert!(
            page.starts_with("<!doctype html>") && !page.contains("VALIDATION_ERROR"),
            "{path}: {page}"
        );
    }
    // Well-formed text that names nothing is an ordinary 404.
    let (s, b) = app.get("/api/v1/orders/%E6%B3%A8%E6%96%87").await;
    assert_error(s, &b, 404, "ORDER_NOT_FOUND", None);
}

/// `{"a": [[…1…]]}` with `levels` levels of objects and arrays, the outer object included.
fn nested_metadata(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 1..levels {
        v = json!([v]);
    }
    json!({ "a": v })
}

async fn metadata_nesting_is_bounded_and_stored_events_stay_readable(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(21, 2).await;
    for levels in [33, 126] {
        let (s, b) = app
            .post(
                "/api/v1/orders",
                order(json!({"orderReference": format!("deep-{levels}"), "metadata": nested_metadata(levels)})),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("metadata"));
        let (s, b) = app
            .post(
                "/api/v1/deposits/bind",
                json!({"depositReference": "deep", "protocol": "evm", "metadata": nested_metadata(levels)}),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("metadata"));
    }
    assert_nothing_written(&app).await;
    // The deepest metadata accepted still reads back wherever its event is shown.
    let (s, o) = app
        .post(
            "/api/v1/orders",
            order(json!({"orderReference": "deep-32", "metadata": nested_metadata(32)})),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{o}");
    let (s, events) = app.get("/api/v1/events").await;
    assert_eq!(s.as_u16(), 200, "{events}");
    let event_id = events["data"]["events"][0]["id"].as_str().unwrap().to_string();
    let (s, event) = app.get(&format!("/api/v1/events/{event_id}")).await;
    assert_eq!(s.as_u16(), 200, "{event}");
    let (s, resent) = app.post(&format!("/api/v1/events/{event_id}/resend"), json!({})).await;
    assert!(s.is_success(), "{resent}");
}

async fn trailing_data_after_the_json_body_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(22, 1).await;
    let first = order(json!({"orderReference": "trail-1"})).to_string();
    for body in [
        format!(r#"{first}{{"amount":"999"}}"#),
        format!("{first} x"),
        format!("{first},"),
    ] {
        let (s, b) = app
            .send(
                app.client
                    .post(app.url("/api/v1/orders"))
                    .bearer_auth(&app.key)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    }
    assert_nothing_written(&app).await;
    // Whitespace after the object is not data.
    let (s, b) = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&app.key)
                .header("content-type", "application/json")
                .body(format!("{first}\r\n")),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");
}

async fn blank_and_bidi_references_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(23, 2).await;
    for reference in [
        "   ",
        "\t",
        "\u{3000}",
        "INV-\u{202E}fdp.exe",
        "a\u{2066}b\u{2069}",
        "x\u{200B}",
        "a\u{7}b",
    ] {
        let (s, b) = app
            .post("/api/v1/orders", order(json!({"orderReference": reference})))
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("orderReference"));
        let (s, b) = app
            .post(
                "/api/v1/deposits/bind",
                json!({"depositReference": reference, "protocol": "evm"}),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("depositReference"));
        let (s, b) = app
            .post(
                "/api/v1/deposits/references",
                json!({"depositReference": reference, "currency": "USDT", "chainId": "ethereum"}),
            )
            .await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some("depositReference"));
    }
    assert_nothing_written(&app).await;
    let (_, refs) = app.get("/api/v1/deposits/references").await;
    assert_eq!(refs["data"]["pagination"]["total"], 0);
    // Right-to-left scripts themselves are fine; only the invisible controls are not.
    let (s, b) = app
        .post("/api/v1/orders", order(json!({"orderReference": "طلب-١٢ Order 7"})))
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");
}

async fn nul_in_any_body_field_is_refused_naming_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(24, 1).await;
    for (path, body, field) in [
        (
            "/api/v1/orders",
            order(json!({"orderReference": "a\u{0}"})),
            "orderReference",
        ),
        ("/api/v1/orders", order(json!({"currency": "USDT\u{0}"})), "currency"),
        (
            "/api/v1/orders",
            order(json!({"successUrl": "https://shop.example/ok\u{0}"})),
            "successUrl",
        ),
        (
            "/api/v1/deposits/unbind",
            json!({"depositReference": "\u{0}", "chainId": "ethereum"}),
            "depositReference",
        ),
        (
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example/in", "description": "x\u{0}"}),
            "description",
        ),
        (
            "/api/v1/addresses/import",
            json!({"protocol": "evm", "addresses": ["0x0000000000000000000000000000000000000001", "\u{0}"]}),
            "addresses[1]",
        ),
    ] {
        let (s, b) = app.post(path, body).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR", Some(field));
    }
    let (s, b) = app
        .put(
            "/api/v1/config/default_order_success_url",
            json!({"value": "https://a.example/\u{0}"}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR", Some("value"));
    assert_nothing_written(&app).await;
    let (_, hooks) = app.get("/api/v1/webhooks").await;
    assert_eq!(hooks["data"]["pagination"]["total"], 0, "{hooks}");
}

async fn merchant_text_is_not_expanded_on_the_payment_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(25, 1).await;
    let (s, o) = app.create_order("{{ORDER_JSON}}{{ADDRESS}}", "5").await;
    assert_eq!(s.as_u16(), 201, "{o}");
    let order_id = o["data"]["orderId"].as_str().unwrap();
    let page = app
        .client
        .get(app.url(&format!("/pay/{order_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Payment request {{ORDER_JSON}}{{ADDRESS}}</h1>"),
        "the reference shows as sent: {page}"
    );
    assert_eq!(
        page.matches("\"orderId\"").count(),
        1,
        "the order data is in the page once"
    );
}

/// Raw bytes to the server and its whole answer (it closes the connection after it):
/// status and JSON body.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the server did not close after answering: {}",
        String::from_utf8_lossy(&answer)
    );
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer: {answer:?}"));
    let status = head[9..12].parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("non-JSON answer: {answer}"));
    (status, head.to_ascii_lowercase(), body)
}

#[tokio::test]
async fn protocol_errors_answer_in_the_envelope_not_empty_bodies() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let get = |target: &str, headers: &str| {
        format!("GET {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{headers}\r\n").into_bytes()
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        // Longer than the router's limit: the transport rules answer.
        (
            get(&format!("/api/v1/orders?orderReference={}", "a".repeat(10_000)), ""),
            414,
            "URI_TOO_LONG",
        ),
        // Longer than hyper takes at all: its own answers, rewritten.
        (
            get(&format!("/pay/{}", "a".repeat(70_000)), ""),
            431,
            "HEADERS_TOO_LARGE",
        ),
        (
            get("/health", &format!("x-big: {}\r\n", "b".repeat(70_000))),
            431,
            "HEADERS_TOO_LARGE",
        ),
        (
            get(
                "/health",
                &(0..120).map(|i| format!("x-h{i}: v\r\n")).collect::<String>(),
            ),
            431,
            "HEADERS_TOO_LARGE",
        ),
        (
            b"GET /health HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n".to_vec(),
            400,
            "MALFORMED_REQUEST",
        ),
        (
            b"GET /pay/\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
            "MALFORMED_REQUEST",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400, "MALFORMED_REQUEST"),
        (get("/api/v1/events/%ff", ""), 400, "VALIDATION_ERROR"),
    ];
    for (request, status, code) in cases {
        let (got, head, body) = raw_exchange(&app, &request).await;
        let sent = String::from_utf8_lossy(&request[..request.len().min(80)]).to_string();
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{sent:?}: {head}\n{body}"
        );
        assert_eq!(body["statusCode"], status);
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.import_evm(26, 1).await;
    let (_, o) = app.create_order("nosniff-1", "1").await;
    let order_id = o["data"]["orderId"].as_str().unwrap();
    for (path, authorized) in [
        ("/health".to_string(), false),
        ("/api/v1/openapi.json".to_string(), false),
        (format!("/pay/{order_id}"), false),
        ("/pay/ord_missing".to_string(), false),
        (format!("/pay/{order_id}/status"), false),
        ("/api/v1/orders".to_string(), true),
        ("/api/v1/orders".to_string(), false),
        ("/no/such/route".to_string(), false),
        ("/api/v1/orders?limit=0".to_string(), true),
    ] {
        let mut req = app.client.get(app.url(&path));
        if authorized {
            req = req.bearer_auth(&app.key);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}: {}",
            resp.status()
        );
    }
    let resp = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}
