//! One store test suite, run against both backends: every scenario below runs once on a fresh
//! SQLite file and once on a fresh PostgreSQL database (see `common::fresh_database`).
//! Scenarios drive the public [`Engine`] with a manual clock, so time-based rules are exact.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use payin_core::chain::{Currency, Protocol, normalize_address};
use payin_core::clock::{Clock, ManualClock};
use payin_core::deposit::{BindProtocolRequest, BindReferenceRequest, Deposit, DepositStatus, NewDeposit, Unbound};
use payin_core::engine::{DepositListQuery, EventListQuery, OrderListQuery, ReferenceListQuery};
use payin_core::event::{Event, EventType};
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::page::{Page, Pagination};
use payin_core::pool::{ImportAddressesRequest, ImportResult, PoolStatus};
use payin_core::testing::{Backend, fresh_database};
use payin_core::time::Timestamp;
use payin_core::{Amount, Engine, EngineOptions, Error};

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
    scenario(Env {
        engine,
        clock,
        url: db.url.clone(),
    })
    .await;
}

payin_core::on_both_backends!(via run:
    order_gets_a_pool_address_and_created_event,
    orders_and_deposit_addresses_need_a_watched_chain,
    amounts_keep_their_scale_and_sort_numerically,
    list_orders_filters_and_paginates,
    duplicate_reference_returns_existing_order_id,
    concurrent_creations_never_share_an_address,
    concurrent_same_reference_creates_one_order,
    order_expires_after_window_plus_grace,
    deposit_bind_by_chain_and_by_protocol,
    concurrent_binds_of_one_reference_share_one_address,
    unbind_puts_address_in_cooldown_only_after_last_binding,
    deposits_are_recorded_once_and_totalled,
    import_is_idempotent_and_canonical,
    pool_low_fires_once_when_crossing_the_watermark,
    api_keys_authenticate_until_revoked,
    events_list_newest_first_with_type_filter,
);

// ---- helpers -------------------------------------------------------------------------

/// Every watched EVM chain of the built-in registry (with `every_chain_watched`), in registry
/// order: `local` has no token contract until `payin dev` records its chain.
const EVM_CHAINS: [&str; 8] = [
    "ethereum",
    "ethereum-sepolia",
    "polygon",
    "polygon-amoy",
    "base",
    "base-sepolia",
    "bsc",
    "arbitrum",
];

/// A deterministic, valid EVM address (lowercase hex).
fn evm_address(i: usize) -> String {
    format!("0x{:040x}", i + 1)
}

fn canonical(address: &str) -> String {
    normalize_address(Protocol::Evm, address).unwrap()
}

async fn import_evm(engine: &Engine, range: Range<usize>) -> ImportResult {
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: range.map(evm_address).collect(),
        })
        .await
        .unwrap()
}

fn order_request(reference: &str, amount: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!(amount),
        currency: "USDT".into(),
        chain_id: "ethereum".into(),
        ..Default::default()
    }
}

async fn create(engine: &Engine, reference: &str, amount: &str) -> Order {
    engine.create_order(order_request(reference, amount)).await.unwrap()
}

async fn pool(engine: &Engine, protocol: Protocol) -> PoolStatus {
    engine
        .pool_status()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.protocol == protocol)
        .unwrap()
}

/// (available, assigned, cooldown) of the EVM pool.
async fn evm_pool(engine: &Engine) -> (u64, u64, u64) {
    let p = pool(engine, Protocol::Evm).await;
    assert_eq!(p.total, p.available + p.assigned + p.cooldown);
    (p.available, p.assigned, p.cooldown)
}

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

async fn list_orders(engine: &Engine, q: OrderListQuery) -> Page<Order> {
    engine.list_orders(&q).await.unwrap()
}

fn references(page: &Page<Order>) -> Vec<&str> {
    page.items.iter().map(|o| o.order_reference.as_str()).collect()
}

fn order_amounts(page: &Page<Order>) -> Vec<String> {
    page.items.iter().map(|o| o.amount.to_string()).collect()
}

fn deposit_amounts(page: &Page<Deposit>) -> Vec<String> {
    page.items.iter().map(|d| d.amount.to_string()).collect()
}

fn pagination(page: u32, limit: u32, total: u64, total_pages: u64, has_more: bool) -> Pagination {
    Pagination {
        page,
        limit,
        total,
        total_pages,
        has_more,
    }
}

fn bind_reference(reference: &str, currency: &str, chain_id: &str, metadata: Option<Value>) -> BindReferenceRequest {
    BindReferenceRequest {
        deposit_reference: reference.into(),
        currency: currency.into(),
        chain_id: chain_id.into(),
        metadata,
    }
}

fn bind_protocol(reference: &str, metadata: Option<Value>) -> BindProtocolRequest {
    BindProtocolRequest {
        deposit_reference: reference.into(),
        protocol: "evm".into(),
        metadata,
    }
}

fn totals_as_strings(totals: &BTreeMap<Currency, Amount>) -> BTreeMap<Currency, String> {
    totals.iter().map(|(c, a)| (*c, a.to_string())).collect()
}

// ---- orders --------------------------------------------------------------------------

