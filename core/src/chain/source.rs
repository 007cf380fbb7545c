//! The seam between the generic [`Scanner`](super::scanner::Scanner) and a chain family: what
//! the scanner asks of a chain's nodes. The EVM implementation is [`EvmSource`]; Tron is read
//! through java-tron's Ethereum-compatible JSON-RPC by the same source (see [`super::tron`]).

use std::collections::HashSet;

use alloy_primitives::Address;
use async_trait::async_trait;

use super::evm::EvmSource;
use super::{Network, Protocol};
use crate::error::{Error, Result};
use crate::settle::ObservedTransfer;
use crate::time::Timestamp;

/// The addresses whose incoming transfers matter, as 20-byte account ids (the wire form of EVM
/// and Tron addresses alike). Matching a transfer against it is O(1), whatever its size.
#[derive(Debug, Clone, Default)]
pub struct WatchSet {
    addresses: HashSet<Address>,
}

impl WatchSet {
    pub fn contains(&self, address: &Address) -> bool {
        self.addresses.contains(address)
    }

    pub fn insert(&mut self, address: Address) -> bool {
        self.addresses.insert(address)
    }

    pub fn clear(&mut self) {
        self.addresses.clear();
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Address> {
        self.addresses.iter()
    }
}

impl Extend<Address> for WatchSet {
    fn extend<I: IntoIterator<Item = Address>>(&mut self, iter: I) {
        self.addresses.extend(iter);
    }
}

impl FromIterator<Address> for WatchSet {
    fn from_iter<I: IntoIterator<Item = Address>>(iter: I) -> Self {
        WatchSet {
            addresses: iter.into_iter().collect(),
        }
    }
}

/// What a block range held: the transfers to watched addresses (block times filled in) and the
/// hash and time of the range's last block, which the store keeps for reorg detection.
#[derive(Debug, Clone)]
pub struct RangeScan {
    pub transfers: Vec<ObservedTransfer>,
    pub to_hash: String,
    pub to_time: Timestamp,
}

/// A mined transaction as [`ChainSource::transaction`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct MinedTransaction {
    pub block_number: u64,
    pub block_time: Timestamp,
    /// The receipt's status: `false` when the transaction reverted (its logs are void).
    pub succeeded: bool,
    /// Token transfers to the recipient asked about, in log order.
    pub transfers: Vec<ObservedTransfer>,
}

/// Why a range could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// The node refused the range (too many blocks or results; nodes word this differently).
    /// The scanner asks for a narrower one and never again for as much.
    #[error("rpc: {0}")]
    Refused(String),
    /// Any other failure: the pass fails and the next one uses the next endpoint.
    #[error(transparent)]
    Failed(#[from] Error),
}

/// One chain's nodes, as the scanner needs them. Block numbers are heights; hashes are
/// compared as opaque strings, so a source renders them one stable way.
#[async_trait]
pub trait ChainSource: Send + Sync {
    /// The newest block number.
    async fn head(&self) -> Result<u64>;

    /// The canonical hash of each block in `numbers`, in the same order; `None` for a block
    /// the node does not have.
    async fn block_hashes(&self, numbers: &[u64]) -> Result<Vec<Option<String>>>;

    /// Token transfers of the chain's configured tokens to `watched` addresses in blocks
    /// `from..=to`, each with its block time, and the hash and time of block `to`.
    async fn transfers(&self, from: u64, to: u64, watched: &WatchSet) -> std::result::Result<RangeScan, RangeError>;

    /// What one transaction did, for a payer's claim that it paid (QieJiao's supplement): the
    /// transfers of the chain's configured tokens to `recipient` in the transaction's logs (block
    /// times filled in), or `None` when the node knows no such transaction. A transaction that
    /// reverted is reported as such, with no transfers.
    async fn transaction(&self, tx_hash: &str, recipient: Address) -> Result<Option<MinedTransaction>> {
        let _ = (tx_hash, recipient);
        Err(Error::Internal(
            "this chain's source cannot look up transactions".into(),
        ))
    }

    /// The widest block range this kind of node serves at all (java-tron: 5,000); the scanner
    /// never asks for more, whatever it is configured with.
    fn max_range(&self) -> u64 {
        u64::MAX
    }

    /// The [`WatchSet`] entry of an address as the pool stores it; `None` when it is not an
    /// address of this chain's protocol.
    fn watch_key(&self, address: &str) -> Option<Address>;

    /// Called after a failed pass: the next pass should use the next endpoint, if any.
    fn fail_over(&mut self) {}
}

/// The source that watches `network`, or `None` when the network is not watched (see
/// [`Network::check_watched`]: the same rule decides which orders are accepted).
pub fn for_network(network: &Network) -> Result<Option<Box<dyn ChainSource>>> {
    if network.check_watched("chainId").is_err() {
        return Ok(None);
    }
    match network.protocol {
        Protocol::Evm => Ok(Some(Box::new(EvmSource::new(network)?))),
        Protocol::Tron => Ok(Some(Box::new(super::tron::source(network)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainRegistry, Token};

    fn network(id: &str) -> Network {
        ChainRegistry::default().get(id).unwrap().clone()
    }

    #[test]
    fn an_evm_network_with_an_rpc_url_and_a_token_contract_gets_a_source() {
        let mut polygon = network("polygon");
        polygon.rpc_urls = vec!["http://127.0.0.1:9".into()];
        assert!(for_network(&polygon).unwrap().is_some());
    }

    #[test]
    fn networks_that_are_not_watched_get_none() {
        let no_rpc = Network {
            rpc_urls: Vec::new(),
            ..network("polygon")
        };
        let no_contract = Network {
            rpc_urls: vec!["http://127.0.0.1:9".into()],
            tokens: vec![Token {
                contract: None,
                ..network("polygon").tokens[0].clone()
            }],
            ..network("polygon")
        };
        let tron_without_rpc = network("tron");
        for n in [no_rpc, no_contract, tron_without_rpc] {
            assert!(for_network(&n).unwrap().is_none(), "{}", n.id);
        }
    }

    #[test]
    fn a_tron_network_with_an_rpc_url_gets_a_source_capped_at_5000_blocks() {
        let mut tron = network("tron");
        tron.rpc_urls = vec!["https://api.trongrid.io/jsonrpc".into()];
        let source = for_network(&tron).unwrap().expect("tron is watched");
        assert_eq!(source.max_range(), 5_000);
        assert_eq!(
            source.watch_key("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            Some("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c".parse().unwrap())
        );
        assert_eq!(source.watch_key("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c"), None);
    }

    #[test]
    fn a_bad_rpc_url_names_its_config_key() {
        let polygon = Network {
            rpc_urls: vec!["not a url".into()],
            ..network("polygon")
        };
        match for_network(&polygon).err() {
            Some(Error::Invalid { field, .. }) => assert_eq!(field, "chains.polygon.rpc_urls"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}
