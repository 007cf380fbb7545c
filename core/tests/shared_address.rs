//! Shared-address orders (issue 13) on both backends: amount tails unique among live orders on
//! one (chain, token, address) under concurrency and across replicas, released after window +
//! grace; exact-amount matching of transfers (synthetic scans, as `settlement.rs` drives the
//! chain store); an unmatched transfer recorded and reported; a reorg reversing a shared payment.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use payin_core::amount::AmountUnits;
use payin_core::chain::Currency;
use payin_core::clock::{Clock, ManualClock};
use payin_core::engine::EventListQuery;
use payin_core::event::Event;
use payin_core::order::{CreateOrderRequest, FiatQuote, Order, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::settle::{Confirmation, ObservedTransfer, Scan};
use payin_core::testing::{Backend, fresh_database};
use payin_core::time::Timestamp;
use payin_core::{Amount, Engine, EngineOptions, Error};

struct Env {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    url: String,
}

impl Env {
    async fn replica(&self) -> Engine {
        open_engine(&self.url, &self.clock).await
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

async fn open_engine(url: &str, clock: &Arc<ManualClock>) -> Engine {
    Engine::open(EngineOptions {
        clock: clock.clone(),
        config: payin_core::testing::every_chain_watched(),
        ..EngineOptions::new(url)
    })
    .await
    .unwrap_or_else(|e| panic!("open engine on {url}: {e}"))
}

async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap()));
    let engine = Arc::new(open_engine(&db.url, &clock).await);
    engine.set_config("pool_low_watermark", &json!(0)).await.unwrap();
    scenario(Env {
        engine,
        clock,
        url: db.url.clone(),
    })
    .await;
}

payin_core::on_both_backends!(via run:
    the_first_order_on_an_address_pays_the_amount_and_the_next_ones_a_tail,
    tails_are_unique_under_200_concurrent_creations_on_one_address,
    tails_are_unique_across_two_replicas,
    a_tail_is_released_after_window_plus_grace,
    a_receive_address_must_suit_the_chain_and_not_be_a_pool_address,
    a_pool_order_pays_its_amount,
    a_fiat_quote_is_stored_on_the_order,
    an_exact_amount_pays_the_order_that_asked_for_it,
    a_transfer_matching_no_order_is_recorded_and_reported,
    a_reorg_reverses_a_shared_address_payment,
    shared_addresses_are_watched_while_an_order_holds_a_tail,
);

/// The merchant's own address (not in the pool).
const SHOP: &str = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0";

fn shared_request(reference: &str, amount: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!(amount),
        currency: "USDT".into(),
        chain_id: "ethereum".into(),
        receive_address: Some(SHOP.to_lowercase()),
        ..Default::default()
    }
}

async fn shared(engine: &Engine, reference: &str, amount: &str) -> Order {
    engine.create_order(shared_request(reference, amount)).await.unwrap()
}

