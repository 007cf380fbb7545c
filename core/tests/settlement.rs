//! Settlement, one suite on both backends: every scenario runs once on a fresh SQLite file and
//! once on a fresh PostgreSQL database. No chain is needed: scenarios drive the chain store
//! with synthetic scans, confirmations and rewinds, the way the watcher does, with blocks
//! numbered and timed by hand against a manual clock, so every rule is checked at its edge.

use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use payin_core::amount::AmountUnits;
use payin_core::chain::{Currency, Protocol};
use payin_core::clock::{Clock, ManualClock};
use payin_core::deposit::{BindProtocolRequest, Deposit, DepositStatus};
use payin_core::engine::{DepositListQuery, EventListQuery};
use payin_core::event::Event;
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::settle::{Confirmation, ObservedTransfer, PaymentEventData, PendingTransfer, Scan};
use payin_core::store::ChainStore;
use payin_core::testing::{Backend, fresh_database};
use payin_core::time::Timestamp;
use payin_core::{Amount, Engine, EngineOptions};

// ---- harness -------------------------------------------------------------------------

/// What a scenario gets: an engine on a fresh database and the clock it reads.
struct Env {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    url: String,
}

impl Env {
    /// A second engine on the same database and clock: another replica.
    async fn replica(&self) -> Engine {
        open_engine(&self.url, &self.clock).await
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    fn store(&self) -> &dyn ChainStore {
        self.engine.chain_store()
    }

    /// When addresses of orders completed now leave cooldown (the default 30 minutes).
    fn cooldown_until(&self) -> Timestamp {
        self.now() + Duration::minutes(30)
    }
}

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap()
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
    let clock = Arc::new(ManualClock::new(start()));
    let engine = Arc::new(open_engine(&db.url, &clock).await);
    assert_eq!(engine.backend(), backend.to_string());
    // `pool.low` is the store suite's subject; here it would only interleave with settlement events.
    engine.set_config("pool_low_watermark", &json!(0)).await.unwrap();
    scenario(Env {
        engine,
        clock,
        url: db.url.clone(),
    })
    .await;
}

payin_core::on_both_backends!(via run:
    exact_payment_completes_after_confirmations,
    partial_payments_add_up_then_top_up_completes,
    overpayment_completes_and_records_surplus,
    payment_after_grace_is_late_and_never_credited_to_the_next_order,
    payment_inside_grace_counts,
    expiry_waits_for_the_scan_to_pass_the_deadline,
    expiry_steps_over_orders_kept_open_to_fill_its_batch,
    unconfirmed_payment_keeps_order_pending_until_confirmed_or_reversed,
    wrong_token_or_chain_is_recorded_not_counted,
    deposit_pending_then_confirmed_on_two_chains,
    reorg_reverses_unconfirmed_payment_and_fires_payment_reversed,
    rescanning_a_range_never_double_counts,
    concurrent_scans_and_confirmations_never_lose_an_update,
    cursor_and_recent_blocks_follow_scans_and_rewinds,
    watched_addresses_are_the_assigned_and_cooling_down_ones,
);

// ---- helpers -------------------------------------------------------------------------

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

async fn import(engine: &Engine, n: usize) {
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: (0..n).map(|i| format!("0x{:040x}", i + 1)).collect(),
        })
        .await
        .unwrap();
}

/// A USDT order on ethereum: window 10 minutes, grace 5 (the defaults).
async fn create(engine: &Engine, reference: &str, amount: &str) -> Order {
    create_on(engine, reference, amount, "ethereum").await
}

