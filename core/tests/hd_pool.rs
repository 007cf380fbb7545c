//! Watch-only HD pools on both backends: top-ups under a burst of creations across two
//! replicas never derive an index twice nor assign an address twice; an address already in the
//! pool is not inserted again; `address_reuse = "never"` keeps an address watched for late
//! payments for `late_watch_days`, then retires it.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use payin_core::amount::AmountUnits;
use payin_core::chain::{Currency, Protocol};
use payin_core::clock::{Clock, ManualClock};
use payin_core::config::{AddressReuse, FileConfig};
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::pool::hd::AccountKey;
use payin_core::pool::{AddXpubRequest, ImportAddressesRequest};
use payin_core::settle::{Confirmation, ObservedTransfer, Scan};
use payin_core::testing::{Backend, fresh_database};
use payin_core::{Amount, Engine, EngineOptions, Error};

payin_core::on_both_backends!(
    burst_of_200_creations_on_an_hd_pool_of_50_never_assigns_an_address_twice,
    a_derived_address_already_in_the_pool_is_not_inserted_twice,
    never_reused_addresses_stay_watched_for_late_payments_then_retire,
);

const EVM_ACCOUNT: &str =
    "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";

async fn open(url: &str, clock: &Arc<ManualClock>, config: FileConfig) -> Engine {
    Engine::open(EngineOptions {
        clock: clock.clone(),
        config,
        ..EngineOptions::new(url)
    })
    .await
    .unwrap_or_else(|e| panic!("open engine on {url}: {e}"))
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap()))
}

fn order_request(reference: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!("10"),
        currency: "USDT".into(),
        chain_id: "ethereum".into(),
        ..Default::default()
    }
}

async fn add_evm_xpub(engine: &Engine) -> payin_core::pool::XpubKey {
    engine
        .add_xpub(AddXpubRequest {
            protocol: "evm".into(),
            xpub: EVM_ACCOUNT.into(),
            start: None,
        })
        .await
        .unwrap()
        .0
}

async fn evm_pool(engine: &Engine) -> payin_core::pool::PoolStatus {
    engine
        .pool_status()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.protocol == Protocol::Evm)
        .unwrap()
}

async fn burst_of_200_creations_on_an_hd_pool_of_50_never_assigns_an_address_twice(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let clock = clock();
    let a = Arc::new(open(&db.url, &clock, payin_core::testing::every_chain_watched()).await);
    let b = Arc::new(open(&db.url, &clock, payin_core::testing::every_chain_watched()).await);
    // Top-ups bring the pool to twice the watermark: 50 addresses when the key is added.
    a.set_config("pool_low_watermark", &json!(25)).await.unwrap();
    b.reload_settings().await.unwrap();
    add_evm_xpub(&a).await;
    assert_eq!(evm_pool(&a).await.total, 50);

    // 200 creations at once on two replicas: 150 of them can only be served by top-ups
    // (in-line, as creations find the pool empty), racing each other across the replicas.
    let creations = (0..200).map(|i| {
        let engine = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { engine.create_order(order_request(&format!("burst-{i}"))).await })
    });
    let orders: Vec<Order> = futures::future::join_all(creations)
        .await
        .into_iter()
        .map(|r| {
            r.expect("task")
                .expect("every creation is served while derivation is possible")
        })
        .collect();
    let addresses: HashSet<&str> = orders.iter().map(|o| o.address.as_str()).collect();
    assert_eq!(addresses.len(), 200, "an address was assigned twice");

    // Every index below nextIndex was derived exactly once: one pool row each, and the assigned
    // addresses are among them.
    let key = &a.list_xpubs().await.unwrap()[0];
    let pool = evm_pool(&a).await;
    assert_eq!(pool.assigned, 200);
    assert_eq!(
        pool.total,
        u64::from(key.next_index),
        "an index was derived twice or lost"
    );
    let account = AccountKey::parse(Protocol::Evm, "xpub", EVM_ACCOUNT).unwrap();
    let derived: HashSet<String> = (0..key.next_index)
        .map(|i| account.derive(i).unwrap().unwrap())
        .collect();
    assert!(orders.iter().all(|o| derived.contains(&o.address)));
    assert!(pool.total >= 200 && pool.total <= 200 + 2 * 50 + 20, "{pool:?}");

    // Maintenance keeps the pool above its watermark.
    a.run_maintenance().await.unwrap();
    assert!(evm_pool(&a).await.available >= 25);
}

async fn a_derived_address_already_in_the_pool_is_not_inserted_twice(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let clock = clock();
    let engine = open(&db.url, &clock, payin_core::testing::every_chain_watched()).await;
    engine.set_config("pool_low_watermark", &json!(10)).await.unwrap();
    let account = AccountKey::parse(Protocol::Evm, "xpub", EVM_ACCOUNT).unwrap();
    // The wallet's first five addresses were imported by hand before.
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: (0..5)
                .map(|i| account.derive(i).unwrap().unwrap().to_lowercase())
                .collect(),
        })
        .await
        .unwrap();
    let key = add_evm_xpub(&engine).await;
    let pool = evm_pool(&engine).await;
    // Target 20 available: 5 imported + 15 derived new, the 5 imported indices spent too.
    assert_eq!((pool.available, pool.total), (20, 20));
    assert_eq!(key.next_index, 20);
}

