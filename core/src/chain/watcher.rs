//! The EVM chain watcher: scans blocks, not addresses. One `eth_getLogs` per block range,
//! filtered by the chain's token contracts and the ERC-20 `Transfer` topic, matched locally
//! against the set of watched addresses. The store commits each range with its cursor, so a
//! restart resumes without missing or double-counting a transfer.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256, b256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{BlockNumberOrTag, Filter, Log};
use chrono::Duration as ChronoDuration;
use serde::Serialize;

use crate::amount::Amount;
use crate::chain::{Currency, Network};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::settle::{Confirmation, ObservedTransfer, Scan};
use crate::time::{Timestamp, from_millis};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: B256 = b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// Block hashes compared on each pass to find where a reorg forked.
const REORG_LOOKBACK: u32 = 128;

/// How a watcher polls.
#[derive(Debug, Clone)]
pub struct WatcherOptions {
    /// Pause between passes once caught up with the head.
    pub poll_interval: Duration,
    /// Largest block range asked of `eth_getLogs`; halved when a node refuses a range.
    pub max_range: u64,
    /// Where a chain never scanned before starts (default: its current head).
    pub start_block: Option<u64>,
}

impl WatcherOptions {
    /// Defaults per network: a local dev chain is polled fast, public chains gently.
    pub fn for_network(network: &Network) -> Self {
        let local = network.evm_chain_id == Some(31_337);
        WatcherOptions {
            poll_interval: Duration::from_millis(if local { 50 } else { 1_000 }),
            max_range: 1_000,
            start_block: None,
        }
    }
}

/// A chain's progress, shown by `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    pub chain_id: String,
    pub head: Option<u64>,
    /// Next block to scan.
    pub cursor: Option<u64>,
    /// Blocks between the head and the last scanned block.
    pub lag: Option<u64>,
    pub last_error: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub scanned: Option<(u64, u64)>,
    pub transfers: usize,
    pub events: usize,
    pub caught_up: bool,
}

/// Turns `Transfer` logs into observed transfers: known token, watched recipient, exact amount.
/// The per-log work of a scan: O(1) in the number of watched addresses.
#[derive(Debug, Clone)]
pub struct LogMatcher {
    chain_id: String,
    tokens: HashMap<Address, (Currency, u8)>,
}

impl LogMatcher {
    pub fn new(chain_id: &str, tokens: HashMap<Address, (Currency, u8)>) -> Self {
        LogMatcher {
            chain_id: chain_id.to_string(),
            tokens,
        }
    }

    /// The token contracts to filter `eth_getLogs` by.
    pub fn contracts(&self) -> Vec<Address> {
        self.tokens.keys().copied().collect()
    }

    /// A `Transfer` log to a watched address, as an observed transfer (its block time is
    /// filled in by the caller).
    pub fn decode(&self, log: &Log, watched: &HashSet<Address>) -> Option<ObservedTransfer> {
        let topics = log.topics();
        if topics.len() != 3 || topics[0] != TRANSFER_TOPIC {
            return None;
        }
        let to = Address::from_word(topics[2]);
        if !watched.contains(&to) {
            return None;
        }
        let (currency, decimals) = *self.tokens.get(&log.address())?;
        let data = log.data().data.as_ref();
        if data.len() != 32 {
            return None;
        }
        let value = U256::from_be_slice(data);
        let amount = match Amount::from_base_units(value, decimals) {
            Some(a) if !a.is_zero() => a,
            _ => return None,
        };
        Some(ObservedTransfer {
            chain_id: self.chain_id.clone(),
            tx_hash: log.transaction_hash?.to_string(),
            log_index: log.log_index?,
            block_number: log.block_number?,
            block_hash: log.block_hash?.to_string(),
            block_time: Timestamp::default(),
            token: log.address().to_checksum(None),
            currency,
            from: Address::from_word(topics[1]).to_checksum(None),
            to: to.to_checksum(None),
            amount,
        })
    }
}

/// Watches one EVM network.
pub struct Watcher {
    engine: Arc<Engine>,
    network: Network,
    matcher: LogMatcher,
    providers: Vec<DynProvider>,
    active: usize,
    range: u64,
    /// The widest range the node accepts, as far as its refusals have shown.
    range_ceiling: u64,
    options: WatcherOptions,
    /// Addresses in use, and when they were last loaded in full / at all.
    watched: HashSet<Address>,
    full_load_at: Option<Timestamp>,
    loaded_at: Option<Timestamp>,
}

/// How often the watched set is rebuilt from scratch, dropping addresses back in the pool.
const FULL_RELOAD_EVERY: ChronoDuration = ChronoDuration::minutes(10);
/// Overlap of incremental loads: an assignment committed this long after its timestamp is
/// still picked up. Orders are answered only after their commit, so nobody can pay an address
/// before it is loaded.
const LOAD_OVERLAP: ChronoDuration = ChronoDuration::minutes(1);

