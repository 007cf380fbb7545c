//! Tron end to end on the Tron-shaped dev chain: anvil behind the test double of a Tron node
//! (java-tron's JSON-RPC: height-prefixed block ids, `stateRoot` "0x", a 5,000-block range cap,
//! a result cap, 20-byte filter addresses only). Orders and deposits on `local-tron` settle
//! with `T…` addresses through the same scanner as EVM; each of the node's quirks is exercised.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::primitives::U256;
use alloy::providers::Provider;
use chrono::{Duration, Utc};
use payin_core::amount::AmountUnits;
use payin_core::chain::scanner::{ScanOptions, Scanner};
use payin_core::chain::source::{ChainSource, WatchSet};
use payin_core::chain::{ChainOverride, Currency, Protocol, evm_to_tron, normalize_address, tron_to_evm};
use payin_core::clock::ManualClock;
use payin_core::dev::devnet::DevnetOptions;
use payin_core::dev::tron_double::{DEV_TRON_CHAIN_ID, TronDevnet, TronDoubleOptions};
use payin_core::engine::{DepositListQuery, EventListQuery};
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, TestDb, evm_addresses, fresh_database};
use payin_core::{Amount, Engine, EngineOptions};
use serde_json::json;

/// `n` distinct valid Tron addresses (`T…`), deterministic per `seed`.
fn tron_addresses(seed: u32, n: u32) -> Vec<String> {
    evm_addresses(seed, n)
        .iter()
        .map(|a| evm_to_tron(a.parse().unwrap()))
        .collect()
}

struct Ctx {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    /// `local-tron`, then `tron-nile` when two chains were asked for.
    chains: Vec<TronDevnet>,
    watchers: Vec<Scanner>,
    _db: TestDb,
}

const CHAIN_IDS: [&str; 2] = [DEV_TRON_CHAIN_ID, "tron-nile"];

/// An engine watching `n` Tron-shaped dev chains (`local-tron`, `tron-nile`) with
/// `confirmations` each, and a pool of 20 Tron addresses.
async fn setup(backend: Backend, n: usize, confirmations: u32, node: TronDoubleOptions) -> Option<Ctx> {
    let db = fresh_database(backend).await?;
    if !payin_core::testing::anvil_available() {
        return None;
    }
    let mut chains = Vec::new();
    for _ in 0..n {
        chains.push(TronDevnet::start(DevnetOptions::default(), node).await.unwrap());
    }
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut options = EngineOptions::new(db.url.clone());
    options.clock = clock.clone();
    for (chain, id) in chains.iter().zip(CHAIN_IDS) {
        let o = ChainOverride {
            confirmations: Some(confirmations),
            ..chain.chain_override()
        };
        options.config.chains.insert(id.to_string(), o);
    }
    options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "tron".into(),
            addresses: tron_addresses(11, 20),
        })
        .await
        .unwrap();
    let mut watchers = Vec::new();
    for id in CHAIN_IDS.iter().take(n) {
        let network = engine.chains().get(id).unwrap().clone();
        let mut opts = ScanOptions::for_network(&network);
        opts.start_block = Some(0);
        watchers.push(Scanner::new(engine.clone(), network, opts).unwrap().expect("watchable"));
    }
    Some(Ctx {
        engine,
        clock,
        chains,
        watchers,
        _db: db,
    })
}

