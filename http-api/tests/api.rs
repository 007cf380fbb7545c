//! Chains, pool, events, health and the OpenAPI document.

mod common;

use common::TestApp;
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

payin_core::on_both_backends!(
    chains_list_tokens_with_decimals_and_configuration,
    pool_low_event_fires_once,
    health_reports_database
);

async fn chains_list_tokens_with_decimals_and_configuration(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.get("/api/v1/chains").await;
    assert_eq!(status, StatusCode::OK);
    let chains = body["data"]["chains"].as_array().unwrap();
    let chain = |id: &str| chains.iter().find(|c| c["chainId"] == id).unwrap().clone();
    let token = |c: &serde_json::Value, cur: &str| {
        c["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["currency"] == cur)
            .unwrap()
            .clone()
    };
    let eth = chain("ethereum");
    assert_eq!(eth["evmChainId"], 1);
    assert_eq!(token(&eth, "USDT")["decimals"], 6);
    assert_eq!(
        token(&eth, "USDT")["contract"],
        "0xdAC17F958D2ee523a2206206994597C13D831ec7"
    );
    assert_eq!(token(&eth, "DAI")["decimals"], 18);
    assert_eq!(token(&chain("bsc"), "USDT")["decimals"], 18);
    let sepolia_usdt = token(&chain("ethereum-sepolia"), "USDT");
    assert_eq!(sepolia_usdt["configured"], false);
    assert_eq!(sepolia_usdt["configKey"], "chains.ethereum-sepolia.tokens.USDT");
    assert_eq!(chain("tron")["protocol"], "tron");
}

async fn pool_low_event_fires_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.put("/api/v1/config/pool_low_watermark", json!({"value": 2})).await;
    app.import_evm(30, 3).await;
    app.engine.run_maintenance().await.unwrap();
    let (_, events) = app.get("/api/v1/events?type=pool.low").await;
    assert_eq!(events["data"]["pagination"]["total"], 0, "3 available >= watermark 2");
    app.create_order("p-1", "1").await;
    app.create_order("p-2", "1").await;
    app.engine.run_maintenance().await.unwrap();
    app.engine.run_maintenance().await.unwrap();
    let (_, events) = app.get("/api/v1/events?type=pool.low").await;
    assert_eq!(
        events["data"]["pagination"]["total"], 1,
        "fired once on crossing, not every pass"
    );
    let data = &events["data"]["events"][0]["data"];
    assert_eq!(
        (data["protocol"].as_str(), data["available"].as_u64()),
        (Some("evm"), Some(1))
    );
    let pool = app.evm_pool().await;
    assert_eq!(
        (pool["low"].as_bool(), pool["lowWatermark"].as_u64()),
        (Some(true), Some(2))
    );
}

async fn health_reports_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["/health", "/api/v1/health"] {
        let (status, body) = app.send(app.client.get(app.url(path))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(body["data"]["database"]["status"], "ok");
        let expected = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(body["data"]["database"]["backend"], expected);
        assert!(
            body["data"]["replicaId"].as_str().is_some_and(|r| !r.is_empty()),
            "{body}"
        );
    }
    let (status, body) = app.send(app.client.get(app.url("/livez"))).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("alive")));
    let (status, body) = app.send(app.client.get(app.url("/readyz"))).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    assert_eq!(body["database"]["status"], "ok");
}