async fn create_on(engine: &Engine, reference: &str, amount: &str, chain: &str) -> Order {
    engine
        .create_order(CreateOrderRequest {
            order_reference: reference.into(),
            amount: json!(amount),
            currency: "USDT".into(),
            chain_id: chain.into(),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn order(engine: &Engine, o: &Order) -> Order {
    engine.get_order(&o.order_id).await.unwrap()
}

/// When payments to `o` stop counting.
fn deadline(o: &Order) -> Timestamp {
    o.expires_at + minutes(i64::from(o.grace_minutes))
}

fn tx_hash(n: u64) -> String {
    format!("0x{n:064x}")
}

/// Block hashes differ per fork, so a reorg is visible in them.
fn block_hash(number: u64, fork: u8) -> String {
    format!("0x{fork:02x}{number:062x}")
}

fn contract(chain: &str, currency: Currency) -> &'static str {
    match (chain, currency) {
        ("ethereum", Currency::Usdt) => "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        ("ethereum", Currency::Usdc) => "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        ("polygon", Currency::Usdt) => "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
        ("polygon", Currency::Usdc) => "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
        other => panic!("no test contract for {other:?}"),
    }
}

/// A USDT transfer on ethereum to `to` (tx `tx`, log 0) in block `block` mined at `at`, its
/// amount decoded from base units as the watcher does ("40.00" arrives as "40").
fn transfer(to: &str, amount: &str, tx: u64, block: u64, at: Timestamp) -> ObservedTransfer {
    let units = Amount::parse_positive("amount", amount)
        .unwrap()
        .to_base_units(6)
        .unwrap();
    ObservedTransfer {
        chain_id: "ethereum".into(),
        tx_hash: tx_hash(tx),
        log_index: 0,
        block_number: block,
        block_hash: block_hash(block, 0),
        block_time: at,
        token: contract("ethereum", Currency::Usdt).into(),
        currency: Currency::Usdt,
        from: format!("0x{:040x}", 0xf0),
        to: to.into(),
        amount: ObservedTransfer::amount_from_units(units, 6).unwrap(),
    }
}

/// The same transfer, of another token or on another chain (both tokens have 6 decimals).
fn on(chain: &str, currency: Currency, t: ObservedTransfer) -> ObservedTransfer {
    ObservedTransfer {
        chain_id: chain.into(),
        token: contract(chain, currency).into(),
        currency,
        ..t
    }
}

/// Blocks `blocks` of `chain` on fork 0, scanned now; `to_time` is the last block's time.
fn scan(
    env: &Env,
    chain: &str,
    blocks: RangeInclusive<u64>,
    to_time: Timestamp,
    transfers: &[&ObservedTransfer],
) -> Scan {
    scan_on_fork(env, chain, 0, blocks, to_time, transfers)
}

fn scan_on_fork(
    env: &Env,
    chain: &str,
    fork: u8,
    blocks: RangeInclusive<u64>,
    to_time: Timestamp,
    transfers: &[&ObservedTransfer],
) -> Scan {
    Scan {
        chain_id: chain.into(),
        from: *blocks.start(),
        to: *blocks.end(),
        to_hash: block_hash(*blocks.end(), fork),
        to_time,
        transfers: transfers.iter().map(|&t| t.clone()).collect(),
        now: env.now(),
    }
}

async fn apply(env: &Env, s: &Scan) -> Vec<Event> {
    env.store().apply_scan(s).await.unwrap()
}

fn confirmed(t: &ObservedTransfer, confirmations: u64) -> Confirmation {
    Confirmation::Confirmed {
        chain_id: t.chain_id.clone(),
        tx_hash: t.tx_hash.clone(),
        log_index: t.log_index,
        confirmations,
    }
}

fn reversed(t: &ObservedTransfer) -> Confirmation {
    Confirmation::Reversed {
        chain_id: t.chain_id.clone(),
        tx_hash: t.tx_hash.clone(),
        log_index: t.log_index,
    }
}

async fn settle(env: &Env, outcomes: &[Confirmation]) -> Vec<Event> {
    env.store()
        .apply_confirmations(outcomes, env.now(), env.cooldown_until())
        .await
        .unwrap()
}

fn pending_transfer(t: &ObservedTransfer) -> PendingTransfer {
    PendingTransfer {
        tx_hash: t.tx_hash.clone(),
        log_index: t.log_index,
        block_number: t.block_number,
        block_hash: t.block_hash.clone(),
    }
}

async fn unconfirmed(env: &Env, chain: &str) -> Vec<PendingTransfer> {
    env.store().unconfirmed_transfers(chain).await.unwrap()
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

/// Stored events, newest first.
async fn events(engine: &Engine, event_type: Option<&str>) -> Vec<Event> {
    engine
        .list_events(&EventListQuery {
            limit: Some("100".into()),
            event_type: event_type.map(Into::into),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
}

/// The payload of `order.payment_detected`, `order.late_payment` and `payment.reversed`.
fn payment_data<T: serde::Serialize>(subject: &T, transfer: &ObservedTransfer) -> Value {
    serde_json::to_value(PaymentEventData { subject, transfer }).unwrap()
}

/// (available, assigned, cooldown) of the EVM pool.
async fn evm_pool(engine: &Engine) -> (u64, u64, u64) {
    let p = engine
        .pool_status()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.protocol == Protocol::Evm)
        .unwrap();
    (p.available, p.assigned, p.cooldown)
}

/// A reference's deposits in chain order: by block, then log index (ids are random).
async fn deposits_of(engine: &Engine, reference: &str) -> Vec<Deposit> {
    let mut deposits = engine
        .list_deposits(&DepositListQuery {
            deposit_reference: Some(reference.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    deposits.sort_by_key(|d| (d.block_number, d.log_index));
    deposits
}

/// A reference's confirmed totals: (count, [(currency, amount)]).
async fn totals(engine: &Engine, reference: &str) -> (u64, Vec<(Currency, String)>) {
    let r = engine.get_deposit_reference(reference).await.unwrap();
    let amounts = r.total_amount.iter().map(|(c, a)| (*c, a.to_string())).collect();
    (r.total_deposits, amounts)
}

// ---- orders --------------------------------------------------------------------------

async fn exact_payment_completes_after_confirmations(env: Env) {
    let e = &env.engine;
    import(e, 3).await;
    let t0 = env.now();
    let o = create(e, "EXACT-1", "100.00").await;
    assert_eq!(o.amount_received.to_string(), "0.00");

    env.advance(minutes(2));
    let pay = transfer(&o.address, "100", 1, 101, t0 + minutes(1));
    let detected = apply(
        &env,
        &scan(&env, "ethereum", 100..=105, t0 + minutes(1) + secs(48), &[&pay]),
    )
    .await;
    assert_eq!(types(&detected), ["order.payment_detected"]);
    let seen = order(e, &o).await;
    assert_eq!(
        (seen.status, seen.amount_received.to_string()),
        (OrderStatus::Pending, "100.00".into())
    );
    assert_eq!(
        (&seen.tx_hash, seen.block_number, seen.confirmations),
        (&None, None, None)
    );
    assert_eq!(seen.completed_at, None);
    assert_eq!(detected[0].created_at, env.now());
    assert_eq!(detected[0].data, payment_data(&seen, &pay));
    assert_eq!(detected[0].data["transfer"]["txHash"], tx_hash(1));
    assert_eq!(detected[0].data["transfer"]["amount"], "100");
    assert_eq!(unconfirmed(&env, "ethereum").await, [pending_transfer(&pay)]);
    assert_eq!(evm_pool(e).await, (2, 1, 0));

    // Only a confirmation completes it.
    env.advance(minutes(3));
    let completed = settle(&env, &[confirmed(&pay, 12)]).await;
    assert_eq!(types(&completed), ["order.completed"]);
    let done = order(e, &o).await;
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.completed_at, Some(env.now()));
    assert_eq!(done.tx_hash.as_deref(), Some(tx_hash(1).as_str()));
    assert_eq!((done.block_number, done.confirmations), (Some(101), Some(12)));
    assert_eq!(
        (done.amount_received.to_string(), done.surplus),
        ("100.00".into(), None)
    );
    assert_eq!(completed[0].data, serde_json::to_value(&done).unwrap());
    assert_eq!(completed[0].data["status"], "completed");
    assert!(unconfirmed(&env, "ethereum").await.is_empty());

    // The address rests in cooldown, then returns to the pool.
    assert_eq!(evm_pool(e).await, (2, 0, 1));
    env.advance(minutes(30) - Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 0);
    env.advance(Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 1);
    assert_eq!(evm_pool(e).await, (3, 0, 0));

    // A confirmation reported again changes nothing.
    assert!(settle(&env, &[confirmed(&pay, 13)]).await.is_empty());
    assert_eq!(order(e, &o).await, done);
    let stored = events(e, None).await;
    assert_eq!(
        types(&stored),
        ["order.completed", "order.payment_detected", "order.created"]
    );
    assert_eq!(stored[0], completed[0]);
    assert_eq!(stored[1], detected[0]);
}

async fn partial_payments_add_up_then_top_up_completes(env: Env) {
    let e = &env.engine;
    import(e, 1).await;
    let t0 = env.now();
    let o = create(e, "PART-1", "100.00").await;

    env.advance(minutes(1));
    let first = transfer(&o.address, "40", 1, 11, t0 + secs(30));
    let seen = apply(&env, &scan(&env, "ethereum", 10..=12, t0 + secs(54), &[&first])).await;
    assert_eq!(types(&seen), ["order.payment_detected"]);
    assert_eq!(seen[0].data["amountReceived"], "40.00", "the order's scale is kept");
    assert_eq!(order(e, &o).await.amount_received.to_string(), "40.00");

    // Confirmed, but short of the amount: still pending.
    env.advance(minutes(1));
    assert!(settle(&env, &[confirmed(&first, 12)]).await.is_empty());
    let partial = order(e, &o).await;
    assert_eq!(
        (partial.status, partial.amount_received.to_string()),
        (OrderStatus::Pending, "40.00".into())
    );

    let top_up = transfer(&o.address, "60", 2, 20, t0 + minutes(2));
    let seen = apply(
        &env,
        &scan(&env, "ethereum", 13..=22, t0 + minutes(2) + secs(24), &[&top_up]),
    )
    .await;
    assert_eq!(types(&seen), ["order.payment_detected"]);
    assert_eq!(seen[0].data["amountReceived"], "100.00");
    assert_eq!(
        order(e, &o).await.status,
        OrderStatus::Pending,
        "detected is not confirmed"
    );

    env.advance(minutes(3));
    let completed = settle(&env, &[confirmed(&top_up, 12)]).await;
    assert_eq!(types(&completed), ["order.completed"]);
    let done = order(e, &o).await;
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.amount_received.to_string(), "100.00");
    assert_eq!(
        done.tx_hash.as_deref(),
        Some(tx_hash(2).as_str()),
        "the payment that completed it"
    );
    assert_eq!(
        (done.block_number, done.confirmations, done.surplus),
        (Some(20), Some(12), None)
    );
    let detected = events(e, Some("order.payment_detected")).await;
    let received: Vec<&Value> = detected.iter().map(|d| &d.data["amountReceived"]).collect();
    assert_eq!(received, [&json!("100.00"), &json!("40.00")]);
}

async fn overpayment_completes_and_records_surplus(env: Env) {
    let e = &env.engine;
    import(e, 2).await;
    let t0 = env.now();
    let big = create(e, "OVER-1", "100.00").await;
    let split = create(e, "OVER-2", "10.00").await;

    env.advance(minutes(1));
    let over = transfer(&big.address, "120.5", 1, 31, t0 + secs(20));
    // Two payments to one order in one range: both count while it is pending.
    let exact = transfer(&split.address, "10", 2, 32, t0 + secs(32));
    let extra = transfer(&split.address, "2.5", 3, 33, t0 + secs(44));
    let seen = apply(
        &env,
        &scan(&env, "ethereum", 30..=35, t0 + secs(56), &[&over, &exact, &extra]),
    )
    .await;
    assert_eq!(types(&seen), ["order.payment_detected"; 3]);
    assert_eq!(order(e, &big).await.amount_received.to_string(), "120.50");
    assert_eq!(order(e, &split).await.amount_received.to_string(), "12.50");

    env.advance(minutes(3));
    let completed = settle(&env, &[confirmed(&over, 12), confirmed(&exact, 12)]).await;
    assert_eq!(types(&completed), ["order.completed"; 2]);
    let big_done = order(e, &big).await;
    assert_eq!(big_done.status, OrderStatus::Completed);
    assert_eq!(big_done.surplus.map(|s| s.to_string()).as_deref(), Some("20.50"));
    assert_eq!(completed[0].data["surplus"], "20.50");
    let split_done = order(e, &split).await;
    assert_eq!((split_done.status, split_done.surplus), (OrderStatus::Completed, None));
    assert_eq!(split_done.tx_hash.as_deref(), Some(tx_hash(2).as_str()));

    // The second payment, counted before completion and confirmed after, is surplus too.
    env.advance(secs(12));
    assert!(settle(&env, &[confirmed(&extra, 12)]).await.is_empty());
    let split_after = order(e, &split).await;
    assert_eq!(split_after.surplus.map(|s| s.to_string()).as_deref(), Some("2.50"));
    assert_eq!(
        (
            split_after.status,
            split_after.completed_at,
            split_after.tx_hash.clone()
        ),
        (
            OrderStatus::Completed,
            split_done.completed_at,
            split_done.tx_hash.clone()
        ),
        "completion is not redone"
    );
    assert_eq!(events(e, Some("order.completed")).await.len(), 2);
}

async fn payment_after_grace_is_late_and_never_credited_to_the_next_order(env: Env) {
    let e = &env.engine;
    e.set_config("address_cooldown_minutes", &json!(20)).await.unwrap();
    import(e, 1).await;
    let old = create(e, "LATE-OLD", "10.00").await;
    let end = deadline(&old);

    // The chain is scanned up to a block before the deadline: the order waits.
    env.advance(minutes(16));
    apply(&env, &scan(&env, "ethereum", 1..=10, end - secs(1), &[])).await;
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());

    // The scan passes the deadline: the order expires.
    apply(&env, &scan(&env, "ethereum", 11..=20, end + secs(12), &[])).await;
    assert_eq!(
        e.run_maintenance().await.unwrap().expired_orders,
        [old.order_id.as_str()]
    );
    let expired = order(e, &old).await;
    assert_eq!(
        (expired.status, expired.expired_at),
        (OrderStatus::Expired, Some(env.now()))
    );
    assert_eq!(evm_pool(e).await, (0, 0, 1));

    // Paid in full, but mined after the grace period.
    let late = transfer(&old.address, "10", 1, 21, end + secs(24));
    let seen = apply(&env, &scan(&env, "ethereum", 21..=25, end + secs(72), &[&late])).await;
    assert_eq!(types(&seen), ["order.late_payment"]);
    assert_eq!(seen[0].data, payment_data(&expired, &late));
    assert_eq!(seen[0].data["status"], "expired");
    assert!(settle(&env, &[confirmed(&late, 12)]).await.is_empty());
    assert_eq!(order(e, &old).await, expired, "a late payment is never counted");

    // After the cooldown the address serves the next order.
    env.advance(minutes(20));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 1);
    env.advance(minutes(1));
    let next = create(e, "LATE-NEXT", "10.00").await;
    assert_eq!(next.address, old.address);
    let created = next.created_at;

    // Mined before the next order existed: the old order's. Mined after: the next one's.
    let before = transfer(&old.address, "10", 2, 40, created - minutes(2));
    let after = transfer(&old.address, "10", 3, 45, created + minutes(1));
    env.advance(minutes(2));
    let seen = apply(
        &env,
        &scan(&env, "ethereum", 26..=50, created + minutes(2), &[&before, &after]),
    )
    .await;
    assert_eq!(types(&seen), ["order.late_payment", "order.payment_detected"]);
    assert_eq!(seen[0].data["orderId"], old.order_id.as_str());
    assert_eq!(seen[0].data["transfer"]["txHash"], tx_hash(2));
    assert_eq!(seen[1].data["orderId"], next.order_id.as_str());
    assert_eq!(order(e, &old).await.amount_received.to_string(), "0.00");
    assert_eq!(order(e, &next).await.amount_received.to_string(), "10.00");

    let completed = settle(&env, &[confirmed(&before, 12), confirmed(&after, 12)]).await;
    assert_eq!(types(&completed), ["order.completed"]);
    assert_eq!(completed[0].data["orderId"], next.order_id.as_str());
    assert_eq!(order(e, &old).await, expired);
    let late_events = events(e, Some("order.late_payment")).await;
    let late_orders: Vec<&Value> = late_events.iter().map(|l| &l.data["orderId"]).collect();
    assert_eq!(late_orders, [&json!(old.order_id), &json!(old.order_id)]);
}

async fn payment_inside_grace_counts(env: Env) {
    let e = &env.engine;
    import(e, 1).await;
    let o = create(e, "GRACE-1", "10.00").await;
    let end = deadline(&o);
    assert_eq!(end, o.expires_at + minutes(5));

    env.advance(minutes(16));
    let after_expiry = transfer(&o.address, "4", 1, 50, o.expires_at + secs(1));
    let at_deadline = transfer(&o.address, "6", 2, 51, end);
    let one_second_late = transfer(&o.address, "1", 3, 52, end + secs(1));
    let seen = apply(
        &env,
        &scan(
            &env,
            "ethereum",
            1..=60,
            end + minutes(1),
            &[&after_expiry, &at_deadline, &one_second_late],
        ),
    )
    .await;
    assert_eq!(
        types(&seen),
        ["order.payment_detected", "order.payment_detected", "order.late_payment"]
    );
    assert_eq!(order(e, &o).await.amount_received.to_string(), "10.00");

    // Past the deadline, but its payments are still unconfirmed: it waits for them.
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());
    let completed = settle(
        &env,
        &[
            confirmed(&after_expiry, 12),
            confirmed(&at_deadline, 12),
            confirmed(&one_second_late, 12),
        ],
    )
    .await;
    assert_eq!(types(&completed), ["order.completed"]);
    let done = order(e, &o).await;
    assert_eq!(
        (done.status, done.amount_received.to_string()),
        (OrderStatus::Completed, "10.00".into())
    );
    assert_eq!(done.tx_hash.as_deref(), Some(tx_hash(2).as_str()));
    assert_eq!(done.surplus, None, "the late payment is not surplus");
}

async fn expiry_waits_for_the_scan_to_pass_the_deadline(env: Env) {
    let e = &env.engine;
    import(e, 2).await;
    let t0 = env.now();
    let watched = create(e, "WAIT-ETH", "10.00").await;
    // No watcher ever scanned polygon: the clock alone expires its orders.
    let unwatched = create_on(e, "WAIT-POLYGON", "10.00", "polygon").await;
    let end = deadline(&watched);
    apply(&env, &scan(&env, "ethereum", 1..=5, t0 + minutes(1), &[])).await;

    env.advance(minutes(30));
    assert_eq!(
        e.run_maintenance().await.unwrap().expired_orders,
        [unwatched.order_id.as_str()]
    );
    apply(&env, &scan(&env, "ethereum", 6..=10, end - secs(1), &[])).await;
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());

    // Scanned through a block mined at the deadline, then a reorg takes that block back:
    // the rescan must pass the deadline again before the order expires.
    apply(&env, &scan(&env, "ethereum", 11..=15, end, &[])).await;
    assert!(env.store().rewind("ethereum", 12, env.now()).await.unwrap().is_empty());
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());
    assert_eq!(order(e, &watched).await.status, OrderStatus::Pending);

    apply(&env, &scan_on_fork(&env, "ethereum", 1, 13..=16, end + secs(12), &[])).await;
    assert_eq!(
        e.run_maintenance().await.unwrap().expired_orders,
        [watched.order_id.as_str()]
    );
    let expired = order(e, &watched).await;
    assert_eq!(
        (expired.status, expired.expired_at),
        (OrderStatus::Expired, Some(env.now()))
    );
    assert_eq!(events(e, Some("order.expired")).await.len(), 2);
}