impl Ctx {
    async fn order(&self, reference: &str, amount: &str) -> Order {
        self.engine
            .create_order(CreateOrderRequest {
                order_reference: reference.into(),
                amount: json!(amount),
                currency: "USDT".into(),
                chain_id: DEV_TRON_CHAIN_ID.into(),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// Pays `amount` USDT (decimal) to the `T…` address `to` on chain `i`.
    async fn pay(&self, i: usize, to: &str, amount: &str) {
        let units = Amount::parse_positive("amount", amount)
            .unwrap()
            .to_base_units(6)
            .unwrap();
        self.chains[i].pay_tron(Currency::Usdt, to, units).await.unwrap();
    }

    async fn sync(&mut self) {
        for w in &mut self.watchers {
            for _ in 0..200 {
                if w.pass().await.unwrap().caught_up {
                    break;
                }
            }
        }
    }

    async fn get(&self, order: &Order) -> Order {
        self.engine.get_order(&order.order_id).await.unwrap()
    }

    async fn events(&self) -> Vec<payin_core::event::Event> {
        let mut page = self
            .engine
            .list_events(&EventListQuery {
                limit: Some("100".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .items;
        page.reverse();
        page
    }

    async fn event_types(&self) -> Vec<String> {
        self.events()
            .await
            .iter()
            .map(|e| e.event_type.as_str().to_string())
            .collect()
    }

    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        for chain in &self.chains {
            let _: serde_json::Value = chain
                .provider()
                .raw_request("evm_increaseTime".into(), (by.num_seconds(),))
                .await
                .unwrap();
            chain.mine(1).await.unwrap();
        }
    }
}

payin_core::on_both_backends!(
    tron_orders_exact_partial_over_settle_with_t_addresses,
    tron_late_payment_after_expiry_is_recorded_not_credited,
    tron_deposit_address_is_watched_on_every_tron_chain,
    tron_payment_orphaned_by_a_reorg_is_reversed,
);

async fn tron_orders_exact_partial_over_settle_with_t_addresses(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1, TronDoubleOptions::default()).await else {
        return;
    };
    let exact = ctx.order("tron-exact", "25.50").await;
    assert!(exact.address.starts_with('T'), "{}", exact.address);
    assert_eq!(
        normalize_address(Protocol::Tron, &exact.address).unwrap(),
        exact.address
    );
    ctx.pay(0, &exact.address, "25.50").await;

    let partial = ctx.order("tron-partial", "100").await;
    ctx.pay(0, &partial.address, "40").await;
    let over = ctx.order("tron-over", "10").await;
    ctx.pay(0, &over.address, "12.345").await;
    ctx.sync().await;

    let o = ctx.get(&exact).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Completed, "25.50".into())
    );
    assert!(o.confirmations.is_some_and(|c| c >= 1), "{o:?}");
    let o = ctx.get(&partial).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Pending, "40".into())
    );
    let o = ctx.get(&over).await;
    assert_eq!(o.status, OrderStatus::Completed);
    assert_eq!(o.surplus.map(|s| s.to_string()), Some("2.345".into()));

    ctx.pay(0, &partial.address, "60").await;
    ctx.sync().await;
    assert_eq!(ctx.get(&partial).await.status, OrderStatus::Completed);

    // Events (and so webhooks) name the chain and write every address as T….
    let events = ctx.events().await;
    assert!(events.iter().any(|e| e.event_type.as_str() == "order.payment_detected"));
    for e in &events {
        let evm_shaped = evm_shaped_strings(&e.data);
        assert!(
            evm_shaped.is_empty(),
            "{} shows 0x addresses {evm_shaped:?}: {}",
            e.event_type.as_str(),
            e.data
        );
    }
    let completed: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.as_str() == "order.completed")
        .collect();
    assert_eq!(completed.len(), 3);
    for e in completed {
        let address = e.data["address"].as_str().unwrap();
        assert!(address.starts_with('T'), "{}", e.data);
        assert_eq!(e.data["chainId"], DEV_TRON_CHAIN_ID);
    }
}

async fn tron_late_payment_after_expiry_is_recorded_not_credited(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1, TronDoubleOptions::default()).await else {
        return;
    };
    let order = ctx.order("tron-late", "5").await;
    ctx.advance(Duration::minutes(16)).await;
    ctx.sync().await;
    let report = ctx.engine.run_maintenance().await.unwrap();
    assert!(report.expired_orders.contains(&order.order_id));
    assert_eq!(ctx.get(&order).await.status, OrderStatus::Expired);
    ctx.pay(0, &order.address, "5").await;
    ctx.sync().await;
    assert_eq!(ctx.get(&order).await.status, OrderStatus::Expired);
    let types = ctx.event_types().await;
    assert!(types.contains(&"order.expired".to_string()), "{types:?}");
    assert!(types.contains(&"order.late_payment".to_string()), "{types:?}");
}

