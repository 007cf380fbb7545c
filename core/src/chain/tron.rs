//! Tron, read through java-tron's Ethereum-compatible JSON-RPC (`/jsonrpc`, served by TronGrid
//! at `https://api.trongrid.io/jsonrpc` with a `TRON-PRO-API-KEY` header, or by a node with
//! `node.jsonrpc.httpFullNodeEnable = true`). The calls are the EVM source's
//! ([`EvmSource`]); what differs is how java-tron answers them:
//!
//! - a block id (`hash`) is the block height (8 bytes, big-endian) followed by 24 bytes of the
//!   block's hash, and `stateRoot` is `"0x"`: blocks are read as raw JSON ([`BlockHead`]),
//!   never with alloy's Ethereum block type, which refuses them;
//! - log filters take 20-byte hex addresses: a 21-byte `41…` address is refused, so token
//!   contracts configured as `T…` are converted ([`tron_to_evm`](super::tron_to_evm));
//! - a range above [`MAX_BLOCK_RANGE`] blocks is refused with -32602 (never asked for), and a
//!   result above 10,000 logs with -32005 (the scanner narrows the range);
//! - `finalized` is the latest solidified block; the default 19 confirmations are about that.
//!
//! Addresses in transfers are written `T…` for the merchant; [`WatchSet`](super::source::WatchSet)
//! keys stay 20-byte.

use super::Network;
#[cfg(doc)]
use super::evm::BlockHead;
use super::evm::EvmSource;
use crate::error::Result;

/// The widest `eth_getLogs` range java-tron serves (`maxBlockRange`, default 5,000).
pub const MAX_BLOCK_RANGE: u64 = 5_000;

/// What a Tron chain's RPC URL must be, as `GET /chains` says it.
pub fn rpc_requirements(chain_id: &str) -> String {
    let example = if chain_id == "tron-nile" {
        "https://nile.trongrid.io/jsonrpc"
    } else {
        "https://api.trongrid.io/jsonrpc"
    };
    format!(
        "a java-tron JSON-RPC endpoint (the node's /jsonrpc, node.jsonrpc.httpFullNodeEnable = true), e.g. \
         {example}; TronGrid wants its API key as a header: rpc_headers = {{ \"TRON-PRO-API-KEY\" = \"…\" }} \
         under [chains.{chain_id}]"
    )
}

/// The source of a Tron network: the EVM source with Tron's range cap and `T…` addresses.
pub fn source(network: &Network) -> Result<EvmSource> {
    EvmSource::with_max_range(network, MAX_BLOCK_RANGE)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};
    use alloy::rpc::types::Log;

    use super::super::evm::{BlockHead, LogMatcher, TRANSFER_TOPIC};
    use super::super::source::WatchSet;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/../tests/fixtures/tron/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["result"].clone()
    }

    #[test]
    fn a_real_nile_block_parses_with_its_height_prefixed_id() {
        let raw = fixture("nile_eth_getBlockByNumber_0x3fe1c00.json");
        assert_eq!(raw["stateRoot"], "0x");
        let block: BlockHead = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.number.to::<u64>(), 0x3fe1c00);
        assert_eq!(block.hash[..8], 0x3fe1c00u64.to_be_bytes());
        assert_eq!(block.parent_hash[..8], 0x3fe1bffu64.to_be_bytes());
        assert_eq!(block.timestamp.to::<u64>(), 0x69f18a5c);
        assert_eq!(
            block.hash.to_string(),
            "0x0000000003fe1c00462b498ddae67717e96c785078adb5ccb7279148916e6f97"
        );
        // Why blocks are read as raw JSON: alloy's Ethereum block type refuses this one.
        assert!(serde_json::from_value::<alloy::rpc::types::Block>(raw).is_err());
    }

    #[test]
    fn real_nile_logs_parse_and_a_non_transfer_log_is_ignored() {
        let logs: Vec<Log> = serde_json::from_value(fixture("nile_eth_getLogs_0x3fe1ca0.json")).unwrap();
        assert_eq!(logs.len(), 1);
        let log = &logs[0];
        assert_eq!(log.block_number, Some(0x3fe1ca0));
        assert_eq!(log.block_timestamp, Some(0x697999ef));
        assert_eq!(log.block_hash.unwrap()[..8], 0x3fe1ca0u64.to_be_bytes());
        let contract: Address = "0x9ff8fc48fb114ccd5bbdc24a86f0c73082f08825".parse().unwrap();
        assert_eq!(log.address(), contract);
        // The contract is a known token and the recipient slot is watched: still not a Transfer.
        let matcher = LogMatcher::with_format(
            "tron-nile",
            [(contract, (super::super::Currency::Usdt, 6))].into(),
            super::super::evm::AddressFormat::Tron,
        );
        let watched: WatchSet = [Address::from_word(log.topics()[2])].into_iter().collect();
        assert_ne!(log.topics()[0], TRANSFER_TOPIC);
        assert_eq!(matcher.decode(log, &watched), None);

        // The same log as a Transfer decodes with `T…` addresses.
        let mut transfer = log.clone();
        let mut topics = transfer.inner.data.topics().to_vec();
        topics[0] = TRANSFER_TOPIC;
        let to = Address::repeat_byte(0x33);
        topics[2] = to.into_word();
        transfer.inner.data = alloy::primitives::LogData::new_unchecked(
            topics,
            alloy::primitives::U256::from(1_500_000u64)
                .to_be_bytes::<32>()
                .to_vec()
                .into(),
        );
        let watched: WatchSet = [to].into_iter().collect();
        let t = matcher
            .decode(&transfer, &watched)
            .expect("a transfer to a watched address");
        assert_eq!(t.to, super::super::evm_to_tron(to));
        assert!(t.to.starts_with('T') && t.from.starts_with('T') && t.token.starts_with('T'));
        let from: Address = "0xdd791d6b49e190062d650e6a23c575510d35f2f9".parse().unwrap();
        assert_eq!(t.from, super::super::evm_to_tron(from));
        assert_eq!(t.block_hash, log.block_hash.map(|h: B256| h.to_string()).unwrap());
    }
}