async fn unconfirmed_payment_keeps_order_pending_until_confirmed_or_reversed(env: Env) {
    let e = &env.engine;
    import(e, 3).await;
    let t0 = env.now();
    let partly = create(e, "HOLD-PARTLY", "10.00").await;
    let fully = create(e, "HOLD-FULLY", "10.00").await;
    let reorged = create(e, "HOLD-REORGED", "10.00").await;
    let end = deadline(&partly);

    env.advance(minutes(16));
    let p1 = transfer(&partly.address, "4", 1, 5, t0 + minutes(1));
    let p2 = transfer(&fully.address, "10", 2, 6, t0 + minutes(1) + secs(12));
    let p3 = transfer(&reorged.address, "10", 3, 7, t0 + minutes(1) + secs(24));
    let seen = apply(
        &env,
        &scan(&env, "ethereum", 1..=90, end + minutes(1), &[&p1, &p2, &p3]),
    )
    .await;
    assert_eq!(types(&seen), ["order.payment_detected"; 3]);

    // The scan passed the deadline, but each order has a payment waiting for confirmations.
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());

    env.advance(minutes(1));
    let outcome = settle(&env, &[confirmed(&p1, 12), confirmed(&p2, 12), reversed(&p3)]).await;
    assert_eq!(types(&outcome), ["order.completed", "payment.reversed"]);
    let reorged_now = order(e, &reorged).await;
    assert_eq!(reorged_now.amount_received.to_string(), "0.00");
    assert_eq!(outcome[1].data, payment_data(&reorged_now, &p3));
    assert_eq!(order(e, &fully).await.status, OrderStatus::Completed);

    // Confirmed short, or reversed: nothing holds them any more.
    let mut expired = e.run_maintenance().await.unwrap().expired_orders;
    expired.sort();
    let mut expected = vec![partly.order_id.clone(), reorged.order_id.clone()];
    expected.sort();
    assert_eq!(expired, expected);
    let partly_now = order(e, &partly).await;
    assert_eq!(
        (partly_now.status, partly_now.amount_received.to_string()),
        (OrderStatus::Expired, "4.00".into())
    );
    assert_eq!(order(e, &reorged).await.status, OrderStatus::Expired);
    assert_eq!(evm_pool(e).await, (0, 0, 3));
}