fn rpc_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("rpc: {e}"))
}

impl Watcher {
    /// A watcher for `network`, or `None` when the network is not watched (see
    /// [`Network::check_watched`]: the same rule decides which orders are accepted).
    pub fn new(engine: Arc<Engine>, network: Network, options: WatcherOptions) -> Result<Option<Watcher>> {
        if network.check_watched("chainId").is_err() {
            return Ok(None);
        }
        let tokens: HashMap<Address, (Currency, u8)> = network
            .tokens
            .iter()
            .filter_map(|t| {
                let contract = Address::from_str(t.contract.as_deref()?).ok()?;
                Some((contract, (t.currency, t.decimals)))
            })
            .collect();
        let providers = network
            .rpc_urls
            .iter()
            .map(|u| {
                let url = u
                    .parse()
                    .map_err(|e| Error::validation(format!("chains.{}.rpc_urls", network.id), format!("{u}: {e}")))?;
                Ok(ProviderBuilder::new()
                    .disable_recommended_fillers()
                    .connect_http(url)
                    .erased())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Watcher {
            engine,
            range: options.max_range,
            range_ceiling: options.max_range,
            watched: HashSet::new(),
            full_load_at: None,
            loaded_at: None,
            matcher: LogMatcher::new(&network.id, tokens),
            network,
            providers,
            active: 0,
            options,
        }))
    }

    pub fn chain_id(&self) -> &str {
        &self.network.id
    }

    fn rpc(&self) -> &DynProvider {
        &self.providers[self.active]
    }

    /// Moves to the next RPC URL after a failure.
    fn fail_over(&mut self) {
        self.active = (self.active + 1) % self.providers.len();
    }

    /// Passes until `shutdown` flips: back-to-back while catching up, then every poll
    /// interval. RPC and database errors are logged and retried with backoff.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.options.poll_interval;
        loop {
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
                    tracing::warn!(chain = %self.network.id, error = %e, "watcher pass failed; retrying");
                    self.engine.set_chain_error(&self.network.id, e.to_string());
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

    async fn block_hash_and_time(&self, number: u64) -> Result<Option<(String, Timestamp)>> {
        let block = self
            .rpc()
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc_err)?;
        Ok(block.map(|b| {
            (
                b.header.hash.to_string(),
                from_millis(i64::try_from(b.header.timestamp).unwrap_or(i64::MAX / 1000) * 1000),
            )
        }))
    }

    /// One pass: reorg check, scan of the next range, confirmation of pending transfers. On
    /// failure the next pass uses the next RPC URL.
    pub async fn pass(&mut self) -> Result<PassReport> {
        let result = self.pass_on_current_rpc().await;
        match &result {
            Ok(report) if report.events > 0 => self.engine.notify_events_written(),
            Ok(_) => {}
            Err(_) => self.fail_over(),
        }
        result
    }

