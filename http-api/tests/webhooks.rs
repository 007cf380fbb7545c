//! Signed webhooks end to end, on both backends: endpoints through the API, events from real
//! order activity, the dispatcher POSTing to a real HTTP receiver on 127.0.0.1, and signatures
//! checked with the seed's recipe and with the `standardwebhooks` Python package.

mod common;

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration as StdDuration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use chrono::Duration;
use common::{TestApp, assert_error};
use hmac::{Hmac, KeyInit, Mac};
use payin_core::clock::Clock;
use payin_core::testing::Backend;
use payin_core::webhook::dispatch::{DispatchReport, Dispatcher, DispatcherOptions};
use payin_core::webhook::signature;
use payin_core::{Engine, EngineOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

payin_core::on_both_backends!(
    delivers_the_stored_payload_signed_with_both_schemes,
    failed_attempt_is_retried_after_five_seconds_and_every_attempt_is_listed,
    unreachable_endpoint_is_retried_on_schedule_then_given_up,
    gone_endpoint_is_disabled_and_its_pending_deliveries_stop,
    resend_queues_a_new_delivery_with_the_same_webhook_id,
    a_rotated_secret_signs_beside_the_old_one_until_the_window_ends,
    only_subscribed_event_types_are_delivered_and_never_retroactively,
    pending_delivery_survives_a_restart_and_an_interrupted_attempt_is_retried,
    replicas_never_send_the_same_attempt_twice,
    endpoints_are_listed_without_secrets_and_deleted_ones_disappear,
    bad_webhook_input_names_the_field,
);

// ---- a real receiver -------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Never answers (the dispatcher times out, or is stopped mid-request).
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    /// Lowercase names, as received.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn event_id(&self) -> String {
        self.json()["id"].as_str().unwrap().to_string()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Replies to the next requests, in order; 200 once used up.
    script: Mutex<VecDeque<Reply>>,
    delay: StdDuration,
}

/// An HTTP server on 127.0.0.1 that records every request and answers as scripted.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    _server: tokio::task::JoinHandle<()>,
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    state.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let reply = state.script.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
    tokio::time::sleep(state.delay).await;
    match reply {
        Reply::Status(s) => AxumStatus::from_u16(s).unwrap(),
        Reply::Hang => std::future::pending().await,
    }
}

impl Receiver {
    async fn start(script: &[Reply]) -> Receiver {
        Receiver::start_with_delay(script, StdDuration::ZERO).await
    }

    async fn start_with_delay(script: &[Reply], delay: StdDuration) -> Receiver {
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.iter().copied().collect()),
            delay,
            ..ReceiverState::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/payin", listener.local_addr().unwrap());
        let router = axum::Router::new().fallback(receive).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            url,
            state,
            _server: server,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

// ---- verification as a merchant would do it ----------------------------------------------

/// The seed's recipe (integration guide, TS/Python/PHP): hex HMAC-SHA256 of the raw body, keyed
/// with the secret string.
fn seed_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies with the seed's Python recipe and with the `standardwebhooks` package, whose clock is
/// frozen at `now` (the test's manual clock) for its timestamp tolerance check.
const VERIFY_PY: &str = r#"
import datetime as dt, hashlib, hmac, json, sys
import standardwebhooks.webhooks as sw

secret, headers, now = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
body = sys.stdin.buffer.read()

class Frozen(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime.fromtimestamp(now, tz=tz)
sw.datetime = Frozen

# Seed 001, Python client: verify_webhook(payload, signature, secret); checked when sent (a
# test leaves it out to check only the Standard Webhooks entry of a previous secret).
expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
if "x-payin-signature" in headers and not hmac.compare_digest(headers["x-payin-signature"], expected):
    sys.exit("X-PayIn-Signature mismatch")
try:
    sw.Webhook(secret).verify(body, headers)
except sw.WebhookVerificationError as e:
    sys.exit(f"standardwebhooks: {e}")
print("verified")
"#;

fn python_verifier_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = Command::new("python3")
            .args(["-c", "import standardwebhooks"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but the standardwebhooks Python package is missing: python3 -m pip install 'standardwebhooks==1.1.0'"
                );
            }
            let _ = std::io::stderr().write_all(
                b"SKIPPED: Python package standardwebhooks is missing (python3 -m pip install 'standardwebhooks==1.1.0'); \
                  signatures were not checked with it\n",
            );
        }
        ok
    })
}