async fn events(engine: &Engine, event_type: &str) -> Vec<Event> {
    engine
        .list_events(&EventListQuery {
            limit: Some("100".into()),
            event_type: Some(event_type.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
}

fn transfer(to: &str, amount: &str, tx: u64, block: u64, at: Timestamp) -> ObservedTransfer {
    let units = Amount::parse_positive("amount", amount)
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

async fn scan(env: &Env, from: u64, to: u64, transfers: &[&ObservedTransfer]) -> Vec<Event> {
    let scan = Scan {
        chain_id: "ethereum".into(),
        from,
        to,
        to_hash: format!("0x{to:064x}"),
        to_time: env.now(),
        transfers: transfers.iter().map(|&t| t.clone()).collect(),
        now: env.now(),
    };
    env.engine.chain_store().apply_scan(&scan).await.unwrap()
}

async fn confirm(env: &Env, t: &ObservedTransfer) -> Vec<Event> {
    let outcome = Confirmation::Confirmed {
        chain_id: t.chain_id.clone(),
        tx_hash: t.tx_hash.clone(),
        log_index: t.log_index,
        confirmations: 12,
    };
    env.engine
        .chain_store()
        .apply_confirmations(&[outcome], env.now(), env.now() + Duration::minutes(30))
        .await
        .unwrap()
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

/// Creates `n` shared orders of `amount` at once through `engines` in turn and checks no two
/// got the same payable amount; returns the pay amounts.
async fn create_concurrently(engines: &[Arc<Engine>], n: usize, amount: &str) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let engine = engines[i % engines.len()].clone();
            let amount = amount.to_string();
            tokio::spawn(async move { engine.create_order(shared_request(&format!("RACE-{i}"), &amount)).await })
        })
        .collect();
    let mut pays = Vec::new();
    for result in futures::future::join_all(tasks).await {
        let order = result.unwrap().unwrap();
        assert_eq!(order.address, SHOP);
        assert!(order.shared_address);
        pays.push(order.pay_amount.to_string());
    }
    let keys: HashSet<Amount> = pays
        .iter()
        .map(|p| Amount::from_stored(p).unwrap().as_decimal().normalize())
        .map(Amount::from_decimal)
        .collect();
    assert_eq!(keys.len(), n, "two live orders share a pay amount: {pays:?}");
    pays
}

// ---- scenarios ---------------------------------------------------------------------------

async fn the_first_order_on_an_address_pays_the_amount_and_the_next_ones_a_tail(env: Env) {
    let e = &env.engine;
    let first = shared(e, "A-1", "10.50").await;
    assert_eq!(first.address, SHOP, "stored in its canonical spelling");
    assert_eq!(first.amount.to_string(), "10.50");
    assert_eq!(first.pay_amount.to_string(), "10.50");
    assert!(first.shared_address);
    let second = shared(e, "A-2", "10.50").await;
    assert_eq!(second.pay_amount.to_string(), "10.500001");
    let other_amount = shared(e, "A-3", "7").await;
    assert_eq!(other_amount.pay_amount.to_string(), "7");
    // Another token on the same address has its own tails.
    let usdc = e
        .create_order(CreateOrderRequest {
            currency: "USDC".into(),
            ..shared_request("A-4", "10.50")
        })
        .await
        .unwrap();
    assert_eq!(usdc.pay_amount.to_string(), "10.50");
    // Read back as created; the created event carries payAmount.
    assert_eq!(e.get_order(&second.order_id).await.unwrap(), second);
    let created = events(e, "order.created").await;
    assert!(created.iter().any(|ev| ev.data["payAmount"] == "10.500001"));
}

async fn tails_are_unique_under_200_concurrent_creations_on_one_address(env: Env) {
    let pays = create_concurrently(std::slice::from_ref(&env.engine), 200, "5.00").await;
    let mut tails: Vec<i64> = pays
        .iter()
        .map(|p| {
            let d = Amount::from_stored(p).unwrap().as_decimal() - rust_decimal::Decimal::new(5, 0);
            (d * rust_decimal::Decimal::new(1_000_000, 0)).try_into().unwrap()
        })
        .collect();
    tails.sort_unstable();
    assert_eq!(
        tails,
        (0..200).collect::<Vec<i64>>(),
        "the smallest 200 tails, each once"
    );
}

async fn tails_are_unique_across_two_replicas(env: Env) {
    let replica = Arc::new(env.replica().await);
    create_concurrently(&[env.engine.clone(), replica], 200, "1").await;
}

async fn a_tail_is_released_after_window_plus_grace(env: Env) {
    let e = &env.engine;
    let first = shared(e, "R-1", "3").await;
    assert_eq!(first.pay_amount.to_string(), "3");
    // Within window + grace the amount stays taken, even by a completed-or-not order.
    env.clock.advance(Duration::minutes(14));
    assert_eq!(shared(e, "R-2", "3").await.pay_amount.to_string(), "3.000001");
    // Past the first order's grace (10 + 5 minutes): it expires and its tail is free again.
    env.clock.advance(Duration::minutes(2));
    let report = e.run_maintenance().await.unwrap();
    assert!(report.expired_orders.contains(&first.order_id), "{report:?}");
    assert_eq!(shared(e, "R-3", "3").await.pay_amount.to_string(), "3");
    // R-2's tail is still held.
    assert_eq!(shared(e, "R-4", "3").await.pay_amount.to_string(), "3.000002");
    // Everything ends: maintenance purges the locks, and the tails start over.
    env.clock.advance(Duration::hours(1));
    e.run_maintenance().await.unwrap();
    assert_eq!(shared(e, "R-5", "3").await.pay_amount.to_string(), "3");
}

async fn a_receive_address_must_suit_the_chain_and_not_be_a_pool_address(env: Env) {
    let e = &env.engine;
    e.import_addresses(ImportAddressesRequest {
        protocol: "evm".into(),
        addresses: vec![format!("0x{:040x}", 1)],
    })
    .await
    .unwrap();
    for bad in [
        "not-an-address",
        "0x1234",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "0x742d35CC6634c0532925a3b844bc9e7595f0beb0",
        "",
        "0x0000000000000000000000000000000000000001",
    ] {
        let err = e
            .create_order(CreateOrderRequest {
                receive_address: Some(bad.into()),
                ..shared_request("BAD", "1")
            })
            .await
            .unwrap_err();
        match &err {
            Error::Invalid { field, .. } => assert_eq!(field, "receiveAddress", "{bad}: {err}"),
            other => panic!("{bad}: expected invalid input, got {other:?}"),
        }
    }

    // And the other way round: an address shared-address orders were paid to never enters the
    // pool (nothing of the list is imported), whatever its spelling.
    let order = shared(e, "SHARED-1", "1").await;
    let lower = order.address.to_lowercase();
    let err = e
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: vec![format!("0x{:040x}", 2), lower],
        })
        .await
        .unwrap_err();
    match &err {
        Error::Invalid { field, message, .. } => {
            assert_eq!(field, "addresses[1]", "{err}");
            assert!(message.contains(&order.address), "{message}");
        }
        other => panic!("expected invalid input, got {other:?}"),
    }
    let pool = e.pool_status().await.unwrap();
    let evm = pool.iter().find(|p| p.protocol.as_str() == "evm").unwrap();
    assert_eq!(evm.total, 1, "the refused list imported nothing");
}