async fn wrong_token_or_chain_is_recorded_not_counted(env: Env) {
    let e = &env.engine;
    import(e, 1).await;
    let t0 = env.now();
    let o = create(e, "WRONG-1", "10.00").await;

    env.advance(minutes(1));
    let usdc = on(
        "ethereum",
        Currency::Usdc,
        transfer(&o.address, "10", 1, 5, t0 + secs(30)),
    );
    let polygon = on(
        "polygon",
        Currency::Usdt,
        transfer(&o.address, "10", 2, 900, t0 + secs(30)),
    );
    assert!(
        apply(&env, &scan(&env, "ethereum", 1..=6, t0 + secs(40), &[&usdc]))
            .await
            .is_empty()
    );
    assert!(
        apply(&env, &scan(&env, "polygon", 900..=910, t0 + secs(40), &[&polygon]))
            .await
            .is_empty()
    );
    let untouched = order(e, &o).await;
    assert_eq!(
        (untouched.status, untouched.amount_received.to_string()),
        (OrderStatus::Pending, "0.00".into())
    );
    // Recorded, and followed to confirmation or reversal like any transfer, silently.
    assert_eq!(unconfirmed(&env, "ethereum").await, [pending_transfer(&usdc)]);
    assert_eq!(unconfirmed(&env, "polygon").await, [pending_transfer(&polygon)]);
    assert!(
        settle(&env, &[confirmed(&usdc, 12), reversed(&polygon)])
            .await
            .is_empty()
    );
    assert!(unconfirmed(&env, "ethereum").await.is_empty());
    assert!(unconfirmed(&env, "polygon").await.is_empty());
    assert_eq!(order(e, &o).await, untouched);

    // They hold nothing: the order expires once the scan passes its deadline.
    env.advance(minutes(15));
    apply(&env, &scan(&env, "ethereum", 7..=80, deadline(&o) + secs(1), &[])).await;
    assert_eq!(e.run_maintenance().await.unwrap().expired_orders, [o.order_id.as_str()]);
    let stored = events(e, None).await;
    assert_eq!(types(&stored), ["order.expired", "order.created"]);
}

