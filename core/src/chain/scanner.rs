//! The chain scanner, the same for every chain family: it owns the cursor, the block ranges
//! (narrowed when a node refuses one), reorg detection against stored block hashes and
//! confirmation tracking, and commits each range with its cursor through the [`ChainStore`],
//! so a restart resumes without missing or double-counting a transfer. What is chain-specific
//! (RPC calls, log decoding, address forms) sits behind [`ChainSource`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;

use super::lease::Leadership;
use super::source::{self, ChainSource, RangeError, WatchSet};
use super::status::ChainStatusBoard;
use super::{Network, Protocol};
use crate::error::{Error, Result};
use crate::settle::{Confirmation, PendingTransfer, Scan};
use crate::store::ChainStore;
use crate::time::Timestamp;

/// Block hashes compared on each pass to find where a reorg forked.
const REORG_LOOKBACK: u32 = 128;
/// How often the watched set is rebuilt from scratch, dropping addresses back in the pool.
const FULL_RELOAD_EVERY: ChronoDuration = ChronoDuration::minutes(10);
/// Overlap of incremental loads: an assignment committed this long after its timestamp is
/// still picked up. Orders are answered only after their commit, so nobody can pay an address
/// before it is loaded.
const LOAD_OVERLAP: ChronoDuration = ChronoDuration::minutes(1);

/// What a scanner needs from the process it runs in (the engine, in production): storage,
/// time, the cooldown setting, and where to report progress and new events.
pub trait ScanHost: Send + Sync {
    fn chain_store(&self) -> &dyn ChainStore;
    fn now(&self) -> Timestamp;
    /// How long the address of an order completed now cools down (read on every pass, so a
    /// changed setting applies at once).
    fn address_cooldown(&self) -> ChronoDuration;
    /// Where each pass's progress (or failure) is recorded for `/health`.
    fn chain_status(&self) -> &ChainStatusBoard;
    /// Called when a pass wrote events, so webhook delivery need not wait for its poll.
    fn notify_events_written(&self);
}

/// How a scanner polls.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Pause between passes once caught up with the head.
    pub poll_interval: Duration,
    /// Largest block range asked for (capped by the source's own maximum); halved when a node
    /// refuses a range.
    pub max_range: u64,
    /// Where a chain never scanned before starts (default: its current head).
    pub start_block: Option<u64>,
}