/// `Ok` when Python accepts the delivery, else its reason; `None` when Python is unavailable.
fn python_verdict(secret: &str, r: &Received, now: i64) -> Option<Result<(), String>> {
    if !python_verifier_available() {
        return None;
    }
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut child = Command::new("python3")
        .args([
            "-c",
            VERIFY_PY,
            secret,
            &Value::Object(headers).to_string(),
            &now.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&r.body).unwrap();
    let out = child.wait_with_output().unwrap();
    Some(if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified");
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    })
}

// ---- helpers -------------------------------------------------------------------------------

async fn add_endpoint(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let (status, body) = app
        .post("/api/v1/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["data"]["id"].as_str().unwrap().to_string(),
        body["data"]["secret"].as_str().unwrap().to_string(),
    )
}

fn dispatcher(engine: &Arc<Engine>) -> Dispatcher {
    Dispatcher::new(engine.clone(), DispatcherOptions::default()).unwrap()
}

async fn run(engine: &Arc<Engine>) -> DispatchReport {
    dispatcher(engine).run_once().await.unwrap()
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/webhooks/deliveries{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["deliveries"].as_array().unwrap().clone()
}

/// Past every pending order's window and grace, then one maintenance pass: `order.expired`.
async fn expire_orders(app: &TestApp) {
    app.clock.advance(Duration::minutes(16));
    let report = app.engine.run_maintenance().await.unwrap();
    assert!(!report.expired_orders.is_empty());
}

async fn stored_payload(app: &TestApp, event_id: &str) -> String {
    const SQL: &str = "SELECT payload FROM events WHERE id = $1";
    let url = app.database_url();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar(SQL).bind(event_id).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(SQL).bind(event_id).fetch_one(&pool).await.unwrap()
    }
}

fn millis_between(from: &Value, to: &Value) -> i64 {
    let t = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    (t(to) - t(from)).num_milliseconds()
}

async fn reopen(app: &TestApp) -> Arc<Engine> {
    let mut options = EngineOptions::new(app.database_url());
    options.clock = app.clock.clone();
    options.config = payin_core::testing::every_chain_watched();
    // As the app's own engine: the receivers listen on 127.0.0.1.
    options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
    Arc::new(Engine::open(options).await.expect("engine reopens"))
}

// ---- scenarios -------------------------------------------------------------------------------

