//! The registry of networks PayIn knows: built-in defaults overridden by the config file.
//!
//! Watching them: [`scanner`] is the one loop (cursor, ranges, reorgs, confirmations) over a
//! [`source::ChainSource`] per chain family ([`evm`], and [`tron`]: the same JSON-RPC calls read
//! the way java-tron answers them; their calls go through [`rpc`]: timeouts, extra headers and
//! failover across a chain's URLs); [`watcher`] starts one scanner per watched network for
//! the engine, each scanning only while this replica holds the chain's [`lease`]; [`status`] is
//! their progress as `/health` shows it.

mod address;
mod defaults;
pub mod evm;
pub mod lease;
pub mod rpc;
pub mod scanner;
pub mod source;
pub mod status;
pub mod tron;
pub mod watcher;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

pub use address::{address_of_public_key, evm_to_tron, normalize_address, tron_to_evm};
pub use payin_types::chain::{ChainInfo, Currency, Protocol, TokenInfo};
pub use rpc::{RpcHeaders, RpcTimeouts};
pub use status::{ChainStatus, ChainStatusBoard};

use crate::error::{Error, InvalidCode};

/// A token on one network. `contract` is `None` where no canonical contract exists (most
/// testnets): such a token cannot be used until the config file names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub currency: Currency,
    pub contract: Option<String>,
    pub decimals: u8,
}

/// A network the gateway can watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The chain id string used across the API (`ethereum`, `polygon-amoy`, …).
    pub id: String,
    pub name: String,
    pub protocol: Protocol,
    pub evm_chain_id: Option<u64>,
    pub testnet: bool,
    pub rpc_urls: Vec<String>,
    /// Connect and per-call timeouts of every RPC URL.
    pub rpc_timeouts: RpcTimeouts,
    /// Extra HTTP headers sent with every RPC call (e.g. TronGrid's `TRON-PRO-API-KEY`); their
    /// values are secrets and never shown.
    pub rpc_headers: RpcHeaders,
    /// Pause between passes once caught up; `None`: 50 ms on a local dev chain (EVM chain id
    /// 31337), 1 s elsewhere.
    pub poll_interval: Option<Duration>,
    pub confirmations: u32,
    pub tokens: Vec<Token>,
}

impl Network {
    pub fn token(&self, currency: Currency) -> Option<&Token> {
        self.tokens.iter().find(|t| t.currency == currency)
    }

    /// The token if it is usable here, or a 400 that names the config key to set.
    pub fn configured_token(&self, currency: Currency) -> Result<&Token, Error> {
        match self.token(currency) {
            Some(t) if t.contract.is_some() => Ok(t),
            _ => Err(Error::invalid(
                InvalidCode::Currency,
                "currency",
                format!(
                    "currency: {currency} has no token contract configured on chain '{id}'; set \
                     `contract` under [chains.{id}.tokens.{currency}] in the config file \
                     (--config / PAYIN_CONFIG)",
                    id = self.id
                ),
            )),
        }
    }

    /// Whether payments on this network are detected: the watcher scans EVM and Tron chains that
    /// have an RPC URL (for Tron: java-tron's JSON-RPC, e.g. `https://api.trongrid.io/jsonrpc`),
    /// for the tokens whose contract is configured (`source::for_network` applies this rule).
    /// An order or deposit address anywhere else could be paid and never see it, so it is
    /// refused with a 400 (`INVALID_CHAIN`) saying what to configure.
    pub fn check_watched(&self, field: &str) -> Result<(), Error> {
        if self.tokens.iter().all(|t| t.contract.is_none()) {
            return Err(Error::invalid(
                InvalidCode::Chain,
                field,
                format!(
                    "{field}: chain '{id}' has no token contract configured, so nothing on it is watched; set \
                     `contract` under [chains.{id}.tokens.<SYMBOL>] in the config file",
                    id = self.id
                ),
            ));
        }
        if self.rpc_urls.is_empty() {
            return Err(Error::invalid(
                InvalidCode::Chain,
                field,
                format!(
                    "{field}: chain '{id}' has no RPC URL, so its payments would never be detected; set \
                     `rpc_urls` under [chains.{id}] in the config file (--config / PAYIN_CONFIG)",
                    id = self.id
                ),
            ));
        }
        Ok(())
    }
}

/// Every network the gateway knows, in a stable order.
#[derive(Debug, Clone)]
pub struct ChainRegistry {
    networks: Vec<Network>,
}

