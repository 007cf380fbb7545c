//! The engine's runtime: `Workers::start` runs the background workers until its token is
//! cancelled, on both backends.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use payin_core::event::EventType;
use payin_core::pool::ImportAddressesRequest;
use payin_core::runtime::{WorkerOptions, Workers};
use payin_core::testing::{Backend, evm_addresses, fresh_database};
use payin_core::{Engine, EngineOptions};

payin_core::on_both_backends!(
    workers_run_maintenance_until_stopped,
    cancelling_the_token_stops_every_worker
);

const TICK: Duration = Duration::from_millis(20);

async fn pool_low_events(engine: &Engine) -> usize {
    let page = engine.list_events(&Default::default()).await.unwrap();
    page.items.iter().filter(|e| e.event_type == EventType::PoolLow).count()
}

/// An engine watching no chain (so no scanner starts) with 2 pool addresses and a watermark
/// of 5: the first maintenance pass fires `pool.low`.
async fn low_pool_engine(url: &str) -> Arc<Engine> {
    let engine = Engine::open(EngineOptions::new(url)).await.unwrap();
    engine.set_config("pool_low_watermark", &json!(5)).await.unwrap();
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: evm_addresses(7, 2),
        })
        .await
        .unwrap();
    Arc::new(engine)
}

async fn workers_run_maintenance_until_stopped(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let engine = low_pool_engine(&db.url).await;
    assert_eq!(
        pool_low_events(&engine).await,
        0,
        "nothing runs before the workers start"
    );

    let workers = Workers::start(
        &engine,
        WorkerOptions {
            tick: TICK,
            ..WorkerOptions::default()
        },
        CancellationToken::new(),
    )
    .unwrap();
    let mut fired = 0;
    for _ in 0..250 {
        fired = pool_low_events(&engine).await;
        if fired > 0 {
            break;
        }
        tokio::time::sleep(TICK).await;
    }
    assert_eq!(fired, 1, "the maintenance worker fires pool.low once");
    tokio::time::timeout(Duration::from_secs(10), workers.stop())
        .await
        .expect("workers stop promptly")
        .unwrap();
}

async fn cancelling_the_token_stops_every_worker(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let engine = low_pool_engine(&db.url).await;
    let token = CancellationToken::new();
    let workers = Workers::start(
        &engine,
        WorkerOptions {
            tick: TICK,
            ..WorkerOptions::default()
        },
        token.clone(),
    )
    .unwrap();
    token.cancel();
    tokio::time::timeout(Duration::from_secs(10), workers.join())
        .await
        .expect("every worker ends once the token is cancelled")
        .unwrap();
}