async fn tron_deposit_address_is_watched_on_every_tron_chain(backend: Backend) {
    let Some(mut ctx) = setup(backend, 2, 1, TronDoubleOptions::default()).await else {
        return;
    };
    let bound = ctx
        .engine
        .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
            deposit_reference: "tron_player".into(),
            protocol: "tron".into(),
            metadata: None,
        })
        .await
        .unwrap();
    assert!(bound.address.starts_with('T'), "{}", bound.address);
    for id in CHAIN_IDS {
        assert!(
            bound.monitored_chains.contains(&id.to_string()),
            "{:?}",
            bound.monitored_chains
        );
    }
    ctx.pay(0, &bound.address, "10").await;
    ctx.pay(1, &bound.address, "2.5").await;
    ctx.sync().await;
    let deposits = ctx.engine.list_deposits(&DepositListQuery::default()).await.unwrap();
    let mut seen: Vec<(String, String, String)> = deposits
        .items
        .iter()
        .map(|d| (d.chain_id.clone(), d.amount.to_string(), d.status.as_str().to_string()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (DEV_TRON_CHAIN_ID.to_string(), "10".to_string(), "confirmed".to_string()),
            ("tron-nile".to_string(), "2.5".to_string(), "confirmed".to_string())
        ]
    );
    for d in &deposits.items {
        let shown = serde_json::to_value(d).unwrap();
        for key in ["address", "fromAddress", "from"] {
            if let Some(a) = shown.get(key).and_then(|v| v.as_str()) {
                assert!(a.starts_with('T'), "{key}: {shown}");
            }
        }
    }
}

async fn tron_payment_orphaned_by_a_reorg_is_reversed(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 3, TronDoubleOptions::default()).await else {
        return;
    };
    let order = ctx.order("tron-reorged", "7").await;
    ctx.pay(0, &order.address, "7").await;
    ctx.sync().await;
    let o = ctx.get(&order).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Pending, "7".into())
    );
    // Replace the payment's block (and the one after) with empty blocks; the node double gives
    // the new blocks new ids with the same heights.
    ctx.chains[0].mine(1).await.unwrap();
    ctx.chains[0].reorg(2).await.unwrap();
    ctx.sync().await;
    ctx.chains[0].mine(5).await.unwrap();
    ctx.sync().await;
    let o = ctx.get(&order).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Pending, "0".into()),
        "{o:?}"
    );
    let types = ctx.event_types().await;
    assert!(types.contains(&"payment.reversed".to_string()), "{types:?}");
    assert!(!types.contains(&"order.completed".to_string()), "{types:?}");
}

// ---- the node double's quirks, as the source meets them ------------------------------------

