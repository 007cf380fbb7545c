//! The EVM [`ChainSource`]: `eth_getLogs` per block range, filtered by the chain's token
//! contracts and the ERC-20 `Transfer` topic, matched locally against the watched addresses.
//! While the watched set is small ([`RECIPIENT_FILTER_MAX`]) the logs are also filtered by
//! recipient (topic 2, in chunks of [`RECIPIENT_CHUNK`]), so a busy token's volume never reaches
//! a node's result cap; a larger set is matched locally from the unfiltered logs.
//! Its calls go through [`RpcEndpoints`]: a timeout on each, the next URL when one fails.
//!
//! The same source reads Tron (see [`super::tron`]): java-tron serves the same JSON-RPC calls,
//! answered with Tron's own block ids and addresses written as `T…`. Blocks are read as raw
//! JSON ([`BlockHead`]): alloy's Ethereum block type refuses a Tron block (`stateRoot` `"0x"`).

use std::collections::HashMap;
use std::str::FromStr;

use alloy::primitives::{Address, B256, U64, U256, b256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use async_trait::async_trait;
use serde::Deserialize;

use super::rpc::{CallError, RpcEndpoints};
use super::source::{ChainSource, MinedTransaction, RangeError, RangeScan, WatchSet};
use super::{Currency, Network, Protocol, evm_to_tron, tron_to_evm};
use crate::amount::{Amount, AmountUnits};
use crate::error::{Error, Result};
use crate::settle::ObservedTransfer;
use crate::time::{Timestamp, from_millis};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: B256 = b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// Most watched addresses for which logs are filtered by recipient: up to this many, a range
/// costs `ceil(n / RECIPIENT_CHUNK)` `eth_getLogs` calls that return only the watched
/// addresses' transfers; above it, one unfiltered call whose logs are matched locally.
pub const RECIPIENT_FILTER_MAX: usize = 10_000;
/// Recipients per `eth_getLogs` call (java-tron's `maxSubTopics` default is 1,000).
pub const RECIPIENT_CHUNK: usize = 1_000;

/// How a chain family writes the 20-byte account ids of its logs for people: EIP-55 `0x…`
/// (EVM) or base58check `T…` (Tron). Logs, filters and [`WatchSet`] keys are 20-byte alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFormat {
    Evm,
    Tron,
}

impl AddressFormat {
    pub fn of(protocol: Protocol) -> AddressFormat {
        match protocol {
            Protocol::Evm => AddressFormat::Evm,
            Protocol::Tron => AddressFormat::Tron,
        }
    }

    /// The address as the API, events and pages show it.
    pub fn render(self, address: Address) -> String {
        match self {
            AddressFormat::Evm => address.to_checksum(None),
            AddressFormat::Tron => evm_to_tron(address),
        }
    }

    /// The 20-byte id of an address written this way; `None` when it is not one.
    pub fn parse(self, s: &str) -> Option<Address> {
        match self {
            AddressFormat::Evm => Address::from_str(s).ok(),
            AddressFormat::Tron => tron_to_evm(s),
        }
    }
}

/// Turns `Transfer` logs into observed transfers: known token, watched recipient, exact amount.
/// The per-log work of a scan: O(1) in the number of watched addresses.
#[derive(Debug, Clone)]
pub struct LogMatcher {
    chain_id: String,
    tokens: HashMap<Address, (Currency, u8)>,
    format: AddressFormat,
}

impl LogMatcher {
    /// A matcher writing addresses the EVM way.
    pub fn new(chain_id: &str, tokens: HashMap<Address, (Currency, u8)>) -> Self {
        LogMatcher::with_format(chain_id, tokens, AddressFormat::Evm)
    }

    /// A matcher writing the addresses of the transfers it finds in `format`.
    pub fn with_format(chain_id: &str, tokens: HashMap<Address, (Currency, u8)>, format: AddressFormat) -> Self {
        LogMatcher {
            chain_id: chain_id.to_string(),
            tokens,
            format,
        }
    }

    /// The token contracts to filter `eth_getLogs` by.
    pub fn contracts(&self) -> Vec<Address> {
        self.tokens.keys().copied().collect()
    }

