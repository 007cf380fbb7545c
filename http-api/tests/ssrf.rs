//! The SSRF guard through the API and the dispatcher: endpoints that point inside the network
//! are refused at registration (400 naming `url`), and a delivery whose address is refused at
//! send time (the config changed, or the host name now resolves elsewhere) is recorded as a
//! failed attempt without any connection being made.
//!
//! Nothing here connects anywhere but 127.0.0.1: refused addresses are judged, never dialled.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TestApp, assert_error};
use payin_core::testing::Backend;
use payin_core::webhook::dispatch::{Dispatcher, DispatcherOptions};
use payin_core::webhook::guard::Refused;
use payin_core::{Engine, EngineOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    internal_and_credentialed_urls_are_refused_at_registration_naming_url,
    a_delivery_refused_by_the_guard_connects_nowhere_and_reads_the_same_for_every_address,
);

/// A TCP listener on 127.0.0.1 that counts the connections it accepts and answers each with
/// 200, so a test can tell "refused before connecting" from "connected".
struct CountingListener {
    port: u16,
    accepted: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl CountingListener {
    async fn start() -> CountingListener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        CountingListener {
            port,
            accepted,
            _task: task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn internal_and_credentialed_urls_are_refused_at_registration_naming_url(backend: Backend) {
    // Loopback is allowed on this app (its other tests deliver to 127.0.0.1); everything else
    // non-public is not.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[fd00::1]/hook",
        "https://100.64.0.1/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://0.0.0.0/",
        "https://user:pw@example.com/",
        "https://hook-user:s3cret@shop.example/hook",
    ] {
        let (status, body) = app.post("/api/v1/webhooks", json!({"url": url})).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some("url"));
        let message = body["message"].as_str().unwrap();
        assert!(!message.contains("s3cret") && !message.contains(":pw"), "{message}");
    }
    let (_, list) = app.get("/api/v1/webhooks").await;
    assert_eq!(list["data"]["pagination"]["total"], 0, "nothing stored: {list}");

    // The message says why, and what the operator can change.
    let (_, body) = app
        .post("/api/v1/webhooks", json!({"url": "https://169.254.169.254/"}))
        .await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("link-local") && message.contains("allow_private"),
        "{message}"
    );
    let (_, body) = app
        .post("/api/v1/webhooks", json!({"url": "https://user:pw@example.com/"}))
        .await;
    assert!(body["message"].as_str().unwrap().contains("credentials"), "{body}");

    // The same loopback URL a production config refuses, this app allows.
    let (status, body) = app
        .post("/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/hook"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let production = engine_without_exceptions(&app).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://localhost:9/hook",
    ] {
        let refused = production
            .create_webhook_endpoint(payin_core::webhook::CreateWebhookRequest {
                url: url.into(),
                events: None,
                description: None,
            })
            .await
            .unwrap_err();
        match refused {
            payin_core::Error::Invalid { field, message, .. } => {
                assert_eq!(field, "url", "{url}");
                assert!(message.contains("loopback"), "{url}: {message}");
            }
            e => panic!("{url}: {e:?}"),
        }
    }
}

/// An engine on the app's database with the production default: no address range allowed.
async fn engine_without_exceptions(app: &TestApp) -> Arc<Engine> {
    let mut options = EngineOptions::new(app.database_url());
    options.clock = app.clock.clone();
    options.config = payin_core::testing::every_chain_watched();
    Arc::new(Engine::open(options).await.expect("engine opens"))
}

async fn a_delivery_refused_by_the_guard_connects_nowhere_and_reads_the_same_for_every_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let listener = CountingListener::start().await;
    app.import_evm(91, 2).await;
    // Allowed when registered (the app allows loopback): an IP literal, which the dispatcher
    // checks itself, and a host name, which its resolver checks.
    for url in [
        format!("http://127.0.0.1:{}/hook", listener.port),
        format!("http://localhost:{}/hook", listener.port),
    ] {
        let (status, body) = app
            .post("/api/v1/webhooks", json!({"url": url, "events": ["order.created"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app.create_order("ssrf-delivery-1", "1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A replica whose config no longer allows loopback sends the deliveries.
    let production = engine_without_exceptions(&app).await;
    let report = Dispatcher::new(production.clone(), DispatcherOptions::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        (report.attempted, report.succeeded, report.retrying),
        (2, 0, 2),
        "{report:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(listener.accepted(), 0, "the guard connected to a refused address");

    let (status, body) = app.get("/api/v1/webhooks/deliveries").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deliveries = body["data"]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{body}");
    for d in deliveries {
        assert_eq!(d["status"], "pending", "{d}");
        let attempt: &Value = &d["attempts"][0];
        assert_eq!(attempt["httpStatus"], Value::Null, "{d}");
        // One generic reason for every refused address: nothing about ports or connections.
        assert_eq!(attempt["error"], Refused.to_string(), "{d}");
    }

    // The app's own engine, which allows loopback, reaches the same listener: the zero above
    // was the guard, not a dead receiver.
    app.clock.advance(chrono::Duration::minutes(1));
    let report = Dispatcher::new(app.engine.clone(), DispatcherOptions::default())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.succeeded, 2, "{report:?}");
    assert_eq!(listener.accepted(), 2);
}
