//! A **test double of a Tron node** (java-tron's Ethereum-compatible JSON-RPC), for chain
//! `local-tron` of `payin dev` and for tests: no Tron node can run here, so an anvil chain is
//! put behind a small HTTP proxy on 127.0.0.1 that answers the way java-tron does where PayIn
//! depends on it:
//!
//! - block ids: a block's `hash` is its height (8 bytes, big-endian) followed by the last 24
//!   bytes of anvil's hash, `parentHash` likewise, and `stateRoot` is `"0x"` — in blocks, logs,
//!   receipts and transactions alike; `eth_getBlockByHash` takes such an id;
//! - `eth_getLogs` refuses a range of more than [`TronDoubleOptions::max_block_range`] blocks
//!   (-32602 `exceed max block range: 5000`), a filter address that is not 20-byte hex (a
//!   21-byte `41…` address: -32602 `invalid address at index …`), and an answer of more than
//!   [`TronDoubleOptions::max_results`] logs (-32005);
//! - tags `latest`, `earliest` and `finalized` as java-tron reads them.
//!
//! Everything else is passed to anvil unchanged. `POST /jsonrpc` is the node; `POST /anvil`
//! is the anvil behind it, unmodified, for the dev payer: a real Tron node takes Tron-signed
//! transactions, which the dev payer does not make, so it pays on the anvil directly (see
//! [`payer_url`]). What each call asked is counted in [`TronDoubleStats`], so tests can check
//! that PayIn never asks what java-tron refuses.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::{Address, U256};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use super::devnet::{Devnet, DevnetError, DevnetOptions};
use super::recorded::{RecordedChain, RecordedToken};
use crate::chain::{ChainOverride, Protocol, TokenOverride, evm_to_tron};
use crate::time::Timestamp;

/// The chain id string of the Tron-shaped dev chain in the registry.
pub const DEV_TRON_CHAIN_ID: &str = "local-tron";
/// The path the double serves java-tron's JSON-RPC on (as TronGrid does).
pub const JSONRPC_PATH: &str = "/jsonrpc";
/// The path of the unmodified anvil behind the double (the dev payer's).
pub const ANVIL_PATH: &str = "/anvil";

/// java-tron's limits, as the double enforces them.
#[derive(Debug, Clone, Copy)]
pub struct TronDoubleOptions {
    /// `maxBlockRange`: widest `eth_getLogs` range (java-tron's default 5,000).
    pub max_block_range: u64,
    /// Most logs one `eth_getLogs` answers (java-tron: 10,000; -32005 above).
    pub max_results: usize,
}

impl Default for TronDoubleOptions {
    fn default() -> Self {
        TronDoubleOptions {
            max_block_range: 5_000,
            max_results: 10_000,
        }
    }
}

/// What the double was asked, for tests.
#[derive(Debug, Default)]
pub struct TronDoubleStats {
    pub get_logs_calls: AtomicU64,
    /// The widest `eth_getLogs` range asked (blocks), refused or not.
    pub widest_range: AtomicU64,
    pub range_refusals: AtomicU64,
    pub result_cap_refusals: AtomicU64,
    /// Filters naming a 21-byte `41…` (or otherwise not 20-byte) address.
    pub address_refusals: AtomicU64,
    /// `eth_getLogs` calls filtered by recipient (topic 2).
    pub recipient_filtered_calls: AtomicU64,
}

impl TronDoubleStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Proxy {
    anvil_url: String,
    http: reqwest::Client,
    options: TronDoubleOptions,
    stats: Arc<TronDoubleStats>,
}

/// The test double of a Tron node, serving until dropped.
pub struct TronNodeDouble {
    url: String,
    stats: Arc<TronDoubleStats>,
    task: tokio::task::JoinHandle<()>,
}

impl TronNodeDouble {
    /// Serves java-tron's answers for the anvil at `anvil_url` on a free port of 127.0.0.1.
    pub async fn start(anvil_url: &str, options: TronDoubleOptions) -> Result<TronNodeDouble, DevnetError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| DevnetError::NotReady(format!("Tron node test double: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DevnetError::NotReady(format!("Tron node test double: {e}")))?;
        let stats = Arc::new(TronDoubleStats::default());
        let proxy = Proxy {
            anvil_url: anvil_url.to_string(),
            http: reqwest::Client::new(),
            options,
            stats: stats.clone(),
        };
        let app = axum::Router::new()
            .route(JSONRPC_PATH, post(jsonrpc))
            .route(ANVIL_PATH, post(passthrough))
            .with_state(proxy);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TronNodeDouble {
            url: format!("http://{addr}{JSONRPC_PATH}"),
            stats,
            task,
        })
    }

