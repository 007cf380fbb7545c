//! Payment claims (QieJiao's supplement, `payin_core::claim`) on a real anvil chain: a claimed
//! transaction is read from the chain and credited only when it pays the order; forged, early,
//! unconfirmed, short, foreign and repeated claims are refused with the reason; a claim and the
//! watcher never count the same transfer twice — on both backends.

use std::sync::Arc;

use alloy::primitives::Address;
use chrono::{Duration, Utc};
use payin_core::amount::AmountUnits;
use payin_core::chain::scanner::{ScanOptions, Scanner};
use payin_core::chain::{ChainOverride, Currency};
use payin_core::claim::ClaimRefusal;
use payin_core::clock::ManualClock;
use payin_core::dev::devnet::Devnet;
use payin_core::order::{CreateOrderRequest, Order, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, TestDb, evm_addresses, fresh_database};
use payin_core::{Amount, Engine, EngineOptions};
use serde_json::json;

payin_core::on_both_backends!(
    a_claimed_payment_is_checked_on_chain_credited_once_and_never_again_by_the_watcher,
    claims_that_do_not_pay_are_refused_with_the_reason,
);

struct Ctx {
    engine: Arc<Engine>,
    chain: Devnet,
    clock: Arc<ManualClock>,
    _db: TestDb,
}

const CONFIRMATIONS: u32 = 3;