async fn delivers_the_stored_payload_signed_with_both_schemes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    app.import_evm(70, 2).await;
    let (endpoint_id, secret) = add_endpoint(&app, &receiver.url, &["order.created", "order.expired"]).await;
    let (status, order) = app.create_order("wh-signed-1", "25.00").await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    expire_orders(&app).await;

    let report = run(&app.engine).await;
    assert_eq!((report.attempted, report.succeeded), (2, 2), "{report:?}");
    let got = receiver.received();
    let now = app.clock.now().timestamp();
    let mut types = Vec::new();
    for r in &got {
        let event_id = r.event_id();
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            stored_payload(&app, &event_id).await,
            "the stored payload, byte for byte"
        );
        let (_, event) = app.get(&format!("/api/v1/events/{event_id}")).await;
        assert_eq!(r.json(), event["data"]);
        assert_eq!(r.json()["data"]["orderId"], order["data"]["orderId"]);
        types.push(r.json()["type"].as_str().unwrap().to_string());

        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("webhook-id"), event_id, "webhook-id is the event id");
        assert_eq!(r.header("webhook-timestamp"), now.to_string());
        assert_eq!(r.header("x-payin-signature"), seed_signature(&secret, &r.body));
        assert!(r.header("webhook-signature").starts_with("v1,"));
        assert_eq!(
            signature::verify(&secret, &r.body, r.headers.clone(), now, 300).map(|s| s.len()),
            Ok(2)
        );
        if let Some(verdict) = python_verdict(&secret, r, now) {
            verdict.unwrap();
        }
    }
    types.sort();
    assert_eq!(types, ["order.created", "order.expired"]);

    // The independent verifier can fail: a changed body, or a stale timestamp, is refused.
    let mut tampered = got[0].clone();
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("25.00", "2500.00")
        .into_bytes();
    if let Some(verdict) = python_verdict(&secret, &tampered, now) {
        assert!(verdict.unwrap_err().contains("X-PayIn-Signature mismatch"));
    }
    if let Some(verdict) = python_verdict(&secret, &got[0], now + 3600) {
        assert!(verdict.unwrap_err().contains("too old"));
    }

    let listed = deliveries(&app, &format!("?endpointId={endpoint_id}")).await;
    assert_eq!(listed.len(), 2);
    for d in &listed {
        assert_eq!(d["status"], "succeeded", "{d}");
        assert_eq!(d["attemptCount"], 1);
        assert_eq!(d["lastHttpStatus"], 200);
        assert_eq!(d["nextAttemptAt"], Value::Null);
        assert_eq!(d["deliveredAt"], payin_core::time::format(&app.clock.now()));
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(d["attempts"][0]["httpStatus"], 200);
        assert!(d["attempts"][0]["durationMs"].is_u64());
        assert!(d["id"].as_str().unwrap().starts_with("dlv_"));

        // The attempt lists the signature headers it was sent with: exactly what the receiver
        // got, and with the event's stored body they verify against the secret.
        let event_id = d["eventId"].as_str().unwrap();
        let sent: Vec<(String, String)> = d["attempts"][0]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(sent.len(), 4, "{sent:?}");
        let received = got.iter().find(|r| r.event_id() == event_id).unwrap();
        for (name, value) in &sent {
            assert_eq!(received.header(&name.to_ascii_lowercase()), value, "{name}");
        }
        let payload = stored_payload(&app, event_id).await;
        assert_eq!(
            signature::verify(&secret, payload.as_bytes(), sent.clone(), now, 300).map(|s| s.len()),
            Ok(2)
        );
        assert!(signature::verify("whsec_d3Jvbmc=", payload.as_bytes(), sent, now, 300).is_err());
    }
    assert_eq!(
        run(&app.engine).await,
        DispatchReport::default(),
        "nothing left to send"
    );
}

async fn failed_attempt_is_retried_after_five_seconds_and_every_attempt_is_listed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[Reply::Status(500)]).await;
    app.import_evm(71, 1).await;
    add_endpoint(&app, &receiver.url, &["order.created"]).await;
    app.create_order("wh-retry-1", "1").await;
    let first_at = app.clock.now();

    let report = run(&app.engine).await;
    assert_eq!((report.attempted, report.retrying), (1, 1), "{report:?}");
    let d = &deliveries(&app, "").await[0];
    assert_eq!(
        (d["status"].as_str(), d["attemptCount"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(d["lastHttpStatus"], 500);
    let wait = millis_between(&d["attempts"][0]["startedAt"], &d["nextAttemptAt"]);
    assert!((4500..=5500).contains(&wait), "5 s ± 10%, got {wait} ms");

    assert_eq!(run(&app.engine).await.attempted, 0, "not due yet");
    app.clock.advance(Duration::seconds(4));
    assert_eq!(run(&app.engine).await.attempted, 0, "4 s is before 5 s - 10%");
    app.clock.advance(Duration::seconds(2));
    let report = run(&app.engine).await;
    assert_eq!((report.attempted, report.succeeded), (1, 1), "{report:?}");

    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body, "the same bytes on every attempt");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].header("webhook-timestamp"), first_at.timestamp().to_string());
    assert_eq!(
        got[1].header("webhook-timestamp"),
        (first_at.timestamp() + 6).to_string(),
        "each attempt is signed at its own time"
    );
    let (status, body) = app.get("/api/v1/webhooks/deliveries?status=succeeded").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["pagination"]["total"], 1);
    let d = &body["data"]["deliveries"][0];
    assert_eq!(d["attemptCount"], 2);
    assert_eq!(d["lastHttpStatus"], 200);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a["attempt"].as_u64().unwrap(), a["httpStatus"].as_u64().unwrap()))
            .collect::<Vec<_>>(),
        [(1, 500), (2, 200)]
    );
    assert_eq!(attempts[0]["startedAt"], payin_core::time::format(&first_at));
    assert_eq!(
        millis_between(&attempts[0]["startedAt"], &attempts[1]["startedAt"]),
        6000
    );
    assert!(deliveries(&app, "?status=pending").await.is_empty());
}