/// An order or deposit address on a chain nobody watches could be paid and never see it: it
/// is refused (naming what to configure), and nothing is written.
async fn orders_and_deposit_addresses_need_a_watched_chain(env: Env) {
    import_evm(&env.engine, 0..3).await;
    let unconfigured = Engine::open(EngineOptions {
        clock: env.clock.clone(),
        ..EngineOptions::new(&env.url)
    })
    .await
    .unwrap();
    let refused = |e: Error, want_field: &str| match e {
        Error::Invalid { code, field, message } => {
            assert_eq!(
                (code.as_str(), field.as_str()),
                ("INVALID_CHAIN", want_field),
                "{message}"
            );
            message
        }
        other => panic!("{other:?}"),
    };
    let message = refused(
        unconfigured
            .create_order(order_request("NO-RPC-1", "5"))
            .await
            .unwrap_err(),
        "chainId",
    );
    assert!(
        message.contains("rpc_urls") && message.contains("[chains.ethereum]"),
        "{message}"
    );
    refused(
        unconfigured
            .bind_deposit_reference(BindReferenceRequest {
                deposit_reference: "u-no-rpc".into(),
                currency: "USDC".into(),
                chain_id: "polygon".into(),
                metadata: None,
            })
            .await
            .unwrap_err(),
        "chainId",
    );
    refused(
        unconfigured
            .bind_deposit_protocol(BindProtocolRequest {
                deposit_reference: "u-no-rpc".into(),
                protocol: "evm".into(),
                metadata: None,
            })
            .await
            .unwrap_err(),
        "protocol",
    );
    let tron = CreateOrderRequest {
        chain_id: "tron".into(),
        ..order_request("TRON-1", "5")
    };
    refused(env.engine.create_order(tron).await.unwrap_err(), "chainId");
    assert_eq!(
        pool(&env.engine, Protocol::Evm).await.assigned,
        0,
        "nothing was assigned"
    );

    // With RPC URLs, a protocol binding is watched on exactly the chains that have one.
    let bound = env
        .engine
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "u-rpc".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    assert!(
        bound.monitored_chains.iter().any(|c| c == "ethereum"),
        "{:?}",
        bound.monitored_chains
    );
    assert!(
        !bound.monitored_chains.iter().any(|c| c == "local"),
        "{:?}",
        bound.monitored_chains
    );
}

async fn order_gets_a_pool_address_and_created_event(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..3).await;
    e.set_config("default_order_success_url", &json!("https://shop.example/paid"))
        .await
        .unwrap();
    e.set_config("default_order_cancel_url", &json!("https://shop.example/cancelled"))
        .await
        .unwrap();
    let metadata = json!({"customerId": "c-42", "items": 3, "gift": true, "note": null, "cart": {"sku": "A-1"}});

    let order = e
        .create_order(CreateOrderRequest {
            metadata: Some(metadata.clone()),
            ..order_request("ORDER-2025-001", "100.00")
        })
        .await
        .unwrap();
    assert!(order.order_id.starts_with("ord_"), "{}", order.order_id);
    assert_eq!(order.order_reference, "ORDER-2025-001");
    assert_eq!(order.amount.to_string(), "100.00");
    assert_eq!(order.amount_received.to_string(), "0.00");
    assert_eq!(
        (order.currency, order.chain_id.as_str(), order.protocol),
        (Currency::Usdt, "ethereum", Protocol::Evm)
    );
    assert_eq!(order.status, OrderStatus::Pending);
    // Least recently available first, ties by address: the lowest of the three.
    assert_eq!(order.address, canonical(&evm_address(0)));
    assert_eq!(Value::Object(order.metadata.clone()), metadata);
    assert_eq!(order.success_url.as_deref(), Some("https://shop.example/paid"));
    assert_eq!(order.cancel_url.as_deref(), Some("https://shop.example/cancelled"));
    assert_eq!(
        order.payment_url,
        format!("http://127.0.0.1:8080/pay/{}", order.order_id)
    );
    assert_eq!((order.payment_window_minutes, order.grace_minutes), (10, 5));
    assert_eq!(order.created_at, start());
    assert_eq!(order.expires_at, start() + Duration::minutes(10));
    assert_eq!(
        (order.completed_at, order.expired_at, order.tx_hash.as_deref()),
        (None, None, None)
    );

    // What the store kept reads back as what was returned, field for field.
    let stored = e.get_order(&order.order_id).await.unwrap();
    assert_eq!(stored, order);
    assert_eq!(serde_json::to_value(&stored).unwrap()["amountReceived"], "0.00");
    assert_eq!(e.get_order_by_reference("ORDER-2025-001").await.unwrap(), order);

    let all = events(e, None).await;
    assert_eq!(all.len(), 1);
    let created = &all[0];
    assert_eq!(created.event_type, EventType::OrderCreated);
    assert!(created.id.starts_with("evt_"));
    assert_eq!(created.created_at, order.created_at);
    assert_eq!(created.data, serde_json::to_value(&order).unwrap());
    assert_eq!(created.data["amountReceived"], "0.00");
    assert_eq!(created.data["metadata"], metadata);

    // A URL sent with the order wins over the configured default.
    env.advance(Duration::seconds(1));
    let second = e
        .create_order(CreateOrderRequest {
            success_url: Some("https://other.example/ok".into()),
            ..order_request("ORDER-2025-002", "5")
        })
        .await
        .unwrap();
    assert_eq!(second.success_url.as_deref(), Some("https://other.example/ok"));
    assert_eq!(second.cancel_url.as_deref(), Some("https://shop.example/cancelled"));
    assert_eq!(second.amount_received.to_string(), "0");
    assert!(second.metadata.is_empty());
    assert_ne!(second.address, order.address);
    assert_eq!(e.get_order(&second.order_id).await.unwrap(), second);

    assert_eq!(evm_pool(e).await, (1, 2, 0));
    assert_eq!(e.get_order("ord_missing").await.unwrap_err().code(), "ORDER_NOT_FOUND");
    assert_eq!(
        e.get_order_by_reference("nope").await.unwrap_err().code(),
        "ORDER_NOT_FOUND"
    );
}

async fn amounts_keep_their_scale_and_sort_numerically(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..6).await;
    for amount in ["9.99", "10", "100.5", "2.000000", "0.000001"] {
        create(e, &format!("AMT-{amount}"), amount).await;
        env.advance(Duration::seconds(1));
    }
    let dai = e
        .create_order(CreateOrderRequest {
            currency: "DAI".into(),
            ..order_request("AMT-DAI", "1.123456789012345678")
        })
        .await
        .unwrap();
    assert_eq!(dai.amount_received.to_string(), "0.000000000000000000");

    let by_amount = |order: &str| OrderListQuery {
        sort_by: Some("amount".into()),
        sort_order: Some(order.into()),
        ..Default::default()
    };
    let asc = list_orders(e, by_amount("asc")).await;
    assert_eq!(
        order_amounts(&asc),
        ["0.000001", "1.123456789012345678", "2.000000", "9.99", "10", "100.5"]
    );
    let desc = list_orders(e, by_amount("desc")).await;
    assert_eq!(
        order_amounts(&desc),
        ["100.5", "10", "9.99", "2.000000", "1.123456789012345678", "0.000001"]
    );

    let two = e.get_order_by_reference("AMT-2.000000").await.unwrap();
    assert_eq!(
        (two.amount.to_string(), two.amount_received.to_string()),
        ("2.000000".into(), "0.000000".into())
    );
    assert_eq!(e.get_order(&dai.order_id).await.unwrap(), dai);
}