// ---- deposits ------------------------------------------------------------------------

async fn deposit_pending_then_confirmed_on_two_chains(env: Env) {
    let e = &env.engine;
    import(e, 2).await;
    let t0 = env.now();
    let address = e
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "user-1".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap()
        .address;

    env.advance(minutes(1));
    let eth = transfer(&address, "100.5", 1, 50, t0 + secs(30));
    let pol_usdt = on(
        "polygon",
        Currency::Usdt,
        transfer(&address, "0.25", 2, 700, t0 + secs(40)),
    );
    // Another log of the same polygon transaction.
    let pol_usdc = ObservedTransfer {
        log_index: 1,
        ..on(
            "polygon",
            Currency::Usdc,
            transfer(&address, "7", 2, 700, t0 + secs(40)),
        )
    };
    let seen = apply(&env, &scan(&env, "ethereum", 49..=52, t0 + secs(54), &[&eth])).await;
    assert_eq!(types(&seen), ["deposit.pending"]);
    let seen_polygon = apply(
        &env,
        &scan(&env, "polygon", 695..=705, t0 + secs(50), &[&pol_usdt, &pol_usdc]),
    )
    .await;
    assert_eq!(types(&seen_polygon), ["deposit.pending"; 2]);

    let pending = deposits_of(e, "user-1").await;
    let summary: Vec<(&str, &str, Currency, String, DepositStatus, u64)> = pending
        .iter()
        .map(|d| {
            (
                d.chain_id.as_str(),
                d.address.as_str(),
                d.currency,
                d.amount.to_string(),
                d.status,
                d.confirmations,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "ethereum",
                address.as_str(),
                Currency::Usdt,
                "100.5".into(),
                DepositStatus::Pending,
                1
            ),
            (
                "polygon",
                address.as_str(),
                Currency::Usdt,
                "0.25".into(),
                DepositStatus::Pending,
                1
            ),
            (
                "polygon",
                address.as_str(),
                Currency::Usdc,
                "7".into(),
                DepositStatus::Pending,
                1
            ),
        ]
    );
    let first = &pending[0];
    assert!(first.deposit_id.starts_with("dep_"));
    assert_eq!(
        (first.tx_hash.as_str(), first.log_index, first.block_number),
        (tx_hash(1).as_str(), 0, 50)
    );
    assert_eq!(
        (first.detected_at, first.confirmed_at, first.completed_at),
        (env.now(), None, None)
    );
    assert_eq!(seen[0].data, serde_json::to_value(first).unwrap());
    assert_eq!(pending[2].log_index, 1);
    assert_eq!(
        totals(e, "user-1").await,
        (0, vec![]),
        "pending deposits are not money yet"
    );

    env.advance(minutes(3));
    let confirmed_eth = settle(&env, &[confirmed(&eth, 12)]).await;
    assert_eq!(types(&confirmed_eth), ["deposit.confirmed"]);
    let eth_deposit = deposits_of(e, "user-1").await.remove(0);
    assert_eq!(
        (eth_deposit.status, eth_deposit.confirmations, eth_deposit.confirmed_at),
        (DepositStatus::Confirmed, 12, Some(env.now()))
    );
    assert_eq!(confirmed_eth[0].data, serde_json::to_value(&eth_deposit).unwrap());
    assert_eq!(totals(e, "user-1").await, (1, vec![(Currency::Usdt, "100.5".into())]));

    env.advance(minutes(1));
    let confirmed_polygon = settle(&env, &[confirmed(&pol_usdt, 128), confirmed(&pol_usdc, 128)]).await;
    assert_eq!(types(&confirmed_polygon), ["deposit.confirmed"; 2]);
    assert_eq!(
        totals(e, "user-1").await,
        (3, vec![(Currency::Usdt, "100.75".into()), (Currency::Usdc, "7".into())])
    );
    let statuses: Vec<(DepositStatus, u64)> = deposits_of(e, "user-1")
        .await
        .iter()
        .map(|d| (d.status, d.confirmations))
        .collect();
    assert_eq!(
        statuses,
        [
            (DepositStatus::Confirmed, 12),
            (DepositStatus::Confirmed, 128),
            (DepositStatus::Confirmed, 128)
        ]
    );
    assert!(settle(&env, &[confirmed(&eth, 13)]).await.is_empty(), "confirmed once");
    assert_eq!(events(e, Some("deposit.confirmed")).await.len(), 3);
}

