//! The watcher end to end on real anvil chains: payments mined on chain settle orders and
//! deposits; reorgs reverse what they orphan.

use std::sync::Arc;

use alloy::primitives::Address;
use alloy::providers::Provider;
use chrono::{Duration, Utc};
use payin_core::amount::AmountUnits;
use payin_core::chain::scanner::{ScanOptions, Scanner};
use payin_core::chain::{ChainOverride, Currency};
use payin_core::clock::ManualClock;
use payin_core::dev::devnet::Devnet;
use payin_core::engine::{DepositListQuery, EventListQuery};
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, TestDb, evm_addresses, fresh_database};
use payin_core::{Amount, Engine, EngineOptions};
use serde_json::json;

struct Ctx {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    chains: Vec<Devnet>,
    watchers: Vec<Scanner>,
    _db: TestDb,
}

/// An engine watching `n` anvil chains named `local`, `local-2`, … with `confirmations` each.
async fn setup(backend: Backend, n: usize, confirmations: u32) -> Option<Ctx> {
    let db = fresh_database(backend).await?;
    let mut chains = Vec::new();
    for _ in 0..n {
        chains.push(payin_core::testing::anvil_with_tokens().await?);
    }
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut options = EngineOptions::new(db.url.clone());
    options.clock = clock.clone();
    for (i, chain) in chains.iter().enumerate() {
        let id = if i == 0 {
            "local".to_string()
        } else {
            format!("local-{}", i + 1)
        };
        let mut o = ChainOverride {
            confirmations: Some(confirmations),
            ..chain.chain_override()
        };
        // A dead RPC URL first: the watcher must fail over to the live one.
        if let Some(urls) = o.rpc_urls.as_mut() {
            urls.insert(0, "http://127.0.0.1:9".to_string());
        }
        options.config.chains.insert(id, o);
    }
    // Webhook receivers in these tests listen on 127.0.0.1, which the SSRF guard refuses
    // unless the operator allows it.
    options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: evm_addresses(7, 20),
        })
        .await
        .unwrap();
    let mut watchers = Vec::new();
    for (i, _) in chains.iter().enumerate() {
        let id = if i == 0 {
            "local".to_string()
        } else {
            format!("local-{}", i + 1)
        };
        let network = engine.chains().get(&id).unwrap().clone();
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
                chain_id: "local".into(),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// Pays `amount` USDT (decimal) to `to` on chain `i`.
    async fn pay(&self, i: usize, to: &str, amount: &str) {
        let chain = &self.chains[i];
        let token = chain.token(Currency::Usdt);
        let units = Amount::parse_positive("amount", amount)
            .unwrap()
            .to_base_units(token.decimals)
            .unwrap();
        chain
            .transfer(token.address, to.parse::<Address>().unwrap(), units)
            .await
            .unwrap();
    }

    /// Runs every watcher until it has caught up with its head.
    async fn sync(&mut self) {
        for w in &mut self.watchers {
            let mut failures = 0;
            loop {
                match w.pass().await {
                    Ok(r) if r.caught_up => break,
                    Ok(_) => {}
                    // Only the dead RPC URL may fail; the watcher moves to the next one.
                    Err(e) => {
                        failures += 1;
                        assert!(failures <= 2, "watcher keeps failing: {e}");
                    }
                }
            }
        }
    }

    async fn get(&self, order: &Order) -> Order {
        self.engine.get_order(&order.order_id).await.unwrap()
    }

    async fn event_types(&self) -> Vec<String> {
        let page = self
            .engine
            .list_events(&EventListQuery {
                limit: Some("100".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        page.items
            .iter()
            .rev()
            .map(|e| e.event_type.as_str().to_string())
            .collect()
    }

    /// Moves both the gateway's clock and every chain's clock forward.
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
    exact_payment_on_chain_completes_the_order,
    partial_payments_then_top_up_and_overpayment,
    payment_after_expiry_is_late_and_the_recycled_address_is_unaffected,
    one_deposit_address_receives_on_two_chains,
    unconfirmed_payment_removed_by_reorg_does_not_complete,
    restart_resumes_without_missing_or_double_counting,
    deposit_completes_once_every_subscribed_endpoint_acknowledged,
    a_resend_that_succeeds_acknowledges_a_deposit_whose_first_delivery_did_not,
    shared_address_payments_on_chain_match_by_exact_amount,
);

/// Shared-address orders (issue 13) on a real chain: the merchant's own address is watched
/// while orders hold tails on it; a transfer pays the order whose `payAmount` it equals; any
/// other amount is reported as `payment.unmatched`; a reorg reverses a shared payment.
async fn shared_address_payments_on_chain_match_by_exact_amount(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 3).await else {
        return;
    };
    let shop = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0";
    let shared = |reference: &'static str| CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!("10.00"),
        currency: "USDT".into(),
        chain_id: "local".into(),
        receive_address: Some(shop.into()),
        ..Default::default()
    };
    let a = ctx.engine.create_order(shared("shared-a")).await.unwrap();
    let b = ctx.engine.create_order(shared("shared-b")).await.unwrap();
    assert_eq!(
        (a.pay_amount.to_string(), b.pay_amount.to_string()),
        ("10.00".into(), "10.000001".into())
    );
    ctx.pay(0, shop, "10.000001").await;
    ctx.pay(0, shop, "9.99").await;
    ctx.sync().await;
    ctx.chains[0].mine(3).await.unwrap();
    ctx.sync().await;
    let (a, b) = (ctx.get(&a).await, ctx.get(&b).await);
    assert_eq!(b.status, OrderStatus::Completed, "{b:?}");
    assert_eq!((b.amount_received.to_string(), b.surplus), ("10.000001".into(), None));
    assert_eq!(
        (a.status, a.amount_received.to_string()),
        (OrderStatus::Pending, "0.00".into())
    );
    let types = ctx.event_types().await;
    assert_eq!(
        types.iter().filter(|t| *t == "payment.unmatched").count(),
        1,
        "the 9.99 transfer: {types:?}"
    );

    // A shared payment orphaned by a reorg is reversed.
    ctx.pay(0, shop, "10").await;
    ctx.sync().await;
    assert_eq!(ctx.get(&a).await.amount_received.to_string(), "10.00");
    ctx.chains[0].mine(1).await.unwrap();
    ctx.chains[0].reorg(2).await.unwrap();
    ctx.sync().await;
    ctx.chains[0].mine(5).await.unwrap();
    ctx.sync().await;
    let a = ctx.get(&a).await;
    assert_eq!(
        (a.status, a.amount_received.to_string()),
        (OrderStatus::Pending, "0.00".into()),
        "{a:?}"
    );
    assert!(ctx.event_types().await.contains(&"payment.reversed".to_string()));
}

async fn exact_payment_on_chain_completes_the_order(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    let order = ctx.order("chain-1", "25.50").await;
    ctx.pay(0, &order.address, "25.50").await;
    ctx.sync().await;
    let done = ctx.get(&order).await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(done.amount_received.to_string(), "25.50");
    assert!(done.tx_hash.as_deref().is_some_and(|h| h.starts_with("0x")));
    assert_eq!(done.confirmations, Some(1));
    assert!(done.surplus.is_none());
    assert_eq!(
        ctx.event_types().await,
        ["order.created", "order.payment_detected", "order.completed"]
    );
    let pool = ctx.engine.pool_status().await.unwrap();
    assert_eq!(pool[0].cooldown, 1, "the paid order's address cools down");
}

async fn partial_payments_then_top_up_and_overpayment(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    let partial = ctx.order("partial", "100.00").await;
    ctx.pay(0, &partial.address, "40").await;
    ctx.sync().await;
    let o = ctx.get(&partial).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Pending, "40.00".into())
    );
    ctx.pay(0, &partial.address, "60").await;
    ctx.sync().await;
    let o = ctx.get(&partial).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Completed, "100.00".into())
    );

    let over = ctx.order("over", "10").await;
    ctx.pay(0, &over.address, "12.345").await;
    ctx.sync().await;
    let o = ctx.get(&over).await;
    assert_eq!(o.status, OrderStatus::Completed);
    assert_eq!(o.surplus.map(|s| s.to_string()), Some("2.345".into()));
}

