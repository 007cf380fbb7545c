//! `payin_client::Client` against the real server behaves like the engine it fronts: one scenario,
//! written against `&dyn Gateway`, run in-process and over HTTP, must give the same transcript.

mod common;

use common::TestApp;
use payin_client::Client;
use payin_core::deposit::BindProtocolRequest;
use payin_core::engine::{EventListQuery, OrderListQuery};
use payin_core::error::InvalidCode;
use payin_core::order::CreateOrderRequest;
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, evm_addresses};
use payin_types::{Error, Gateway};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use payin_client::{Backoff, ClientOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

payin_core::on_both_backends!(
    client_and_engine_give_the_same_results,
    a_create_retried_after_a_dropped_response_returns_the_first_order,
    both_base_url_forms_work_against_the_app,
    list_all_walks_every_page,
);

async fn client_and_engine_give_the_same_results(backend: Backend) {
    // Each side gets its own fresh database and the same manual clock, so ids aside, they
    // must agree value for value (timestamps included).
    let Some(in_process) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(remote) = TestApp::spawn(backend).await else {
        return;
    };
    let client = Client::new(&remote.base, remote.key.clone()).expect("valid base URL");

    let engine_transcript = scenario(in_process.engine.as_ref()).await;
    let client_transcript = scenario(&client).await;
    assert_eq!(engine_transcript.len(), client_transcript.len());
    for ((step, engine), (_, client)) in engine_transcript.iter().zip(&client_transcript) {
        assert_eq!(engine, client, "step {step}: engine and client differ");
    }

    // The client also refuses a wrong key the way the engine's authentication does.
    let stranger = Client::new(&remote.base, "pk_not_a_real_key").unwrap();
    let err = stranger.pool_status().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

fn order_request(reference: &str, amount: &str, currency: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!(amount),
        currency: currency.into(),
        chain_id: "ethereum".into(),
        ..CreateOrderRequest::default()
    }
}

/// A value as JSON with the members that differ between two databases (random ids, the
/// server's own URL) removed.
fn redacted(value: &impl Serialize) -> Value {
    const RANDOM: [&str; 4] = ["orderId", "paymentUrl", "id", "address"];
    let mut v = serde_json::to_value(value).unwrap();
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !RANDOM.contains(&k.as_str()));
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// An error as a caller can observe it: variant code, field, message, and the winner's id.
fn observed(e: &Error) -> Value {
    let mut v = json!({"code": e.code(), "message": e.to_string()});
    if let Error::Invalid { field, .. } = e {
        v["field"] = json!(field);
    }
    v
}

/// Drives `g` through orders, a deposit binding, the pool, config and events, asserting what
/// must hold on any gateway, and returns what it saw for comparison across gateways.
async fn scenario(g: &dyn Gateway) -> Vec<(&'static str, Value)> {
    let mut seen = Vec::new();
    let addresses = evm_addresses(7, 3);

    let imported = g
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: addresses.clone(),
        })
        .await
        .unwrap();
    assert_eq!(imported.imported, 3);
    seen.push(("import", redacted(&imported)));

    let order = g.create_order(order_request("inv-1", "100.00", "USDT")).await.unwrap();
    assert_eq!(order.amount.to_string(), "100.00", "the merchant's scale is kept");
    assert!(addresses.contains(&order.address), "{}", order.address);
    seen.push(("create", redacted(&order)));

    assert_eq!(g.get_order(&order.order_id).await.unwrap(), order);
    assert_eq!(g.get_order_by_reference("inv-1").await.unwrap(), order);

    let other = g.create_order(order_request("inv-2", "5.5", "USDC")).await.unwrap();
    let usdt = g
        .list_orders(&OrderListQuery {
            currency: Some("USDT".into()),
            ..OrderListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        usdt.items,
        vec![order.clone()],
        "the USDC order {} is filtered out",
        other.order_id
    );
    assert_eq!(usdt.pagination.total, 1);
    seen.push((
        "list USDT",
        json!({"orders": redacted(&usdt.items), "pagination": usdt.pagination}),
    ));

    let dup = g
        .create_order(order_request("inv-1", "1.00", "USDT"))
        .await
        .unwrap_err();
    match &dup {
        Error::DuplicateOrderReference {
            reference,
            existing_order_id,
        } => {
            assert_eq!(reference, "inv-1");
            assert_eq!(existing_order_id, &order.order_id, "names the winner");
        }
        other => panic!("expected DuplicateOrderReference, got {other:?}"),
    }
    seen.push(("duplicate", observed(&dup)));

    // Ethereum USDT has 6 decimals.
    let precise = g
        .create_order(order_request("inv-3", "1.1234567", "USDT"))
        .await
        .unwrap_err();
    assert!(
        matches!(&precise, Error::Invalid { code: InvalidCode::Amount, field, .. } if field == "amount"),
        "{precise:?}"
    );
    assert_eq!(precise.code(), "INVALID_AMOUNT");
    seen.push(("over-precise amount", observed(&precise)));

    let missing = g.get_order("ord_doesnotexist").await.unwrap_err();
    assert!(
        matches!(missing, Error::OrderNotFound(ref id) if id == "ord_doesnotexist"),
        "{missing:?}"
    );
    seen.push(("missing order", observed(&missing)));

    let bound = g
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "user-42".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    assert!(addresses.contains(&bound.address), "{}", bound.address);
    assert!(bound.monitored_chains.iter().any(|c| c == "ethereum"));
    seen.push(("bind protocol", redacted(&bound)));

    let missing_ref = g.get_deposit_reference("nobody").await.unwrap_err();
    assert_eq!(missing_ref.code(), "DEPOSIT_REFERENCE_NOT_FOUND");
    seen.push(("missing deposit reference", observed(&missing_ref)));

    let pools = g.pool_status().await.unwrap();
    let evm = pools.iter().find(|p| p.protocol.as_str() == "evm").unwrap();
    assert_eq!((evm.available, evm.assigned), (0, 3));
    seen.push(("pool", redacted(&pools)));

    let exhausted = g
        .create_order(order_request("inv-4", "1.00", "USDT"))
        .await
        .unwrap_err();
    assert_eq!(exhausted.code(), "NO_AVAILABLE_ADDRESSES");
    seen.push(("pool exhausted", observed(&exhausted)));

    let settings = g.set_config("payment_window_minutes", &json!(15)).await.unwrap();
    assert_eq!(settings.payment_window_minutes, 15);
    assert_eq!(g.get_config().await.unwrap(), settings);
    seen.push(("config", redacted(&settings)));

    let bad_key = g.set_config("no_such_setting", &json!(1)).await.unwrap_err();
    seen.push(("unknown config key", observed(&bad_key)));

    let events = g.list_events(&EventListQuery::default()).await.unwrap();
    assert!(!events.items.is_empty());
    let first = g.get_event(&events.items[0].id).await.unwrap();
    assert_eq!(first, events.items[0]);
    let types: Vec<&str> = events.items.iter().map(|e| e.event_type.as_str()).collect();
    seen.push(("events", json!({"types": types, "pagination": events.pagination})));

    let chains = g.list_chains().await.unwrap();
    assert!(chains.iter().any(|c| c.chain_id == "ethereum"));
    seen.push(("chains", redacted(&chains)));

    seen
}