// ---- reorgs and rescans --------------------------------------------------------------

async fn reorg_reverses_unconfirmed_payment_and_fires_payment_reversed(env: Env) {
    let e = &env.engine;
    import(e, 2).await;
    let t0 = env.now();
    let o = create(e, "REORG-1", "10.00").await;
    let deposit_address = e
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "user-r".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap()
        .address;
    apply(&env, &scan(&env, "ethereum", 100..=104, t0 + secs(30), &[])).await;

    env.advance(minutes(2));
    let pay = transfer(&o.address, "10", 1, 106, t0 + minutes(1));
    let dep = transfer(&deposit_address, "5", 2, 107, t0 + minutes(1) + secs(12));
    let seen = apply(
        &env,
        &scan(&env, "ethereum", 105..=110, t0 + minutes(1) + secs(48), &[&pay, &dep]),
    )
    .await;
    assert_eq!(types(&seen), ["order.payment_detected", "deposit.pending"]);
    let pending_deposit = deposits_of(e, "user-r").await.remove(0);
    assert_eq!(order(e, &o).await.amount_received.to_string(), "10.00");

    // Blocks 105.. leave the chain: their unconfirmed transfers are taken back and reported.
    env.advance(minutes(1));
    let rewound = env.store().rewind("ethereum", 104, env.now()).await.unwrap();
    assert_eq!(types(&rewound), ["payment.reversed"; 2]);
    let after = order(e, &o).await;
    assert_eq!(
        (after.status, after.amount_received.to_string()),
        (OrderStatus::Pending, "0.00".into())
    );
    assert_eq!(rewound[0].data, payment_data(&after, &pay));
    assert_eq!(rewound[0].created_at, env.now());
    assert_eq!(rewound[1].data, payment_data(&pending_deposit, &dep));
    assert!(deposits_of(e, "user-r").await.is_empty());
    assert!(unconfirmed(&env, "ethereum").await.is_empty());
    assert_eq!(env.store().chain_cursor("ethereum").await.unwrap(), Some(105));
    assert_eq!(
        env.store().recent_blocks("ethereum", 10).await.unwrap(),
        [(104, block_hash(104, 0))]
    );

    // The new chain includes the same transfers in other blocks: each counts once.
    let pay_again = ObservedTransfer {
        block_number: 107,
        block_hash: block_hash(107, 1),
        ..pay.clone()
    };
    let dep_again = ObservedTransfer {
        block_number: 108,
        block_hash: block_hash(108, 1),
        ..dep.clone()
    };
    let rescan = scan_on_fork(
        &env,
        "ethereum",
        1,
        105..=111,
        t0 + minutes(2),
        &[&pay_again, &dep_again],
    );
    let seen = apply(&env, &rescan).await;
    assert_eq!(types(&seen), ["order.payment_detected", "deposit.pending"]);
    assert!(apply(&env, &rescan).await.is_empty());
    assert_eq!(order(e, &o).await.amount_received.to_string(), "10.00");
    let deposits = deposits_of(e, "user-r").await;
    assert_eq!(deposits.len(), 1);
    assert_eq!(
        (deposits[0].block_number, deposits[0].amount.to_string()),
        (108, "5".into())
    );
    assert_ne!(deposits[0].deposit_id, pending_deposit.deposit_id);
    assert_eq!(
        unconfirmed(&env, "ethereum").await,
        [pending_transfer(&pay_again), pending_transfer(&dep_again)]
    );

    env.advance(minutes(3));
    let done = settle(&env, &[confirmed(&pay_again, 12), confirmed(&dep_again, 12)]).await;
    assert_eq!(types(&done), ["order.completed", "deposit.confirmed"]);
    let completed = order(e, &o).await;
    assert_eq!(
        (completed.block_number, completed.amount_received.to_string()),
        (Some(107), "10.00".into())
    );
    assert_eq!(totals(e, "user-r").await, (1, vec![(Currency::Usdt, "5".into())]));
    assert_eq!(events(e, Some("payment.reversed")).await.len(), 2);
}

