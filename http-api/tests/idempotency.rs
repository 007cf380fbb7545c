//! `Idempotency-Key` on POST, end to end over HTTP on both backends: replay, reuse with another
//! request, concurrency, answers that are not kept (503), scope per API key, retention.

mod common;

use chrono::Duration;
use common::{TestApp, assert_error};
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing,
    the_same_key_with_another_request_is_refused,
    concurrent_requests_with_one_key_create_one_order,
    a_503_is_not_kept_so_the_retry_succeeds_once_the_pool_is_refilled,
    refusals_of_the_request_are_replayed,
    keys_are_scoped_by_api_key_and_kept_a_day,
    malformed_keys_are_refused_naming_the_header,
);

fn order(reference: &str, amount: &str) -> Value {
    json!({"orderReference": reference, "amount": amount, "currency": "USDT", "chainId": "ethereum"})
}

/// POSTs `body` with `Idempotency-Key: key` (and the given API key); status, replay header, body.
async fn post_with_key(app: &TestApp, api_key: &str, path: &str, key: &str, body: &Value) -> (StatusCode, bool, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(api_key)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status();
    let replayed = resp.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON response {status}: {text}"));
    (status, replayed, body)
}

async fn order_count(app: &TestApp) -> u64 {
    let (status, body) = app.get("/api/v1/orders?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["pagination"]["total"].as_u64().expect("a total")
}

async fn a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 3).await;
    let body = order("IDEM-1", "12.50");
    let (s1, replayed1, first) = post_with_key(&app, &app.key, "/api/v1/orders", "key-1", &body).await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    assert!(!replayed1, "a first answer is not a replay");
    let (s2, replayed2, second) = post_with_key(&app, &app.key, "/api/v1/orders", "key-1", &body).await;
    assert_eq!(s2, StatusCode::CREATED, "{second}");
    assert!(replayed2, "the retry is marked as a replay");
    assert_eq!(first, second, "the retry gets the first answer, byte for byte");
    assert_eq!(order_count(&app).await, 1);
    // Without a key, the same body is a new request: the reference is taken.
    let (status, dup) = app.post("/api/v1/orders", body).await;
    assert_error(status, &dup, 409, "DUPLICATE_ORDER_REFERENCE", None);
}

async fn the_same_key_with_another_request_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 3).await;
    let (status, _, _) = post_with_key(&app, &app.key, "/api/v1/orders", "key-2", &order("IDEM-2", "1")).await;
    assert_eq!(status, StatusCode::CREATED);
    // Another body, or the same body on another path: both are different requests.
    let (status, _, body) = post_with_key(&app, &app.key, "/api/v1/orders", "key-2", &order("IDEM-2", "2")).await;
    assert_error(status, &body, 409, "IDEMPOTENCY_KEY_REUSED", Some("Idempotency-Key"));
    assert_eq!(body["idempotencyKey"], "key-2", "{body}");
    let (status, _, body) = post_with_key(
        &app,
        &app.key,
        "/api/v1/webhooks",
        "key-2",
        &json!({"url": "https://shop.example/hook"}),
    )
    .await;
    assert_error(status, &body, 409, "IDEMPOTENCY_KEY_REUSED", Some("Idempotency-Key"));
    assert_eq!(order_count(&app).await, 1);
}

async fn concurrent_requests_with_one_key_create_one_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 20).await;
    let body = order("IDEM-3", "5");
    let calls = (0..12).map(|_| post_with_key(&app, &app.key, "/api/v1/orders", "key-3", &body));
    let answers = futures::future::join_all(calls).await;
    let ids: std::collections::HashSet<_> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["data"]["orderId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every caller gets the one order: {ids:?}");
    assert_eq!(
        answers.iter().filter(|(_, replayed, _)| !replayed).count(),
        1,
        "exactly one ran"
    );
    assert_eq!(order_count(&app).await, 1);
    assert_eq!(app.evm_pool().await["assigned"], 1);
}