    /// The node's JSON-RPC URL (`http://127.0.0.1:PORT/jsonrpc`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn stats(&self) -> &TronDoubleStats {
        &self.stats
    }
}

impl Drop for TronNodeDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The anvil behind a double whose JSON-RPC URL is `rpc_url`: where the dev payer sends its
/// transactions. `None` when `rpc_url` is not a double's URL.
pub fn payer_url(rpc_url: &str) -> Option<String> {
    rpc_url
        .strip_suffix(JSONRPC_PATH)
        .map(|base| format!("{base}{ANVIL_PATH}"))
}

async fn passthrough(State(proxy): State<Proxy>, Json(body): Json<Value>) -> Json<Value> {
    Json(match proxy.forward(&body).await {
        Ok(answer) => answer,
        Err(e) => error_answer(&body, -32000, &e),
    })
}

async fn jsonrpc(State(proxy): State<Proxy>, Json(body): Json<Value>) -> Json<Value> {
    Json(match body {
        Value::Array(calls) => {
            let mut answers = Vec::with_capacity(calls.len());
            for call in &calls {
                answers.push(proxy.answer(call).await);
            }
            Value::Array(answers)
        }
        call => proxy.answer(&call).await,
    })
}

fn error_answer(call: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": call.get("id").cloned().unwrap_or(Value::Null),
           "error": {"code": code, "message": message}})
}

fn hex_u64(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

/// java-tron's id of block `number` whose (anvil) hash is `hash`: the height, then the hash's
/// last 24 bytes.
fn tron_block_id(number: u64, hash: &str) -> String {
    let hex = hash.strip_prefix("0x").unwrap_or(hash);
    let tail = if hex.len() == 64 { &hex[16..] } else { hex };
    format!("0x{number:016x}{tail}")
}

/// Rewrites every block reference in an answer the way java-tron writes them.
fn rewrite(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        Value::Object(map) => {
            let number = map.get("blockNumber").and_then(hex_u64);
            if let (Some(n), Some(Value::String(h))) = (number, map.get_mut("blockHash")) {
                *h = tron_block_id(n, h);
            }
            // A block: its own id, its parent's, and no state root.
            if map.contains_key("stateRoot")
                && let Some(n) = map.get("number").and_then(hex_u64)
            {
                if let Some(Value::String(h)) = map.get_mut("hash") {
                    *h = tron_block_id(n, h);
                }
                if n > 0
                    && let Some(Value::String(h)) = map.get_mut("parentHash")
                {
                    *h = tron_block_id(n - 1, h);
                }
                map.insert("stateRoot".into(), Value::String("0x".into()));
            }
            for key in ["logs", "transactions"] {
                if let Some(v) = map.get_mut(key) {
                    rewrite(v);
                }
            }
        }
        _ => {}
    }
}