async fn rescanning_a_range_never_double_counts(env: Env) {
    let e = &env.engine;
    import(e, 1).await;
    let t0 = env.now();
    let o = create(e, "RESCAN-1", "10.00").await;

    env.advance(minutes(1));
    let first = transfer(&o.address, "4", 1, 52, t0 + secs(20));
    let range = scan(&env, "ethereum", 50..=60, t0 + secs(40), &[&first]);
    assert_eq!(types(&apply(&env, &range).await), ["order.payment_detected"]);
    assert!(apply(&env, &range).await.is_empty(), "the same scan again");

    // Two replicas apply the next range at once; the node reported one log twice in it.
    let second = transfer(&o.address, "3", 2, 65, t0 + secs(50));
    let next = scan(&env, "ethereum", 61..=70, t0 + secs(58), &[&second, &second]);
    let replica = env.replica().await;
    let (a, b) = tokio::join!(env.store().apply_scan(&next), replica.chain_store().apply_scan(&next));
    let mut seen = a.unwrap();
    seen.extend(b.unwrap());
    assert_eq!(types(&seen), ["order.payment_detected"]);
    assert_eq!(order(e, &o).await.amount_received.to_string(), "7.00");
    assert_eq!(
        unconfirmed(&env, "ethereum").await,
        [pending_transfer(&first), pending_transfer(&second)]
    );

    // Confirmed transfers survive a rewind; rescanning their blocks finds them recorded.
    assert!(
        settle(&env, &[confirmed(&first, 12), confirmed(&second, 12)])
            .await
            .is_empty()
    );
    assert!(env.store().rewind("ethereum", 49, env.now()).await.unwrap().is_empty());
    assert_eq!(env.store().chain_cursor("ethereum").await.unwrap(), Some(50));
    assert!(apply(&env, &range).await.is_empty());
    assert!(apply(&env, &next).await.is_empty());
    assert_eq!(env.store().chain_cursor("ethereum").await.unwrap(), Some(71));
    let after = order(e, &o).await;
    assert_eq!(
        (after.status, after.amount_received.to_string()),
        (OrderStatus::Pending, "7.00".into())
    );
    assert_eq!(events(e, Some("order.payment_detected")).await.len(), 2);
    assert!(unconfirmed(&env, "ethereum").await.is_empty());
}

async fn concurrent_scans_and_confirmations_never_lose_an_update(env: Env) {
    const ROUNDS: u64 = 20;
    let e = &env.engine;
    import(e, 1).await;
    let t0 = env.now();
    let o = create(e, "RACE-1", "20.00").await;
    let replica = env.replica().await;
    let payment = |i: u64| transfer(&o.address, "1", i, 10 * i + 5, t0 + secs(i as i64));

    // Each round one replica scans a new payment while the other confirms the previous one,
    // both writing the same order row.
    let mut completed = Vec::new();
    for i in 1..=ROUNDS + 1 {
        let scanned = async {
            if i > ROUNDS {
                return Vec::new();
            }
            let range = scan(
                &env,
                "ethereum",
                10 * i..=10 * i + 9,
                t0 + secs(i as i64),
                &[&payment(i)],
            );
            env.store().apply_scan(&range).await.unwrap()
        };
        let confirmed_previous = async {
            if i == 1 {
                return Vec::new();
            }
            replica
                .chain_store()
                .apply_confirmations(&[confirmed(&payment(i - 1), 12)], env.now(), env.cooldown_until())
                .await
                .unwrap()
        };
        let (seen, settled) = tokio::join!(scanned, confirmed_previous);
        assert_eq!(seen.len(), usize::from(i <= ROUNDS));
        completed.extend(settled);
    }
    assert_eq!(
        types(&completed),
        ["order.completed"],
        "completed once, by the last confirmation"
    );
    let done = order(e, &o).await;
    assert_eq!(done.amount_received.to_string(), "20.00");
    assert_eq!((done.status, done.surplus), (OrderStatus::Completed, None));
    assert_eq!(done.tx_hash.as_deref(), Some(tx_hash(ROUNDS).as_str()));

    // Twenty payments to one order confirmed at once, half by each replica.
    env.advance(minutes(31));
    e.run_maintenance().await.unwrap();
    let many = create(e, "RACE-2", "20.00").await;
    let payments: Vec<ObservedTransfer> = (1..=ROUNDS)
        .map(|i| transfer(&many.address, "1", 100 + i, 1000 + i, env.now()))
        .collect();
    let detected = apply(
        &env,
        &scan(
            &env,
            "ethereum",
            10 * ROUNDS + 10..=1100,
            env.now(),
            &payments.iter().collect::<Vec<_>>(),
        ),
    )
    .await;
    assert_eq!(detected.len(), payments.len());
    let outcomes: Vec<[Confirmation; 1]> = payments.iter().map(|p| [confirmed(p, 12)]).collect();
    let confirming = outcomes.iter().enumerate().map(|(i, outcome)| {
        let store = if i % 2 == 0 { env.store() } else { replica.chain_store() };
        store.apply_confirmations(outcome, env.now(), env.cooldown_until())
    });
    let completed: Vec<Event> = futures::future::join_all(confirming)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert_eq!(
        types(&completed),
        ["order.completed"],
        "every confirmation counted once"
    );
    let done = order(e, &many).await;
    assert_eq!(
        (done.status, done.amount_received.to_string(), done.surplus),
        (OrderStatus::Completed, "20.00".into(), None)
    );
}

