//! Chain settings recorded in the database rather than the config file: `payin dev` records
//! where its local chains run and where it deployed the test tokens, so every process opened on
//! the same database (`payin dev pay`, `payin serve`) sees chains `local` and `local-tron`
//! configured.
//!
//! Precedence when the registry is built, lowest first: built-in defaults, recorded chains,
//! the config file. Only the dev chains ([`RECORDABLE_CHAINS`]) are taken from the database: a
//! production network's RPC URLs and contracts come from the config file alone, so a dev run
//! against the wrong database can never redirect them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chain::{ChainOverride, ChainRegistry, Currency, Network, TokenOverride};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::time::Timestamp;

/// Chains whose recorded settings the engine applies: the two dev chains of `payin dev`.
pub const RECORDABLE_CHAINS: [&str; 2] = ["local", "local-tron"];

/// A chain's RPC URL and token contracts as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedChain {
    pub chain_id: String,
    pub rpc_url: String,
    pub tokens: BTreeMap<Currency, RecordedToken>,
    pub updated_at: Timestamp,
}

/// A token contract as recorded (the `tokens` JSON column holds a map of these by symbol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedToken {
    pub contract: String,
    pub decimals: u8,
}

impl RecordedChain {
    /// Validates a chain to record: a recordable chain id, an http(s) RPC URL.
    pub fn new(
        chain_id: &str,
        rpc_url: &str,
        tokens: BTreeMap<Currency, RecordedToken>,
        now: Timestamp,
    ) -> Result<RecordedChain, Error> {
        if !RECORDABLE_CHAINS.contains(&chain_id) {
            return Err(Error::validation(
                "chainId",
                format!(
                    "only {} can be recorded in the database; configure '{chain_id}' in the config file",
                    RECORDABLE_CHAINS.join(", ")
                ),
            ));
        }
        match url::Url::parse(rpc_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(Error::validation("rpcUrl", "rpcUrl must be an http(s) URL")),
        }
        Ok(RecordedChain {
            chain_id: chain_id.to_string(),
            rpc_url: rpc_url.to_string(),
            tokens,
            updated_at: now,
        })
    }

    /// The `tokens` column: `{"USDT": {"contract": "0x…", "decimals": 6}, …}`.
    pub fn tokens_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.tokens
                .iter()
                .map(|(c, t)| (c.as_str().to_string(), serde_json::to_value(t).expect("serializable")))
                .collect(),
        )
    }

    /// Reads a stored row back; unknown currencies are an internal error.
    pub fn from_stored(
        chain_id: String,
        rpc_url: String,
        tokens: serde_json::Value,
        updated_at: Timestamp,
    ) -> Result<RecordedChain, Error> {
        let by_symbol: BTreeMap<String, RecordedToken> = serde_json::from_value(tokens)
            .map_err(|e| Error::Internal(format!("stored tokens of chain {chain_id}: {e}")))?;
        let tokens = by_symbol
            .into_iter()
            .map(|(symbol, t)| Ok((Currency::from_stored(&symbol)?, t)))
            .collect::<Result<_, Error>>()?;
        Ok(RecordedChain {
            chain_id,
            rpc_url,
            tokens,
            updated_at,
        })
    }

    /// The override this recording stands for.
    pub fn to_override(&self) -> ChainOverride {
        ChainOverride {
            rpc_urls: Some(vec![self.rpc_url.clone()]),
            tokens: self
                .tokens
                .iter()
                .map(|(c, t)| {
                    (
                        c.as_str().to_string(),
                        TokenOverride {
                            contract: Some(t.contract.clone()),
                            decimals: Some(t.decimals),
                        },
                    )
                })
                .collect(),
            ..ChainOverride::default()
        }
    }
}

/// The overrides the registry is built from: recorded chains (recordable ones only) under the
/// config file's, which win field by field.
pub fn layer_overrides(
    recorded: &[RecordedChain],
    config: &BTreeMap<String, ChainOverride>,
) -> BTreeMap<String, ChainOverride> {
    let mut out = config.clone();
    for chain in recorded {
        if !RECORDABLE_CHAINS.contains(&chain.chain_id.as_str()) {
            tracing::warn!(chain = %chain.chain_id, "ignoring a chain recorded in the database; only the dev chains are taken from there");
            continue;
        }
        let base = chain.to_override();
        let merged = match config.get(&chain.chain_id) {
            Some(top) => merge(base, top),
            None => base,
        };
        out.insert(chain.chain_id.clone(), merged);
    }
    out
}

/// The registry an engine opens with: the chains recorded in `store` under the config file's
/// `config` overrides.
pub(crate) async fn registry(store: &dyn Store, config: &BTreeMap<String, ChainOverride>) -> Result<ChainRegistry> {
    let recorded = store.recorded_chains().await?;
    ChainRegistry::with_overrides(&layer_overrides(&recorded, config))
}

impl Engine {
    /// Records a chain's RPC URL and token contracts in the database (what `payin dev` does for
    /// its local chain) and applies it to this engine's registry; engines opened on the same
    /// database later apply it too. Only the dev chains are recordable, and the config file
    /// still wins over the recording.
    pub async fn record_chain(&mut self, chain: &RecordedChain) -> Result<()> {
        self.store().save_recorded_chain(chain).await?;
        let chains = registry(self.store(), self.config_chains()).await?;
        self.set_chains(chains);
        Ok(())
    }

    /// Removes a chain's recording (what `payin dev` does when it stops: its chain is gone),
    /// unless another process has recorded a different RPC URL for it since. This engine's
    /// registry keeps what it had; processes opened later see the chain unconfigured.
    pub async fn forget_recorded_chain(&self, chain: &RecordedChain) -> Result<bool> {
        self.store()
            .forget_recorded_chain(&chain.chain_id, &chain.rpc_url)
            .await
    }

