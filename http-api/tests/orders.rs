//! The orders API end to end over HTTP, on both backends.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use common::{TestApp, assert_error};
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    order_lifecycle_create_get_by_id_and_reference,
    list_orders_filters_sorts_and_paginates,
    two_hundred_concurrent_creations_on_one_hundred_addresses,
    fifty_concurrent_creations_with_one_reference,
    order_expires_after_window_plus_grace_and_address_recycles,
    redirect_urls_fall_back_to_config_defaults,
    shared_address_orders_carry_a_pay_amount_and_check_the_receive_address,
);

async fn shared_address_orders_carry_a_pay_amount_and_check_the_receive_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let pool = app.import_evm(7, 1).await;
    let shop = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0";
    let create = |reference: &str, receive: Option<&str>| {
        let mut body = json!({
            "orderReference": reference,
            "amount": "25.00",
            "currency": "USDT",
            "chainId": "ethereum",
        });
        if let Some(a) = receive {
            body["receiveAddress"] = json!(a);
        }
        body
    };
    let (status, first) = app
        .post("/api/v1/orders", create("S-1", Some(&shop.to_lowercase())))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["data"]["address"], shop);
    assert_eq!(first["data"]["amount"], "25.00");
    assert_eq!(first["data"]["payAmount"], "25.00");
    assert_eq!(first["data"]["sharedAddress"], true);
    let (status, second) = app.post("/api/v1/orders", create("S-2", Some(shop))).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["data"]["payAmount"], "25.000001");
    let id = second["data"]["orderId"].as_str().unwrap();
    let (_, read) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(read["data"]["payAmount"], "25.000001");
    // The payment page asks for the exact pay amount.
    let (_, page) = app.get(&format!("/pay/{id}/status")).await;
    assert_eq!(page["data"]["amount"], "25.000001", "{page}");

    // A pool order pays its amount.
    let (status, pooled) = app.post("/api/v1/orders", create("P-1", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{pooled}");
    assert_eq!(pooled["data"]["payAmount"], "25.00");
    assert_eq!(pooled["data"]["sharedAddress"], false);

    for bad in [
        json!("0x123"),
        json!("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        json!(pool[0]),
        json!(""),
    ] {
        let mut body = create("S-BAD", None);
        body["receiveAddress"] = bad.clone();
        let (status, err) = app.post("/api/v1/orders", body).await;
        assert_error(status, &err, 400, "VALIDATION_ERROR", Some("receiveAddress"));
    }
    let mut body = create("S-BAD", None);
    body["receiveAddress"] = json!(42);
    let (status, err) = app.post("/api/v1/orders", body).await;
    assert!(status.is_client_error(), "{err}");
    assert_eq!(err["field"], "receiveAddress", "{err}");
}

async fn order_lifecycle_create_get_by_id_and_reference(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let addresses = app.import_evm(1, 3).await;
    let (status, body) = app
        .post(
            "/api/v1/orders",
            json!({
                "orderReference": "ORDER-2025-001",
                "amount": "100.00",
                "currency": "USDT",
                "chainId": "ethereum",
                "metadata": {"customerName": "John Doe", "n": 3},
                "successUrl": "https://shop.example/success",
                "cancelUrl": "https://shop.example/cancel",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    let order = &body["data"];
    let id = order["orderId"].as_str().unwrap();
    assert!(id.starts_with("ord_"));
    assert_eq!(order["amount"], "100.00");
    assert_eq!(order["amountReceived"], "0.00");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["protocol"], "evm");
    assert!(addresses.contains(&order["address"].as_str().unwrap().to_string()));
    assert_eq!(order["metadata"], json!({"customerName": "John Doe", "n": 3}));
    assert_eq!(order["createdAt"], "2025-01-20T10:30:00.000Z");
    assert_eq!(order["expiresAt"], "2025-01-20T10:40:00.000Z");
    assert_eq!(order["paymentUrl"], format!("{}/pay/{id}", app.base));

    let (status, by_id) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&by_id["data"], order);
    let (status, by_ref) = app.get("/api/v1/orders/by-reference/ORDER-2025-001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&by_ref["data"], order);

    let (status, body) = app.get("/api/v1/orders/ord_doesnotexist").await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND", None);
    let (status, body) = app.get("/api/v1/orders/by-reference/NOPE").await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND", None);

    // The creation wrote its event in the same transaction.
    let (_, events) = app.get("/api/v1/events?type=order.created").await;
    assert_eq!(events["data"]["events"][0]["data"], *order);
    assert_eq!(app.evm_pool().await["assigned"], 1);
}

async fn list_orders_filters_sorts_and_paginates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(2, 10).await;
    for (reference, amount, currency) in [
        ("shop-A-1", "9.99", "USDT"),
        ("shop-a-2", "10", "USDC"),
        ("shop-B-3", "100.5", "USDT"),
        ("other-4", "0.5", "DAI"),
    ] {
        let (status, body) = app
            .post(
                "/api/v1/orders",
                json!({"orderReference": reference, "amount": amount, "currency": currency, "chainId": "ethereum"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.clock.advance(Duration::seconds(1));
    }
    let refs = |body: &Value| -> Vec<String> {
        body["data"]["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["orderReference"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, body) = app.get("/api/v1/orders").await;
    assert_eq!(
        refs(&body),
        ["other-4", "shop-B-3", "shop-a-2", "shop-A-1"],
        "newest first by default"
    );
    assert_eq!(
        body["data"]["pagination"],
        json!({"page": 1, "limit": 20, "total": 4, "totalPages": 1, "hasMore": false})
    );

    let (_, body) = app.get("/api/v1/orders?sortBy=amount&sortOrder=asc").await;
    assert_eq!(
        refs(&body),
        ["other-4", "shop-A-1", "shop-a-2", "shop-B-3"],
        "numeric, not text, order"
    );
    let (_, body) = app
        .get("/api/v1/orders?currency=USDT&sortBy=amount&sortOrder=desc")
        .await;
    assert_eq!(refs(&body), ["shop-B-3", "shop-A-1"]);
    let (_, body) = app.get("/api/v1/orders?orderReference=SHOP-a&sortOrder=asc").await;
    assert_eq!(refs(&body), ["shop-A-1", "shop-a-2"], "case-insensitive substring");
    let (_, body) = app.get("/api/v1/orders?orderReference=%25").await;
    assert_eq!(refs(&body), Vec::<String>::new(), "% is a literal, not a wildcard");
    let (_, body) = app
        .get("/api/v1/orders?chainId=ethereum&status=pending&limit=3&page=2")
        .await;
    assert_eq!(refs(&body), ["shop-A-1"]);
    assert_eq!(
        body["data"]["pagination"],
        json!({"page": 2, "limit": 3, "total": 4, "totalPages": 2, "hasMore": false})
    );
    let (_, body) = app.get("/api/v1/orders?limit=3").await;
    assert_eq!(body["data"]["pagination"]["hasMore"], true);
    let (_, body) = app.get("/api/v1/orders?status=expired").await;
    assert_eq!(body["data"]["pagination"]["total"], 0);
    let (_, body) = app.get("/api/v1/orders?chainId=polygon").await;
    assert_eq!(body["data"]["pagination"]["total"], 0);
    let (_, body) = app.get("/api/v1/orders?sortBy=expiresAt&sortOrder=asc&limit=1").await;
    assert_eq!(refs(&body), ["shop-A-1"]);
}

async fn two_hundred_concurrent_creations_on_one_hundred_addresses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(3, 100).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.create_order(&format!("concurrent-{i}"), "1.50").await })
        })
        .collect();
    let mut addresses = HashSet::new();
    let (mut created, mut exhausted) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status.as_u16() {
            201 => {
                created += 1;
                assert!(
                    addresses.insert(body["data"]["address"].as_str().unwrap().to_string()),
                    "address handed out twice"
                );
            }
            503 => {
                exhausted += 1;
                assert_eq!(body["code"], "NO_AVAILABLE_ADDRESSES", "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, exhausted), (100, 100));
    assert_eq!(addresses.len(), 100);
    let pool = app.evm_pool().await;
    assert_eq!(
        (pool["available"].as_u64(), pool["assigned"].as_u64()),
        (Some(0), Some(100))
    );
    let (_, body) = app.get("/api/v1/orders?limit=1").await;
    assert_eq!(
        body["data"]["pagination"]["total"], 100,
        "no order without an address was written"
    );
}

async fn fifty_concurrent_creations_with_one_reference(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(4, 60).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.create_order("SAME-REF", "5").await })
        })
        .collect();
    let mut winner = None;
    let mut conflicts = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status.as_u16() {
            201 => {
                assert!(winner.is_none(), "two orders created for one reference");
                winner = Some(body["data"]["orderId"].as_str().unwrap().to_string());
            }
            409 => {
                assert_eq!(body["code"], "DUPLICATE_ORDER_REFERENCE");
                conflicts.push(body["existingOrderId"].as_str().unwrap().to_string());
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let winner = winner.expect("one creation succeeds");
    assert_eq!(conflicts.len(), 49);
    assert!(conflicts.iter().all(|id| *id == winner));
    let pool = app.evm_pool().await;
    assert_eq!(pool["assigned"], 1, "losers must not keep an address: {pool}");
    assert_eq!(pool["available"], 59);
}

async fn order_expires_after_window_plus_grace_and_address_recycles(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(5, 1).await;
    let (_, body) = app
        .post(
            "/api/v1/orders",
            json!({"orderReference": "exp-1", "amount": "1", "currency": "USDT", "chainId": "ethereum",
                   "paymentWindowMinutes": 15, "graceMinutes": 2}),
        )
        .await;
    let id = body["data"]["orderId"].as_str().unwrap().to_string();
    assert_eq!(body["data"]["expiresAt"], "2025-01-20T10:45:00.000Z");

    app.clock.advance(Duration::minutes(17) - Duration::milliseconds(1));
    assert!(app.engine.run_maintenance().await.unwrap().expired_orders.is_empty());
    let (_, body) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(body["data"]["status"], "pending", "still inside the grace period");

    app.clock.advance(Duration::milliseconds(1));
    assert_eq!(
        app.engine.run_maintenance().await.unwrap().expired_orders,
        vec![id.clone()]
    );
    let (_, body) = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(body["data"]["status"], "expired");
    assert_eq!(body["data"]["expiredAt"], "2025-01-20T10:47:00.000Z");
    let (_, events) = app.get("/api/v1/events?type=order.expired").await;
    assert_eq!(events["data"]["events"][0]["data"]["orderId"], id.as_str());
    let pool = app.evm_pool().await;
    assert_eq!(
        (pool["cooldown"].as_u64(), pool["available"].as_u64()),
        (Some(1), Some(0))
    );
    let (status, body) = app.create_order("exp-2", "1").await;
    assert_eq!(status.as_u16(), 503, "cooling-down address is not reused: {body}");

    app.clock.advance(Duration::minutes(30));
    assert_eq!(app.engine.run_maintenance().await.unwrap().released_addresses, 1);
    let (status, body) = app.create_order("exp-2", "1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn redirect_urls_fall_back_to_config_defaults(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(6, 2).await;
    let (status, body) = app
        .put(
            "/api/v1/config/default_order_success_url",
            json!({"value": "https://shop.example/thanks"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["default_order_success_url"], "https://shop.example/thanks");
    let (_, body) = app.create_order("r-1", "1").await;
    assert_eq!(body["data"]["successUrl"], "https://shop.example/thanks");
    assert_eq!(body["data"]["cancelUrl"], Value::Null);
    let (_, body) = app
        .post(
            "/api/v1/orders",
            json!({"orderReference": "r-2", "amount": "1", "currency": "USDT", "chainId": "ethereum",
                   "successUrl": "https://shop.example/own"}),
        )
        .await;
    assert_eq!(body["data"]["successUrl"], "https://shop.example/own");
}