async fn unreachable_endpoint_is_retried_on_schedule_then_given_up(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(72, 1).await;
    // Nothing listens on port 1: every attempt fails to connect.
    add_endpoint(&app, "http://127.0.0.1:1/hook", &["order.created"]).await;
    app.create_order("wh-unreachable-1", "1").await;
    let nominal = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];
    for attempt in 1..=10u32 {
        let report = run(&app.engine).await;
        assert_eq!(report.attempted, 1, "attempt {attempt}: {report:?}");
        let d = &deliveries(&app, "").await[0];
        assert_eq!(d["attemptCount"], attempt);
        let last = &d["attempts"][attempt as usize - 1];
        assert_eq!(last["httpStatus"], Value::Null);
        assert!(
            last["error"].as_str().unwrap().starts_with("connection failed"),
            "{last}"
        );
        if attempt == 10 {
            assert_eq!(report.gave_up, 1);
            assert_eq!(d["status"], "failed");
            assert_eq!(d["nextAttemptAt"], Value::Null);
            break;
        }
        assert_eq!(d["status"], "pending");
        let wait = millis_between(&last["startedAt"], &d["nextAttemptAt"]);
        let expected = nominal[attempt as usize - 1] * 1000;
        assert!(
            (expected * 9 / 10..=expected * 11 / 10).contains(&wait),
            "after attempt {attempt}: waited {wait} ms, schedule says {expected} ms ± 10%"
        );
        app.clock.advance(Duration::milliseconds(wait));
    }
    app.clock.advance(Duration::days(3));
    assert_eq!(run(&app.engine).await.attempted, 0, "given up for good");
}

async fn gone_endpoint_is_disabled_and_its_pending_deliveries_stop(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.put("/api/v1/config/pool_low_watermark", json!({"value": 0})).await;
    let receiver = Receiver::start(&[Reply::Status(410)]).await;
    app.import_evm(73, 2).await;
    let (endpoint_id, _) = add_endpoint(&app, &receiver.url, &[]).await;
    app.create_order("wh-gone-1", "1").await;
    expire_orders(&app).await;
    assert_eq!(deliveries(&app, "?status=pending").await.len(), 2);

    // One request at a time: the 410 answer to the first stops the second.
    let one_at_a_time = Dispatcher::new(
        app.engine.clone(),
        DispatcherOptions {
            concurrency: 1,
            ..DispatcherOptions::default()
        },
    )
    .unwrap();
    let report = one_at_a_time.run_once().await.unwrap();
    assert_eq!(
        report.endpoints_disabled,
        std::slice::from_ref(&endpoint_id),
        "{report:?}"
    );
    assert_eq!(report.attempted, 1);
    assert_eq!(receiver.received().len(), 1);

    let (_, endpoint) = app.get(&format!("/api/v1/webhooks/{endpoint_id}")).await;
    assert_eq!(endpoint["data"]["status"], "disabled");
    assert_eq!(endpoint["data"]["disabledReason"], "endpoint answered 410 Gone");
    assert_eq!(
        endpoint["data"]["disabledAt"],
        payin_core::time::format(&app.clock.now())
    );
    let all = deliveries(&app, "").await;
    assert!(all.iter().all(|d| d["status"] == "failed"), "{all:?}");
    let gone = all.iter().find(|d| d["attemptCount"] == 1).unwrap();
    assert_eq!(gone["lastHttpStatus"], 410);
    let stopped = all.iter().find(|d| d["attemptCount"] == 0).unwrap();
    assert!(stopped["lastError"].as_str().unwrap().contains("410 Gone"), "{stopped}");

    // Nothing new is queued for it, nor sent.
    app.create_order("wh-gone-2", "1").await;
    assert_eq!(deliveries(&app, "").await.len(), 2);
    app.clock.advance(Duration::days(2));
    assert_eq!(run(&app.engine).await.attempted, 0);
    assert_eq!(receiver.received().len(), 1);
    let (_, created) = app.get("/api/v1/events?type=order.created").await;
    let event_id = created["data"]["events"][0]["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{event_id}/resend"),
            json!({"endpointId": endpoint_id}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("endpointId"));
}

