//! `/metrics` after real traffic: request counts and latency by route template and status,
//! orders by status, the webhook queue and its attempts, the pool and chain progress, in the
//! Prometheus text format and behind the API key.
//!
//! The exporter is one per process (the `metrics` facade's global recorder): nextest runs each
//! test in its own process, so the counts below are this test's alone.

mod common;

use std::collections::BTreeMap;

use common::TestApp;
use payin_core::testing::Backend;
use payin_core::webhook::dispatch::{Dispatcher, DispatcherOptions};
use reqwest::StatusCode;
use serde_json::json;

payin_core::on_both_backends!(metrics_count_requests_by_route_and_read_state_at_scrape_time);

/// Every sample of `text`, keyed by name and sorted labels: `name{a="1",b="2"}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_string(),
        };
        out.insert(key, value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")));
    }
    out
}

async fn scrape(app: &TestApp) -> (String, BTreeMap<String, f64>) {
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = resp.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

#[track_caller]
fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key}; have {:#?}", samples.keys().collect::<Vec<_>>()))
}

async fn metrics_count_requests_by_route_and_read_state_at_scrape_time(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(41, 10).await;
    // Nothing listens on port 1: every delivery attempt fails and stays queued for a retry.
    let (status, body) = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:1/hook", "events": ["order.created"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, body) = app.create_order(&format!("metrics-{i}"), "2.50").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["data"]["orderId"].as_str().unwrap().to_string());
    }
    let (status, body) = app.create_order("metrics-0", "2.50").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for id in &ids {
        let (status, _) = app.get(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app.get("/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unauthorized = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let report = Dispatcher::new(app.engine.clone(), DispatcherOptions::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.retrying, 3, "{report:?}");
    // What a watcher reports after a pass, as `/health` shows it.
    app.engine.chain_status().record_success("ethereum", 1_000, Some(992));
    app.engine
        .chain_status()
        .record_error("polygon", "rpc: connection refused".into());

    let (text, m) = scrape(&app).await;
    // Requests: by method, route template (never the raw id) and status.
    let requests = |method: &str, route: &str, status: u16| {
        format!("payin_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}")
    };
    assert_eq!(value(&m, &requests("POST", "/api/v1/orders", 201)), 3.0);
    assert_eq!(value(&m, &requests("POST", "/api/v1/orders", 409)), 1.0);
    assert_eq!(value(&m, &requests("GET", "/api/v1/orders/{order_id}", 200)), 3.0);
    assert_eq!(value(&m, &requests("GET", "unmatched", 404)), 1.0);
    assert_eq!(value(&m, &requests("GET", "/metrics", 401)), 1.0);
    assert!(!text.contains(&ids[0]), "a raw path leaked into a label: {text}");
    // Latency: a histogram with buckets per route.
    let latency = "payin_http_request_duration_seconds";
    assert!(text.contains(&format!("# TYPE {latency} histogram")), "{text}");
    assert_eq!(
        value(
            &m,
            &format!("{latency}_count{{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"}}")
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            &format!("{latency}_bucket{{le=\"+Inf\",method=\"POST\",route=\"/api/v1/orders\",status=\"201\"}}")
        ),
        3.0
    );
    // State, read from the database at scrape time.
    assert_eq!(value(&m, "payin_orders{status=\"pending\"}"), 3.0);
    assert_eq!(value(&m, "payin_orders{status=\"completed\"}"), 0.0);
    assert_eq!(value(&m, "payin_webhook_queue_depth"), 3.0);
    assert_eq!(value(&m, "payin_webhook_attempts_total{result=\"failed\"}"), 3.0);
    assert_eq!(
        value(&m, "payin_pool_addresses{protocol=\"evm\",state=\"available\"}"),
        7.0
    );
    assert_eq!(
        value(&m, "payin_pool_addresses{protocol=\"evm\",state=\"assigned\"}"),
        3.0
    );
    // The cursor is the next block to scan: blocks 992..=1000 are still to be seen.
    assert_eq!(value(&m, "payin_chain_lag_blocks{chain=\"ethereum\"}"), 9.0);
    assert_eq!(value(&m, "payin_chain_head_block{chain=\"ethereum\"}"), 1000.0);
    assert_eq!(value(&m, "payin_chain_error{chain=\"ethereum\"}"), 0.0);
    assert_eq!(value(&m, "payin_chain_error{chain=\"polygon\"}"), 1.0);
    let age = value(&m, "payin_chain_last_success_age_seconds{chain=\"ethereum\"}");
    assert!((0.0..60.0).contains(&age), "{age}");
    assert!(
        !text.contains("payin_chain_last_success_age_seconds{chain=\"polygon\"}"),
        "polygon never had a successful pass: {text}"
    );
    assert_eq!(value(&m, "payin_chain_stalled{chain=\"ethereum\"}"), 0.0);
    assert!(text.contains("# HELP payin_orders Orders by status"), "{text}");

    // The next scrape sees the state as it is then: an order expires, the queue drains.
    app.clock.advance(chrono::Duration::minutes(16));
    app.engine.run_maintenance().await.unwrap();
    let (_, m) = scrape(&app).await;
    assert_eq!(value(&m, "payin_orders{status=\"pending\"}"), 0.0);
    assert_eq!(value(&m, "payin_orders{status=\"expired\"}"), 3.0);
    assert_eq!(
        value(&m, &requests("GET", "/metrics", 200)),
        1.0,
        "the scrape before this one"
    );
}
