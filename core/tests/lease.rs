//! One watcher per chain across replicas: the watcher lease in the store, and engines sharing a
//! database of which only the lease holder scans, on both backends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use payin_core::chain::Currency;
use payin_core::chain::lease::{LeaseClaim, LeaseOptions, WatcherProgress};
use payin_core::engine::DepositListQuery;
use payin_core::pool::ImportAddressesRequest;
use payin_core::runtime::{WorkerOptions, Workers};
use payin_core::store::Store;
use payin_core::testing::{Backend, evm_addresses, fresh_database, local_chain_config};
use payin_core::{Engine, EngineOptions};
use tokio_util::sync::CancellationToken;

payin_core::on_both_backends!(
    a_lease_has_one_holder_until_it_expires,
    a_released_lease_is_taken_at_once,
    the_holder_publishes_its_progress_for_every_replica,
    only_the_lease_holder_scans_and_another_replica_takes_over_when_it_stops,
);

async fn store(url: &str) -> Box<dyn Store> {
    let store = payin_core::store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn claim(store: &dyn Store, holder: &str, ttl_ms: u64, progress: &WatcherProgress) -> bool {
    store
        .claim_watcher_lease(&LeaseClaim {
            chain_id: "polygon",
            holder,
            ttl: Duration::from_millis(ttl_ms),
            progress,
        })
        .await
        .unwrap()
}

async fn a_lease_has_one_holder_until_it_expires(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let store = store(&db.url).await;
    let none = WatcherProgress::default();
    assert!(claim(&*store, "r1", 600, &none).await, "a free lease is taken");
    assert!(!claim(&*store, "r2", 600, &none).await, "a live lease is not taken");
    assert!(claim(&*store, "r1", 600, &none).await, "its holder renews it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(claim(&*store, "r1", 600, &none).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !claim(&*store, "r2", 600, &none).await,
        "renewed 400 ms ago: still live"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        claim(&*store, "r2", 600, &none).await,
        "expired: another replica takes it"
    );
    assert!(!claim(&*store, "r1", 600, &none).await, "the old holder lost it");
    let records = store.watcher_leases().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].holder.as_str(), records[0].live), ("r2", true));
}

async fn a_released_lease_is_taken_at_once(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let store = store(&db.url).await;
    let none = WatcherProgress::default();
    assert!(claim(&*store, "r1", 60_000, &none).await);
    store.release_watcher_lease("polygon", "r2").await.unwrap();
    assert!(
        !claim(&*store, "r2", 60_000, &none).await,
        "only the holder releases its lease"
    );
    store.release_watcher_lease("polygon", "r1").await.unwrap();
    assert!(!store.watcher_leases().await.unwrap()[0].live);
    assert!(claim(&*store, "r2", 60_000, &none).await);
}

async fn the_holder_publishes_its_progress_for_every_replica(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let store = store(&db.url).await;
    let progress = WatcherProgress {
        head: Some(42),
        last_success_age: Some(Duration::from_millis(1_500)),
        last_error: Some("rpc: every RPC URL failed: http://127.0.0.1:9: connection refused".into()),
        last_error_age: Some(Duration::from_millis(100)),
    };
    assert!(claim(&*store, "r1", 5_000, &progress).await);
    // A claim that fails publishes nothing.
    let other = WatcherProgress {
        head: Some(7),
        ..WatcherProgress::default()
    };
    assert!(!claim(&*store, "r2", 5_000, &other).await);

    let record = store.watcher_leases().await.unwrap().remove(0);
    assert_eq!((record.chain_id.as_str(), record.holder.as_str()), ("polygon", "r1"));
    assert_eq!(record.head, Some(42));
    assert_eq!(record.cursor, None, "never scanned");
    let age = record.last_success_age.unwrap();
    assert!(
        age >= Duration::from_millis(1_400) && age < Duration::from_secs(5),
        "{age:?}"
    );
    assert!(record.last_success_at.is_some());
    assert_eq!(record.last_error, progress.last_error);
    assert!(record.last_error_at.unwrap() > record.last_success_at.unwrap());

    // A renewal without a newer success keeps the published one.
    let later = WatcherProgress {
        last_success_age: None,
        ..progress.clone()
    };
    assert!(claim(&*store, "r1", 5_000, &later).await);
    let record = store.watcher_leases().await.unwrap().remove(0);
    assert!(record.last_success_age.is_some());
}

/// Two engines (replicas `r1` and `r2`) on one database watch one anvil chain: one holds the
/// chain's lease and scans, the other never calls its RPC URL until the holder stops; then it
/// takes over and sees the next payment.
async fn only_the_lease_holder_scans_and_another_replica_takes_over_when_it_stops(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let Some(chain) = payin_core::testing::anvil_with_tokens().await else {
        return;
    };
    let open = |replica: &str| {
        let mut options = EngineOptions::new(db.url.clone());
        options.config = local_chain_config(&chain);
        options.replica_id = replica.to_string();
        async move { Arc::new(Engine::open(options).await.unwrap()) }
    };
    let (r1, r2) = (open("r1").await, open("r2").await);
    r1.import_addresses(ImportAddressesRequest {
        protocol: "evm".into(),
        addresses: evm_addresses(11, 2),
    })
    .await
    .unwrap();
    let bound = r1
        .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
            deposit_reference: "user-1".into(),
            protocol: "evm".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let to: Address = bound.address.parse().unwrap();
    let options = WorkerOptions {
        tick: Duration::from_millis(50),
        lease: LeaseOptions {
            ttl: Duration::from_millis(800),
            renew_every: Duration::from_millis(100),
        },
    };
    let w1 = Workers::start(&r1, options.clone(), CancellationToken::new()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w2 = Workers::start(&r2, options.clone(), CancellationToken::new()).unwrap();

    let usdt = chain.token(Currency::Usdt).address;
    chain.transfer(usdt, to, U256::from(1_000_000u64)).await.unwrap();
    wait_for_deposits(&r2, 1).await;
    for (engine, holds) in [(&r1, true), (&r2, false)] {
        let health = engine.health().await;
        let local = &health.chains[0];
        assert_eq!(local.lease_holder.as_deref(), Some("r1"), "{health:?}");
        assert_eq!(local.lease_held_here, holds, "{health:?}");
        assert!(!local.stalled, "{health:?}");
        assert_eq!(health.status, "healthy", "{health:?}");
    }
    assert_eq!(
        r2.chain_status().progress("local").last_success_age,
        None,
        "the replica without the lease never scanned"
    );

    // The holder stops (and releases its lease): the other replica takes over at once.
    w1.stop().await.unwrap();
    let stopped = Instant::now();
    chain.transfer(usdt, to, U256::from(2_000_000u64)).await.unwrap();
    wait_for_deposits(&r2, 2).await;
    assert!(stopped.elapsed() < Duration::from_secs(5), "{:?}", stopped.elapsed());
    let health = r2.health().await;
    assert_eq!(health.chains[0].lease_holder.as_deref(), Some("r2"), "{health:?}");
    assert!(health.chains[0].lease_held_here);
    w2.stop().await.unwrap();
}

async fn wait_for_deposits(engine: &Engine, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = engine.list_deposits(&DepositListQuery::default()).await.unwrap();
        if page.pagination.total >= n {
            assert_eq!(page.pagination.total, n);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} deposits seen",
            page.pagination.total
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