/// Every endpoint is documented, with the request and response schemas it uses.
#[tokio::test]
async fn openapi_document_covers_every_endpoint() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (status, doc) = app.send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/{orderId}"),
        ("get", "/api/v1/orders/by-reference/{orderReference}"),
        ("post", "/api/v1/deposits/references"),
        ("get", "/api/v1/deposits/references"),
        ("get", "/api/v1/deposits/references/{depositReference}"),
        ("delete", "/api/v1/deposits/references/{depositReference}"),
        ("post", "/api/v1/deposits/bind"),
        ("post", "/api/v1/deposits/unbind"),
        ("get", "/api/v1/deposits"),
        ("get", "/api/v1/config"),
        ("put", "/api/v1/config/{key}"),
        ("get", "/api/v1/chains"),
        ("post", "/api/v1/addresses/import"),
        ("get", "/api/v1/addresses/pool"),
        ("post", "/api/v1/addresses/xpubs"),
        ("get", "/api/v1/addresses/xpubs"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/events/{eventId}"),
        ("post", "/api/v1/events/{eventId}/resend"),
        ("post", "/api/v1/webhooks"),
        ("get", "/api/v1/webhooks"),
        ("get", "/api/v1/webhooks/{webhookId}"),
        ("delete", "/api/v1/webhooks/{webhookId}"),
        ("get", "/api/v1/webhooks/deliveries"),
        ("post", "/api/v1/webhooks/{webhookId}/rotate-secret"),
        ("post", "/api/v1/dev/simulate-payment"),
        ("post", "/api/v1/dev/mine-blocks"),
        ("get", "/pay/{orderId}"),
        ("get", "/pay/{orderId}/status"),
        ("post", "/api/v1/payment-links"),
        ("get", "/api/v1/payment-links"),
        ("get", "/api/v1/payment-links/{linkId}"),
        ("post", "/api/v1/payment-links/{linkId}/publish"),
        ("post", "/api/v1/payment-links/{linkId}/archive"),
        ("get", "/checkout/{slug}"),
        ("post", "/checkout/{slug}"),
        ("post", "/api/v1/compat/{api}/merchants"),
        ("get", "/api/v1/compat/{api}/merchants"),
        ("delete", "/api/v1/compat/{api}/merchants/{merchantId}"),
        ("get", "/health"),
        ("get", "/livez"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "undocumented or extra operations: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (method, path) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    let create = &doc["paths"]["/api/v1/orders"]["post"];
    assert!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("CreateOrderRequest")
    );
    for status in ["201", "400", "409", "503"] {
        assert!(
            create["responses"][status].is_object(),
            "create order documents {status}"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Order",
        "CreateOrderRequest",
        "ApiError",
        "DepositReference",
        "Event",
        "PoolStatus",
        "ChainInfo",
        "WebhookEndpoint",
        "CreatedWebhookEndpoint",
        "Delivery",
        "DeliveryAttempt",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let order_props = schemas["Order"]["properties"].as_object().unwrap();
    for field in [
        "orderId",
        "orderReference",
        "amount",
        "amountReceived",
        "paymentUrl",
        "expiresAt",
    ] {
        assert!(order_props.contains_key(field), "Order.{field} missing");
    }
    // Every documented GET route is routed: it answers with anything but "No route".
    // (The payment page is HTML, tests/pay_page.rs covers it; /metrics is Prometheus text,
    // tests/metrics.rs covers it.)
    for (_, path) in expected
        .iter()
        .filter(|(m, p)| *m == "get" && !["/pay/{orderId}", "/checkout/{slug}", "/metrics"].contains(p))
    {
        let concrete = path
            .replace("{orderId}", "ord_x")
            .replace("{orderReference}", "x")
            .replace("{depositReference}", "x")
            .replace("{eventId}", "evt_x")
            .replace("{webhookId}", "whe_x")
            .replace("{linkId}", "plk_x");
        let (status, body) = app.get(&concrete).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{concrete}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.starts_with("No route"), "{concrete} is not routed: {body}");
    }
}

/// The dev chain's routes (feature `dev`, on for these tests) are mounted behind the API key
/// and their part of the OpenAPI document carries the request and response schemas.
#[tokio::test]
async fn dev_routes_are_mounted_and_documented_with_their_schemas() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (status, doc) = app.send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK);
    let mine = &doc["paths"]["/api/v1/dev/mine-blocks"]["post"];
    assert_eq!(mine["tags"], json!(["dev"]), "{mine}");
    assert!(
        mine["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("MineBlocksRequest")),
        "{mine}"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "SimulatePaymentRequest",
        "SimulatedPayment",
        "PaymentScenario",
        "MineBlocksRequest",
        "MinedBlocks",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // No dev chain runs here: routed, authenticated, and the engine says the chain is missing.
    let (status, body) = app.post("/api/v1/dev/mine-blocks", json!({"blocks": 1})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("DEV_CHAIN_UNAVAILABLE")),
        "{body}"
    );
    let anonymous = app
        .send(app.client.post(app.url("/api/v1/dev/mine-blocks")).json(&json!({})))
        .await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED, "{}", anonymous.1);
}