async fn payment_after_expiry_is_late_and_the_recycled_address_is_unaffected(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    ctx.engine.set_config("pool_low_watermark", &json!(0)).await.unwrap();
    // One address only, so the next order must reuse it.
    let first = ctx.order("first", "5").await;
    let others: Vec<Order> = {
        let mut v = Vec::new();
        for i in 0..19 {
            v.push(ctx.order(&format!("filler-{i}"), "1").await);
        }
        v
    };
    ctx.advance(Duration::minutes(16)).await;
    ctx.sync().await;
    let report = ctx.engine.run_maintenance().await.unwrap();
    assert!(report.expired_orders.contains(&first.order_id));
    ctx.pay(0, &first.address, "5").await;
    ctx.sync().await;
    let o = ctx.get(&first).await;
    assert_eq!(o.status, OrderStatus::Expired, "a late payment never revives an order");
    assert!(ctx.event_types().await.contains(&"order.late_payment".to_string()));

    // After the cooldown the address serves a new order, which the old payment never credits.
    ctx.advance(Duration::minutes(31)).await;
    ctx.sync().await;
    ctx.engine.run_maintenance().await.unwrap();
    let next = ctx.order("next", "5").await;
    assert!(others.iter().chain([&first]).any(|o| o.address == next.address));
    ctx.sync().await;
    let n = ctx.get(&next).await;
    assert_eq!(
        (n.status, n.amount_received.to_string()),
        (OrderStatus::Pending, "0".into())
    );
    ctx.pay(0, &next.address, "5").await;
    ctx.sync().await;
    assert_eq!(ctx.get(&next).await.status, OrderStatus::Completed);
}