async fn resend_queues_a_new_delivery_with_the_same_webhook_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    let other = Receiver::start(&[]).await;
    app.import_evm(74, 1).await;
    let (first_id, _) = add_endpoint(&app, &receiver.url, &["order.created"]).await;
    let (second_id, _) = add_endpoint(&app, &other.url, &["order.created", "order.expired"]).await;
    let (expired_only, _) = add_endpoint(&app, &other.url, &["order.expired"]).await;
    app.create_order("wh-resend-1", "1").await;
    run(&app.engine).await;
    let (_, events) = app.get("/api/v1/events?type=order.created").await;
    let event_id = events["data"]["events"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(deliveries(&app, &format!("?eventId={event_id}")).await.len(), 2);

    // No body: to every active endpoint subscribed to order.created.
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/events/{event_id}/resend")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["eventId"], event_id.as_str());
    let queued = body["data"]["deliveries"].as_array().unwrap();
    let mut targets: Vec<&str> = queued.iter().map(|d| d["endpointId"].as_str().unwrap()).collect();
    targets.sort();
    let mut expected = [first_id.as_str(), second_id.as_str()];
    expected.sort();
    assert_eq!(targets, expected);
    assert!(
        queued
            .iter()
            .all(|d| d["status"] == "pending" && d["attemptCount"] == 0)
    );

    // With endpointId: that endpoint only.
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{event_id}/resend"),
            json!({"endpointId": first_id}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["data"]["deliveries"].as_array().unwrap().len(), 1);

    let report = run(&app.engine).await;
    assert_eq!((report.attempted, report.succeeded), (3, 3), "{report:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 3, "the original and two resends");
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == event_id && r.body == got[0].body)
    );
    assert_eq!(other.received().len(), 2);
    assert_eq!(deliveries(&app, &format!("?eventId={event_id}")).await.len(), 5);
    assert_eq!(
        deliveries(&app, &format!("?eventId={event_id}&endpointId={first_id}"))
            .await
            .len(),
        3
    );

    let (status, body) = app
        .post(
            &format!("/api/v1/events/{event_id}/resend"),
            json!({"endpointId": expired_only}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("endpointId"));
    assert!(body["message"].as_str().unwrap().contains("order.created"), "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/events/{event_id}/resend"),
            json!({"endpointId": "whe_nope"}),
        )
        .await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
    let (status, body) = app.post("/api/v1/events/evt_nope/resend", json!({})).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
}