impl ScanOptions {
    /// Defaults per network: its configured poll interval, else a local dev chain is polled
    /// fast, public chains gently.
    pub fn for_network(network: &Network) -> Self {
        let local = network.evm_chain_id == Some(31_337);
        ScanOptions {
            poll_interval: network
                .poll_interval
                .unwrap_or(Duration::from_millis(if local { 50 } else { 1_000 })),
            max_range: 1_000,
            start_block: None,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub scanned: Option<(u64, u64)>,
    pub transfers: usize,
    pub events: usize,
    pub caught_up: bool,
}

/// Scans one network through its [`ChainSource`].
pub struct Scanner {
    host: Arc<dyn ScanHost>,
    source: Box<dyn ChainSource>,
    chain_id: String,
    protocol: Protocol,
    confirmations: u32,
    options: ScanOptions,
    range: u64,
    /// The widest range the node accepts, as far as its refusals have shown.
    range_ceiling: u64,
    /// Addresses in use, and when they were last loaded in full / at all.
    watched: WatchSet,
    full_load_at: Option<Timestamp>,
    loaded_at: Option<Timestamp>,
}

impl Scanner {
    /// A scanner of `network` through the source that watches it, or `None` when the network
    /// is not watched (see [`source::for_network`]).
    pub fn new(host: Arc<dyn ScanHost>, network: Network, options: ScanOptions) -> Result<Option<Scanner>> {
        Ok(source::for_network(&network)?.map(|source| Scanner::with_source(host, &network, source, options)))
    }

    /// A scanner of `network` through `source`.
    pub fn with_source(
        host: Arc<dyn ScanHost>,
        network: &Network,
        source: Box<dyn ChainSource>,
        options: ScanOptions,
    ) -> Scanner {
        let range = options.max_range.min(source.max_range()).max(1);
        Scanner {
            host,
            source,
            chain_id: network.id.clone(),
            protocol: network.protocol,
            confirmations: network.confirmations,
            options,
            range,
            range_ceiling: range,
            watched: WatchSet::default(),
            full_load_at: None,
            loaded_at: None,
        }
    }

    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Passes while `leadership` holds, until `shutdown` flips: back-to-back while catching
    /// up, then every poll interval. RPC and database errors are logged and retried with
    /// backoff. Without the lease it waits for it.
    pub async fn run(mut self, mut leadership: Leadership, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.options.poll_interval;
        loop {
            if !leadership.is_held() {
                tokio::select! {
                    _ = leadership.changed() => {}
                    _ = shutdown.changed() => {}
                }
                if *shutdown.borrow() {
                    break;
                }
                continue;
            }
            let pause = match self.pass().await {
                Ok(report) => {
                    backoff = self.options.poll_interval;
                    if report.caught_up {
                        self.options.poll_interval
                    } else {
                        Duration::ZERO
                    }
                }
                Err(e) => {
                    tracing::warn!(chain = %self.chain_id, error = %e, "watcher pass failed; retrying");
                    self.host.chain_status().record_error(&self.chain_id, e.to_string());
                    backoff = (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
                    backoff
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    /// One pass: reorg check, scan of the next range, confirmation of pending transfers. On
    /// failure the next pass uses the source's next endpoint.
    pub async fn pass(&mut self) -> Result<PassReport> {
        let result = self.pass_on_current_endpoint().await;
        match &result {
            Ok(report) if report.events > 0 => self.host.notify_events_written(),
            Ok(_) => {}
            Err(_) => self.source.fail_over(),
        }
        result
    }

    async fn block_hash(&self, number: u64) -> Result<Option<String>> {
        Ok(self.source.block_hashes(&[number]).await?.into_iter().next().flatten())
    }

    async fn pass_on_current_endpoint(&mut self) -> Result<PassReport> {
        let host = self.host.clone();
        let store = host.chain_store();
        let chain_id = self.chain_id.clone();
        let head = self.source.head().await?;
        let now = host.now();
        let mut report = PassReport::default();

        // A stored block whose hash changed means a reorg: rescan after the newest stored block
        // that still stands (or below the oldest one if none does).
        let mut fork = None;
        for (number, hash) in store.recent_blocks(&chain_id, REORG_LOOKBACK).await? {
            let stands = number <= head && self.block_hash(number).await?.as_deref() == Some(hash.as_str());
            if stands {
                if fork.is_some() {
                    fork = Some(number);
                }
                break;
            }
            fork = Some(number.saturating_sub(1));
        }
        if let Some(keep_through) = fork {
            let events = store.rewind(&chain_id, keep_through, now).await?;
            tracing::warn!(chain = %chain_id, keep_through, reversed = events.len(), "reorg: rescanning");
            report.events += events.len();
        }

        let next = match store.chain_cursor(&chain_id).await? {
            Some(n) => n,
            None => self.options.start_block.unwrap_or(head),
        };
        report.caught_up = true;
        if next <= head {
            let to = head.min(next.saturating_add(self.range - 1));
            // Refreshed after the head was read: an order created later cannot have been paid
            // in a block up to this head.
            self.refresh_watched(now).await?;
            let range = match self.source.transfers(next, to, &self.watched).await {
                Ok(range) => range,
                Err(RangeError::Refused(e)) if self.range > 1 => {
                    // Ask for less, and never again for as much as was refused.
                    self.range = (self.range / 2).max(1);
                    self.range_ceiling = self.range;
                    tracing::debug!(chain = %chain_id, range = self.range, error = %e, "range refused; shrinking");
                    report.caught_up = false;
                    return Ok(report);
                }
                Err(RangeError::Refused(e)) => return Err(Error::Internal(format!("rpc: {e}"))),
                Err(RangeError::Failed(e)) => return Err(e),
            };
            self.range = self.range.saturating_mul(2).min(self.range_ceiling);
            report.transfers = range.transfers.len();
            let scan = Scan {
                chain_id: chain_id.clone(),
                from: next,
                to,
                to_hash: range.to_hash,
                to_time: range.to_time,
                transfers: range.transfers,
                now,
            };
            report.events += store.apply_scan(&scan).await?.len();
            report.scanned = Some((next, to));
            report.caught_up = to == head;
        }

        report.events += self.confirm(head, now).await?;
        let cursor = store.chain_cursor(&chain_id).await?;
        host.chain_status().record_success(&chain_id, head, cursor);
        Ok(report)
    }

    /// Brings the watched set up to date: addresses assigned since the last load (with overlap),
    /// or every address in use once per [`FULL_RELOAD_EVERY`].
    async fn refresh_watched(&mut self, now: Timestamp) -> Result<()> {
        let host = self.host.clone();
        let full = self.full_load_at.is_none_or(|at| now - at >= FULL_RELOAD_EVERY);
        let since = if full {
            None
        } else {
            self.loaded_at.map(|at| at - LOAD_OVERLAP)
        };
        let addresses = host.chain_store().watched_addresses(self.protocol, since).await?;
        if full {
            self.watched.clear();
            self.full_load_at = Some(now);
        }
        let source = &self.source;
        self.watched
            .extend(addresses.iter().filter_map(|a| source.watch_key(a)));
        self.loaded_at = Some(now);
        Ok(())
    }

    /// Confirms transfers with enough blocks on top; reverses those whose block left the chain.
    async fn confirm(&self, head: u64, now: Timestamp) -> Result<usize> {
        let store = self.host.chain_store();
        let pending = store.unconfirmed_transfers(&self.chain_id).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut blocks: Vec<u64> = pending.iter().map(|p| p.block_number).filter(|&n| n <= head).collect();
        blocks.sort_unstable();
        blocks.dedup();
        let hashes = self.source.block_hashes(&blocks).await?;
        let canonical: HashMap<u64, Option<String>> = blocks.into_iter().zip(hashes).collect();
        let outcomes = confirmation_outcomes(&self.chain_id, pending, head, self.confirmations, &canonical);
        if outcomes.is_empty() {
            return Ok(0);
        }
        let cooldown_until = now + self.host.address_cooldown();
        Ok(store.apply_confirmations(&outcomes, now, cooldown_until).await?.len())
    }
}

/// What becomes of each pending transfer at `head`, given the canonical hash of its block:
/// reversed when its block is no longer canonical, confirmed once `required` blocks (its own
/// included; at least one) stand. Transfers above `head` or short of confirmations wait.
pub fn confirmation_outcomes(
    chain_id: &str,
    pending: Vec<PendingTransfer>,
    head: u64,
    required: u32,
    canonical: &HashMap<u64, Option<String>>,
) -> Vec<Confirmation> {
    let required = u64::from(required.max(1));
    let mut outcomes = Vec::new();
    for p in pending {
        if p.block_number > head {
            continue;
        }
        let confirmations = head - p.block_number + 1;
        let hash = canonical.get(&p.block_number).and_then(Option::as_deref);
        if hash != Some(p.block_hash.as_str()) {
            outcomes.push(Confirmation::Reversed {
                chain_id: chain_id.to_string(),
                tx_hash: p.tx_hash,
                log_index: p.log_index,
            });
        } else if confirmations >= required {
            outcomes.push(Confirmation::Confirmed {
                chain_id: chain_id.to_string(),
                tx_hash: p.tx_hash,
                log_index: p.log_index,
                confirmations,
            });
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::str::FromStr;
    use std::sync::{Arc, Mutex};

    use alloy_primitives::Address;
    use async_trait::async_trait;
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::amount::Amount;
    use crate::chain::source::RangeScan;
    use crate::chain::{ChainOverride, Currency, TokenOverride};
    use crate::clock::{Clock, ManualClock};
    use crate::config::FileConfig;
    use crate::engine::{Engine, EngineOptions};
    use crate::event::EventType;
    use crate::order::{CreateOrderRequest, Order, OrderStatus};
    use crate::pool::ImportAddressesRequest;
    use crate::settle::ObservedTransfer;

    const CHAIN: &str = "local";
    const USDT: &str = "0x1111111111111111111111111111111111111111";

    #[derive(Debug, Clone)]
    struct FakeBlock {
        hash: String,
        time: Timestamp,
        /// (recipient, whole USDT)
        transfers: Vec<(Address, u64)>,
    }

    #[derive(Debug, Default)]
    struct FakeChainState {
        blocks: Vec<FakeBlock>,
        /// Bumped by each reorg so replaced blocks get new hashes.
        fork: u64,
        /// Ranges wider than this are refused, as providers refuse them.
        refuse_wider_than: Option<u64>,
        max_range: Option<u64>,
        served: Vec<(u64, u64)>,
        refused: Vec<(u64, u64)>,
    }

    /// Test double of a chain's nodes: blocks in memory, extended, reorganised and made to
    /// refuse wide ranges by the test.
    #[derive(Clone, Default)]
    struct FakeChain(Arc<Mutex<FakeChainState>>);

    impl FakeChain {
        fn state(&self) -> std::sync::MutexGuard<'_, FakeChainState> {
            self.0.lock().unwrap()
        }

        /// Appends `n` empty blocks mined at `time`.
        fn mine(&self, n: u64, time: Timestamp) {
            let mut s = self.state();
            for _ in 0..n {
                let number = s.blocks.len() as u64;
                let hash = format!("0x{:032x}{:032x}", s.fork, number);
                s.blocks.push(FakeBlock {
                    hash,
                    time,
                    transfers: Vec::new(),
                });
            }
        }

        /// Appends a block paying `usdt` whole USDT to `to`; returns its number.
        fn pay(&self, to: &str, usdt: u64, time: Timestamp) -> u64 {
            self.mine(1, time);
            let mut s = self.state();
            let block = s.blocks.last_mut().unwrap();
            block.transfers.push((Address::from_str(to).unwrap(), usdt));
            s.blocks.len() as u64 - 1
        }

        /// Replaces every block from `from` on by `n` new empty ones.
        fn reorg(&self, from: u64, n: u64, time: Timestamp) {
            {
                let mut s = self.state();
                s.blocks.truncate(from as usize);
                s.fork += 1;
            }
            self.mine(n, time);
        }

        fn source(&self) -> Box<dyn ChainSource> {
            Box::new(self.clone())
        }
    }

    #[async_trait]
    impl ChainSource for FakeChain {
        async fn head(&self) -> Result<u64> {
            Ok(self.state().blocks.len() as u64 - 1)
        }

        async fn block_hashes(&self, numbers: &[u64]) -> Result<Vec<Option<String>>> {
            let s = self.state();
            Ok(numbers
                .iter()
                .map(|&n| s.blocks.get(n as usize).map(|b| b.hash.clone()))
                .collect())
        }

        async fn transfers(
            &self,
            from: u64,
            to: u64,
            watched: &WatchSet,
        ) -> std::result::Result<RangeScan, RangeError> {
            let mut s = self.state();
            if s.refuse_wider_than.is_some_and(|max| to - from + 1 > max) {
                s.refused.push((from, to));
                return Err(RangeError::Refused("block range too large".into()));
            }
            s.served.push((from, to));
            let mut transfers = Vec::new();
            for number in from..=to {
                let block = &s.blocks[number as usize];
                for (i, (recipient, usdt)) in block.transfers.iter().enumerate() {
                    if !watched.contains(recipient) {
                        continue;
                    }
                    transfers.push(ObservedTransfer {
                        chain_id: CHAIN.into(),
                        tx_hash: format!("0x{:032x}{:016x}{:016x}", s.fork, number, i),
                        log_index: i as u64,
                        block_number: number,
                        block_hash: block.hash.clone(),
                        block_time: block.time,
                        token: Address::from_str(USDT).unwrap().to_checksum(None),
                        currency: Currency::Usdt,
                        from: Address::repeat_byte(0x22).to_checksum(None),
                        to: recipient.to_checksum(None),
                        amount: Amount::parse_positive("amount", &usdt.to_string()).unwrap(),
                    });
                }
            }
            let last = &s.blocks[to as usize];
            Ok(RangeScan {
                transfers,
                to_hash: last.hash.clone(),
                to_time: last.time,
            })
        }

        fn max_range(&self) -> u64 {
            self.state().max_range.unwrap_or(u64::MAX)
        }

        fn watch_key(&self, address: &str) -> Option<Address> {
            Address::from_str(address).ok()
        }
    }

    struct Ctx {
        engine: Arc<Engine>,
        clock: Arc<ManualClock>,
        chain: FakeChain,
        _dir: tempfile::TempDir,
    }

    /// An engine on a fresh SQLite database whose chain `local` needs `confirmations`, with
    /// a few pool addresses, and an empty fake chain of `blocks` blocks.
    async fn setup(confirmations: u32, blocks: u64) -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let mut options = EngineOptions::new(format!("sqlite://{}", dir.path().join("payin.db").display()));
        options.clock = clock.clone();
        let local = ChainOverride {
            // Never called: the fake chain stands in for the node.
            rpc_urls: Some(vec!["http://127.0.0.1:9".into()]),
            confirmations: Some(confirmations),
            tokens: BTreeMap::from([(
                "USDT".to_string(),
                TokenOverride {
                    contract: Some(USDT.into()),
                    decimals: Some(6),
                },
            )]),
            ..ChainOverride::default()
        };
        options.config = FileConfig {
            chains: BTreeMap::from([(CHAIN.to_string(), local)]),
            ..FileConfig::default()
        };
        let engine = Arc::new(Engine::open(options).await.unwrap());
        engine
            .import_addresses(ImportAddressesRequest {
                protocol: "evm".into(),
                addresses: (1..=4).map(|i| format!("0x{:040x}", 0xabc0 + i)).collect(),
            })
            .await
            .unwrap();
        let chain = FakeChain::default();
        chain.mine(blocks, clock.now());
        Ctx {
            engine,
            clock,
            chain,
            _dir: dir,
        }
    }

    impl Ctx {
        fn scanner(&self, max_range: u64) -> Scanner {
            let network = self.engine.chains().get(CHAIN).unwrap().clone();
            let options = ScanOptions {
                max_range,
                start_block: Some(0),
                ..ScanOptions::for_network(&network)
            };
            Scanner::with_source(self.engine.clone(), &network, self.chain.source(), options)
        }

        async fn order(&self, reference: &str, amount: &str) -> Order {
            self.engine
                .create_order(CreateOrderRequest {
                    order_reference: reference.into(),
                    amount: json!(amount),
                    currency: "USDT".into(),
                    chain_id: CHAIN.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
        }

        async fn reload(&self, order: &Order) -> Order {
            self.engine.get_order(&order.order_id).await.unwrap()
        }

        async fn cursor(&self) -> Option<u64> {
            self.engine.chain_store().chain_cursor(CHAIN).await.unwrap()
        }
    }

    /// Passes until caught up with the head (bounded, so a scanner stuck behind fails).
    async fn sync(scanner: &mut Scanner) {
        for _ in 0..100 {
            if scanner.pass().await.unwrap().caught_up {
                return;
            }
        }
        panic!("the scanner never caught up");
    }

    fn usdt(s: &str) -> Amount {
        Amount::parse_positive("amount", s).unwrap()
    }

    #[tokio::test]
    async fn ranges_advance_the_cursor_up_to_the_head() {
        let ctx = setup(1, 11).await;
        let mut scanner = ctx.scanner(4);

        let first = scanner.pass().await.unwrap();
        assert_eq!(first.scanned, Some((0, 3)));
        assert!(!first.caught_up);
        assert_eq!(ctx.cursor().await, Some(4));

        assert_eq!(scanner.pass().await.unwrap().scanned, Some((4, 7)));
        let last = scanner.pass().await.unwrap();
        assert_eq!(last.scanned, Some((8, 10)));
        assert!(last.caught_up);
        assert_eq!(ctx.cursor().await, Some(11));

        let idle = scanner.pass().await.unwrap();
        assert_eq!(idle.scanned, None);
        assert!(idle.caught_up);
        let status = ctx.engine.chain_status().snapshot();
        assert_eq!(status.len(), 1);
        assert_eq!(
            (status[0].head, status[0].cursor, status[0].lag),
            (Some(10), Some(11), Some(0))
        );
    }

    #[tokio::test]
    async fn a_refused_range_shrinks_and_is_never_asked_for_again() {
        let ctx = setup(1, 40).await;
        ctx.chain.state().refuse_wider_than = Some(3);
        let mut scanner = ctx.scanner(8);

        let refused = scanner.pass().await.unwrap();
        assert_eq!(refused.scanned, None);
        assert!(!refused.caught_up);
        assert_eq!(ctx.cursor().await, None, "a refused range moves no cursor");
        sync(&mut scanner).await;

        assert_eq!(ctx.cursor().await, Some(40));
        let s = ctx.chain.state();
        assert_eq!(s.refused, vec![(0, 7), (0, 3)], "8 then 4 blocks refused, once each");
        assert!(s.served.iter().all(|(from, to)| to - from < 2), "{:?}", s.served);
        assert_eq!(s.served.last(), Some(&(38, 39)));
    }

    #[tokio::test]
    async fn the_source_maximum_caps_the_configured_range() {
        let ctx = setup(1, 20).await;
        ctx.chain.state().max_range = Some(5);
        let mut scanner = ctx.scanner(1_000);
        assert_eq!(scanner.pass().await.unwrap().scanned, Some((0, 4)));
        assert_eq!(scanner.pass().await.unwrap().scanned, Some((5, 9)));
    }

    #[tokio::test]
    async fn a_payment_completes_its_order_once_it_has_the_required_confirmations() {
        let ctx = setup(3, 4).await;
        let order = ctx.order("confirm", "3").await;
        ctx.chain.pay(&order.address, 3, ctx.clock.now());
        let mut scanner = ctx.scanner(100);

        sync(&mut scanner).await;
        let seen = ctx.reload(&order).await;
        assert_eq!(seen.status, OrderStatus::Pending, "one confirmation of three");
        assert_eq!(seen.amount_received, usdt("3"));

        ctx.chain.mine(1, ctx.clock.now());
        sync(&mut scanner).await;
        assert_eq!(ctx.reload(&order).await.status, OrderStatus::Pending, "two of three");

        ctx.chain.mine(1, ctx.clock.now());
        let report = scanner.pass().await.unwrap();
        assert!(report.events > 0, "completion writes an event");
        assert_eq!(ctx.reload(&order).await.status, OrderStatus::Completed);
    }

    #[tokio::test]
    async fn a_reorg_rewinds_to_the_fork_and_reverses_orphaned_transfers() {
        let ctx = setup(3, 4).await;
        let order = ctx.order("reorg", "3").await;
        let paid_in = ctx.chain.pay(&order.address, 3, ctx.clock.now());
        ctx.chain.mine(1, ctx.clock.now());
        // Ranges of two blocks, so the store holds the hashes of blocks 1, 3 and 5.
        let mut scanner = ctx.scanner(2);
        sync(&mut scanner).await;
        assert_eq!(paid_in, 4);
        assert_eq!(ctx.reload(&order).await.amount_received, usdt("3"));

        // Blocks 4 and 5 are replaced by three others without the payment.
        ctx.chain.reorg(4, 3, ctx.clock.now());
        let report = scanner.pass().await.unwrap();
        assert!(report.events > 0, "the reversal writes an event");
        assert_eq!(
            ctx.chain.state().served.last(),
            Some(&(4, 5)),
            "rescanned from the block after the newest one that still stands"
        );
        sync(&mut scanner).await;

        let after = ctx.reload(&order).await;
        assert_eq!(after.status, OrderStatus::Pending);
        assert!(after.amount_received.is_zero(), "{}", after.amount_received);
        assert!(
            ctx.engine
                .chain_store()
                .unconfirmed_transfers(CHAIN)
                .await
                .unwrap()
                .is_empty(),
            "nothing orphaned is still waiting for confirmations"
        );
        let events = ctx.engine.list_events(&Default::default()).await.unwrap();
        assert!(
            events.items.iter().any(|e| e.event_type == EventType::PaymentReversed),
            "payment.reversed fired"
        );

        // Blocks on the new branch confirm nothing that was orphaned.
        ctx.chain.mine(5, ctx.clock.now());
        sync(&mut scanner).await;
        assert_eq!(ctx.reload(&order).await.status, OrderStatus::Pending);
    }

    fn pending(block_number: u64, hash: &str) -> PendingTransfer {
        PendingTransfer {
            tx_hash: format!("0xtx{block_number}"),
            log_index: 0,
            block_number,
            block_hash: hash.into(),
        }
    }

    #[test]
    fn confirmations_count_the_transfer_block_itself() {
        let canonical = HashMap::from([(10, Some("a".to_string()))]);
        let at = |head| confirmation_outcomes(CHAIN, vec![pending(10, "a")], head, 3, &canonical);
        assert!(at(11).is_empty(), "two blocks of three");
        assert_eq!(
            at(12),
            vec![Confirmation::Confirmed {
                chain_id: CHAIN.into(),
                tx_hash: "0xtx10".into(),
                log_index: 0,
                confirmations: 3,
            }]
        );
    }

    #[test]
    fn zero_required_confirmations_still_need_the_block() {
        let canonical = HashMap::from([(10, Some("a".to_string()))]);
        let outcomes = confirmation_outcomes(CHAIN, vec![pending(10, "a")], 10, 0, &canonical);
        assert!(matches!(
            outcomes[..],
            [Confirmation::Confirmed { confirmations: 1, .. }]
        ));
    }

    #[test]
    fn a_transfer_whose_block_changed_or_vanished_is_reversed() {
        let canonical = HashMap::from([(10, Some("b".to_string())), (11, None)]);
        let outcomes = confirmation_outcomes(CHAIN, vec![pending(10, "a"), pending(11, "c")], 20, 1, &canonical);
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes.iter().all(|o| matches!(o, Confirmation::Reversed { .. })));
    }

    #[test]
    fn a_transfer_above_the_head_waits() {
        // The node answering this pass is behind the one that reported the transfer.
        let outcomes = confirmation_outcomes(CHAIN, vec![pending(30, "a")], 20, 1, &HashMap::new());
        assert!(outcomes.is_empty());
    }
}