async fn list_orders_filters_and_paginates(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..10).await;
    let specs: [(&str, &str, &str, &str, Option<u32>); 5] = [
        ("Shop-Alpha-001", "USDT", "ethereum", "10.00", Some(1)),
        ("shop-beta-002", "USDC", "ethereum", "20.00", None),
        ("SHOP-ALPHA-003", "USDT", "polygon", "30.00", None),
        ("extra_004", "USDC", "polygon", "40.00", Some(60)),
        ("shop-alpha-005", "USDT", "ethereum", "50.00", None),
    ];
    for (i, (reference, currency, chain, amount, window)) in specs.into_iter().enumerate() {
        if i > 0 {
            env.advance(Duration::minutes(1));
        }
        e.create_order(CreateOrderRequest {
            currency: currency.into(),
            chain_id: chain.into(),
            payment_window_minutes: window,
            grace_minutes: window.map(|_| 0),
            ..order_request(reference, amount)
        })
        .await
        .unwrap();
    }
    // Only the first order's one-minute window has run out.
    let report = e.run_maintenance().await.unwrap();
    let first = e.get_order_by_reference("Shop-Alpha-001").await.unwrap();
    assert_eq!(report.expired_orders, [first.order_id.as_str()]);

    let all = list_orders(e, OrderListQuery::default()).await;
    assert_eq!(
        references(&all),
        [
            "shop-alpha-005",
            "extra_004",
            "SHOP-ALPHA-003",
            "shop-beta-002",
            "Shop-Alpha-001"
        ]
    );
    assert_eq!(all.pagination, pagination(1, 20, 5, 1, false));

    let q = |f: fn(&mut OrderListQuery)| {
        let mut q = OrderListQuery::default();
        f(&mut q);
        q
    };
    let asc = list_orders(e, q(|q| q.sort_order = Some("asc".into()))).await;
    assert_eq!(
        references(&asc),
        [
            "Shop-Alpha-001",
            "shop-beta-002",
            "SHOP-ALPHA-003",
            "extra_004",
            "shop-alpha-005"
        ]
    );
    let by_expiry = list_orders(
        e,
        q(|q| {
            q.sort_by = Some("expiresAt".into());
            q.sort_order = Some("asc".into());
        }),
    )
    .await;
    assert_eq!(
        references(&by_expiry),
        [
            "Shop-Alpha-001",
            "shop-beta-002",
            "SHOP-ALPHA-003",
            "shop-alpha-005",
            "extra_004"
        ]
    );

    let expired = list_orders(e, q(|q| q.status = Some("expired".into()))).await;
    assert_eq!(references(&expired), ["Shop-Alpha-001"]);
    assert_eq!(expired.items[0].status, OrderStatus::Expired);
    let pending = list_orders(e, q(|q| q.status = Some("pending".into()))).await;
    assert_eq!(
        references(&pending),
        ["shop-alpha-005", "extra_004", "SHOP-ALPHA-003", "shop-beta-002"]
    );
    let usdc = list_orders(e, q(|q| q.currency = Some("USDC".into()))).await;
    assert_eq!(references(&usdc), ["extra_004", "shop-beta-002"]);
    let polygon = list_orders(e, q(|q| q.chain_id = Some("polygon".into()))).await;
    assert_eq!(references(&polygon), ["extra_004", "SHOP-ALPHA-003"]);
    let combined = list_orders(
        e,
        q(|q| {
            q.status = Some("pending".into());
            q.currency = Some("USDT".into());
            q.chain_id = Some("ethereum".into());
        }),
    )
    .await;
    assert_eq!(references(&combined), ["shop-alpha-005"]);

    // Substring, case-insensitive, with LIKE wildcards taken literally.
    let alpha = list_orders(e, q(|q| q.order_reference = Some("alpha".into()))).await;
    assert_eq!(
        references(&alpha),
        ["shop-alpha-005", "SHOP-ALPHA-003", "Shop-Alpha-001"]
    );
    assert_eq!(alpha.pagination.total, 3);
    let underscore = list_orders(e, q(|q| q.order_reference = Some("A_0".into()))).await;
    assert_eq!(references(&underscore), ["extra_004"]);
    let percent = list_orders(e, q(|q| q.order_reference = Some("%".into()))).await;
    assert!(percent.items.is_empty());
    assert_eq!(percent.pagination, pagination(1, 20, 0, 0, false));

    let page = |n: &str| {
        let n = n.to_string();
        OrderListQuery {
            page: Some(n),
            limit: Some("2".into()),
            ..Default::default()
        }
    };
    let p1 = list_orders(e, page("1")).await;
    assert_eq!(references(&p1), ["shop-alpha-005", "extra_004"]);
    assert_eq!(p1.pagination, pagination(1, 2, 5, 3, true));
    let p2 = list_orders(e, page("2")).await;
    assert_eq!(references(&p2), ["SHOP-ALPHA-003", "shop-beta-002"]);
    assert_eq!(p2.pagination, pagination(2, 2, 5, 3, true));
    let p3 = list_orders(e, page("3")).await;
    assert_eq!(references(&p3), ["Shop-Alpha-001"]);
    assert_eq!(p3.pagination, pagination(3, 2, 5, 3, false));
    let p4 = list_orders(e, page("4")).await;
    assert!(p4.items.is_empty());
    assert_eq!(p4.pagination, pagination(4, 2, 5, 3, false));
}

async fn duplicate_reference_returns_existing_order_id(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..2).await;
    let first = create(e, "DUP-1", "10.00").await;
    let err = e.create_order(order_request("DUP-1", "99.00")).await.unwrap_err();
    assert_eq!(err.code(), "DUPLICATE_ORDER_REFERENCE");
    match err {
        Error::DuplicateOrderReference {
            reference,
            existing_order_id,
        } => {
            assert_eq!(reference, "DUP-1");
            assert_eq!(existing_order_id, first.order_id);
        }
        other => panic!("expected DuplicateOrderReference, got {other:?}"),
    }
    // The duplicate took no address, wrote no event and changed nothing.
    assert_eq!(evm_pool(e).await, (1, 1, 0));
    assert_eq!(events(e, Some("order.created")).await.len(), 1);
    assert_eq!(e.get_order_by_reference("DUP-1").await.unwrap(), first);
}