    /// A `Transfer` log to a watched address, as an observed transfer (its block time is
    /// filled in by the caller).
    pub fn decode(&self, log: &Log, watched: &WatchSet) -> Option<ObservedTransfer> {
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
            token: self.format.render(log.address()),
            currency,
            from: self.format.render(Address::from_word(topics[1])),
            to: self.format.render(to),
            amount,
        })
    }
}

fn rpc_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("rpc: {e}"))
}

/// The part of an `eth_getBlockByNumber` answer a scan needs. Read from raw JSON so that a
/// Tron block (height-prefixed id, `stateRoot` `"0x"`) parses as well as an Ethereum one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockHead {
    pub number: U64,
    pub hash: B256,
    #[serde(rename = "parentHash")]
    pub parent_hash: B256,
    /// Seconds since the epoch.
    pub timestamp: U64,
}

/// The part of an `eth_getTransactionReceipt` answer a payment check needs, from raw JSON (a
/// java-tron receipt parses too).
#[derive(Debug, Clone, Deserialize)]
struct ReceiptHead {
    #[serde(rename = "blockNumber")]
    block_number: Option<U64>,
    /// `0x1` success, `0x0` reverted; absent on pre-Byzantium receipts.
    status: Option<U64>,
    #[serde(default)]
    logs: Vec<Log>,
}

/// A chain's RPC endpoints and token contracts, read with the EVM JSON-RPC calls.
pub struct EvmSource {
    matcher: LogMatcher,
    rpc: RpcEndpoints,
    format: AddressFormat,
    max_range: u64,
}

impl EvmSource {
    /// A source for `network`'s RPC URLs (with its timeouts and extra headers) and configured
    /// token contracts, written as its protocol writes addresses.
    pub fn new(network: &Network) -> Result<EvmSource> {
        EvmSource::with_max_range(network, u64::MAX)
    }

    /// [`EvmSource::new`] for a node that serves at most `max_range` blocks per `eth_getLogs`.
    pub fn with_max_range(network: &Network, max_range: u64) -> Result<EvmSource> {
        let format = AddressFormat::of(network.protocol);
        let tokens: HashMap<Address, (Currency, u8)> = network
            .tokens
            .iter()
            .filter_map(|t| {
                let contract = format.parse(t.contract.as_deref()?)?;
                Some((contract, (t.currency, t.decimals)))
            })
            .collect();
        Ok(EvmSource {
            matcher: LogMatcher::with_format(&network.id, tokens, format),
            rpc: RpcEndpoints::with_headers(
                &network.id,
                &network.rpc_urls,
                network.rpc_timeouts,
                &network.rpc_headers,
            )?,
            format,
            max_range,
        })
    }

    async fn block_hash_and_time(&self, number: u64) -> Result<Option<(String, Timestamp)>> {
        let block: Option<BlockHead> = self
            .rpc
            .call("eth_getBlockByNumber", |p| async move {
                p.raw_request("eth_getBlockByNumber".into(), (U64::from(number), false))
                    .await
            })
            .await?;
        Ok(block.map(|b| (b.hash.to_string(), block_time(b.timestamp.to()))))
    }

    /// The filters of one range: by recipient while `watched` is small (none at all when it is
    /// empty: no log could match), else the tokens' every `Transfer`.
    fn filters(&self, from: u64, to: u64, watched: &WatchSet) -> Vec<Filter> {
        let base = Filter::new()
            .from_block(from)
            .to_block(to)
            .address(self.matcher.contracts())
            .event_signature(TRANSFER_TOPIC);
        if watched.len() > RECIPIENT_FILTER_MAX {
            return vec![base];
        }
        let mut recipients: Vec<B256> = watched.iter().map(|a| a.into_word()).collect();
        recipients.sort_unstable();
        recipients
            .chunks(RECIPIENT_CHUNK)
            .map(|chunk| base.clone().topic2(chunk.to_vec()))
            .collect()
    }

    async fn logs(&self, filter: &Filter) -> std::result::Result<Vec<Log>, RangeError> {
        // Nodes cap ranges by blocks or by results, each with its own JSON-RPC error: any error
        // answer is taken as a refusal, and the scanner narrows the range. A node that does not
        // answer at all is a failure (the call already tried every URL).
        self.rpc
            .call("eth_getLogs", |p| {
                let filter = filter.clone();
                async move { p.get_logs(&filter).await }
            })
            .await
            .map_err(|e| match e {
                CallError::Answered(refusal) => RangeError::Refused(refusal),
                unreachable => RangeError::Failed(unreachable.into()),
            })
    }
}