impl Default for ChainRegistry {
    fn default() -> Self {
        ChainRegistry {
            networks: defaults::networks(),
        }
    }
}

impl ChainRegistry {
    /// The built-in networks with `overrides` from the config file applied on top.
    pub fn with_overrides(overrides: &BTreeMap<String, ChainOverride>) -> Result<Self, Error> {
        let mut registry = ChainRegistry::default();
        for (id, o) in overrides {
            registry.apply(id, o)?;
        }
        Ok(registry)
    }

    fn apply(&mut self, id: &str, o: &ChainOverride) -> Result<(), Error> {
        let config_err = |msg: String| Error::validation(format!("chains.{id}"), msg);
        let idx = match self.networks.iter().position(|n| n.id == id) {
            Some(i) => i,
            None => {
                let protocol = o
                    .protocol
                    .ok_or_else(|| config_err(format!("new chain '{id}' needs `protocol` (\"evm\" or \"tron\")")))?;
                self.networks.push(Network {
                    id: id.to_string(),
                    name: id.to_string(),
                    protocol,
                    evm_chain_id: None,
                    testnet: false,
                    rpc_urls: Vec::new(),
                    rpc_timeouts: RpcTimeouts::default(),
                    rpc_headers: RpcHeaders::default(),
                    poll_interval: None,
                    confirmations: 1,
                    tokens: Vec::new(),
                });
                self.networks.len() - 1
            }
        };
        let n = &mut self.networks[idx];
        if let Some(p) = o.protocol
            && p != n.protocol
        {
            return Err(config_err(format!("chain '{id}' is {}, not {p}", n.protocol)));
        }
        if let Some(name) = &o.name {
            n.name.clone_from(name);
        }
        if let Some(v) = o.evm_chain_id {
            n.evm_chain_id = Some(v);
        }
        if let Some(v) = o.testnet {
            n.testnet = v;
        }
        if let Some(urls) = &o.rpc_urls {
            n.rpc_urls.clone_from(urls);
        }
        if let Some(headers) = &o.rpc_headers {
            n.rpc_headers = RpcHeaders::parse(&format!("chains.{id}.rpc_headers"), headers)?;
        }
        let millis = |key: &str, value: Option<u64>, min: u64, max: u64| -> Result<Option<Duration>, Error> {
            match value {
                None => Ok(None),
                Some(ms) if (min..=max).contains(&ms) => Ok(Some(Duration::from_millis(ms))),
                Some(_) => Err(Error::validation(
                    format!("chains.{id}.{key}"),
                    format!("chains.{id}.{key} must be a whole number of milliseconds from {min} to {max}"),
                )),
            }
        };
        if let Some(t) = millis("rpc_connect_timeout_ms", o.rpc_connect_timeout_ms, 1, 600_000)? {
            n.rpc_timeouts.connect = t;
        }
        if let Some(t) = millis("rpc_request_timeout_ms", o.rpc_request_timeout_ms, 1, 600_000)? {
            n.rpc_timeouts.request = t;
        }
        if let Some(t) = millis("poll_interval_ms", o.poll_interval_ms, 10, 3_600_000)? {
            n.poll_interval = Some(t);
        }
        if let Some(c) = o.confirmations {
            n.confirmations = c;
        }
        for (symbol, t) in &o.tokens {
            let currency = Currency::parse(&format!("chains.{id}.tokens"), symbol)?;
            let contract = match &t.contract {
                Some(c) => Some(
                    normalize_address(n.protocol, c)
                        .map_err(|e| config_err(format!("token {symbol} contract: {e}")))?,
                ),
                None => None,
            };
            match n.tokens.iter_mut().find(|x| x.currency == currency) {
                Some(existing) => {
                    if contract.is_some() {
                        existing.contract = contract;
                    }
                    if let Some(d) = t.decimals {
                        existing.decimals = d;
                    }
                }
                None => n.tokens.push(Token {
                    currency,
                    contract,
                    decimals: t
                        .decimals
                        .ok_or_else(|| config_err(format!("token {symbol} needs `decimals`")))?,
                }),
            }
        }
        Ok(())
    }

    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    pub fn get(&self, id: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.id == id)
    }

    /// Looks up a chain id sent by a client; unknown ids are `INVALID_CHAIN`.
    pub fn parse(&self, field: &str, id: &str) -> Result<&Network, Error> {
        self.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.networks.iter().map(|n| n.id.as_str()).collect();
            Error::invalid(
                InvalidCode::Chain,
                field,
                format!(
                    "{field}: Chain '{id}' is not supported; use one of: {}",
                    known.join(", ")
                ),
            )
        })
    }

    /// Every network of a protocol family, in registry order.
    pub fn of_protocol(&self, protocol: Protocol) -> impl Iterator<Item = &Network> {
        self.networks.iter().filter(move |n| n.protocol == protocol)
    }
}