async fn concurrent_creations_never_share_an_address(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..100).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let engine = env.engine.clone();
            tokio::spawn(async move { engine.create_order(order_request(&format!("RACE-{i}"), "1.00")).await })
        })
        .collect();
    let mut addresses = HashSet::new();
    let mut exhausted = 0;
    for result in futures::future::join_all(tasks).await {
        match result.unwrap() {
            Ok(order) => assert!(
                addresses.insert(order.address.clone()),
                "{} assigned twice",
                order.address
            ),
            Err(Error::NoAvailableAddresses(Protocol::Evm)) => exhausted += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(addresses.len(), 100);
    assert_eq!(exhausted, 100);
    let pool_addresses: HashSet<String> = (0..100).map(|i| canonical(&evm_address(i))).collect();
    assert_eq!(addresses, pool_addresses);
    assert_eq!(evm_pool(e).await, (0, 100, 0));
    assert_eq!(events(e, Some("order.created")).await.len(), 100);
}

async fn concurrent_same_reference_creates_one_order(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..60).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let engine = env.engine.clone();
            tokio::spawn(async move {
                engine
                    .create_order(order_request("SAME-REF", &format!("{}.00", i + 1)))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut existing_ids = Vec::new();
    for result in futures::future::join_all(tasks).await {
        match result.unwrap() {
            Ok(order) => winners.push(order),
            Err(Error::DuplicateOrderReference { existing_order_id, .. }) => existing_ids.push(existing_order_id),
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = &winners[0];
    assert_eq!(existing_ids.len(), 49);
    assert!(existing_ids.iter().all(|id| *id == winner.order_id), "{existing_ids:?}");
    assert_eq!(e.get_order_by_reference("SAME-REF").await.unwrap(), *winner);
    assert_eq!(evm_pool(e).await, (59, 1, 0));
    assert_eq!(events(e, Some("order.created")).await.len(), 1);
}

async fn order_expires_after_window_plus_grace(env: Env) {
    let e = &env.engine;
    e.set_config("address_cooldown_minutes", &json!(20)).await.unwrap();
    import_evm(e, 0..2).await;
    let t0 = env.now();
    let first = create(e, "EXP-1", "10.00").await; // window 10 + grace 5
    let second = e
        .create_order(CreateOrderRequest {
            payment_window_minutes: Some(30),
            grace_minutes: Some(0),
            ..order_request("EXP-2", "20.00")
        })
        .await
        .unwrap();
    assert_eq!(second.expires_at, t0 + Duration::minutes(30));

    env.advance(Duration::minutes(15) - Duration::milliseconds(1));
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());
    assert_eq!(e.get_order(&first.order_id).await.unwrap().status, OrderStatus::Pending);

    // Two replicas expire at the same moment: the order expires once, with one event.
    env.advance(Duration::milliseconds(2));
    let replica = env.replica().await;
    let (a, b) = tokio::join!(e.run_maintenance(), replica.run_maintenance());
    let mut expired = a.unwrap().expired_orders;
    expired.extend(b.unwrap().expired_orders);
    assert_eq!(expired, [first.order_id.as_str()]);
    let first_expired = e.get_order(&first.order_id).await.unwrap();
    assert_eq!(first_expired.status, OrderStatus::Expired);
    assert_eq!(first_expired.expired_at, Some(env.now()));
    let expired_events = events(e, Some("order.expired")).await;
    assert_eq!(expired_events.len(), 1);
    assert_eq!(expired_events[0].created_at, env.now());
    assert_eq!(expired_events[0].data, serde_json::to_value(&first_expired).unwrap());
    assert_eq!(expired_events[0].data["status"], "expired");
    assert_eq!(evm_pool(e).await, (0, 1, 1));
    let first_cooldown_ends = env.now() + Duration::minutes(20);

    // The second order's own window (30, grace 0) is honoured.
    assert_eq!(
        e.get_order(&second.order_id).await.unwrap().status,
        OrderStatus::Pending
    );
    env.advance(Duration::minutes(15) - Duration::milliseconds(2));
    assert_eq!(env.now(), t0 + Duration::minutes(30) - Duration::milliseconds(1));
    assert!(e.run_maintenance().await.unwrap().expired_orders.is_empty());
    env.advance(Duration::milliseconds(2));
    assert_eq!(
        e.run_maintenance().await.unwrap().expired_orders,
        [second.order_id.as_str()]
    );
    assert_eq!(evm_pool(e).await, (0, 0, 2));

    // The first address rests for address_cooldown_minutes, then serves a new order.
    env.advance(first_cooldown_ends - env.now() - Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 0);
    assert_eq!(evm_pool(e).await, (0, 0, 2));
    env.advance(Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 1);
    assert_eq!(evm_pool(e).await, (1, 0, 1));
    let third = create(e, "EXP-3", "5").await;
    assert_eq!(third.address, first.address);
    assert_eq!(events(e, Some("order.expired")).await.len(), 2);
}

// ---- deposits ------------------------------------------------------------------------

async fn deposit_bind_by_chain_and_by_protocol(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..5).await;
    let t0 = env.now();
    let eth = e
        .bind_deposit_reference(bind_reference(
            "user-1",
            "USDT",
            "ethereum",
            Some(json!({"userId": "u1"})),
        ))
        .await
        .unwrap();
    assert_eq!(
        (eth.deposit_reference.as_str(), eth.currency, eth.chain_id.as_str()),
        ("user-1", Currency::Usdt, "ethereum")
    );
    assert_eq!(eth.protocol, Protocol::Evm);
    assert_eq!(eth.address, canonical(&evm_address(0)));
    assert_eq!(Value::Object(eth.metadata.clone()), json!({"userId": "u1"}));
    assert_eq!(eth.created_at, t0);

    // One address per protocol: another EVM chain gets the same one; metadata is kept.
    env.advance(Duration::minutes(1));
    let polygon = e
        .bind_deposit_reference(bind_reference("user-1", "USDC", "polygon", None))
        .await
        .unwrap();
    assert_eq!(polygon.address, eth.address);
    assert_eq!(Value::Object(polygon.metadata), json!({"userId": "u1"}));

    let dup = e
        .bind_deposit_reference(bind_reference("user-1", "DAI", "ethereum", None))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "DUPLICATE_DEPOSIT_REFERENCE");
    assert_eq!(
        dup.to_string(),
        "Deposit reference 'user-1' already exists for chain 'ethereum'"
    );

    env.advance(Duration::minutes(1));
    let family = e
        .bind_deposit_protocol(bind_protocol("user-2", Some(json!({"tier": "gold"}))))
        .await
        .unwrap();
    assert_eq!(family.protocol, Protocol::Evm);
    assert_ne!(family.address, eth.address);
    assert_eq!(family.monitored_chains, EVM_CHAINS);
    assert_eq!(Value::Object(family.metadata.clone()), json!({"tier": "gold"}));
    let family_dup = e
        .bind_deposit_protocol(bind_protocol("user-1", None))
        .await
        .unwrap_err();
    assert_eq!(family_dup.code(), "DUPLICATE_DEPOSIT_REFERENCE");

    // Metadata sent with a later bind replaces the stored metadata.
    env.advance(Duration::minutes(1));
    let base = e
        .bind_deposit_reference(bind_reference(
            "user-1",
            "USDC",
            "base",
            Some(json!({"userId": "u1", "plan": "pro"})),
        ))
        .await
        .unwrap();
    assert_eq!(base.address, eth.address);

    let user1 = e.get_deposit_reference("user-1").await.unwrap();
    let bindings: Vec<(&str, Option<Currency>, &str)> = user1
        .addresses
        .iter()
        .map(|b| (b.chain_id.as_str(), b.currency, b.address.as_str()))
        .collect();
    assert_eq!(
        bindings,
        [
            ("ethereum", Some(Currency::Usdt), eth.address.as_str()),
            ("polygon", Some(Currency::Usdc), eth.address.as_str()),
            ("base", Some(Currency::Usdc), eth.address.as_str()),
        ]
    );
    assert_eq!(user1.addresses[2].created_at, t0 + Duration::minutes(3));
    assert_eq!(Value::Object(user1.metadata), json!({"userId": "u1", "plan": "pro"}));
    assert_eq!((user1.total_deposits, user1.total_amount.len()), (0, 0));
    assert_eq!(user1.created_at, t0);

    let user2 = e.get_deposit_reference("user-2").await.unwrap();
    let chains: Vec<&str> = user2.addresses.iter().map(|b| b.chain_id.as_str()).collect();
    let mut expected = EVM_CHAINS.to_vec();
    expected.sort_unstable();
    assert_eq!(chains, expected, "same createdAt: ordered by chainId");
    assert!(
        user2
            .addresses
            .iter()
            .all(|b| b.currency.is_none() && b.address == family.address)
    );

    assert_eq!(evm_pool(e).await, (3, 2, 0));

    let refs = e.list_deposit_references(&ReferenceListQuery::default()).await.unwrap();
    let summary: Vec<(&str, u64)> = refs
        .items
        .iter()
        .map(|r| (r.deposit_reference.as_str(), r.address_count))
        .collect();
    assert_eq!(summary, [("user-2", EVM_CHAINS.len() as u64), ("user-1", 3)]);
    assert!(
        refs.items
            .iter()
            .all(|r| r.protocols == [Protocol::Evm] && r.last_deposit_at.is_none())
    );
    assert_eq!(refs.pagination, pagination(1, 20, 2, 1, false));
    let search = |s: &str| ReferenceListQuery {
        search: Some(s.into()),
        ..Default::default()
    };
    let found = e.list_deposit_references(&search("USER-1")).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].deposit_reference, "user-1");
    assert_eq!(found.pagination.total, 1);
    let literal = e.list_deposit_references(&search("_")).await.unwrap();
    assert!(literal.items.is_empty());
    assert_eq!(literal.pagination.total, 0);

    let bound = events(e, Some("deposit.address_bound")).await;
    assert_eq!(bound.len(), 4);
    assert_eq!(bound[0].data["depositReference"], "user-1");
    assert_eq!(
        bound[0].data["chains"],
        json!([{"chainId": "base", "currency": "USDC"}])
    );
    assert_eq!(bound[1].data["chains"].as_array().unwrap().len(), EVM_CHAINS.len());
    assert_eq!(
        e.get_deposit_reference("nobody").await.unwrap_err().code(),
        "DEPOSIT_REFERENCE_NOT_FOUND"
    );
}