/// Reads one HTTP/1.1 message (head and a `Content-Length` body) from `socket`; `None` when the
/// peer closes first.
async fn read_message(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(buf);
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Test double of a flaky network between the client and the real app: on its first connection
/// it forwards the request, lets the app answer in full, and then hangs up on the client without
/// passing the answer on (kept in `dropped`); later connections pass through untouched.
struct DroppingProxy {
    base: String,
    dropped: Arc<Mutex<Option<String>>>,
}

impl DroppingProxy {
    async fn start(upstream: &str) -> DroppingProxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dropped = Arc::new(Mutex::new(None));
        let seen = dropped.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut app = TcpStream::connect(&upstream).await.unwrap();
                if std::mem::take(&mut first) {
                    let Some(request) = read_message(&mut client).await else {
                        continue;
                    };
                    app.write_all(&request).await.unwrap();
                    let answer = read_message(&mut app).await.expect("the app answers");
                    *seen.lock().unwrap() = Some(String::from_utf8_lossy(&answer).to_string());
                    drop(client);
                } else {
                    tokio::spawn(async move {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut app).await;
                    });
                }
            }
        });
        DroppingProxy { base, dropped }
    }
}

fn quick_retries(base: &str, key: &str) -> Client {
    Client::from_options(ClientOptions {
        api_key: Some(key.into()),
        base_url: Some(base.into()),
        backoff: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            ..Backoff::default()
        },
        ..ClientOptions::default()
    })
    .unwrap()
}

