//! Chain-side figures for BENCHMARKS.md, on a real anvil chain and a real webhook receiver:
//!
//! - detection latency: block mined → `deposit.pending` webhook received (p50 / p99);
//! - scan throughput: blocks/s while the watcher catches up over a backlog;
//! - webhook delivery throughput to a local receiver.
//!
//! `cargo bench -p payin-http --bench chain [-- PAYMENTS BACKLOG_BLOCKS DELIVERIES]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use payin_core::chain::Currency;
use payin_core::chain::scanner::{ScanOptions, Scanner};
use payin_core::clock::SystemClock;
use payin_core::deposit::BindProtocolRequest;
use payin_core::pool::ImportAddressesRequest;
use payin_core::webhook::CreateWebhookRequest;
use payin_core::webhook::dispatch::{Dispatcher, DispatcherOptions};
use payin_core::{Engine, EngineOptions};
use serde_json::Value;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A receiver noting when each `deposit.pending` (by tx hash) first arrived; counts all.
async fn receiver(arrivals: Arrivals, count: Arc<Mutex<u64>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let (arrivals, count) = (arrivals.clone(), count.clone());
            async move {
                let now = Instant::now();
                *count.lock().unwrap() += 1;
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                if event["type"] == "deposit.pending"
                    && let Some(tx) = event["data"]["txHash"].as_str()
                {
                    arrivals.lock().unwrap().entry(tx.to_string()).or_insert(now);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let payments = args.first().copied().unwrap_or(100);
    let backlog = args.get(1).copied().unwrap_or(10_000);
    let deliveries = args.get(2).copied().unwrap_or(2_000);

    let chain = payin_core::testing::anvil_with_tokens()
        .await
        .expect("anvil (run `npm ci`)");
    let db = payin_core::testing::fresh_database(payin_core::testing::Backend::Sqlite)
        .await
        .unwrap();
    let mut options = EngineOptions::new(db.url.clone());
    options.clock = Arc::new(SystemClock);
    options.config = payin_core::testing::local_chain_config(&chain);
    // The receivers listen on 127.0.0.1, which the SSRF guard refuses unless allowed.
    options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: payin_core::testing::evm_addresses(3, 10),
        })
        .await
        .unwrap();
    let arrivals: Arrivals = Arc::default();
    let count = Arc::new(Mutex::new(0u64));
    let url = receiver(arrivals.clone(), count.clone()).await;
    engine
        .create_webhook_endpoint(CreateWebhookRequest {
            url,
            events: Some(vec!["deposit.pending".into()]),
            description: None,
        })
        .await
        .unwrap();
    let bound = engine
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "bench".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    let to = bound.address.parse().unwrap();
    let usdt = chain.token(Currency::Usdt).clone();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watchers = payin_core::chain::watcher::spawn_watchers(&engine, Default::default(), stopped.clone()).unwrap();
    let dispatcher = Arc::new(Dispatcher::new(engine.clone(), DispatcherOptions::default()).unwrap());
    tokio::spawn(dispatcher.clone().run(stopped.clone()));

    // Detection latency: the transfer call returns once its block is mined (automine).
    let mut latencies = Vec::new();
    for i in 0..payments {
        let sent = chain
            .transfer(usdt.address, to, alloy_primitives::U256::from(1_000 + i))
            .await
            .unwrap();
        let mined = Instant::now();
        let tx = sent.tx_hash.to_string();
        let deadline = mined + Duration::from_secs(10);
        loop {
            if let Some(at) = arrivals.lock().unwrap().get(&tx) {
                latencies.push(at.saturating_duration_since(mined));
                break;
            }
            assert!(Instant::now() < deadline, "no webhook for {tx}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    println!(
        "detection latency (block mined -> deposit.pending webhook received), {payments} payments: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99)
    );
    let _ = stop.send(true);
    for w in watchers {
        let _ = w.await;
    }

    // Scan throughput: a backlog of empty blocks with a transfer every 100 blocks.
    let transfers = backlog / 100;
    for i in 0..transfers {
        chain.mine(99).await.unwrap();
        chain
            .transfer(usdt.address, to, alloy_primitives::U256::from(5_000 + i))
            .await
            .unwrap();
    }
    let network = engine.chains().get("local").unwrap().clone();
    let mut watcher = Scanner::new(
        engine.clone(),
        network,
        ScanOptions::for_network(engine.chains().get("local").unwrap()),
    )
    .unwrap()
    .unwrap();
    let started = Instant::now();
    let mut blocks = 0;
    loop {
        let report = watcher.pass().await.unwrap();
        if let Some((from, to)) = report.scanned {
            blocks += to - from + 1;
        }
        if report.caught_up {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "scan throughput: {blocks} blocks ({transfers} matched transfers) caught up in {secs:.2} s = {:.0} blocks/s",
        blocks as f64 / secs
    );

    // Webhook delivery throughput: a backlog of deliveries, then one dispatcher drains it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    drop(dispatcher);
    let order_count = Arc::new(Mutex::new(0u64));
    let url = receiver(Arc::default(), order_count.clone()).await;
    engine
        .create_webhook_endpoint(CreateWebhookRequest {
            url,
            events: Some(vec!["order.created".into()]),
            description: None,
        })
        .await
        .unwrap();
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: payin_core::testing::evm_addresses(4, deliveries as u32),
        })
        .await
        .unwrap();
    for i in 0..deliveries {
        engine
            .create_order(payin_core::order::CreateOrderRequest {
                order_reference: format!("bench-{i}"),
                amount: serde_json::json!("1"),
                currency: "USDT".into(),
                chain_id: "local".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let drain = Arc::new(Dispatcher::new(engine.clone(), DispatcherOptions::default()).unwrap());
    let started = Instant::now();
    tokio::spawn(drain.run(stopped));
    while *order_count.lock().unwrap() < deliveries {
        assert!(started.elapsed() < Duration::from_secs(120), "deliveries stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "webhook delivery throughput: {deliveries} signed deliveries in {secs:.2} s = {:.0} deliveries/s (concurrency {})",
        deliveries as f64 / secs,
        DispatcherOptions::default().concurrency
    );
    let _ = stop.send(true);
    drop(db);
}