/// Whether a filter address is what java-tron takes: `0x` and 20 bytes of hex.
fn is_20_byte_hex(address: &Value) -> bool {
    address
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Proxy {
    async fn forward(&self, call: &Value) -> Result<Value, String> {
        let answer = self
            .http
            .post(&self.anvil_url)
            .json(call)
            .send()
            .await
            .map_err(|e| format!("anvil: {e}"))?;
        answer.json().await.map_err(|e| format!("anvil: {e}"))
    }

    async fn call_anvil(&self, method: &str, params: Value) -> Result<Value, String> {
        let answer = self
            .forward(&json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params}))
            .await?;
        match answer.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// A block tag or hex height as a height, the way java-tron resolves them.
    async fn height(&self, v: Option<&Value>) -> Result<u64, (i64, String)> {
        match v.and_then(Value::as_str).unwrap_or("latest") {
            "latest" | "finalized" => {
                let head = self
                    .call_anvil("eth_blockNumber", json!([]))
                    .await
                    .map_err(|e| (-32000, e))?;
                hex_u64(&head).ok_or((-32000, "anvil: bad block number".into()))
            }
            "earliest" => Ok(0),
            tag @ ("pending" | "safe") => Err((-32602, format!("TAG {tag} not supported"))),
            hex => hex_u64(&Value::String(hex.into())).ok_or((-32602, "invalid block number".into())),
        }
    }

    async fn answer(&self, call: &Value) -> Value {
        let method = call.get("method").and_then(Value::as_str).unwrap_or_default();
        let result = match method {
            "eth_getLogs" => self.get_logs(call).await,
            "eth_getBlockByHash" => self.get_block_by_tron_id(call).await,
            "eth_getBlockByNumber" => match call["params"].get(0).map(|v| v.as_str()) {
                Some(Some("pending" | "safe")) => Err((-32602, "TAG pending not supported".to_string())),
                _ => self.forward_rewritten(call).await,
            },
            _ => self.forward_rewritten(call).await,
        };
        match result {
            Ok(answer) => answer,
            Err((code, message)) => error_answer(call, code, &message),
        }
    }

    async fn forward_rewritten(&self, call: &Value) -> Result<Value, (i64, String)> {
        let mut answer = self.forward(call).await.map_err(|e| (-32000, e))?;
        if let Some(result) = answer.get_mut("result") {
            rewrite(result);
        }
        Ok(answer)
    }

    /// `eth_getBlockByHash` with a java-tron block id: the block at the id's height, if its
    /// hash ends the same way.
    async fn get_block_by_tron_id(&self, call: &Value) -> Result<Value, (i64, String)> {
        let id = call["params"][0].as_str().unwrap_or_default().trim_start_matches("0x");
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err((-32602, "invalid hash value".into()));
        }
        let height = u64::from_str_radix(&id[..16], 16).map_err(|_| (-32602, "invalid hash value".to_string()))?;
        let full = call["params"].get(1).cloned().unwrap_or(Value::Bool(false));
        let mut block = self
            .call_anvil("eth_getBlockByNumber", json!([format!("0x{height:x}"), full]))
            .await
            .map_err(|e| (-32000, e))?;
        rewrite(&mut block);
        let same = block["hash"]
            .as_str()
            .map(|h| h.trim_start_matches("0x").eq_ignore_ascii_case(id));
        let result = if same == Some(true) { block } else { Value::Null };
        Ok(json!({"jsonrpc": "2.0", "id": call.get("id").cloned().unwrap_or(Value::Null), "result": result}))
    }

    async fn get_logs(&self, call: &Value) -> Result<Value, (i64, String)> {
        let stats = &self.stats;
        stats.get_logs_calls.fetch_add(1, Ordering::Relaxed);
        let mut filter = call["params"].get(0).cloned().unwrap_or_else(|| json!({}));
        let addresses: Vec<Value> = match filter.get("address") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one.clone()],
        };
        for (i, address) in addresses.iter().enumerate() {
            if !is_20_byte_hex(address) {
                stats.address_refusals.fetch_add(1, Ordering::Relaxed);
                return Err((-32602, format!("invalid address at index {i}: {address}")));
            }
        }
        if filter
            .get("topics")
            .and_then(|t| t.get(2))
            .is_some_and(|t| !t.is_null())
        {
            stats.recipient_filtered_calls.fetch_add(1, Ordering::Relaxed);
        }
        let from = self.height(filter.get("fromBlock")).await?;
        let to = self.height(filter.get("toBlock")).await?;
        if from > to {
            return Err((-32602, "please verify: fromBlock <= toBlock".into()));
        }
        let blocks = to - from + 1;
        stats.widest_range.fetch_max(blocks, Ordering::Relaxed);
        if blocks > self.options.max_block_range {
            stats.range_refusals.fetch_add(1, Ordering::Relaxed);
            return Err((
                -32602,
                format!("exceed max block range: {}", self.options.max_block_range),
            ));
        }
        filter["fromBlock"] = json!(format!("0x{from:x}"));
        filter["toBlock"] = json!(format!("0x{to:x}"));
        let mut logs = self
            .call_anvil("eth_getLogs", json!([filter]))
            .await
            .map_err(|e| (-32000, e))?;
        if logs.as_array().is_some_and(|l| l.len() > self.options.max_results) {
            stats.result_cap_refusals.fetch_add(1, Ordering::Relaxed);
            return Err((
                -32005,
                format!("query returns more than {} results", self.options.max_results),
            ));
        }
        rewrite(&mut logs);
        Ok(json!({"jsonrpc": "2.0", "id": call.get("id").cloned().unwrap_or(Value::Null), "result": logs}))
    }
}