async fn a_create_retried_after_a_dropped_response_returns_the_first_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(11, 3).await;
    let proxy = DroppingProxy::start(&app.base).await;
    let client = quick_retries(&proxy.base, &app.key);

    let order = client
        .create_order(order_request("RETRY-1", "25.00", "USDT"))
        .await
        .expect("the retry gets the first answer, not DUPLICATE_ORDER_REFERENCE");

    // The app did create an order on the first attempt; its answer never reached the client.
    let dropped = proxy
        .dropped
        .lock()
        .unwrap()
        .clone()
        .expect("the first answer was dropped");
    assert!(dropped.starts_with("HTTP/1.1 201"), "{dropped}");
    let first_body: Value = serde_json::from_str(dropped.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(order.order_id, first_body["data"]["orderId"].as_str().unwrap());
    let all = client.list_orders(&OrderListQuery::default()).await.unwrap();
    assert_eq!(all.pagination.total, 1, "one order, not two");
    assert_eq!(all.items, vec![order]);
}

async fn both_base_url_forms_work_against_the_app(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for base in [
        app.base.clone(),
        format!("{}/", app.base),
        format!("{}/api/v1", app.base),
        format!("{}/api/v1/", app.base),
    ] {
        let client = Client::new(&base, app.key.clone()).unwrap();
        let chains = client.list_chains().await.unwrap_or_else(|e| panic!("{base}: {e}"));
        assert!(chains.iter().any(|c| c.chain_id == "ethereum"), "{base}");
        let missing = client.get_order("ord_nothere").await.unwrap_err();
        assert_eq!(
            (missing.code(), missing.status_code()),
            ("ORDER_NOT_FOUND", Some(404)),
            "{base}"
        );
    }
}

async fn list_all_walks_every_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(12, 5).await;
    let client = Client::new(&app.base, app.key.clone()).unwrap();
    let mut created = Vec::new();
    for i in 0..5 {
        let order = client
            .create_order(order_request(&format!("PAGE-{i}"), "1.00", "USDT"))
            .await
            .unwrap();
        created.push(order.order_id);
    }
    let query = OrderListQuery {
        limit: Some("2".into()),
        sort_order: Some("asc".into()),
        ..OrderListQuery::default()
    };
    let pages: Vec<_> = client.pages(query.clone()).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [2, 2, 1],
        "three pages of at most two"
    );
    let walked: Vec<String> = client
        .list_all(query)
        .map_ok(|o| o.order_id)
        .try_collect()
        .await
        .unwrap();
    let mut expected = created.clone();
    expected.sort();
    let mut got = walked.clone();
    got.sort();
    assert_eq!(got, expected, "every order once");
    assert_eq!(walked.len(), 5);
    // Any list query walks the same way, e.g. the events those orders wrote.
    let events: Vec<_> = client
        .list_all(EventListQuery {
            limit: Some("3".into()),
            ..EventListQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(events.len() >= 5, "{}", events.len());
}