impl ChainRegistry {
    /// Every network as the API lists it.
    pub fn describe(&self) -> Vec<ChainInfo> {
        self.networks
            .iter()
            .map(|n| ChainInfo {
                chain_id: n.id.clone(),
                name: n.name.clone(),
                protocol: n.protocol,
                evm_chain_id: n.evm_chain_id,
                testnet: n.testnet,
                confirmations: n.confirmations,
                rpc_configured: !n.rpc_urls.is_empty(),
                rpc_requirements: (n.protocol == Protocol::Tron).then(|| tron::rpc_requirements(&n.id)),
                tokens: n
                    .tokens
                    .iter()
                    .map(|t| TokenInfo {
                        currency: t.currency,
                        contract: t.contract.clone(),
                        decimals: t.decimals,
                        configured: t.contract.is_some(),
                        config_key: format!("chains.{}.tokens.{}", n.id, t.currency),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A `[chains.<id>]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainOverride {
    pub name: Option<String>,
    pub protocol: Option<Protocol>,
    pub evm_chain_id: Option<u64>,
    pub testnet: Option<bool>,
    pub rpc_urls: Option<Vec<String>>,
    /// Extra HTTP headers of every RPC call, e.g. `{ "TRON-PRO-API-KEY" = "…" }` for TronGrid.
    pub rpc_headers: Option<BTreeMap<String, String>>,
    /// Connecting to an RPC URL may take this long (default 5,000).
    pub rpc_connect_timeout_ms: Option<u64>,
    /// One RPC call may take this long before the next URL is asked (default 10,000).
    pub rpc_request_timeout_ms: Option<u64>,
    /// Pause between watcher passes once caught up (default 1,000; 50 on a local dev chain).
    pub poll_interval_ms: Option<u64>,
    pub confirmations: Option<u32>,
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenOverride>,
}

/// A `[chains.<id>.tokens.<SYMBOL>]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOverride {
    pub contract: Option<String>,
    pub decimals: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_carry_token_decimals_per_chain() {
        let r = ChainRegistry::default();
        let eth = r.get("ethereum").unwrap();
        assert_eq!(eth.token(Currency::Usdt).unwrap().decimals, 6);
        assert_eq!(eth.token(Currency::Dai).unwrap().decimals, 18);
        let bsc = r.get("bsc").unwrap();
        assert_eq!(bsc.token(Currency::Usdt).unwrap().decimals, 18);
        assert_eq!(r.get("tron").unwrap().protocol, Protocol::Tron);
    }

    #[test]
    fn testnet_tokens_without_contract_name_the_config_key() {
        let r = ChainRegistry::default();
        let err = r
            .get("ethereum-sepolia")
            .unwrap()
            .configured_token(Currency::Usdt)
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_CURRENCY");
        assert!(
            err.to_string().contains("[chains.ethereum-sepolia.tokens.USDT]"),
            "{err}"
        );
    }

    #[test]
    fn overrides_configure_tokens_and_add_chains() {
        let toml = r#"
            [ethereum-sepolia.tokens.USDT]
            contract = "0x7169d38820dfd117c3fa1f22a697dba58d90ba06"
            [my-l2]
            protocol = "evm"
            evm_chain_id = 999
            confirmations = 4
            [my-l2.tokens.USDC]
            contract = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
            decimals = 6
        "#;
        let overrides: BTreeMap<String, ChainOverride> = toml::from_str(toml).unwrap();
        let r = ChainRegistry::with_overrides(&overrides).unwrap();
        let usdt = r
            .get("ethereum-sepolia")
            .unwrap()
            .configured_token(Currency::Usdt)
            .unwrap();
        assert_eq!(
            usdt.contract.as_deref(),
            Some("0x7169D38820dfd117C3FA1f22a697dBA58d90BA06")
        );
        let l2 = r.get("my-l2").unwrap();
        assert_eq!(l2.confirmations, 4);
        assert_eq!(l2.configured_token(Currency::Usdc).unwrap().decimals, 6);
    }

    #[test]
    fn rpc_timeouts_and_poll_interval_come_from_the_config_within_bounds() {
        let r = ChainRegistry::default();
        let polygon = r.get("polygon").unwrap();
        assert_eq!(polygon.rpc_timeouts, RpcTimeouts::default());
        assert_eq!(
            (polygon.rpc_timeouts.connect, polygon.rpc_timeouts.request),
            (Duration::from_secs(5), Duration::from_secs(10))
        );
        let overrides: BTreeMap<String, ChainOverride> = toml::from_str(
            "[polygon]\nrpc_connect_timeout_ms = 750\nrpc_request_timeout_ms = 2500\npoll_interval_ms = 4000\n",
        )
        .unwrap();
        let r = ChainRegistry::with_overrides(&overrides).unwrap();
        let polygon = r.get("polygon").unwrap();
        assert_eq!(polygon.rpc_timeouts.connect, Duration::from_millis(750));
        assert_eq!(polygon.rpc_timeouts.request, Duration::from_millis(2_500));
        assert_eq!(polygon.poll_interval, Some(Duration::from_secs(4)));

        let zero: BTreeMap<String, ChainOverride> = toml::from_str("[polygon]\nrpc_request_timeout_ms = 0\n").unwrap();
        match ChainRegistry::with_overrides(&zero).err() {
            Some(Error::Invalid { field, .. }) => assert_eq!(field, "chains.polygon.rpc_request_timeout_ms"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn tron_networks_are_watched_with_t_contracts_and_rpc_headers_from_the_config() {
        let r = ChainRegistry::default();
        let tron = r.get("tron").unwrap();
        for currency in [Currency::Usdt, Currency::Usdc] {
            let token = tron.configured_token(currency).unwrap();
            assert_eq!(token.decimals, 6);
            let contract = token.contract.as_deref().unwrap();
            assert_eq!(normalize_address(Protocol::Tron, contract).unwrap(), contract);
        }
        assert_eq!(tron.confirmations, 19);
        let nile = r.get("tron-nile").unwrap();
        assert_eq!((nile.protocol, nile.confirmations), (Protocol::Tron, 19));
        assert!(nile.tokens.iter().all(|t| t.contract.is_none()));
        // Without an RPC URL Tron is not watched; with one it is.
        assert!(tron.check_watched("chainId").is_err());
        let overrides: BTreeMap<String, ChainOverride> = toml::from_str(
            "[tron]\nrpc_urls = [\"https://api.trongrid.io/jsonrpc\"]\nrpc_headers = { \"TRON-PRO-API-KEY\" = \"k-123\" }\n\
             [tron-nile.tokens.USDT]\ncontract = \"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\"\n",
        )
        .unwrap();
        let r = ChainRegistry::with_overrides(&overrides).unwrap();
        let tron = r.get("tron").unwrap();
        assert!(tron.check_watched("chainId").is_ok());
        assert_eq!(tron.rpc_headers.names().collect::<Vec<_>>(), ["TRON-PRO-API-KEY"]);
        assert!(!format!("{tron:?}").contains("k-123"), "header values never show");
        assert!(r.get("tron-nile").unwrap().configured_token(Currency::Usdt).is_ok());
        let described = r.describe();
        let info = described.iter().find(|c| c.chain_id == "tron").unwrap();
        assert!(info.rpc_requirements.as_deref().unwrap().contains("TRON-PRO-API-KEY"));
        assert!(
            described
                .iter()
                .find(|c| c.chain_id == "polygon")
                .unwrap()
                .rpc_requirements
                .is_none()
        );
        // A Tron contract must be a T… address.
        let bad: BTreeMap<String, ChainOverride> =
            toml::from_str("[tron.tokens.USDT]\ncontract = \"0xa614f803b6fd780986a42c78ec9c7f77e6ded13c\"\n").unwrap();
        assert!(ChainRegistry::with_overrides(&bad).is_err());
    }

    #[test]
    fn unknown_chain_is_invalid_chain_naming_the_field() {
        let err = ChainRegistry::default().parse("chainId", "invalid-chain").unwrap_err();
        assert_eq!(err.code(), "INVALID_CHAIN");
        assert!(err.to_string().contains("'invalid-chain'"));
    }
}