async fn a_503_is_not_kept_so_the_retry_succeeds_once_the_pool_is_refilled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = order("IDEM-4", "7");
    let (status, replayed, first) = post_with_key(&app, &app.key, "/api/v1/orders", "key-4", &body).await;
    assert_error(status, &first, 503, "NO_AVAILABLE_ADDRESSES", None);
    assert!(!replayed);
    app.import_evm(1, 1).await;
    let (status, replayed, second) = post_with_key(&app, &app.key, "/api/v1/orders", "key-4", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert!(!replayed, "the retry ran: the 503 was not kept");
    let (status, replayed, third) = post_with_key(&app, &app.key, "/api/v1/orders", "key-4", &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(second, third);
}

async fn refusals_of_the_request_are_replayed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 2).await;
    let bad = order("IDEM-5", "-1");
    let (status, replayed, first) = post_with_key(&app, &app.key, "/api/v1/orders", "key-5", &bad).await;
    assert_error(status, &first, 400, "INVALID_AMOUNT", Some("amount"));
    assert!(!replayed);
    let (status, replayed, second) = post_with_key(&app, &app.key, "/api/v1/orders", "key-5", &bad).await;
    assert_eq!((status, replayed), (StatusCode::BAD_REQUEST, true));
    assert_eq!(first, second);
}

async fn keys_are_scoped_by_api_key_and_kept_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 5).await;
    let (other_key, _) = app.engine.create_api_key("other").await.unwrap();
    let (s1, _, a) = post_with_key(&app, &app.key, "/api/v1/orders", "shared", &order("IDEM-6A", "1")).await;
    let (s2, replayed, b) = post_with_key(&app, &other_key, "/api/v1/orders", "shared", &order("IDEM-6B", "1")).await;
    assert_eq!(
        (s1, s2, replayed),
        (StatusCode::CREATED, StatusCode::CREATED, false),
        "{a} {b}"
    );
    assert_ne!(a["data"]["orderId"], b["data"]["orderId"]);

    // Within a day the key replays; after maintenance past 24 hours it is forgotten, and the
    // same key is free for a new request.
    app.clock.advance(Duration::hours(23));
    let (_, replayed, _) = post_with_key(&app, &app.key, "/api/v1/orders", "shared", &order("IDEM-6A", "1")).await;
    assert!(replayed);
    app.clock.advance(Duration::hours(2));
    let report = app.engine.run_maintenance().await.unwrap();
    assert_eq!(report.purged_idempotency_keys, 2);
    let (status, replayed, body) =
        post_with_key(&app, &app.key, "/api/v1/orders", "shared", &order("IDEM-6C", "1")).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{body}");
}

async fn malformed_keys_are_refused_naming_the_header(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(1, 2).await;
    for key in ["", "has space", &"k".repeat(256)] {
        let (status, _, body) = post_with_key(&app, &app.key, "/api/v1/orders", key, &order("IDEM-7", "1")).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some("Idempotency-Key"));
    }
    assert_eq!(order_count(&app).await, 0, "a refused key writes nothing");
}

#[tokio::test]
async fn the_openapi_document_offers_the_key_on_every_post_and_names_its_409() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let posts: Vec<_> = paths
        .iter()
        .filter(|(path, _)| path.starts_with("/api/v1/"))
        .filter_map(|(path, item)| item.get("post").map(|op| (path, op)))
        .collect();
    assert!(posts.len() >= 8, "{}", posts.len());
    for (path, op) in posts {
        let header = op["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
            .unwrap_or_else(|| panic!("POST {path} documents no Idempotency-Key"));
        assert_eq!((&header["in"], &header["required"]), (&json!("header"), &json!(false)));
        assert_eq!(header["schema"]["maxLength"], 255);
        let conflict = op["responses"]["409"]["description"].as_str().unwrap_or_default();
        assert!(conflict.contains("IDEMPOTENCY_KEY_REUSED"), "POST {path}: {conflict}");
    }
}