// ---- address_reuse = "never" -------------------------------------------------------------

fn transfer(to: &str, tx: u64, block: u64, at: payin_core::time::Timestamp) -> ObservedTransfer {
    let units = Amount::parse_positive("amount", "10")
        .unwrap()
        .to_base_units(6)
        .unwrap();
    ObservedTransfer {
        chain_id: "ethereum".into(),
        tx_hash: format!("0x{tx:064x}"),
        log_index: 0,
        block_number: block,
        block_hash: format!("0x{block:064x}"),
        block_time: at,
        token: "0xdAC17F958D2ee523a2206206994597C13D831ec7".into(),
        currency: Currency::Usdt,
        from: format!("0x{:040x}", 0xf0),
        to: to.into(),
        amount: ObservedTransfer::amount_from_units(units, 6).unwrap(),
    }
}

fn scan(
    blocks: std::ops::RangeInclusive<u64>,
    at: payin_core::time::Timestamp,
    now: payin_core::time::Timestamp,
    t: &[&ObservedTransfer],
) -> Scan {
    Scan {
        chain_id: "ethereum".into(),
        from: *blocks.start(),
        to: *blocks.end(),
        to_hash: format!("0x{:064x}", blocks.end()),
        to_time: at,
        transfers: t.iter().map(|&t| t.clone()).collect(),
        now,
    }
}

async fn never_reused_addresses_stay_watched_for_late_payments_then_retire(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let clock = clock();
    let mut config = payin_core::testing::every_chain_watched();
    config.pool.evm.address_reuse = AddressReuse::Never;
    config.pool.evm.late_watch_days = 2;
    let e = open(&db.url, &clock, config).await;
    e.set_config("pool_low_watermark", &json!(0)).await.unwrap();
    let address = "0x00000000000000000000000000000000000000A1".to_string();
    e.import_addresses(ImportAddressesRequest {
        protocol: "evm".into(),
        addresses: vec![address.clone()],
    })
    .await
    .unwrap();
    let store = e.chain_store();

    // An order is paid and completes.
    let t0 = clock.now();
    let o = e.create_order(order_request("never-1")).await.unwrap();
    let o_address = o.address.clone();
    clock.advance(Duration::minutes(1));
    let pay = transfer(&o_address, 1, 101, t0 + Duration::seconds(30));
    store
        .apply_scan(&scan(100..=101, t0 + Duration::seconds(30), clock.now(), &[&pay]))
        .await
        .unwrap();
    let confirm = Confirmation::Confirmed {
        chain_id: "ethereum".into(),
        tx_hash: pay.tx_hash.clone(),
        log_index: 0,
        confirmations: 12,
    };
    store
        .apply_confirmations(&[confirm], clock.now(), clock.now() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(e.get_order(&o.order_id).await.unwrap().status, OrderStatus::Completed);

    // Its cooldown over, the address is NOT available again, and still watched.
    clock.advance(Duration::minutes(31));
    let report = e.run_maintenance().await.unwrap();
    assert_eq!((report.released_addresses, report.retired_addresses), (0, 0));
    let pool = evm_pool(&e).await;
    assert_eq!((pool.available, pool.cooldown, pool.retired), (0, 1, 0));
    assert!(
        store
            .watched_addresses(Protocol::Evm, None)
            .await
            .unwrap()
            .contains(&o_address)
    );
    match e.create_order(order_request("never-2")).await {
        Err(Error::NoAvailableAddresses(Protocol::Evm)) => {}
        other => panic!("the address must not serve a second order: {other:?}"),
    }

    // A late payment a day later is seen and reported against the order.
    clock.advance(Duration::days(1));
    let late = transfer(&o_address, 2, 200, clock.now() - Duration::minutes(1));
    let events = store
        .apply_scan(&scan(102..=200, clock.now(), clock.now(), &[&late]))
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        ["order.late_payment"]
    );

    // After late_watch_days (2) from the order's end, it retires: unwatched, never assigned.
    clock.advance(Duration::days(1));
    let report = e.run_maintenance().await.unwrap();
    assert_eq!(report.retired_addresses, 1);
    let pool = evm_pool(&e).await;
    assert_eq!((pool.available, pool.cooldown, pool.retired, pool.total), (0, 0, 1, 0));
    assert!(
        !store
            .watched_addresses(Protocol::Evm, None)
            .await
            .unwrap()
            .contains(&o_address)
    );
    assert!(matches!(
        e.create_order(order_request("never-3")).await,
        Err(Error::NoAvailableAddresses(Protocol::Evm))
    ));

    // With an HD key, the next order gets a fresh derived address, never the retired one.
    add_evm_xpub(&e).await;
    let next = e.create_order(order_request("never-4")).await.unwrap();
    assert_ne!(next.address, o_address);
    e.run_maintenance().await.unwrap();
    assert_eq!(evm_pool(&e).await.retired, 1);
}