    async fn pass_on_current_rpc(&mut self) -> Result<PassReport> {
        let engine = self.engine.clone();
        let store = engine.chain_store();
        let chain_id = self.network.id.clone();
        let head = self.rpc().get_block_number().await.map_err(rpc_err)?;
        let now = self.engine.now();
        let mut report = PassReport::default();

        // A stored block whose hash changed means a reorg: rescan after the newest stored block
        // that still stands (or below the oldest one if none does).
        let mut fork = None;
        for (number, hash) in store.recent_blocks(&chain_id, REORG_LOOKBACK).await? {
            let stands = number <= head
                && self.block_hash_and_time(number).await?.map(|(h, _)| h).as_deref() == Some(hash.as_str());
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
            let to = head.min(next + self.range - 1);
            // Refreshed after the head was read: an order created later cannot have been paid
            // in a block up to this head.
            self.refresh_watched(now).await?;
            let filter = Filter::new()
                .from_block(next)
                .to_block(to)
                .address(self.matcher.contracts())
                .event_signature(TRANSFER_TOPIC);
            let logs = match self.rpc().get_logs(&filter).await {
                Ok(logs) => logs,
                Err(e) if self.range > 1 => {
                    // Nodes cap ranges (by blocks or by results); ask for less, and never again
                    // for as much as was refused.
                    self.range = (self.range / 2).max(1);
                    self.range_ceiling = self.range;
                    tracing::debug!(chain = %chain_id, range = self.range, error = %e, "range refused; shrinking");
                    report.caught_up = false;
                    return Ok(report);
                }
                Err(e) => return Err(rpc_err(e)),
            };
            self.range = (self.range * 2).min(self.range_ceiling);
            let Some((to_hash, to_time)) = self.block_hash_and_time(to).await? else {
                return Err(rpc_err(format!("block {to} not found")));
            };
            let mut times: HashMap<u64, Timestamp> = HashMap::from([(to, to_time)]);
            let mut transfers = Vec::new();
            for log in &logs {
                let Some(mut t) = self.matcher.decode(log, &self.watched) else {
                    continue;
                };
                t.block_time = match (times.get(&t.block_number), log.block_timestamp) {
                    (Some(at), _) => *at,
                    (None, Some(secs)) => from_millis(secs as i64 * 1000),
                    (None, None) => {
                        let (_, at) = self
                            .block_hash_and_time(t.block_number)
                            .await?
                            .ok_or_else(|| rpc_err(format!("block {} not found", t.block_number)))?;
                        at
                    }
                };
                times.insert(t.block_number, t.block_time);
                transfers.push(t);
            }
            report.transfers = transfers.len();
            let scan = Scan {
                chain_id: chain_id.clone(),
                from: next,
                to,
                to_hash,
                to_time,
                transfers,
                now,
            };
            report.events += store.apply_scan(&scan).await?.len();
            report.scanned = Some((next, to));
            report.caught_up = to == head;
        }

        report.events += self.confirm(head, now).await?;
        self.engine.set_chain_status(ChainStatus {
            chain_id: chain_id.clone(),
            head: Some(head),
            cursor: store.chain_cursor(&chain_id).await?,
            lag: store
                .chain_cursor(&chain_id)
                .await?
                .map(|c| head.saturating_sub(c.saturating_sub(1))),
            last_error: None,
        });
        Ok(report)
    }

    /// Brings the watched set up to date: addresses assigned since the last load (with overlap),
    /// or every address in use once per [`FULL_RELOAD_EVERY`].
    async fn refresh_watched(&mut self, now: Timestamp) -> Result<()> {
        let store = self.engine.chain_store();
        let full = self.full_load_at.is_none_or(|at| now - at >= FULL_RELOAD_EVERY);
        let since = if full {
            None
        } else {
            self.loaded_at.map(|at| at - LOAD_OVERLAP)
        };
        let addresses = store.watched_addresses(self.network.protocol, since).await?;
        if full {
            self.watched.clear();
            self.full_load_at = Some(now);
        }
        self.watched
            .extend(addresses.iter().filter_map(|a| Address::from_str(a).ok()));
        self.loaded_at = Some(now);
        Ok(())
    }

    /// Confirms transfers with enough blocks on top; reverses those whose block left the chain.
    async fn confirm(&self, head: u64, now: Timestamp) -> Result<usize> {
        let store = self.engine.chain_store();
        let pending = store.unconfirmed_transfers(&self.network.id).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let required = u64::from(self.network.confirmations.max(1));
        let mut canonical: HashMap<u64, Option<String>> = HashMap::new();
        let mut outcomes = Vec::new();
        for p in pending {
            if p.block_number > head {
                continue;
            }
            let hash = match canonical.get(&p.block_number) {
                Some(h) => h.clone(),
                None => {
                    let h = self.block_hash_and_time(p.block_number).await?.map(|(h, _)| h);
                    canonical.insert(p.block_number, h.clone());
                    h
                }
            };
            let confirmations = head - p.block_number + 1;
            if hash.as_deref() != Some(p.block_hash.as_str()) {
                outcomes.push(Confirmation::Reversed {
                    chain_id: self.network.id.clone(),
                    tx_hash: p.tx_hash,
                    log_index: p.log_index,
                });
            } else if confirmations >= required {
                outcomes.push(Confirmation::Confirmed {
                    chain_id: self.network.id.clone(),
                    tx_hash: p.tx_hash,
                    log_index: p.log_index,
                    confirmations,
                });
            }
        }
        if outcomes.is_empty() {
            return Ok(0);
        }
        let cooldown = ChronoDuration::minutes(i64::from(self.engine.settings().address_cooldown_minutes));
        Ok(store.apply_confirmations(&outcomes, now, now + cooldown).await?.len())
    }
}

impl Engine {
    /// Starts a watcher for every EVM network with an RPC URL and a configured token.
    pub fn spawn_watchers(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>> {
        let mut handles = Vec::new();
        for network in self.chains().networks() {
            let options = WatcherOptions::for_network(network);
            if let Some(w) = Watcher::new(self.clone(), network.clone(), options)? {
                tracing::info!(chain = %network.id, rpc = network.rpc_urls.len(), "watching chain");
                handles.push(tokio::spawn(w.run(shutdown.clone())));
            }
        }
        Ok(handles)
    }
}