async fn concurrent_binds_of_one_reference_share_one_address(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..20).await;
    // Seven chains with a USDC contract, each bound twice at once.
    let chains = [
        "ethereum",
        "ethereum-sepolia",
        "polygon",
        "polygon-amoy",
        "base",
        "base-sepolia",
        "arbitrum",
    ];
    let tasks: Vec<_> = chains
        .iter()
        .chain(chains.iter())
        .map(|chain| {
            let engine = env.engine.clone();
            let request = bind_reference("shared", "USDC", chain, None);
            tokio::spawn(async move { engine.bind_deposit_reference(request).await })
        })
        .collect();
    let mut addresses = HashSet::new();
    let mut bound_chains = Vec::new();
    let mut duplicates = 0;
    for result in futures::future::join_all(tasks).await {
        match result.unwrap() {
            Ok(b) => {
                addresses.insert(b.address);
                bound_chains.push(b.chain_id);
            }
            Err(Error::DuplicateDepositReference { .. }) => duplicates += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    assert_eq!(duplicates, 7);
    bound_chains.sort_unstable();
    let mut expected = chains.to_vec();
    expected.sort_unstable();
    assert_eq!(bound_chains, expected);
    assert_eq!(evm_pool(e).await, (19, 1, 0));
    let shared = e.get_deposit_reference("shared").await.unwrap();
    assert_eq!(shared.addresses.len(), 7);
}

async fn unbind_puts_address_in_cooldown_only_after_last_binding(env: Env) {
    let e = &env.engine;
    e.set_config("address_cooldown_minutes", &json!(15)).await.unwrap();
    import_evm(e, 0..3).await;
    let a = e
        .bind_deposit_reference(bind_reference("u-1", "USDT", "ethereum", None))
        .await
        .unwrap()
        .address;
    e.bind_deposit_reference(bind_reference("u-1", "USDC", "polygon", None))
        .await
        .unwrap();
    env.advance(Duration::minutes(1));

    let one = e.unbind_deposit("u-1", Some("ethereum")).await.unwrap();
    assert_eq!(
        one,
        Unbound {
            deposit_reference: "u-1".into(),
            unbound_addresses: 1
        }
    );
    assert_eq!(evm_pool(e).await, (2, 1, 0), "polygon still uses the address");
    let left = e.get_deposit_reference("u-1").await.unwrap();
    assert_eq!(left.addresses.len(), 1);
    assert_eq!(left.addresses[0].chain_id, "polygon");
    assert_eq!(
        e.unbind_deposit("u-1", Some("ethereum")).await.unwrap_err().code(),
        "NOT_FOUND"
    );
    assert_eq!(
        e.unbind_deposit("nobody", None).await.unwrap_err().code(),
        "DEPOSIT_REFERENCE_NOT_FOUND"
    );

    let rest = e.unbind_deposit("u-1", None).await.unwrap();
    assert_eq!(rest.unbound_addresses, 1);
    assert_eq!(evm_pool(e).await, (2, 0, 1));
    let unbound = events(e, Some("deposit.address_unbound")).await;
    assert_eq!(unbound.len(), 2);
    assert_eq!(
        unbound[0].data,
        json!({"depositReference": "u-1", "chains": ["polygon"], "unboundAddresses": 1, "releasedAddresses": [a]})
    );
    assert_eq!(unbound[1].data["releasedAddresses"], json!([]));
    assert!(e.get_deposit_reference("u-1").await.unwrap().addresses.is_empty());

    env.advance(Duration::minutes(15) - Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 0);
    env.advance(Duration::milliseconds(1));
    assert_eq!(e.run_maintenance().await.unwrap().released_addresses, 1);
    assert_eq!(evm_pool(e).await, (3, 0, 0));

    // The released address is now the most recently used: a new bind gets a rested one.
    let again = e
        .bind_deposit_reference(bind_reference("u-1", "USDT", "ethereum", None))
        .await
        .unwrap();
    assert_ne!(again.address, a);
    assert_eq!(again.address, canonical(&evm_address(1)));
}

async fn deposits_are_recorded_once_and_totalled(env: Env) {
    use DepositStatus::{Confirmed, Pending};

    let e = &env.engine;
    import_evm(e, 0..2).await;
    let a = e
        .bind_deposit_reference(bind_reference("d-1", "USDT", "ethereum", None))
        .await
        .unwrap()
        .address;
    let b = e
        .bind_deposit_protocol(bind_protocol("d-2", None))
        .await
        .unwrap()
        .address;

    let transfer = |address: &str,
                    chain: &str,
                    currency: Currency,
                    amount: &str,
                    tx: &str,
                    log_index: u64,
                    block: u64,
                    status: DepositStatus| NewDeposit {
        chain_id: chain.into(),
        address: address.into(),
        currency,
        amount: Amount::parse_positive("amount", amount).unwrap(),
        tx_hash: tx.into(),
        log_index,
        block_number: block,
        confirmations: if status == DepositStatus::Pending { 1 } else { 12 },
        status,
        detected_at: env.now(),
    };
    let first = e
        .record_deposit(transfer(
            &a,
            "ethereum",
            Currency::Usdt,
            "100.50",
            "0xaaa",
            0,
            100,
            Confirmed,
        ))
        .await
        .unwrap()
        .expect("first sighting is recorded");
    assert!(first.deposit_id.starts_with("dep_"));
    assert_eq!(first.deposit_reference, "d-1");
    assert_eq!(first.amount.to_string(), "100.50");
    assert_eq!(
        (first.status, first.confirmed_at, first.completed_at),
        (Confirmed, Some(env.now()), None)
    );
    let again = e
        .record_deposit(transfer(
            &a,
            "ethereum",
            Currency::Usdt,
            "1",
            "0xaaa",
            0,
            100,
            Confirmed,
        ))
        .await
        .unwrap();
    assert_eq!(again, None, "same (chain, tx, log index) is recorded once");

    env.advance(Duration::minutes(1));
    let pending = e
        .record_deposit(transfer(&a, "ethereum", Currency::Usdt, "5", "0xbbb", 0, 101, Pending))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pending.status, pending.confirmed_at), (Pending, None));
    env.advance(Duration::minutes(1));
    e.record_deposit(transfer(
        &a,
        "polygon",
        Currency::Usdc,
        "0.25",
        "0xccc",
        3,
        102,
        Confirmed,
    ))
    .await
    .unwrap()
    .unwrap();
    env.advance(Duration::minutes(1));
    let d1_last = env.now();
    e.record_deposit(transfer(
        &a,
        "ethereum",
        Currency::Usdt,
        "23.45",
        "0xaaa",
        1,
        103,
        Confirmed,
    ))
    .await
    .unwrap()
    .expect("another log index of the same transaction is another transfer");
    env.advance(Duration::minutes(1));
    e.record_deposit(transfer(
        &b,
        "bsc",
        Currency::Usdt,
        "7.000000000000000001",
        "0xddd",
        0,
        104,
        Confirmed,
    ))
    .await
    .unwrap()
    .unwrap();
    env.advance(Duration::minutes(1));
    let d2_last = env.now();
    e.record_deposit(transfer(&b, "polygon", Currency::Usdt, "1", "0xaaa", 0, 105, Confirmed))
        .await
        .unwrap()
        .expect("the same tx hash and log index on another chain is another transfer");
    let stranger = e
        .record_deposit(transfer(
            &canonical(&evm_address(9)),
            "ethereum",
            Currency::Usdt,
            "1",
            "0xeee",
            0,
            106,
            Confirmed,
        ))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), "NOT_FOUND");

    // Totals count confirmed deposits only, exactly, per currency.
    let d1 = e.get_deposit_reference("d-1").await.unwrap();
    assert_eq!(d1.total_deposits, 3);
    assert_eq!(
        totals_as_strings(&d1.total_amount),
        BTreeMap::from([
            (Currency::Usdt, "123.95".to_string()),
            (Currency::Usdc, "0.25".to_string())
        ])
    );
    let d2 = e.get_deposit_reference("d-2").await.unwrap();
    assert_eq!(d2.total_deposits, 2);
    assert_eq!(
        totals_as_strings(&d2.total_amount),
        BTreeMap::from([(Currency::Usdt, "8.000000000000000001".to_string())])
    );

    let list = |f: fn(&mut DepositListQuery)| {
        let mut q = DepositListQuery::default();
        f(&mut q);
        q
    };
    let of_d1 = e
        .list_deposits(&list(|q| q.deposit_reference = Some("d-1".into())))
        .await
        .unwrap();
    assert_eq!(deposit_amounts(&of_d1), ["23.45", "0.25", "5", "100.50"]);
    assert_eq!(of_d1.pagination, pagination(1, 20, 4, 1, false));
    assert_eq!(of_d1.items[3], first);
    let pending_only = e
        .list_deposits(&list(|q| q.status = Some("pending".into())))
        .await
        .unwrap();
    assert_eq!(deposit_amounts(&pending_only), ["5"]);
    let usdc = e
        .list_deposits(&list(|q| q.currency = Some("USDC".into())))
        .await
        .unwrap();
    assert_eq!(deposit_amounts(&usdc), ["0.25"]);
    let on_polygon = e
        .list_deposits(&list(|q| q.chain_id = Some("polygon".into())))
        .await
        .unwrap();
    assert_eq!(deposit_amounts(&on_polygon), ["1", "0.25"]);
    let by_amount = e
        .list_deposits(&list(|q| {
            q.sort_by = Some("amount".into());
            q.sort_order = Some("asc".into());
        }))
        .await
        .unwrap();
    assert_eq!(
        deposit_amounts(&by_amount),
        ["0.25", "1", "5", "7.000000000000000001", "23.45", "100.50"]
    );
    let by_block = e
        .list_deposits(&list(|q| q.sort_by = Some("blockNumber".into())))
        .await
        .unwrap();
    let blocks: Vec<u64> = by_block.items.iter().map(|d| d.block_number).collect();
    assert_eq!(blocks, [105, 104, 103, 102, 101, 100]);
    let second_page = e
        .list_deposits(&list(|q| {
            q.page = Some("2".into());
            q.limit = Some("4".into());
        }))
        .await
        .unwrap();
    assert_eq!(deposit_amounts(&second_page), ["5", "100.50"]);
    assert_eq!(second_page.pagination, pagination(2, 4, 6, 2, false));

    let confirmed_events = events(e, Some("deposit.confirmed")).await;
    assert_eq!(confirmed_events.len(), 5);
    assert_eq!(confirmed_events[4].data, serde_json::to_value(&first).unwrap());
    let pending_events = events(e, Some("deposit.pending")).await;
    assert_eq!(pending_events.len(), 1);
    assert_eq!(pending_events[0].data, serde_json::to_value(&pending).unwrap());

    let refs = e.list_deposit_references(&ReferenceListQuery::default()).await.unwrap();
    let summary: Vec<(&str, u64, Option<Timestamp>)> = refs
        .items
        .iter()
        .map(|r| (r.deposit_reference.as_str(), r.total_deposits, r.last_deposit_at))
        .collect();
    // Both references were created at the same instant: ties go by reference, descending.
    assert_eq!(summary, [("d-2", 2, Some(d2_last)), ("d-1", 3, Some(d1_last))]);
    assert_eq!(refs.items[1].total_amount, d1.total_amount);
}

