//! `TestApp`: the real router on a real port over a fresh database, driven with reqwest.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::TimeZone;
use payin_core::clock::ManualClock;
use payin_core::config::RateLimitConfig;
use payin_core::testing::{Backend, TestDb, evm_addresses, fresh_database};
use payin_core::{Engine, EngineOptions};
use payin_http::ServerOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
    pub engine: Arc<Engine>,
    pub clock: Arc<ManualClock>,
    _db: TestDb,
    _server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// `None` when the backend is unavailable outside CI (the skip is printed).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, Default::default(), RateLimitConfig::disabled()).await
    }

    /// With the server's connection limits and rate limits set.
    pub async fn spawn_with(backend: Backend, server: ServerOptions, rate_limit: RateLimitConfig) -> Option<TestApp> {
        let db = fresh_database(backend).await?;
        let clock = Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut options = EngineOptions::new(db.url.clone());
        options.clock = clock.clone();
        options.default_public_url = base.clone();
        options.config = payin_core::testing::every_chain_watched();
        // The webhook receivers of these tests listen on 127.0.0.1, which the SSRF guard
        // refuses unless the operator allows it (as here, and as `payin dev` does).
        options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
        let engine = Arc::new(Engine::open(options).await.expect("engine opens"));
        let (key, _) = engine.create_api_key("tests").await.unwrap();
        let limits = payin_http::RateLimits::new(&rate_limit).expect("valid rate limits");
        let router = payin_http::router_with(payin_http::AppState::new(engine.clone()).with_rate_limits(limits));
        // The server loop of `payin serve` (its timeouts, limits and transport rules).
        let server = tokio::spawn(async move {
            payin_http::serve(listener, router, server, std::future::pending())
                .await
                .unwrap();
        });
        Some(TestApp {
            base,
            key,
            client: reqwest::Client::new(),
            engine,
            clock,
            _db: db,
            _server: server,
        })
    }

    /// The database this app runs on, for a second engine (a restart or another replica).
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON response {status}: {text}"));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(self.url(path)).bearer_auth(&self.key)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(self.url(path)).bearer_auth(&self.key).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.put(self.url(path)).bearer_auth(&self.key).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.delete(self.url(path)).bearer_auth(&self.key))
            .await
    }

    /// Imports `n` fresh EVM addresses through the API.
    pub async fn import_evm(&self, seed: u32, n: u32) -> Vec<String> {
        let addresses = evm_addresses(seed, n);
        let (status, body) = self
            .post(
                "/api/v1/addresses/import",
                json!({"protocol": "evm", "addresses": addresses}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["imported"], n);
        addresses
    }

    pub async fn create_order(&self, reference: &str, amount: &str) -> (StatusCode, Value) {
        self.post(
            "/api/v1/orders",
            json!({"orderReference": reference, "amount": amount, "currency": "USDT", "chainId": "ethereum"}),
        )
        .await
    }

    /// The `evm` row of `GET /addresses/pool`.
    pub async fn evm_pool(&self) -> Value {
        let (status, body) = self.get("/api/v1/addresses/pool").await;
        assert_eq!(status, StatusCode::OK);
        body["data"]["pools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["protocol"] == "evm")
            .cloned()
            .unwrap()
    }
}

/// Asserts an error envelope: status, code, and (when given) the field it names.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str, want_field: Option<&str>) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert_eq!(body["statusCode"], want_status, "{body}");
    assert!(body["error"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    if let Some(field) = want_field {
        assert_eq!(body["field"], field, "{body}");
        let bare = field.split(['[', '.']).next().unwrap();
        assert!(message.contains(bare), "message should name {field}: {body}");
    }
}