    /// Dev chain `chain_id` (`local` or `local-tron`) as the database records it now (another
    /// process, `payin dev`, may have recorded it after this engine opened), under the config
    /// file's overrides.
    pub(crate) async fn current_dev_network(&self, chain_id: &str) -> Result<Option<Network>> {
        let chains = registry(self.store(), self.config_chains()).await?;
        Ok(chains.get(chain_id).cloned())
    }
}

/// `top` over `base`, field by field (token by token).
fn merge(base: ChainOverride, top: &ChainOverride) -> ChainOverride {
    let mut tokens = base.tokens;
    for (symbol, t) in &top.tokens {
        let entry = tokens.entry(symbol.clone()).or_default();
        if t.contract.is_some() {
            entry.contract.clone_from(&t.contract);
        }
        if t.decimals.is_some() {
            entry.decimals = t.decimals;
        }
    }
    ChainOverride {
        name: top.name.clone().or(base.name),
        protocol: top.protocol.or(base.protocol),
        evm_chain_id: top.evm_chain_id.or(base.evm_chain_id),
        testnet: top.testnet.or(base.testnet),
        rpc_urls: top.rpc_urls.clone().or(base.rpc_urls),
        rpc_headers: top.rpc_headers.clone().or(base.rpc_headers),
        rpc_connect_timeout_ms: top.rpc_connect_timeout_ms.or(base.rpc_connect_timeout_ms),
        rpc_request_timeout_ms: top.rpc_request_timeout_ms.or(base.rpc_request_timeout_ms),
        poll_interval_ms: top.poll_interval_ms.or(base.poll_interval_ms),
        confirmations: top.confirmations.or(base.confirmations),
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainRegistry;

    fn recorded(chain_id: &str) -> RecordedChain {
        RecordedChain {
            chain_id: chain_id.to_string(),
            rpc_url: "http://127.0.0.1:40000".into(),
            tokens: BTreeMap::from([
                (
                    Currency::Usdt,
                    RecordedToken {
                        contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
                        decimals: 6,
                    },
                ),
                (
                    Currency::Dai,
                    RecordedToken {
                        contract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0".into(),
                        decimals: 18,
                    },
                ),
            ]),
            updated_at: crate::time::from_millis(0),
        }
    }

    #[test]
    fn recorded_local_chain_configures_its_rpc_and_tokens() {
        let overrides = layer_overrides(&[recorded("local")], &BTreeMap::new());
        let r = ChainRegistry::with_overrides(&overrides).unwrap();
        let local = r.get("local").unwrap();
        assert_eq!(local.rpc_urls, ["http://127.0.0.1:40000"]);
        assert_eq!(
            local.configured_token(Currency::Usdt).unwrap().contract.as_deref(),
            Some("0x5FbDB2315678afecb367f032d93F642f64180aa3")
        );
        assert_eq!(local.configured_token(Currency::Dai).unwrap().decimals, 18);
        assert!(
            local.configured_token(Currency::Usdc).is_err(),
            "a token not recorded stays unconfigured"
        );
    }

    #[test]
    fn config_file_wins_over_the_recording_field_by_field() {
        let config: BTreeMap<String, ChainOverride> = toml::from_str(
            r#"
            [local]
            rpc_urls = ["http://10.0.0.5:8545"]
            [local.tokens.USDT]
            contract = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
            "#,
        )
        .unwrap();
        let r = ChainRegistry::with_overrides(&layer_overrides(&[recorded("local")], &config)).unwrap();
        let local = r.get("local").unwrap();
        assert_eq!(local.rpc_urls, ["http://10.0.0.5:8545"]);
        assert_eq!(
            local.token(Currency::Usdt).unwrap().contract.as_deref(),
            Some("0xdAC17F958D2ee523a2206206994597C13D831ec7")
        );
        assert_eq!(
            local.token(Currency::Dai).unwrap().contract.as_deref(),
            Some("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
            "recorded tokens the file does not name stay"
        );
    }

    #[test]
    fn the_tron_dev_chain_is_recordable_with_t_addresses() {
        let mut chain = recorded("local-tron");
        chain.rpc_url = "http://127.0.0.1:40001/jsonrpc".into();
        for t in chain.tokens.values_mut() {
            let evm: alloy_primitives::Address = t.contract.parse().unwrap();
            t.contract = crate::chain::evm_to_tron(evm);
        }
        let r = ChainRegistry::with_overrides(&layer_overrides(&[chain], &BTreeMap::new())).unwrap();
        let local_tron = r.get("local-tron").unwrap();
        assert_eq!(local_tron.protocol, crate::chain::Protocol::Tron);
        assert!(local_tron.check_watched("chainId").is_ok());
        let usdt = local_tron.configured_token(Currency::Usdt).unwrap();
        assert!(usdt.contract.as_deref().unwrap().starts_with('T'), "{usdt:?}");
    }

    #[test]
    fn only_the_local_chain_is_taken_from_the_database() {
        let overrides = layer_overrides(&[recorded("ethereum")], &BTreeMap::new());
        assert!(overrides.is_empty());
        let err = RecordedChain::new(
            "ethereum",
            "http://127.0.0.1:1",
            BTreeMap::new(),
            recorded("local").updated_at,
        )
        .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    #[test]
    fn tokens_round_trip_through_their_json_column() {
        let r = recorded("local");
        let back =
            RecordedChain::from_stored(r.chain_id.clone(), r.rpc_url.clone(), r.tokens_json(), r.updated_at).unwrap();
        assert_eq!(back, r);
    }
}