// ---- pool ----------------------------------------------------------------------------

async fn import_is_idempotent_and_canonical(env: Env) {
    let e = &env.engine;
    let lower = "0x742d35cc6634c0532925a3b844bc9e7595f0beb0";
    let upper = "0x742D35CC6634C0532925A3B844BC9E7595F0BEB0";
    let checksummed = canonical(lower);
    assert!(checksummed.bytes().any(|b| b.is_ascii_uppercase()) && checksummed.bytes().any(|b| b.is_ascii_lowercase()));
    // The checksummed spelling with one letter's case flipped.
    let i = checksummed
        .rfind(|c: char| c.is_ascii_alphabetic() && c != 'x')
        .unwrap();
    let mut miscased = checksummed.clone();
    let flipped = if checksummed.as_bytes()[i].is_ascii_uppercase() {
        checksummed[i..=i].to_ascii_lowercase()
    } else {
        checksummed[i..=i].to_ascii_uppercase()
    };
    miscased.replace_range(i..=i, &flipped);
    let import = |addresses: Vec<String>| {
        e.import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses,
        })
    };
    let first = import(vec![lower.into(), checksummed.clone(), upper.into(), evm_address(0)])
        .await
        .unwrap();
    assert_eq!(
        first,
        ImportResult {
            protocol: Protocol::Evm,
            received: 4,
            imported: 2,
            duplicates: 2
        }
    );
    let second = import(vec![format!(" {lower} "), evm_address(0)]).await.unwrap();
    assert_eq!((second.received, second.imported, second.duplicates), (2, 0, 2));
    assert_eq!(evm_pool(e).await, (2, 0, 0));

    // One bad address rejects the request, naming it, and imports nothing.
    let bad = import(vec![evm_address(5), "0x123".into()]).await.unwrap_err();
    assert_eq!(bad.code(), "VALIDATION_ERROR");
    assert!(bad.to_string().contains("addresses[1]"), "{bad}");
    let bad_checksum = import(vec![miscased]).await.unwrap_err();
    assert!(bad_checksum.to_string().contains("checksum"), "{bad_checksum}");
    assert_eq!(evm_pool(e).await, (2, 0, 0));

    let tron = e
        .import_addresses(ImportAddressesRequest {
            protocol: "tron".into(),
            addresses: vec!["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into()],
        })
        .await
        .unwrap();
    assert_eq!(tron.imported, 1);
    let tron_pool = pool(e, Protocol::Tron).await;
    assert_eq!((tron_pool.available, tron_pool.total), (1, 1));
    assert_eq!(evm_pool(e).await, (2, 0, 0), "pools are per protocol");

    // Orders get the canonical spellings.
    let got: HashSet<String> = [create(e, "CAN-1", "1").await, create(e, "CAN-2", "1").await]
        .into_iter()
        .map(|o| o.address)
        .collect();
    assert_eq!(got, HashSet::from([checksummed, canonical(&evm_address(0))]));
    let third = e.create_order(order_request("CAN-3", "1")).await.unwrap_err();
    assert_eq!(third.code(), "NO_AVAILABLE_ADDRESSES");
}