async fn only_subscribed_event_types_are_delivered_and_never_retroactively(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.put("/api/v1/config/pool_low_watermark", json!({"value": 0})).await;
    app.import_evm(75, 3).await;
    app.create_order("wh-before-endpoints", "1").await;
    let expired_only = Receiver::start(&[]).await;
    let everything = Receiver::start(&[]).await;
    let (expired_id, _) = add_endpoint(&app, &expired_only.url, &["order.expired"]).await;
    let (all_id, _) = add_endpoint(&app, &everything.url, &[]).await;
    app.create_order("wh-after-endpoints", "1").await;
    assert_eq!(
        deliveries(&app, &format!("?endpointId={expired_id}")).await.len(),
        0,
        "order.created is not order.expired"
    );
    assert_eq!(
        deliveries(&app, &format!("?endpointId={all_id}")).await.len(),
        1,
        "only the order created after the endpoint"
    );
    expire_orders(&app).await;
    let (status, body) = app
        .post(
            "/api/v1/deposits/references",
            json!({"depositReference": "player-1", "currency": "USDT", "chainId": "ethereum"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    run(&app.engine).await;

    let types = |r: &Receiver| -> Vec<(String, String)> {
        let mut v: Vec<_> = r
            .received()
            .iter()
            .map(|x| {
                let j = x.json();
                let reference = j["data"]["orderReference"]
                    .as_str()
                    .or(j["data"]["depositReference"].as_str());
                (j["type"].as_str().unwrap().to_string(), reference.unwrap().to_string())
            })
            .collect();
        v.sort();
        v
    };
    let expired = |r: &str| ("order.expired".to_string(), r.to_string());
    assert_eq!(
        types(&expired_only),
        [expired("wh-after-endpoints"), expired("wh-before-endpoints")]
    );
    assert_eq!(
        types(&everything),
        [
            ("deposit.address_bound".to_string(), "player-1".to_string()),
            ("order.created".to_string(), "wh-after-endpoints".to_string()),
            expired("wh-after-endpoints"),
            expired("wh-before-endpoints"),
        ]
    );
    let (_, listed) = app.get("/api/v1/webhooks/deliveries?limit=2&page=2").await;
    assert_eq!(
        listed["data"]["pagination"],
        json!({"page": 2, "limit": 2, "total": 6, "totalPages": 3, "hasMore": true})
    );
}

async fn pending_delivery_survives_a_restart_and_an_interrupted_attempt_is_retried(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[Reply::Hang]).await;
    app.import_evm(76, 2).await;
    add_endpoint(&app, &receiver.url, &["order.created"]).await;
    app.create_order("wh-restart-1", "1").await;
    // The process "dies" mid-request: the pass is dropped while the receiver holds the request.
    let cut = tokio::time::timeout(StdDuration::from_millis(500), dispatcher(&app.engine).run_once()).await;
    assert!(cut.is_err(), "the receiver hangs");
    assert_eq!(receiver.received().len(), 1);
    // Queued while nothing is running.
    app.create_order("wh-restart-2", "1").await;

    let restarted = reopen(&app).await;
    let report = run(&restarted).await;
    assert_eq!(
        (report.attempted, report.succeeded),
        (1, 1),
        "the never-attempted delivery goes out; the interrupted one is still leased: {report:?}"
    );
    app.clock.advance(Duration::seconds(31));
    let report = run(&restarted).await;
    assert_eq!((report.attempted, report.succeeded), (1, 1), "{report:?}");
    assert_eq!(run(&restarted).await.attempted, 0);

    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].body, got[2].body, "the interrupted delivery was sent again");
    let listed = deliveries(&app, "").await;
    assert!(listed.iter().all(|d| d["status"] == "succeeded"), "{listed:?}");
    let interrupted = listed.iter().find(|d| d["attemptCount"] == 2).unwrap();
    let attempts = interrupted["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["httpStatus"], Value::Null);
    assert!(
        attempts[0]["error"].as_str().unwrap().starts_with("interrupted"),
        "{interrupted}"
    );
    assert_eq!(attempts[1]["httpStatus"], 200);
}

async fn replicas_never_send_the_same_attempt_twice(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    const N: u32 = 30;
    let receiver = Receiver::start_with_delay(&[], StdDuration::from_millis(20)).await;
    app.import_evm(77, N).await;
    add_endpoint(&app, &receiver.url, &["order.created"]).await;
    for i in 0..N {
        let (status, body) = app.create_order(&format!("wh-replica-{i}"), "1").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let replica = reopen(&app).await;
    let options = DispatcherOptions {
        concurrency: 4,
        ..DispatcherOptions::default()
    };
    let a = Dispatcher::new(app.engine.clone(), options.clone()).unwrap();
    let b = Dispatcher::new(replica, options).unwrap();
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.attempted + rb.attempted, N, "{ra:?} {rb:?}");
    let got = receiver.received();
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!((got.len(), ids.len()), (N as usize, N as usize));
    let (_, body) = app.get("/api/v1/webhooks/deliveries?status=succeeded&limit=100").await;
    let listed = body["data"]["deliveries"].as_array().unwrap();
    assert_eq!(listed.len(), N as usize);
    assert!(listed.iter().all(|d| d["attemptCount"] == 1));
}

async fn endpoints_are_listed_without_secrets_and_deleted_ones_disappear(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    let (status, body) = app
        .post(
            "/api/v1/webhooks",
            json!({
                "url": receiver.url,
                "events": ["order.completed", "deposit.confirmed", "order.completed"],
                "description": "  fulfilment service  ",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["data"];
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("whe_") && id.len() == 20, "{id}");
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(signature::standard_key(secret).unwrap().len(), 24, "{secret}");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["events"], json!(["order.completed", "deposit.confirmed"]));
    assert_eq!(created["description"], "fulfilment service");
    assert_eq!(created["status"], "active");
    assert_eq!(created["createdAt"], "2025-01-20T10:30:00.000Z");
    assert_eq!(created["disabledAt"], Value::Null);
    app.clock.advance(Duration::seconds(1));
    let (second, second_secret) = add_endpoint(&app, "https://shop.example/hooks/payin", &[]).await;
    assert_ne!(second_secret, secret);

    let (status, list) = app.get("/api/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    let listed = list["data"]["webhooks"].as_array().unwrap();
    assert_eq!(
        listed.iter().map(|w| w["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [second.as_str(), id.as_str()],
        "newest first"
    );
    assert!(listed.iter().all(|w| w.get("secret").is_none()), "{list}");
    assert_eq!(list["data"]["pagination"]["total"], 2);
    assert_eq!(listed[0]["events"], json!([]));
    let (status, one) = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one["data"].get("secret").is_none());
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(one["data"], expected);

    // A delivery queued before the delete is failed by it, and stays listed.
    app.import_evm(78, 1).await;
    app.create_order("wh-delete-1", "1").await;
    assert_eq!(deliveries(&app, &format!("?endpointId={second}")).await.len(), 1);
    let (status, deleted) = app.delete(&format!("/api/v1/webhooks/{second}")).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["data"]["status"], "disabled");
    assert_eq!(deleted["data"]["disabledReason"], "deleted");
    let (status, body) = app.get(&format!("/api/v1/webhooks/{second}")).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
    let (status, body) = app.delete(&format!("/api/v1/webhooks/{second}")).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
    let (_, list) = app.get("/api/v1/webhooks").await;
    assert_eq!(list["data"]["pagination"]["total"], 1);
    let kept = deliveries(&app, &format!("?endpointId={second}")).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["status"], "failed");
    assert!(kept[0]["lastError"].as_str().unwrap().contains("deleted"), "{kept:?}");
    app.create_order("wh-delete-2", "1").await;
    assert_eq!(
        run(&app.engine).await.attempted,
        0,
        "nothing goes to a deleted endpoint"
    );
}

async fn bad_webhook_input_names_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let url = "https://shop.example/hook";
    for (body, field) in [
        (json!({}), "url"),
        (json!({"url": 5}), "url"),
        (json!({"url": ""}), "url"),
        (json!({"url": "shop.example/hook"}), "url"),
        (json!({"url": "ftp://shop.example/hook"}), "url"),
        (json!({"url": "http://shop.example/hook"}), "url"),
        (
            json!({"url": format!("https://shop.example/{}", "a".repeat(2100))}),
            "url",
        ),
        (json!({"url": url, "events": "order.created"}), "events"),
        (json!({"url": url, "events": ["order.paid"]}), "events[0]"),
        (json!({"url": url, "events": ["order.created", 7]}), "events[1]"),
        (json!({"url": url, "description": "d".repeat(501)}), "description"),
        (json!({"url": url, "secret": "whsec_mine"}), "secret"),
    ] {
        let (status, resp) = app.post("/api/v1/webhooks", body.clone()).await;
        assert_error(status, &resp, 400, "VALIDATION_ERROR", Some(field));
    }
    let (status, resp) = app
        .send(
            app.client
                .post(app.url("/api/v1/webhooks"))
                .bearer_auth(&app.key)
                .header("content-type", "application/json")
                .body("{\"url\": "),
        )
        .await;
    assert_error(status, &resp, 400, "VALIDATION_ERROR", Some("body"));
    let (_, list) = app.get("/api/v1/webhooks").await;
    assert_eq!(list["data"]["pagination"]["total"], 0, "no partial write");

    for (path, field) in [
        ("/api/v1/webhooks?limit=0", "limit"),
        ("/api/v1/webhooks?page=x", "page"),
        ("/api/v1/webhooks/deliveries?status=done", "status"),
        ("/api/v1/webhooks/deliveries?limit=101", "limit"),
    ] {
        let (status, resp) = app.get(path).await;
        assert_error(status, &resp, 400, "VALIDATION_ERROR", Some(field));
    }
    let (status, resp) = app.get("/api/v1/webhooks/whe_nope").await;
    assert_error(status, &resp, 404, "NOT_FOUND", None);
    let (status, resp) = app.delete("/api/v1/webhooks/whe_nope").await;
    assert_error(status, &resp, 404, "NOT_FOUND", None);

    app.import_evm(79, 1).await;
    app.create_order("wh-bad-1", "1").await;
    let (_, events) = app.get("/api/v1/events").await;
    let event_id = events["data"]["events"][0]["id"].as_str().unwrap().to_string();
    let resend = format!("/api/v1/events/{event_id}/resend");
    let (status, resp) = app.post(&resend, json!({"endpointId": 5})).await;
    assert_error(status, &resp, 400, "VALIDATION_ERROR", Some("endpointId"));
    let (status, resp) = app.post(&resend, json!({"endpoint": "whe_x"})).await;
    assert_error(status, &resp, 400, "VALIDATION_ERROR", Some("endpoint"));
    let (status, resp) = app
        .send(
            app.client
                .post(app.url(&resend))
                .bearer_auth(&app.key)
                .header("content-type", "text/plain")
                .body("endpointId=whe_x"),
        )
        .await;
    assert_error(status, &resp, 415, "VALIDATION_ERROR", Some("Content-Type"));
    let (status, resp) = app.send(app.client.post(app.url(&resend))).await;
    assert_error(status, &resp, 401, "UNAUTHORIZED", None);
    // An empty body with a JSON content type is "no body": resend to all (none here).
    let (status, resp) = app
        .send(
            app.client
                .post(app.url(&resend))
                .bearer_auth(&app.key)
                .header("content-type", "application/json"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{resp}");
    assert_eq!(resp["data"]["deliveries"], json!([]));
}

async fn a_rotated_secret_signs_beside_the_old_one_until_the_window_ends(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    app.import_evm(79, 3).await;
    let (endpoint_id, old_secret) = add_endpoint(&app, &receiver.url, &["order.created"]).await;

    let rotate = format!("/api/v1/webhooks/{endpoint_id}/rotate-secret");
    let (status, body) = app.post(&rotate, json!({"keepPreviousHours": 169})).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("keepPreviousHours"));
    let (status, body) = app.post("/api/v1/webhooks/whe_nope/rotate-secret", json!({})).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);

    let (status, rotated) = app.post(&rotate, json!({"keepPreviousHours": 2})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("whsec_") && new_secret != old_secret);
    assert_eq!(rotated["data"]["id"], endpoint_id.as_str());
    let until = rotated["data"]["previousSecretExpiresAt"].as_str().unwrap().to_string();
    assert_eq!(
        until,
        payin_core::time::format(&(app.clock.now() + chrono::Duration::hours(2)))
    );

    // Inside the window: the Standard Webhooks signature verifies with either secret (two
    // entries), the seed scheme with the new one.
    app.create_order("wh-rotate-1", "1").await;
    run(&app.engine).await;
    let now = app.clock.now().timestamp();
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2, "{:?}", r.headers);
    let standard_only: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "x-payin-signature")
        .cloned()
        .collect();
    for secret in [&old_secret, &new_secret] {
        assert_eq!(
            signature::verify(secret, &r.body, standard_only.clone(), now, 300),
            Ok(vec![signature::Scheme::StandardWebhooks])
        );
        if let Some(verdict) = python_verdict(
            secret,
            &Received {
                headers: standard_only.clone(),
                ..r.clone()
            },
            now,
        ) {
            verdict.unwrap();
        }
    }
    assert_eq!(r.header("x-payin-signature"), seed_signature(&new_secret, &r.body));

    // After the window: only the new secret signs.
    app.clock
        .advance(chrono::Duration::hours(2) + chrono::Duration::seconds(1));
    app.create_order("wh-rotate-2", "1").await;
    run(&app.engine).await;
    let got = receiver.received();
    let r = &got[1];
    let now = app.clock.now().timestamp();
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    assert!(signature::verify(&new_secret, &r.body, r.headers.clone(), now, 300).is_ok());
    assert!(signature::verify(&old_secret, &r.body, r.headers.clone(), now, 300).is_err());

    // keepPreviousHours 0: the old secret stops at once.
    let (_, again) = app.post(&rotate, json!({"keepPreviousHours": 0})).await;
    assert_eq!(again["data"]["previousSecretExpiresAt"], Value::Null);
    let newest = again["data"]["secret"].as_str().unwrap().to_string();
    app.create_order("wh-rotate-3", "1").await;
    run(&app.engine).await;
    let got = receiver.received();
    let r = &got[2];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    assert!(signature::verify(&newest, &r.body, r.headers.clone(), now, 300).is_ok());
    assert!(signature::verify(&new_secret, &r.body, r.headers.clone(), now, 300).is_err());
}