async fn tron_chain(node: TronDoubleOptions) -> Option<(TronDevnet, payin_core::chain::Network)> {
    if !payin_core::testing::anvil_available() {
        return None;
    }
    let chain = TronDevnet::start(DevnetOptions::default(), node).await.unwrap();
    let overrides = [(DEV_TRON_CHAIN_ID.to_string(), chain.chain_override())].into();
    let registry = payin_core::chain::ChainRegistry::with_overrides(&overrides).unwrap();
    let network = registry.get(DEV_TRON_CHAIN_ID).unwrap().clone();
    Some((chain, network))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_reads_height_prefixed_block_ids_and_t_addresses() {
    let Some((chain, network)) = tron_chain(TronDoubleOptions::default()).await else {
        return;
    };
    let source = payin_core::chain::tron::source(&network).unwrap();
    let to = tron_addresses(3, 1).remove(0);
    let sent = chain
        .pay_tron(Currency::Usdt, &to, U256::from(1_250_000u64))
        .await
        .unwrap();
    let head = source.head().await.unwrap();
    assert_eq!(head, sent.block_number);
    let hashes = source.block_hashes(&[1, head]).await.unwrap();
    assert!(
        hashes[0].as_deref().unwrap().starts_with("0x0000000000000001"),
        "{hashes:?}"
    );
    assert!(
        hashes[1].as_deref().unwrap().starts_with(&format!("0x{head:016x}")),
        "{hashes:?}"
    );
    // The node answers blocks the way java-tron does.
    let raw: serde_json::Value = reqwest::Client::new()
        .post(chain.node().url())
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [format!("0x{head:x}"), false]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["result"]["stateRoot"], "0x");

    let watched: WatchSet = [tron_to_evm(&to).unwrap()].into_iter().collect();
    let scan = source.transfers(1, head, &watched).await.unwrap();
    assert_eq!(scan.to_hash, hashes[1].clone().unwrap());
    assert_eq!(scan.transfers.len(), 1);
    let t = &scan.transfers[0];
    assert_eq!(t.to, to);
    assert!(t.from.starts_with('T') && t.token.starts_with('T'), "{t:?}");
    assert_eq!(t.token, evm_to_tron(chain.token(Currency::Usdt).address));
    assert_eq!(t.amount.to_string(), "1.25");
    assert!(t.block_hash.starts_with(&format!("0x{:016x}", t.block_number)), "{t:?}");
    assert_eq!(TronStats::of(&chain).address_refusals, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_refuses_a_41_address_and_the_source_never_sends_one() {
    let Some((chain, network)) = tron_chain(TronDoubleOptions::default()).await else {
        return;
    };
    let usdt = chain.token(Currency::Usdt).address;
    let answer: serde_json::Value = reqwest::Client::new()
        .post(chain.node().url())
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                      "params": [{"fromBlock": "0x1", "toBlock": "0x2", "address": format!("0x41{}", hex(usdt))}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(TronStats::of(&chain).address_refusals, 1);

    // Token contracts configured as T… are asked for as 20-byte hex.
    assert!(
        network
            .token(Currency::Usdt)
            .unwrap()
            .contract
            .as_deref()
            .unwrap()
            .starts_with('T')
    );
    let source = payin_core::chain::tron::source(&network).unwrap();
    let watched: WatchSet = tron_addresses(4, 3).iter().map(|a| tron_to_evm(a).unwrap()).collect();
    let head = source.head().await.unwrap();
    source.transfers(0, head, &watched).await.unwrap();
    let stats = TronStats::of(&chain);
    assert_eq!(stats.address_refusals, 1, "no new refusal: {stats:?}");
    assert_eq!(stats.recipient_filtered_calls, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_never_asks_more_than_5000_blocks_and_narrows_on_the_result_cap() {
    // A result cap of 3 logs stands in for java-tron's 10,000 (same -32005 answer).
    let node = TronDoubleOptions {
        max_results: 3,
        ..TronDoubleOptions::default()
    };
    let Some(mut ctx) = setup(Backend::Sqlite, 1, 1, node).await else {
        return;
    };
    // Rebuild the scanner asking for far more than 5,000 blocks per range.
    let network = ctx.engine.chains().get(DEV_TRON_CHAIN_ID).unwrap().clone();
    let opts = ScanOptions {
        max_range: 100_000,
        start_block: Some(0),
        ..ScanOptions::for_network(&network)
    };
    ctx.watchers = vec![Scanner::new(ctx.engine.clone(), network, opts).unwrap().unwrap()];

    // 5,050 empty blocks, then 8 payments in a row: the first range is the widest java-tron
    // serves, the next holds more logs than the cap.
    ctx.chains[0].mine(5_050).await.unwrap();
    let mut orders = Vec::new();
    for i in 0..8 {
        let o = ctx.order(&format!("capped-{i}"), "1").await;
        ctx.pay(0, &o.address, "1").await;
        orders.push(o);
    }
    ctx.sync().await;
    for o in &orders {
        assert_eq!(ctx.get(o).await.status, OrderStatus::Completed, "{}", o.order_reference);
    }
    let stats = TronStats::of(&ctx.chains[0]);
    assert_eq!(stats.widest_range, 5_000, "{stats:?}");
    assert_eq!(stats.range_refusals, 0, "{stats:?}");
    assert!(
        stats.result_cap_refusals >= 1,
        "the 8 payments exceed the cap of 3: {stats:?}"
    );
    assert_eq!(stats.address_refusals, 0, "{stats:?}");
}

/// Every string in `value` shaped like an EVM address (`0x` and 40 hex digits).
fn evm_shaped_strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s)
            if s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            vec![s.clone()]
        }
        serde_json::Value::Array(items) => items.iter().flat_map(evm_shaped_strings).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(evm_shaped_strings).collect(),
        _ => Vec::new(),
    }
}

fn hex(address: alloy::primitives::Address) -> String {
    let s = format!("{address:x}");
    s.trim_start_matches("0x").to_string()
}

#[derive(Debug)]
struct TronStats {
    widest_range: u64,
    range_refusals: u64,
    result_cap_refusals: u64,
    address_refusals: u64,
    recipient_filtered_calls: u64,
}

impl TronStats {
    fn of(chain: &TronDevnet) -> TronStats {
        let s = chain.node().stats();
        TronStats {
            widest_range: s.widest_range.load(Ordering::Relaxed),
            range_refusals: s.range_refusals.load(Ordering::Relaxed),
            result_cap_refusals: s.result_cap_refusals.load(Ordering::Relaxed),
            address_refusals: s.address_refusals.load(Ordering::Relaxed),
            recipient_filtered_calls: s.recipient_filtered_calls.load(Ordering::Relaxed),
        }
    }
}

// ---- figure: catch-up scan rate, local-tron next to plain anvil ----------------------------

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// An engine on the chain `chain_id` configured in `options`, with 50 deposit addresses
/// watched, `transfers` payments to them on chain and then `empty_blocks` empty blocks.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    options: EngineOptions,
    protocol: &str,
    pool: Vec<String>,
    chain_id: &str,
    pay: impl AsyncFn(&str),
    transfers: u64,
    empty_blocks: u64,
    mine: impl AsyncFn(u64),
) -> Scanner {
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: protocol.into(),
            addresses: pool,
        })
        .await
        .unwrap();
    // Deposit addresses stay watched whatever is paid to them.
    let mut addresses = Vec::new();
    for i in 0..50 {
        let bound = engine
            .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
                deposit_reference: format!("bench-{i}"),
                protocol: protocol.into(),
                metadata: None,
            })
            .await
            .unwrap();
        addresses.push(bound.address);
    }
    for i in 0..transfers {
        pay(&addresses[(i % 50) as usize]).await;
    }
    mine(empty_blocks).await;
    let network = engine.chains().get(chain_id).unwrap().clone();
    let opts = ScanOptions {
        max_range: 5_000,
        start_block: Some(0),
        ..ScanOptions::for_network(&network)
    };
    Scanner::new(engine, network, opts).unwrap().unwrap()
}