/// A Tron-shaped dev chain: a [`Devnet`] (anvil with the test tokens) behind a
/// [`TronNodeDouble`]. Derefs to the devnet's client, which pays on the anvil directly.
pub struct TronDevnet {
    devnet: Devnet,
    node: TronNodeDouble,
}

impl Deref for TronDevnet {
    type Target = Devnet;
    fn deref(&self) -> &Devnet {
        &self.devnet
    }
}

impl TronDevnet {
    /// Starts anvil with the test tokens and the Tron node test double in front of it.
    pub async fn start(options: DevnetOptions, node: TronDoubleOptions) -> Result<TronDevnet, DevnetError> {
        let devnet = Devnet::start(options).await?;
        let node = TronNodeDouble::start(devnet.rpc_url(), node).await?;
        Ok(TronDevnet { devnet, node })
    }

    /// The test double of the Tron node (its URL is the chain's RPC URL).
    pub fn node(&self) -> &TronNodeDouble {
        &self.node
    }

    /// A token contract as a Tron merchant sees it (`T…`).
    pub fn tron_address(address: Address) -> String {
        evm_to_tron(address)
    }

    /// This chain as `payin dev` records it: the double's URL, the tokens as `T…`.
    pub fn recorded_chain(&self, now: Timestamp) -> RecordedChain {
        let tokens = self
            .devnet
            .tokens()
            .iter()
            .map(|t| {
                let token = RecordedToken {
                    contract: evm_to_tron(t.address),
                    decimals: t.decimals,
                };
                (t.currency, token)
            })
            .collect();
        RecordedChain::new(DEV_TRON_CHAIN_ID, self.node.url(), tokens, now).expect("chain local-tron with an http URL")
    }

    /// The registry override that points a Tron chain at this one (RPC URL, `T…` tokens).
    pub fn chain_override(&self) -> ChainOverride {
        ChainOverride {
            protocol: Some(Protocol::Tron),
            rpc_urls: Some(vec![self.node.url().to_string()]),
            tokens: self
                .devnet
                .tokens()
                .iter()
                .map(|t| {
                    (
                        t.currency.as_str().to_string(),
                        TokenOverride {
                            contract: Some(evm_to_tron(t.address)),
                            decimals: Some(t.decimals),
                        },
                    )
                })
                .collect(),
            ..ChainOverride::default()
        }
    }

    /// Sends `amount` base units of the dev token of `currency` to a `T…` address.
    pub async fn pay_tron(
        &self,
        currency: crate::chain::Currency,
        to: &str,
        amount: U256,
    ) -> Result<super::devnet::SentTx, DevnetError> {
        let to =
            crate::chain::tron_to_evm(to).ok_or_else(|| DevnetError::Invalid(format!("{to:?} is not a T… address")))?;
        self.devnet
            .transfer(self.devnet.token(currency).address, to, amount)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_begin_with_the_height() {
        let anvil = "0x1111111111111111222222222222222222222222222222222222222222222222";
        assert_eq!(
            tron_block_id(0x3fe1c00, anvil),
            "0x0000000003fe1c00222222222222222222222222222222222222222222222222"
        );
        let mut block = json!({"number": "0x5", "hash": anvil, "parentHash": anvil, "stateRoot": anvil,
                                "transactions": [{"blockNumber": "0x5", "blockHash": anvil}]});
        rewrite(&mut block);
        assert_eq!(block["stateRoot"], "0x");
        assert!(block["hash"].as_str().unwrap().starts_with("0x0000000000000005"));
        assert!(block["parentHash"].as_str().unwrap().starts_with("0x0000000000000004"));
        assert_eq!(block["transactions"][0]["blockHash"], block["hash"]);
    }

    #[test]
    fn filter_addresses_must_be_20_byte_hex() {
        assert!(is_20_byte_hex(&json!("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c")));
        assert!(!is_20_byte_hex(&json!("0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c")));
        assert!(!is_20_byte_hex(&json!("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")));
    }

    #[test]
    fn the_payer_url_is_the_anvil_beside_the_node() {
        assert_eq!(
            payer_url("http://127.0.0.1:4000/jsonrpc").as_deref(),
            Some("http://127.0.0.1:4000/anvil")
        );
        assert_eq!(payer_url("http://127.0.0.1:4000"), None);
    }
}