/// A block timestamp (whole seconds) as a time.
fn block_time(secs: u64) -> Timestamp {
    from_millis(i64::try_from(secs).unwrap_or(i64::MAX / 1000) * 1000)
}

#[async_trait]
impl ChainSource for EvmSource {
    async fn head(&self) -> Result<u64> {
        Ok(self
            .rpc
            .call("eth_blockNumber", |p| async move { p.get_block_number().await })
            .await?)
    }

    async fn block_hashes(&self, numbers: &[u64]) -> Result<Vec<Option<String>>> {
        let mut hashes = Vec::with_capacity(numbers.len());
        for &number in numbers {
            hashes.push(self.block_hash_and_time(number).await?.map(|(hash, _)| hash));
        }
        Ok(hashes)
    }

    async fn transfers(&self, from: u64, to: u64, watched: &WatchSet) -> std::result::Result<RangeScan, RangeError> {
        if to.saturating_sub(from) >= self.max_range {
            return Err(RangeError::Refused(format!(
                "{} blocks asked; this node serves at most {}",
                to - from + 1,
                self.max_range
            )));
        }
        let mut logs = Vec::new();
        for filter in self.filters(from, to, watched) {
            logs.extend(self.logs(&filter).await?);
        }
        // Chunks answer separately: put the range's logs back in chain order.
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let Some((to_hash, to_time)) = self.block_hash_and_time(to).await? else {
            return Err(rpc_err(format!("block {to} not found")).into());
        };
        let mut times: HashMap<u64, Timestamp> = HashMap::from([(to, to_time)]);
        let mut transfers = Vec::new();
        for log in &logs {
            let Some(mut t) = self.matcher.decode(log, watched) else {
                continue;
            };
            t.block_time = match (times.get(&t.block_number), log.block_timestamp) {
                (Some(at), _) => *at,
                (None, Some(secs)) => block_time(secs),
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
        Ok(RangeScan {
            transfers,
            to_hash,
            to_time,
        })
    }

    async fn transaction(&self, tx_hash: &str, recipient: Address) -> Result<Option<MinedTransaction>> {
        let hash: B256 = tx_hash
            .parse()
            .map_err(|_| Error::validation("hash", "hash must be a transaction hash: 0x and 64 hex digits"))?;
        let receipt: Option<ReceiptHead> = self
            .rpc
            .call("eth_getTransactionReceipt", |p| async move {
                p.raw_request("eth_getTransactionReceipt".into(), (hash,)).await
            })
            .await?;
        let Some(receipt) = receipt else {
            return Ok(None);
        };
        let Some(number) = receipt.block_number else {
            return Ok(None); // still in the mempool
        };
        let number: u64 = number.to();
        let (_, block_time) = self
            .block_hash_and_time(number)
            .await?
            .ok_or_else(|| rpc_err(format!("block {number} not found")))?;
        let succeeded = receipt.status.is_none_or(|s| s == U64::from(1));
        let watched: WatchSet = std::iter::once(recipient).collect();
        let transfers = if succeeded {
            receipt
                .logs
                .iter()
                .filter_map(|log| self.matcher.decode(log, &watched))
                .map(|t| ObservedTransfer { block_time, ..t })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Some(MinedTransaction {
            block_number: number,
            block_time,
            succeeded,
            transfers,
        }))
    }

    fn max_range(&self) -> u64 {
        self.max_range
    }

    fn watch_key(&self, address: &str) -> Option<Address> {
        self.format.parse(address)
    }

    fn fail_over(&mut self) {
        self.rpc.fail_over();
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, Log as PrimitiveLog, LogData};

    use super::*;

    const TOKEN: Address = Address::repeat_byte(0x11);

    fn matcher() -> LogMatcher {
        LogMatcher::new("ethereum", HashMap::from([(TOKEN, (Currency::Usdt, 6))]))
    }

    fn transfer_log(token: Address, topic: B256, to: Address, units: u64) -> Log {
        Log {
            inner: PrimitiveLog {
                address: token,
                data: LogData::new_unchecked(
                    vec![topic, Address::repeat_byte(0x22).into_word(), to.into_word()],
                    Bytes::from(U256::from(units).to_be_bytes::<32>().to_vec()),
                ),
            },
            block_hash: Some(B256::repeat_byte(1)),
            block_number: Some(7),
            transaction_hash: Some(B256::repeat_byte(2)),
            log_index: Some(3),
            ..Default::default()
        }
    }

    #[test]
    fn a_transfer_to_a_watched_address_decodes_with_the_token_scale() {
        let to = Address::repeat_byte(0x33);
        let watched: WatchSet = [to].into_iter().collect();
        let t = matcher()
            .decode(&transfer_log(TOKEN, TRANSFER_TOPIC, to, 1_500_000), &watched)
            .unwrap();
        assert_eq!(t.amount, Amount::parse_positive("amount", "1.5").unwrap());
        assert_eq!(t.currency, Currency::Usdt);
        assert_eq!((t.block_number, t.log_index), (7, 3));
        assert_eq!(t.to, to.to_checksum(None));
        assert_eq!(t.token, TOKEN.to_checksum(None));
    }

    #[test]
    fn other_recipients_tokens_events_and_zero_amounts_are_ignored() {
        let to = Address::repeat_byte(0x33);
        let watched: WatchSet = [to].into_iter().collect();
        let m = matcher();
        let ignored = [
            transfer_log(TOKEN, TRANSFER_TOPIC, Address::repeat_byte(0x44), 1),
            transfer_log(Address::repeat_byte(0x55), TRANSFER_TOPIC, to, 1),
            transfer_log(TOKEN, B256::repeat_byte(0x66), to, 1),
            transfer_log(TOKEN, TRANSFER_TOPIC, to, 0),
        ];
        for log in &ignored {
            assert_eq!(m.decode(log, &watched), None, "{log:?}");
        }
    }

    fn source(protocol: &str) -> EvmSource {
        let registry = crate::chain::ChainRegistry::default();
        let mut network = registry.get(protocol).unwrap().clone();
        network.rpc_urls = vec!["http://127.0.0.1:9".into()];
        EvmSource::new(&network).unwrap()
    }

    fn topic2_sizes(filters: &[Filter]) -> Vec<Option<usize>> {
        filters
            .iter()
            .map(|f| {
                let t = &f.topics[2];
                (!t.is_empty()).then(|| t.len())
            })
            .collect()
    }

    #[test]
    fn a_small_watched_set_filters_by_recipient_in_chunks_of_1000() {
        let s = source("polygon");
        let watched = |n: u32| -> WatchSet {
            (0..n)
                .map(|i| Address::left_padding_from(&(u64::from(i) + 1).to_be_bytes()))
                .collect()
        };
        assert!(
            s.filters(1, 10, &WatchSet::default()).is_empty(),
            "nothing watched: nothing asked"
        );
        assert_eq!(topic2_sizes(&s.filters(1, 10, &watched(1))), [Some(1)]);
        assert_eq!(
            topic2_sizes(&s.filters(1, 10, &watched(2_500))),
            [Some(1_000), Some(1_000), Some(500)]
        );
        assert_eq!(topic2_sizes(&s.filters(1, 10, &watched(10_000))).len(), 10);
        // Above the limit: one unfiltered call, matched locally.
        assert_eq!(topic2_sizes(&s.filters(1, 10, &watched(10_001))), [None]);
        for f in s.filters(1, 10, &watched(3)) {
            assert_eq!(f.topics[0].len(), 1, "the Transfer topic");
            assert_eq!(f.address.len(), 2, "polygon's USDT and USDC contracts");
        }
    }

    #[test]
    fn a_tron_source_filters_by_20_byte_contracts_and_writes_t_addresses() {
        let s = source("tron");
        let usdt = crate::chain::tron_to_evm("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        let f = &s.filters(1, 10, &[Address::repeat_byte(7)].into_iter().collect())[0];
        assert!(f.address.iter().any(|a| *a == usdt), "{:?}", f.address);
        assert_eq!(
            s.max_range(),
            u64::MAX,
            "EvmSource::new has no cap; tron::source sets 5,000"
        );
        assert_eq!(s.format.render(usdt), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    }
}
