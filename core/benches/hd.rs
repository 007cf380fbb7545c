//! Issue 11 figures: HD derivation rate, and pool top-up latency under a burst of creations.
//!
//! `cargo bench -p payin-core --bench hd [-- ADDRESSES]` (default 20,000 derivations per
//! protocol). Prints addresses/s of public derivation (m/44'/coin'/0'/0/i from the account
//! xpub, to the address), then per backend (SQLite; PostgreSQL when PAYIN_TEST_POSTGRES_URL is
//! set): the latency of one top-up of 50 addresses, and 200 concurrent creations on a pool
//! of 50 that top-ups must refill during the burst, next to the same burst on a pool already
//! holding 250 (no top-up): wall time and p50/p99/max creation latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payin_core::chain::Protocol;
use payin_core::order::CreateOrderRequest;
use payin_core::pool::AddXpubRequest;
use payin_core::pool::hd::AccountKey;
use payin_core::testing::{Backend, fresh_database};
use payin_core::{Engine, EngineOptions};
use serde_json::json;

const EVM_ACCOUNT: &str =
    "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
const TRON_ACCOUNT: &str =
    "xpub6BuRy7ZmkGfP2RWhoor1kWB1w9DvrtmJbFBvnC1bQ4SB5NbCHTyQYCJSXZtxDbFyHTmC7wkU2he3nYYdpZ3Vf6qUAkXSnL6RPif4BDtDEKr";
const BURST: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn engine(url: &str, watermark: u32) -> Arc<Engine> {
    let engine = Engine::open(EngineOptions {
        config: payin_core::testing::every_chain_watched(),
        ..EngineOptions::new(url)
    })
    .await
    .expect("engine opens");
    engine
        .set_config("pool_low_watermark", &json!(watermark))
        .await
        .unwrap();
    Arc::new(engine)
}

async fn add_xpub(engine: &Engine) -> Duration {
    let started = Instant::now();
    engine
        .add_xpub(AddXpubRequest {
            protocol: "evm".into(),
            xpub: EVM_ACCOUNT.into(),
            start: None,
        })
        .await
        .unwrap();
    started.elapsed()
}

/// `BURST` concurrent creations; their latencies sorted, and the wall time.
async fn burst(engine: &Arc<Engine>, tag: &str) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let tasks = (0..BURST).map(|i| {
        let engine = engine.clone();
        let reference = format!("{tag}-{i}");
        tokio::spawn(async move {
            let t = Instant::now();
            engine
                .create_order(CreateOrderRequest {
                    order_reference: reference,
                    amount: json!("10"),
                    currency: "USDT".into(),
                    chain_id: "ethereum".into(),
                    ..Default::default()
                })
                .await
                .expect("served");
            t.elapsed()
        })
    });
    let mut latencies: Vec<Duration> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let wall = started.elapsed();
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

async fn backend_figures(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    println!("{backend}:");
    // Pool of 50 (watermark 25: top-ups bring it to 50), then the burst.
    let e = engine(&db.url, 25).await;
    let added = add_xpub(&e).await;
    println!("  add xpub + first top-up of 50 addresses: {:.1} ms", ms(added));
    let hd = burst(&e, "hd").await;
    let pool = e
        .pool_status()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.protocol == Protocol::Evm)
        .unwrap();
    report("HD pool of 50, topped up in-line", &hd);
    println!(
        "    pool afterwards: {} assigned, {} available, {} derived in all",
        pool.assigned, pool.available, pool.total
    );
    // Top-up latency alone: 10 top-ups of 50 addresses each.
    let mut topups = Vec::new();
    for _ in 0..10 {
        let available = e.pool_status().await.unwrap()[0].available;
        let started = Instant::now();
        let t = e.top_up(Protocol::Evm, available + 50).await.unwrap();
        assert_eq!(t.added, 50);
        topups.push(started.elapsed());
    }
    topups.sort();
    println!(
        "  one top-up of 50 addresses (derive + insert + index, one transaction): median {:.1} ms, max {:.1} ms",
        ms(percentile(&topups, 0.5)),
        ms(*topups.last().unwrap())
    );

    // Control: the same burst on a pool that already holds enough.
    let Some(db2) = fresh_database(backend).await else {
        return;
    };
    let c = engine(&db2.url, 125).await;
    add_xpub(&c).await;
    report("control, pool of 250 (no top-up)", &burst(&c, "ctl").await);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: u32 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    for (protocol, xpub) in [(Protocol::Evm, EVM_ACCOUNT), (Protocol::Tron, TRON_ACCOUNT)] {
        let key = AccountKey::parse(protocol, "xpub", xpub).unwrap();
        let started = Instant::now();
        let mut last = String::new();
        for i in 0..n {
            last = key.derive(i).unwrap().unwrap();
        }
        let took = started.elapsed();
        println!(
            "derivation {protocol}: {n} addresses in {:.0} ms = {:.0} addresses/s (one core; last {last})",
            ms(took),
            f64::from(n) / took.as_secs_f64()
        );
    }
    backend_figures(Backend::Sqlite).await;
    backend_figures(Backend::Postgres).await;
}