/// Scans from block 0 until caught up; returns (blocks, logs, seconds).
async fn catch_up(mut scanner: Scanner) -> (u64, u64, f64) {
    let started = std::time::Instant::now();
    let mut logs = 0;
    let mut last = 0;
    loop {
        let report = scanner.pass().await.unwrap();
        logs += report.transfers as u64;
        if let Some((_, to)) = report.scanned {
            last = to;
        }
        if report.caught_up {
            break;
        }
    }
    (last + 1, logs, started.elapsed().as_secs_f64())
}

/// `scripts/bench-tron-scan.sh`: the same catch-up scan (BENCH_TRANSFERS payments to 50 watched
/// deposit addresses, then BENCH_EMPTY_BLOCKS empty blocks, scanned from block 0 in ranges of up
/// to 5,000 blocks) on plain anvil (chain local) and on local-tron (anvil behind the Tron node
/// test double), in one run: both chains are prepared at once, then scanned one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/bench-tron-scan.sh"]
async fn measure_catch_up_scan_rate_on_local_tron_and_anvil() {
    if !payin_core::testing::anvil_available() {
        return;
    }
    let transfers = env_u64("BENCH_TRANSFERS", 300);
    let empty_blocks = env_u64("BENCH_EMPTY_BLOCKS", 10_000);
    let units = U256::from(1_000_000u64);

    let (anvil, tron) = tokio::join!(
        payin_core::dev::devnet::Devnet::start(DevnetOptions::default()),
        TronDevnet::start(DevnetOptions::default(), TronDoubleOptions::default())
    );
    let (anvil, tron) = (anvil.unwrap(), tron.unwrap());
    let (evm_db, tron_db) = (
        fresh_database(Backend::Sqlite).await.unwrap(),
        fresh_database(Backend::Sqlite).await.unwrap(),
    );
    let mut evm_options = EngineOptions::new(evm_db.url.clone());
    evm_options.config = payin_core::testing::local_chain_config(&anvil);
    let mut tron_options = EngineOptions::new(tron_db.url.clone());
    tron_options
        .config
        .chains
        .insert(DEV_TRON_CHAIN_ID.into(), tron.chain_override());
    let usdt = anvil.token(Currency::Usdt).address;
    let (evm_scanner, tron_scanner) = tokio::join!(
        prepare(
            evm_options,
            "evm",
            evm_addresses(21, 60),
            "local",
            async |to: &str| {
                anvil.transfer(usdt, to.parse().unwrap(), units).await.unwrap();
            },
            transfers,
            empty_blocks,
            async |n| anvil.mine(n).await.unwrap(),
        ),
        prepare(
            tron_options,
            "tron",
            tron_addresses(21, 60),
            DEV_TRON_CHAIN_ID,
            async |to: &str| {
                tron.pay_tron(Currency::Usdt, to, units).await.unwrap();
            },
            transfers,
            empty_blocks,
            async |n| tron.mine(n).await.unwrap(),
        )
    );
    let evm = catch_up(evm_scanner).await;
    let tron_result = catch_up(tron_scanner).await;

    println!(
        "figure workload: {transfers} transfers to 50 watched addresses + {empty_blocks} empty blocks, ranges up to 5,000 blocks, SQLite store"
    );
    println!("figure chain        blocks   logs   seconds   blocks/s   logs/s");
    for (name, (blocks, logs, secs)) in [("anvil (local)", evm), ("local-tron", tron_result)] {
        println!(
            "figure {name:<13} {blocks:>6} {logs:>6} {secs:>9.2} {:>10.0} {:>8.0}",
            blocks as f64 / secs,
            logs as f64 / secs
        );
    }
    assert_eq!(evm.1, transfers);
    assert_eq!(tron_result.1, transfers);
}