async fn cursor_and_recent_blocks_follow_scans_and_rewinds(env: Env) {
    let store = env.store();
    let t0 = env.now();
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), None);
    assert!(store.recent_blocks("ethereum", 10).await.unwrap().is_empty());

    apply(&env, &scan(&env, "ethereum", 100..=109, t0, &[])).await;
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(110));
    assert_eq!(
        store.recent_blocks("ethereum", 10).await.unwrap(),
        [(109, block_hash(109, 0))]
    );
    apply(&env, &scan(&env, "ethereum", 110..=119, t0 + minutes(2), &[])).await;
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(120));
    assert_eq!(
        store.recent_blocks("ethereum", 10).await.unwrap(),
        [(119, block_hash(119, 0)), (109, block_hash(109, 0))]
    );
    assert_eq!(
        store.recent_blocks("ethereum", 1).await.unwrap(),
        [(119, block_hash(119, 0))]
    );
    assert_eq!(store.chain_cursor("polygon").await.unwrap(), None, "chains are apart");

    // A scan of a range already scanned, or one that skips ahead, is stale: nothing changes.
    assert!(
        apply(&env, &scan_on_fork(&env, "ethereum", 7, 100..=125, t0, &[]))
            .await
            .is_empty()
    );
    assert!(
        apply(&env, &scan_on_fork(&env, "ethereum", 7, 130..=139, t0, &[]))
            .await
            .is_empty()
    );
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(120));
    assert_eq!(store.recent_blocks("ethereum", 10).await.unwrap().len(), 2);

    // A rewind drops the blocks above the fork and moves the cursor back, never forward.
    assert!(store.rewind("ethereum", 112, env.now()).await.unwrap().is_empty());
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(113));
    assert_eq!(
        store.recent_blocks("ethereum", 10).await.unwrap(),
        [(109, block_hash(109, 0))]
    );
    assert!(store.rewind("ethereum", 200, env.now()).await.unwrap().is_empty());
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(113));

    // Only the last 512 blocks' hashes are kept.
    apply(
        &env,
        &scan_on_fork(&env, "ethereum", 1, 113..=620, t0 + minutes(4), &[]),
    )
    .await;
    apply(
        &env,
        &scan_on_fork(&env, "ethereum", 1, 621..=700, t0 + minutes(6), &[]),
    )
    .await;
    assert_eq!(store.chain_cursor("ethereum").await.unwrap(), Some(701));
    assert_eq!(
        store.recent_blocks("ethereum", 10).await.unwrap(),
        [(700, block_hash(700, 1)), (620, block_hash(620, 1))]
    );
}

async fn watched_addresses_are_the_assigned_and_cooling_down_ones(env: Env) {
    let e = &env.engine;
    import(e, 3).await;
    assert!(
        env.store()
            .watched_addresses(Protocol::Evm, None)
            .await
            .unwrap()
            .is_empty()
    );
    let o = create(e, "WATCH-1", "10.00").await;
    let deposit = e
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "user-w".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap()
        .address;
    let mut expected = vec![o.address.clone(), deposit.clone()];
    expected.sort();
    let mut watched = env.store().watched_addresses(Protocol::Evm, None).await.unwrap();
    watched.sort();
    assert_eq!(watched, expected);
    assert!(
        env.store()
            .watched_addresses(Protocol::Tron, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Expired: late payments stay possible, so the address is watched through its cooldown.
    env.advance(minutes(16));
    assert_eq!(e.run_maintenance().await.unwrap().expired_orders.len(), 1);
    let mut watched = env.store().watched_addresses(Protocol::Evm, None).await.unwrap();
    watched.sort();
    assert_eq!(watched, expected);
    env.advance(minutes(30));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 1);
    assert_eq!(
        env.store().watched_addresses(Protocol::Evm, None).await.unwrap(),
        vec![deposit.clone()]
    );

    // Incremental loads return only what was assigned since: a new order's address, not the
    // deposit address bound 46 minutes ago.
    let since = e.now();
    let newer = create(e, "WATCH-2", "1.00").await;
    assert_eq!(
        env.store().watched_addresses(Protocol::Evm, Some(since)).await.unwrap(),
        [newer.address]
    );
}

async fn expiry_steps_over_orders_kept_open_to_fill_its_batch(env: Env) {
    let e = &env.engine;
    import(e, 3).await;
    let t0 = env.now();
    let held = create(e, "BATCH-HELD", "10.00").await;
    env.advance(secs(1));
    let first = create(e, "BATCH-FIRST", "10.00").await;
    env.advance(secs(1));
    let second = create(e, "BATCH-SECOND", "10.00").await;
    let end = deadline(&second);
    env.advance(minutes(16));
    let waiting = transfer(&held.address, "4", 1, 5, t0 + minutes(1));
    apply(&env, &scan(&env, "ethereum", 1..=90, end + minutes(1), &[&waiting])).await;

    // Batches of one: the oldest order awaits a confirmation, so each batch expires the next
    // expirable one instead of coming back empty.
    let store = payin_core::store::connect(&env.url).await.unwrap();
    let batch = |n| {
        let store = &store;
        let now = env.now();
        async move {
            let expired = store.expire_orders(now, now + minutes(30), 1).await.unwrap();
            assert!(expired.len() <= 1, "batch {n}");
            expired.into_iter().map(|o| o.order_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(batch(1).await, [first.order_id.as_str()]);
    assert_eq!(batch(2).await, [second.order_id.as_str()]);
    assert!(batch(3).await.is_empty());
    assert_eq!(order(e, &held).await.status, OrderStatus::Pending);
    assert_eq!(events(e, Some("order.expired")).await.len(), 2);
}