async fn setup(backend: Backend) -> Option<Ctx> {
    let db = fresh_database(backend).await?;
    let chain = payin_core::testing::anvil_with_tokens().await?;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut options = EngineOptions::new(db.url.clone());
    options.clock = clock.clone();
    options.config.chains.insert(
        "local".into(),
        ChainOverride {
            confirmations: Some(CONFIRMATIONS),
            ..chain.chain_override()
        },
    );
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: evm_addresses(11, 6),
        })
        .await
        .unwrap();
    Some(Ctx {
        engine,
        chain,
        clock,
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

    /// Sends `amount` of `currency` to `to`; the transaction hash.
    async fn pay(&self, currency: Currency, to: &str, amount: &str) -> String {
        let token = self.chain.token(currency);
        let units = Amount::parse_positive("amount", amount)
            .unwrap()
            .to_base_units(token.decimals)
            .unwrap();
        let sent = self
            .chain
            .transfer(token.address, to.parse::<Address>().unwrap(), units)
            .await
            .unwrap();
        sent.tx_hash.to_string()
    }

    async fn claim(&self, order: &Order, tx: &str, payer: Option<&str>) -> Result<Order, ClaimRefusal> {
        self.engine.claim_payment(&order.order_id, tx, payer).await.unwrap()
    }

    /// A watcher of `local` from block 0, run until it caught up.
    async fn scan_all(&self) {
        let network = self.engine.chains().get("local").unwrap().clone();
        let mut opts = ScanOptions::for_network(&network);
        opts.start_block = Some(0);
        let mut scanner = Scanner::new(self.engine.clone(), network, opts).unwrap().unwrap();
        for _ in 0..20 {
            if scanner.pass().await.unwrap().caught_up {
                return;
            }
        }
        panic!("the watcher did not catch up");
    }
}

async fn a_claimed_payment_is_checked_on_chain_credited_once_and_never_again_by_the_watcher(backend: Backend) {
    let Some(ctx) = setup(backend).await else {
        return;
    };
    let order = ctx.order("CLAIM-1", "12.50").await;
    let tx = ctx.pay(Currency::Usdt, &order.address, "12.50").await;

    // Mined but with one confirmation of the three required: refused, nothing written.
    match ctx.claim(&order, &tx, None).await {
        Err(ClaimRefusal::NotConfirmed { have: 1, need: 3, .. }) => {}
        other => panic!("expected NotConfirmed 1 of 3, got {other:?}"),
    }
    assert_eq!(
        ctx.engine.get_order(&order.order_id).await.unwrap().status,
        OrderStatus::Pending
    );

    ctx.chain.mine(2).await.unwrap();
    let payer = format!("{:#x}", ctx.chain.payer());
    let paid = ctx
        .claim(&order, &tx, Some(&payer))
        .await
        .expect("a confirmed payment pays");
    assert_eq!(paid.status, OrderStatus::Completed);
    assert_eq!(paid.tx_hash.as_deref(), Some(tx.as_str()));
    assert_eq!(paid.amount_received.to_string(), "12.50");
    assert_eq!(paid.confirmations, Some(3));

    // The same claim again answers the order; nothing is counted twice.
    let again = ctx
        .claim(&order, &tx, None)
        .await
        .expect("a repeated claim answers the order");
    assert_eq!(
        (again.status, again.amount_received.to_string()),
        (OrderStatus::Completed, "12.50".into())
    );

    // The watcher scanning the same blocks later finds the transfer recorded.
    ctx.scan_all().await;
    let after = ctx.engine.get_order(&order.order_id).await.unwrap();
    assert_eq!(
        (after.status, after.amount_received.to_string()),
        (OrderStatus::Completed, "12.50".into())
    );
    let events = ctx
        .engine
        .list_events(&payin_core::engine::EventListQuery {
            limit: Some("100".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let completed = events
        .items
        .iter()
        .filter(|e| e.event_type.as_str() == "order.completed")
        .count();
    assert_eq!(completed, 1, "one order.completed event");
}

async fn claims_that_do_not_pay_are_refused_with_the_reason(backend: Backend) {
    let Some(ctx) = setup(backend).await else {
        return;
    };
    let a = ctx.order("CLAIM-A", "5").await;
    let b = ctx.order("CLAIM-B", "5").await;
    let forged = format!("0x{}", "ab".repeat(32));
    match ctx.claim(&a, &forged, None).await {
        Err(ClaimRefusal::NotFound(tx, _)) => assert_eq!(tx, forged),
        other => panic!("a forged hash: {other:?}"),
    }
    // Not a hash at all: a validation error naming the field.
    match ctx.engine.claim_payment(&a.order_id, "0x1234", None).await {
        Err(payin_core::Error::Invalid { field, .. }) => assert_eq!(field, "hash"),
        other => panic!("a malformed hash: {other:?}"),
    }

    let to_b = ctx.pay(Currency::Usdt, &b.address, "5").await;
    let wrong_token = ctx.pay(Currency::Usdc, &a.address, "5").await;
    let short = ctx.pay(Currency::Usdt, &a.address, "4.99").await;
    ctx.chain.mine(3).await.unwrap();
    match ctx.claim(&a, &to_b, None).await {
        Err(ClaimRefusal::NoTransfer { address, .. }) => assert_eq!(address, a.address),
        other => panic!("another order's payment: {other:?}"),
    }
    match ctx.claim(&a, &wrong_token, None).await {
        Err(ClaimRefusal::NoTransfer { currency, .. }) => assert_eq!(currency, "USDT"),
        other => panic!("the wrong token: {other:?}"),
    }
    match ctx.claim(&a, &short, None).await {
        Err(ClaimRefusal::TooLittle { paid, due, .. }) => assert_eq!((paid.as_str(), due.as_str()), ("4.99", "5")),
        other => panic!("too little: {other:?}"),
    }
    let someone_else = format!("{:#x}", Address::repeat_byte(0x42));
    match ctx.claim(&b, &to_b, Some(&someone_else)).await {
        Err(ClaimRefusal::WrongPayer { payer, .. }) => assert_eq!(payer, someone_else),
        other => panic!("another payer: {other:?}"),
    }
    // B's payment, credited by the watcher, cannot be claimed by A even once A is paid to the
    // same address later: it is recorded for B.
    ctx.scan_all().await;
    assert_eq!(
        ctx.engine.get_order(&b.order_id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_eq!(ctx.claim(&b, &to_b, None).await.unwrap().status, OrderStatus::Completed);

    // A payment mined before the order existed is not the order's: the gateway's clock is now
    // five minutes ahead of the chain's.
    ctx.clock.advance(Duration::minutes(5));
    let c = ctx.order("CLAIM-C", "5").await;
    let early = ctx.pay(Currency::Usdt, &c.address, "5").await;
    ctx.chain.mine(3).await.unwrap();
    match ctx.claim(&c, &early, None).await {
        Err(ClaimRefusal::BeforeOrder { .. }) => {}
        other => panic!("a payment older than the order: {other:?}"),
    }
    // None of the refused claims changed A.
    let a_now = ctx.engine.get_order(&a.order_id).await.unwrap();
    assert_eq!(a_now.status, OrderStatus::Pending);
}