async fn pool_low_fires_once_when_crossing_the_watermark(env: Env) {
    let e = &env.engine;
    e.set_config("pool_low_watermark", &json!(3)).await.unwrap();
    import_evm(e, 0..4).await;
    // An empty pool (tron here) is unused, not low.
    assert!(e.run_maintenance().await.unwrap().pool_low.is_empty());

    create(e, "LOW-1", "1").await;
    create(e, "LOW-2", "1").await;
    // Two replicas notice together; exactly one fires.
    let replica = env.replica().await;
    let (a, b) = tokio::join!(e.run_maintenance(), replica.run_maintenance());
    let mut fired = a.unwrap().pool_low;
    fired.extend(b.unwrap().pool_low);
    assert_eq!(fired, [Protocol::Evm]);
    let low = events(e, Some("pool.low")).await;
    assert_eq!(low.len(), 1);
    assert_eq!(
        low[0].data,
        json!({"protocol": "evm", "available": 2, "assigned": 2, "cooldown": 0, "lowWatermark": 3})
    );
    let status = pool(e, Protocol::Evm).await;
    assert_eq!((status.low, status.low_watermark), (true, 3));

    // Still low: no second alert.
    assert!(e.run_maintenance().await.unwrap().pool_low.is_empty());
    assert_eq!(events(e, Some("pool.low")).await.len(), 1);

    // Back above the watermark re-arms the alert; crossing again fires again.
    import_evm(e, 4..9).await;
    assert!(e.run_maintenance().await.unwrap().pool_low.is_empty());
    assert!(!pool(e, Protocol::Evm).await.low);
    for i in 0..5 {
        create(e, &format!("LOW-AGAIN-{i}"), "1").await;
    }
    assert_eq!(e.run_maintenance().await.unwrap().pool_low, [Protocol::Evm]);
    let low = events(e, Some("pool.low")).await;
    assert_eq!(low.len(), 2);
    assert_eq!(low[0].data["available"], 2);
    assert_eq!(low[0].data["assigned"], 7);
}