/// `simulate_payment` (what `payin dev pay`, the REST dev route and the MCP tool call) on
/// chain `local-tron` as `payin dev` records it: the scenario decides the amount, the payer pays
/// on the anvil behind the node double, and the answer writes addresses as `T…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_payment_pays_tron_orders_by_scenario_with_t_addresses() {
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    if !payin_core::testing::anvil_available() {
        return;
    }
    let tron = TronDevnet::start(DevnetOptions::default(), TronDoubleOptions::default())
        .await
        .unwrap();
    let mut engine = Engine::open(EngineOptions::new(db.url.clone())).await.unwrap();
    engine.record_chain(&tron.recorded_chain(engine.now())).await.unwrap();
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "tron".into(),
            addresses: tron_addresses(41, 3),
        })
        .await
        .unwrap();
    let order = |reference: &'static str| CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!("10"),
        currency: "USDT".into(),
        chain_id: DEV_TRON_CHAIN_ID.into(),
        ..Default::default()
    };
    let usdt = tron.token(Currency::Usdt).address;
    let simulate = |order_id: &str, scenario: &str| payin_core::dev::simulate::SimulatePaymentRequest {
        order_id: Some(order_id.to_string()),
        scenario: Some(scenario.to_string()),
        ..Default::default()
    };

    let partial = engine.create_order(order("sim-partial")).await.unwrap();
    let paid = engine
        .simulate_payment(simulate(&partial.order_id, "partial"))
        .await
        .unwrap();
    assert_eq!(paid.chain_id, DEV_TRON_CHAIN_ID);
    assert_eq!(paid.to, partial.address);
    assert_eq!(paid.from, evm_to_tron(tron.payer()));
    let held = tron
        .balance_of(usdt, tron_to_evm(&partial.address).unwrap())
        .await
        .unwrap();
    assert_eq!(held, U256::from(5_000_000u64), "half of 10 USDT");

    let late = engine.create_order(order("sim-late")).await.unwrap();
    let paid = engine.simulate_payment(simulate(&late.order_id, "late")).await.unwrap();
    assert!(paid.block_time > late.grace_ends_at(), "{paid:?}");

    // A T… address is paid on local-tron without an order.
    let to = tron_addresses(42, 1).remove(0);
    let paid = engine
        .simulate_payment(payin_core::dev::simulate::SimulatePaymentRequest {
            address: Some(to.clone()),
            amount: Some("1.5".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (paid.chain_id.as_str(), paid.to.as_str()),
        (DEV_TRON_CHAIN_ID, to.as_str())
    );
    assert_eq!(
        tron.balance_of(usdt, tron_to_evm(&to).unwrap()).await.unwrap(),
        U256::from(1_500_000u64)
    );
}