async fn a_pool_order_pays_its_amount(env: Env) {
    let e = &env.engine;
    e.import_addresses(ImportAddressesRequest {
        protocol: "evm".into(),
        addresses: vec![format!("0x{:040x}", 1)],
    })
    .await
    .unwrap();
    let order = e
        .create_order(CreateOrderRequest {
            receive_address: None,
            ..shared_request("POOL-1", "12.30")
        })
        .await
        .unwrap();
    assert_eq!(order.pay_amount, order.amount);
    assert_eq!(order.pay_amount.to_string(), "12.30");
    assert!(!order.shared_address);
    assert_eq!(
        e.get_order(&order.order_id).await.unwrap().pay_amount.to_string(),
        "12.30"
    );
}

async fn a_fiat_quote_is_stored_on_the_order(env: Env) {
    let e = &env.engine;
    let quote = FiatQuote {
        currency: "CNY".into(),
        amount: Amount::from_stored("72.00").unwrap(),
        rate: Amount::from_stored("7.2").unwrap(),
    };
    let order = e
        .create_quoted_order(shared_request("Q-1", "10.00"), Some(quote))
        .await
        .unwrap();
    let read = e.get_order(&order.order_id).await.unwrap();
    assert_eq!(read.fiat_currency.as_deref(), Some("CNY"));
    assert_eq!(read.fiat_amount.unwrap().to_string(), "72.00");
    assert_eq!(read.rate.unwrap().to_string(), "7.2");
    let wire = serde_json::to_value(&read).unwrap();
    assert_eq!(
        (wire["fiatAmount"].as_str(), wire["rate"].as_str()),
        (Some("72.00"), Some("7.2"))
    );
    let plain = shared(e, "Q-2", "1").await;
    assert!(serde_json::to_value(&plain).unwrap().get("rate").is_none());
}