async fn one_deposit_address_receives_on_two_chains(backend: Backend) {
    let Some(mut ctx) = setup(backend, 2, 1).await else {
        return;
    };
    let bound = ctx
        .engine
        .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
            deposit_reference: "player_1".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    assert!(bound.monitored_chains.contains(&"local-2".to_string()));
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
            ("local".to_string(), "10".to_string(), "confirmed".to_string()),
            ("local-2".to_string(), "2.5".to_string(), "confirmed".to_string())
        ]
    );
    let reference = ctx.engine.get_deposit_reference("player_1").await.unwrap();
    assert_eq!(reference.total_deposits, 2);
    assert_eq!(reference.total_amount[&Currency::Usdt].to_string(), "12.5");
}

async fn unconfirmed_payment_removed_by_reorg_does_not_complete(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 3).await else {
        return;
    };
    let order = ctx.order("reorged", "7").await;
    ctx.pay(0, &order.address, "7").await;
    ctx.sync().await;
    let o = ctx.get(&order).await;
    assert_eq!(
        (o.status, o.amount_received.to_string()),
        (OrderStatus::Pending, "7".into())
    );
    // Replace the payment's block (and the one after) with empty blocks.
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
    assert!(!types.contains(&"order.completed".to_string()));
}

async fn restart_resumes_without_missing_or_double_counting(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    let bound = ctx
        .engine
        .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
            deposit_reference: "stream".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    for i in 0..30 {
        ctx.pay(0, &bound.address, &format!("1.{i:02}")).await;
        if i == 10 {
            ctx.sync().await;
        }
    }
    // A new watcher (a restarted process) on the same database picks up at the cursor; a
    // rescan of already-recorded blocks changes nothing.
    let network = ctx.engine.chains().get("local").unwrap().clone();
    let mut opts = ScanOptions::for_network(&network);
    opts.start_block = Some(0);
    ctx.watchers = vec![Scanner::new(ctx.engine.clone(), network, opts).unwrap().unwrap()];
    ctx.sync().await;
    ctx.engine
        .chain_store()
        .rewind("local", 0, ctx.engine.now())
        .await
        .unwrap();
    ctx.sync().await;
    let deposits = ctx
        .engine
        .list_deposits(&DepositListQuery {
            limit: Some("100".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(deposits.pagination.total, 30);
    let mut hashes: Vec<&str> = deposits.items.iter().map(|d| d.tx_hash.as_str()).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 30);
    let total = ctx.engine.get_deposit_reference("stream").await.unwrap().total_amount[&Currency::Usdt];
    let expected: rust_decimal::Decimal = (0..30).map(|i| rust_decimal::Decimal::new(100 + i, 2)).sum();
    assert_eq!(total.as_decimal(), expected);
}

/// An endpoint subscribed to deposit.confirmed at `url`, and a deposit to a fresh reference
/// that the chain has confirmed (its event written, not yet delivered).
async fn deposit_confirmed_for_endpoint(
    ctx: &mut Ctx,
    url: String,
    reference: &str,
) -> payin_core::webhook::CreatedWebhookEndpoint {
    let endpoint = ctx
        .engine
        .create_webhook_endpoint(payin_core::webhook::CreateWebhookRequest {
            url,
            events: Some(vec!["deposit.confirmed".into()]),
            description: None,
        })
        .await
        .unwrap();
    let bound = ctx
        .engine
        .bind_deposit_protocol(payin_core::deposit::BindProtocolRequest {
            deposit_reference: reference.into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    ctx.pay(0, &bound.address, "3").await;
    ctx.sync().await;
    endpoint
}

async fn deposit_completes_once_every_subscribed_endpoint_acknowledged(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    // Nobody listens on this port: the delivery of deposit.confirmed cannot succeed.
    let endpoint = deposit_confirmed_for_endpoint(&mut ctx, "http://127.0.0.1:9/hook".into(), "acked").await;
    let status = |ctx: &Ctx| {
        let engine = ctx.engine.clone();
        async move {
            let page = engine.list_deposits(&DepositListQuery::default()).await.unwrap();
            page.items[0].status.as_str().to_string()
        }
    };
    ctx.engine.run_maintenance().await.unwrap();
    assert_eq!(status(&ctx).await, "confirmed", "not acknowledged yet");
    // Once the endpoint is gone nobody is subscribed, and the deposit completes.
    ctx.engine.delete_webhook_endpoint(&endpoint.endpoint.id).await.unwrap();
    ctx.engine.run_maintenance().await.unwrap();
    assert_eq!(status(&ctx).await, "completed");
}

/// A webhook receiver on 127.0.0.1 that answers each request with the next status of `statuses`
/// (then 200), counting the requests it got.
async fn scripted_receiver(statuses: Vec<u16>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = statuses.get(n).copied().unwrap_or(200);
            // Read the whole request (headers, then Content-Length bytes) before answering.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(read) = stream.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..read]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

async fn a_resend_that_succeeds_acknowledges_a_deposit_whose_first_delivery_did_not(backend: Backend) {
    let Some(mut ctx) = setup(backend, 1, 1).await else {
        return;
    };
    // The receiver fails the first delivery of deposit.confirmed, then accepts the resend.
    let (url, seen) = scripted_receiver(vec![500]).await;
    deposit_confirmed_for_endpoint(&mut ctx, url, "resent").await;
    let deposit = || {
        let engine = ctx.engine.clone();
        async move { engine.list_deposits(&DepositListQuery::default()).await.unwrap().items[0].clone() }
    };
    let dispatcher = payin_core::webhook::dispatch::Dispatcher::new(ctx.engine.clone(), Default::default()).unwrap();
    dispatcher.run_once().await.unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    ctx.engine.run_maintenance().await.unwrap();
    assert_eq!(deposit().await.status.as_str(), "confirmed", "the only delivery failed");

    let event_id = ctx
        .engine
        .list_events(&EventListQuery {
            event_type: Some("deposit.confirmed".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    ctx.engine.resend_event(&event_id, Default::default()).await.unwrap();
    dispatcher.run_once().await.unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    ctx.engine.run_maintenance().await.unwrap();
    // The first delivery is still waiting for its retry, but the endpoint has the event now.
    let done = deposit().await;
    assert_eq!(done.status.as_str(), "completed", "{done:?}");
}