// ---- API keys and events -------------------------------------------------------------

async fn api_keys_authenticate_until_revoked(env: Env) {
    let e = &env.engine;
    let (secret, key) = e.create_api_key("production").await.unwrap();
    assert!(secret.starts_with("pk_") && secret.len() == 43, "{secret}");
    assert_eq!(key.name, "production");
    assert_eq!(key.prefix, secret[..10]);
    assert_eq!((key.created_at, key.revoked_at), (env.now(), None));
    assert_eq!(e.authenticate(&secret).await.unwrap(), key);
    let forged = format!("pk_{}", "a".repeat(40));
    assert_eq!(e.authenticate(&forged).await.unwrap_err().code(), "UNAUTHORIZED");
    assert_eq!(e.authenticate("not-a-key").await.unwrap_err().code(), "UNAUTHORIZED");

    env.advance(Duration::minutes(1));
    let (secret2, key2) = e.create_api_key("staging").await.unwrap();
    assert_eq!(e.list_api_keys().await.unwrap(), [key.clone(), key2.clone()]);

    env.advance(Duration::minutes(1));
    e.revoke_api_key(&key.prefix).await.unwrap();
    assert_eq!(e.authenticate(&secret).await.unwrap_err().code(), "UNAUTHORIZED");
    assert_eq!(e.authenticate(&secret2).await.unwrap(), key2);
    let listed = e.list_api_keys().await.unwrap();
    assert_eq!(listed[0].revoked_at, Some(env.now()));
    assert_eq!(listed[1].revoked_at, None);
    assert_eq!(e.revoke_api_key(&key.prefix).await.unwrap_err().code(), "NOT_FOUND");

    e.revoke_api_key(&key2.id).await.unwrap();
    assert_eq!(e.authenticate(&secret2).await.unwrap_err().code(), "UNAUTHORIZED");
    assert_eq!(e.create_api_key("  ").await.unwrap_err().code(), "VALIDATION_ERROR");
}

async fn events_list_newest_first_with_type_filter(env: Env) {
    let e = &env.engine;
    import_evm(e, 0..5).await;
    let mut orders = Vec::new();
    for i in 1..=3 {
        orders.push(create(e, &format!("EVT-{i}"), "1").await);
        env.advance(Duration::minutes(1));
    }
    e.bind_deposit_reference(bind_reference("ev-1", "USDT", "ethereum", None))
        .await
        .unwrap();

    let all = e.list_events(&EventListQuery::default()).await.unwrap();
    let types: Vec<EventType> = all.items.iter().map(|ev| ev.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::DepositAddressBound,
            EventType::OrderCreated,
            EventType::OrderCreated,
            EventType::OrderCreated
        ]
    );
    assert_eq!(all.pagination, pagination(1, 20, 4, 1, false));
    let times: Vec<Timestamp> = all.items.iter().map(|ev| ev.created_at).collect();
    let t0 = start();
    assert_eq!(
        times,
        [
            t0 + Duration::minutes(3),
            t0 + Duration::minutes(2),
            t0 + Duration::minutes(1),
            t0
        ]
    );

    let created = |page: &str| EventListQuery {
        page: Some(page.into()),
        limit: Some("2".into()),
        event_type: Some("order.created".into()),
    };
    let p1 = e.list_events(&created("1")).await.unwrap();
    let ids: Vec<&Value> = p1.items.iter().map(|ev| &ev.data["orderId"]).collect();
    assert_eq!(ids, [&json!(orders[2].order_id), &json!(orders[1].order_id)]);
    assert_eq!(p1.pagination, pagination(1, 2, 3, 2, true));
    let p2 = e.list_events(&created("2")).await.unwrap();
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.items[0].data, serde_json::to_value(&orders[0]).unwrap());
    assert_eq!(p2.pagination, pagination(2, 2, 3, 2, false));

    let newest = &all.items[0];
    assert_eq!(e.get_event(&newest.id).await.unwrap(), *newest);
    assert_eq!(e.get_event("evt_missing").await.unwrap_err().code(), "NOT_FOUND");
    let bad = e
        .list_events(&EventListQuery {
            event_type: Some("order.nope".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "VALIDATION_ERROR");
}