async fn an_exact_amount_pays_the_order_that_asked_for_it(env: Env) {
    let e = &env.engine;
    let a = shared(e, "M-1", "20").await;
    let b = shared(e, "M-2", "20").await;
    assert_eq!(b.pay_amount.to_string(), "20.000001");
    let at = env.now() + Duration::minutes(1);
    let pays_b = transfer(SHOP, "20.000001", 1, 100, at);
    let detected = scan(&env, 100, 100, &[&pays_b]).await;
    assert_eq!(types(&detected), ["order.payment_detected"]);
    assert_eq!(detected[0].data["orderId"], b.order_id.as_str());
    assert_eq!(types(&confirm(&env, &pays_b).await), ["order.completed"]);
    let b = e.get_order(&b.order_id).await.unwrap();
    assert_eq!(b.status, OrderStatus::Completed);
    assert_eq!(b.surplus, None, "the tail is not a surplus");
    assert_eq!(e.get_order(&a.order_id).await.unwrap().status, OrderStatus::Pending);
    // The exact amount of A pays A.
    let pays_a = transfer(SHOP, "20", 2, 101, at);
    let detected = scan(&env, 101, 101, &[&pays_a]).await;
    assert_eq!(detected[0].data["orderId"], a.order_id.as_str());
    confirm(&env, &pays_a).await;
    assert_eq!(e.get_order(&a.order_id).await.unwrap().status, OrderStatus::Completed);
}

async fn a_transfer_matching_no_order_is_recorded_and_reported(env: Env) {
    let e = &env.engine;
    let order = shared(e, "U-1", "20").await;
    let at = env.now() + Duration::minutes(1);
    // Not the exact amount: a partial payment, an overpayment, another token.
    let short = transfer(SHOP, "19.99", 1, 100, at);
    let over = transfer(SHOP, "20.5", 2, 100, at);
    let mut usdc = transfer(SHOP, "20", 3, 100, at);
    usdc.currency = Currency::Usdc;
    usdc.token = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".into();
    let reported = scan(&env, 100, 100, &[&short, &over, &usdc]).await;
    assert_eq!(types(&reported), ["payment.unmatched"; 3]);
    assert_eq!(reported[0].data["address"], SHOP);
    assert_eq!(reported[0].data["amount"], "19.99");
    assert_eq!(reported[0].data["transfer"]["txHash"], short.tx_hash.as_str());
    // A rescan records nothing twice.
    let again = scan(&env, 100, 100, &[&short]).await;
    assert!(again.is_empty());
    assert_eq!(events(e, "payment.unmatched").await.len(), 3);
    let order = e.get_order(&order.order_id).await.unwrap();
    assert_eq!(order.amount_received.to_string(), "0");
    assert_eq!(order.status, OrderStatus::Pending);
    // After the tail's lock (window + grace) the exact amount no longer names the order.
    let late = transfer(SHOP, "20", 4, 101, order.expires_at + Duration::minutes(6));
    assert_eq!(types(&scan(&env, 101, 101, &[&late]).await), ["payment.unmatched"]);
}

async fn a_reorg_reverses_a_shared_address_payment(env: Env) {
    let e = &env.engine;
    let order = shared(e, "G-1", "8").await;
    let at = env.now() + Duration::minutes(1);
    let pays = transfer(SHOP, "8", 1, 100, at);
    let stray = transfer(SHOP, "1", 2, 100, at);
    scan(&env, 100, 100, &[&pays, &stray]).await;
    assert_eq!(
        e.get_order(&order.order_id).await.unwrap().amount_received.to_string(),
        "8"
    );
    let reversed = e.chain_store().rewind("ethereum", 99, env.now()).await.unwrap();
    assert_eq!(types(&reversed), ["payment.reversed"; 2]);
    let order = e.get_order(&order.order_id).await.unwrap();
    assert_eq!(order.amount_received.to_string(), "0");
    assert_eq!(order.status, OrderStatus::Pending);
}

async fn shared_addresses_are_watched_while_an_order_holds_a_tail(env: Env) {
    let e = &env.engine;
    let store = e.chain_store();
    assert!(
        store
            .watched_addresses(payin_core::chain::Protocol::Evm, None)
            .await
            .unwrap()
            .is_empty()
    );
    shared(e, "W-1", "1").await;
    shared(e, "W-2", "1").await;
    let watched = store
        .watched_addresses(payin_core::chain::Protocol::Evm, None)
        .await
        .unwrap();
    assert_eq!(watched, [SHOP]);
    env.clock.advance(Duration::minutes(16));
    e.run_maintenance().await.unwrap();
    assert!(
        store
            .watched_addresses(payin_core::chain::Protocol::Evm, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(e.get_order("ord_missing").await, Err(Error::OrderNotFound(_))));
}
