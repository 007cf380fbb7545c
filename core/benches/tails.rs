//! Issue 13 figures: amount-tail allocation of shared-address orders.
//!
//! `cargo bench -p payin-core --bench tails [-- ROUNDS]` (default 3 rounds). Per backend (SQLite;
//! PostgreSQL when PAYIN_TEST_POSTGRES_URL is set): 200 concurrent creations of the same amount
//! on ONE shared address (every creation after the first must find a free tail among the live
//! ones), on one engine and — the replicas case — split over two engines on the same database;
//! next to the control, the same burst of pool orders (no tails). Prints creations/s and
//! p50/p99/max latency, and checks every pay amount of a burst is distinct.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use payin_core::order::CreateOrderRequest;
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, fresh_database};
use payin_core::{Engine, EngineOptions};
use serde_json::json;

const BURST: usize = 200;
const SHOP: &str = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn engine(url: &str) -> Arc<Engine> {
    let engine = Engine::open(EngineOptions {
        config: payin_core::testing::every_chain_watched(),
        ..EngineOptions::new(url)
    })
    .await
    .expect("engine opens");
    engine.set_config("pool_low_watermark", &json!(0)).await.unwrap();
    Arc::new(engine)
}

/// `BURST` concurrent creations spread over `engines`: sorted latencies and wall time.
async fn burst(engines: &[Arc<Engine>], tag: &str, shared: bool) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let tasks = (0..BURST).map(|i| {
        let engine = engines[i % engines.len()].clone();
        let reference = format!("{tag}-{i}");
        tokio::spawn(async move {
            let t = Instant::now();
            let order = engine
                .create_order(CreateOrderRequest {
                    order_reference: reference,
                    amount: json!("10.00"),
                    currency: "USDT".into(),
                    chain_id: "ethereum".into(),
                    receive_address: shared.then(|| SHOP.to_string()),
                    ..Default::default()
                })
                .await
                .expect("served");
            (t.elapsed(), order.pay_amount.as_decimal().normalize())
        })
    });
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let wall = started.elapsed();
    if shared {
        let distinct: HashSet<_> = results.iter().map(|(_, p)| *p).collect();
        assert_eq!(distinct.len(), BURST, "two live orders got the same pay amount");
    }
    let mut latencies: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
    latencies.sort();
    (latencies, wall)
}

fn report(label: &str, (latencies, wall): &(Vec<Duration>, Duration)) {
    println!(
        "  {label}: {BURST} creations in {:.0} ms ({:.0}/s); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(*wall),
        BURST as f64 / wall.as_secs_f64(),
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
}

async fn backend_figures(backend: Backend, rounds: usize) {
    println!("{backend}:");
    for round in 0..rounds {
        // A fresh database per round, so every round starts from an address with no live tail.
        let Some(db) = fresh_database(backend).await else {
            return;
        };
        let one = engine(&db.url).await;
        one.import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: (0..BURST).map(|i| format!("0x{:040x}", i + 1)).collect(),
        })
        .await
        .unwrap();
        let two = engine(&db.url).await;
        println!(" round {}", round + 1);
        report(
            "shared address, one engine (tails 0..199)",
            &burst(std::slice::from_ref(&one), &format!("s{round}"), true).await,
        );
        report(
            "shared address, two engines (tails 200..399)",
            &burst(&[one.clone(), two.clone()], &format!("r{round}"), true).await,
        );
        report(
            "control: pool orders, one engine",
            &burst(std::slice::from_ref(&one), &format!("p{round}"), false).await,
        );
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        backend_figures(Backend::Sqlite, rounds).await;
        backend_figures(Backend::Postgres, rounds).await;
    });
}
