//! The local dev chain: an anvil process with PayIn's test tokens deployed, for `payin dev`
//! and for tests that need a real EVM chain.
//!
//! - [`find_anvil`] locates the binary (`--anvil`, `PAYIN_ANVIL`, the repo's
//!   `node_modules/@foundry-rs/anvil-linux-amd64`, then `anvil` on `PATH`).
//! - [`Devnet::start`] spawns anvil on a free port, deploys test USDT, USDC and DAI and mints
//!   a large balance of each to the payer; the process dies with the value, and with its
//!   parent process even if that one is killed.
//! - [`DevChain`] talks to a running dev chain (a [`Devnet`] derefs to one; `payin dev pay`
//!   connects to the RPC URL recorded in the database): ERC-20 transfers and balances, mining,
//!   snapshots and reorgs.
//!
//! Everything here signs with anvil's well-known first dev account. That key is public: it is
//! fit for a throwaway local chain and nothing else.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolConstructor};

use super::recorded::{RecordedChain, RecordedToken};
use crate::chain::{ChainOverride, Currency, Protocol, TokenOverride};
use crate::time::Timestamp;

/// The chain id string of the dev chain in the registry.
pub const DEV_CHAIN_ID: &str = "local";
/// The EVM chain id anvil is started with.
pub const DEV_EVM_CHAIN_ID: u64 = 31337;
/// Where `npm ci` puts anvil, relative to the repository root.
pub const NPM_ANVIL_PATH: &str = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
/// Anvil's first default account (from its public test mnemonic): deploys the tokens and pays.
pub const PAYER_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// The key of [`PAYER_ADDRESS`].
pub const PAYER_PRIVATE_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Whole tokens of each currency minted to the payer at deployment.
pub const PAYER_TOKENS: u64 = 1_000_000_000;

/// The committed compiler output of `core/contracts/TestToken.sol`
/// (regenerate with `node scripts/compile-contracts.js`).
pub const TEST_TOKEN_ARTIFACT: &str = include_str!("../../contracts/TestToken.json");

alloy::sol! {
    /// The subset of `core/contracts/TestToken.sol` PayIn calls.
    contract TestToken {
        constructor(string name_, string symbol_, uint8 decimals_);
        function mint(address to, uint256 amount) external;
        function transfer(address to, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        event Transfer(address indexed from, address indexed to, uint256 value);
    }
}

/// What can go wrong starting or using the dev chain.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error(
        "anvil not found (looked for {searched}); run `npm ci` in the PayIn repository, install \
         Foundry, or pass --anvil PATH / set PAYIN_ANVIL"
    )]
    AnvilNotFound { searched: String },
    #[error("starting anvil ({path}): {source}")]
    Spawn {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("anvil did not start: {0}")]
    NotReady(String),
    #[error("dev chain RPC: {0}")]
    Rpc(String),
    /// The chain answered, refusing the request (a reverted call, an unfunded payer, a nonce
    /// still taken after every retry): the chain runs, the request was wrong.
    #[error("the dev chain refused the transaction: {0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
}

fn rpc_err(e: impl std::fmt::Display) -> DevnetError {
    DevnetError::Rpc(e.to_string())
}

/// A failed call: the node's own error answer is a refusal, anything else means it did not
/// answer.
fn call_err(e: alloy::transports::TransportError) -> DevnetError {
    match e.as_error_resp() {
        Some(answer) => DevnetError::Refused(answer.message.to_string()),
        None => rpc_err(e),
    }
}

/// Whether the node refused a transaction because its nonce was taken meanwhile by another
/// sender from the same account (another process paying on the same chain).
fn nonce_taken(e: &DevnetError) -> bool {
    let DevnetError::Refused(message) = e else {
        return false;
    };
    let m = message.to_ascii_lowercase();
    [
        "nonce too low",
        "replacement transaction underpriced",
        "already known",
        "already imported",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// How long a sent transaction may take to be mined before the send fails.
const RECEIPT_WAIT: Duration = Duration::from_secs(60);

/// How long a send keeps retrying while other senders take its nonce.
const NONCE_RETRY_FOR: Duration = Duration::from_secs(60);

/// One lock per chain (RPC URL) for the whole process: every [`DevChain`] connected to it
/// signs as the same payer, so its sends take turns at picking a nonce.
fn send_lock(rpc_url: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>> = Mutex::new(BTreeMap::new());
    LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(rpc_url.to_string())
        .or_default()
        .clone()
}

/// Locates anvil: `explicit` (e.g. `--anvil`), then `PAYIN_ANVIL`, then [`NPM_ANVIL_PATH`] in
/// the current directory or any parent, then in the repository this crate was built from, then
/// `anvil` on `PATH`. The npm copy comes before `PATH` because the repository pins its version.
pub fn find_anvil(explicit: Option<&Path>) -> Result<PathBuf, DevnetError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(DevnetError::AnvilNotFound {
                searched: p.display().to_string(),
            })
        };
    }
    if let Some(p) = std::env::var_os("PAYIN_ANVIL").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(DevnetError::AnvilNotFound {
                searched: format!("PAYIN_ANVIL={}", p.display()),
            })
        };
    }
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
    let starts = std::env::current_dir().ok().into_iter().chain(repo_root);
    for start in starts {
        for dir in start.ancestors() {
            let candidate = dir.join(NPM_ANVIL_PATH);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("anvil");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(DevnetError::AnvilNotFound {
        searched: format!("PAYIN_ANVIL, {NPM_ANVIL_PATH} above the current directory and the repository, PATH"),
    })
}

/// How to start a [`Devnet`].
#[derive(Debug, Clone, Default)]
pub struct DevnetOptions {
    /// The anvil binary; `None` searches as [`find_anvil`] does.
    pub anvil: Option<PathBuf>,
    /// Seconds between blocks once the tokens are deployed; `None` mines one block per
    /// transaction (anvil's automine).
    pub block_time: Option<u64>,
}

/// A test token deployed on the dev chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevToken {
    pub currency: Currency,
    pub address: Address,
    pub decimals: u8,
}

/// A mined transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentTx {
    pub tx_hash: B256,
    pub block_number: u64,
}

/// A client of a running dev chain, signing as the payer ([`PAYER_PRIVATE_KEY`]).
#[derive(Clone)]
pub struct DevChain {
    rpc_url: String,
    provider: DynProvider,
    payer: Address,
    /// One sender of this process at a time (see [`send_lock`]): the nonce filler reads the
    /// pending nonce, so concurrent sends would pick the same one.
    send_lock: Arc<tokio::sync::Mutex<()>>,
}

impl DevChain {
    /// Connects to a dev chain's RPC URL (no request is made yet).
    pub fn connect(rpc_url: &str) -> Result<DevChain, DevnetError> {
        let url: url::Url = rpc_url
            .parse()
            .map_err(|e| DevnetError::Invalid(format!("RPC URL {rpc_url:?}: {e}")))?;
        let signer: PrivateKeySigner = PAYER_PRIVATE_KEY.parse().expect("the anvil dev key is valid");
        let payer = signer.address();
        // The nonce is read from the node for every transaction (the pending count, which
        // includes what other processes sent), never cached: a send refused for a taken nonce
        // is retried with a fresh one.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        Ok(DevChain {
            rpc_url: rpc_url.to_string(),
            provider,
            payer,
            send_lock: send_lock(rpc_url),
        })
    }

    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The account that deployed the tokens and holds their supply.
    pub fn payer(&self) -> Address {
        self.payer
    }

    /// The provider, for calls this module does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Sends a transaction from the payer and waits until it is mined; a reverted transaction
    /// is an error. Other processes may send from the payer at the same time (`payin dev pay`
    /// next to the server's simulated payments): a transaction refused because its nonce was
    /// taken is signed again with the next free one, for up to a minute.
    async fn send(&self, tx: TransactionRequest) -> Result<(SentTx, Option<Address>), DevnetError> {
        let deadline = Instant::now() + NONCE_RETRY_FOR;
        let mut retries = 0u32;
        let pending = loop {
            let sent = {
                // Held until the node has the transaction: the next sender's pending nonce counts it.
                let _one_at_a_time = self.send_lock.lock().await;
                self.provider.send_transaction(tx.clone()).await.map_err(call_err)
            };
            match sent {
                Ok(pending) => break pending,
                Err(e) if nonce_taken(&e) && Instant::now() < deadline => {
                    retries += 1;
                    // Senders that collided spread out instead of colliding again.
                    let wait = rand::random_range(10..50u64) * u64::from(retries.min(10));
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                Err(e) => return Err(e),
            }
        };
        // Waited for outside the lock: with a block time, many payments share a block.
        // Bounded: a transaction the node dropped is an error that says so, never a hang.
        let receipt = pending
            .with_timeout(Some(RECEIPT_WAIT))
            .get_receipt()
            .await
            .map_err(rpc_err)?;
        if !receipt.status() {
            return Err(DevnetError::Rpc(format!(
                "transaction {} reverted",
                receipt.transaction_hash
            )));
        }
        let sent = SentTx {
            tx_hash: receipt.transaction_hash,
            block_number: receipt
                .block_number
                .ok_or_else(|| DevnetError::Rpc("receipt without a block number".into()))?,
        };
        Ok((sent, receipt.contract_address))
    }

    /// Deploys one [`TestToken`] from the committed bytecode.
    pub async fn deploy_token(&self, name: &str, symbol: &str, decimals: u8) -> Result<Address, DevnetError> {
        let mut code = test_token_bytecode();
        code.extend_from_slice(
            &TestToken::constructorCall {
                name_: name.to_string(),
                symbol_: symbol.to_string(),
                decimals_: decimals,
            }
            .abi_encode(),
        );
        let tx = TransactionRequest::default().with_deploy_code(code);
        let (_, address) = self.send(tx).await?;
        address.ok_or_else(|| DevnetError::Rpc(format!("deploying {symbol}: no contract address in the receipt")))
    }

    /// Mints `amount` base units of `token` to `to` (anyone may mint a [`TestToken`]).
    pub async fn mint(&self, token: Address, to: Address, amount: U256) -> Result<SentTx, DevnetError> {
        let data = TestToken::mintCall { to, amount }.abi_encode();
        Ok(self
            .send(TransactionRequest::default().with_to(token).with_input(data))
            .await?
            .0)
    }

    /// An ERC-20 `transfer` of `amount` base units of `token` from the payer to `to`.
    pub async fn transfer(&self, token: Address, to: Address, amount: U256) -> Result<SentTx, DevnetError> {
        let data = TestToken::transferCall { to, amount }.abi_encode();
        Ok(self
            .send(TransactionRequest::default().with_to(token).with_input(data))
            .await?
            .0)
    }

    /// `balanceOf(owner)` of an ERC-20 at the latest block.
    pub async fn balance_of(&self, token: Address, owner: Address) -> Result<U256, DevnetError> {
        let out = self
            .eth_call(token, TestToken::balanceOfCall { owner }.abi_encode())
            .await?;
        TestToken::balanceOfCall::abi_decode_returns(&out).map_err(rpc_err)
    }

    /// `decimals()` of an ERC-20.
    pub async fn decimals(&self, token: Address) -> Result<u8, DevnetError> {
        let out = self.eth_call(token, TestToken::decimalsCall {}.abi_encode()).await?;
        TestToken::decimalsCall::abi_decode_returns(&out).map_err(rpc_err)
    }

    async fn eth_call(&self, to: Address, data: Vec<u8>) -> Result<Bytes, DevnetError> {
        self.provider
            .call(TransactionRequest::default().with_to(to).with_input(data))
            .await
            .map_err(rpc_err)
    }

    pub async fn block_number(&self) -> Result<u64, DevnetError> {
        self.provider.get_block_number().await.map_err(rpc_err)
    }

    /// The timestamp (Unix seconds) of block `number`.
    pub async fn block_time(&self, number: u64) -> Result<u64, DevnetError> {
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await
            .map_err(rpc_err)?
            .ok_or_else(|| DevnetError::Rpc(format!("block {number} not found")))?;
        Ok(block.header.timestamp)
    }

    /// The timestamp (Unix seconds) of the latest block.
    pub async fn latest_block_time(&self) -> Result<u64, DevnetError> {
        self.block_time(self.block_number().await?).await
    }

    /// Gives the next block this timestamp (`evm_setNextBlockTimestamp`); it must be later
    /// than the latest block's, and later blocks follow from it.
    pub async fn set_next_block_time(&self, unix_seconds: u64) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_setNextBlockTimestamp".into(), (unix_seconds,))
            .await
            .map_err(rpc_err)?;
        Ok(())
    }

    /// Mines `blocks` empty blocks at once (`anvil_mine`).
    pub async fn mine(&self, blocks: u64) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(blocks),))
            .await
            .map_err(rpc_err)?;
        Ok(())
    }

    /// Saves the chain state (`evm_snapshot`); [`DevChain::revert`] returns to it.
    pub async fn snapshot(&self) -> Result<U256, DevnetError> {
        self.provider
            .raw_request("evm_snapshot".into(), ())
            .await
            .map_err(rpc_err)
    }

    /// Returns to a snapshot (`evm_revert`), dropping every block after it. A snapshot can be
    /// reverted to once; false when it no longer exists.
    pub async fn revert(&self, snapshot: U256) -> Result<bool, DevnetError> {
        self.provider
            .raw_request("evm_revert".into(), (snapshot,))
            .await
            .map_err(rpc_err)
    }

    /// Replaces the last `depth` blocks with as many new empty ones (`anvil_reorg`): the head
    /// keeps its height, and the transactions of the replaced blocks are gone.
    pub async fn reorg(&self, depth: u64) -> Result<(), DevnetError> {
        let no_replayed_txs: [(); 0] = [];
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_reorg".into(), (depth, no_replayed_txs))
            .await
            .map_err(rpc_err)?;
        Ok(())
    }
}

/// A running anvil with the test tokens deployed; anvil stops when this is dropped.
pub struct Devnet {
    chain: DevChain,
    tokens: Vec<DevToken>,
    _anvil: AnvilProcess,
}

impl Deref for Devnet {
    type Target = DevChain;
    fn deref(&self) -> &DevChain {
        &self.chain
    }
}

/// The currencies deployed on the dev chain, with their names and decimals.
const DEV_TOKENS: [(Currency, &str, u8); 3] = [
    (Currency::Usdt, "Tether USD (PayIn dev)", 6),
    (Currency::Usdc, "USD Coin (PayIn dev)", 6),
    (Currency::Dai, "Dai Stablecoin (PayIn dev)", 18),
];

impl Devnet {
    /// Starts anvil, deploys USDT (6 decimals), USDC (6) and DAI (18) and mints
    /// [`PAYER_TOKENS`] of each to the payer. Deployment is deterministic: a fresh chain
    /// always gets the same contract addresses.
    pub async fn start(options: DevnetOptions) -> Result<Devnet, DevnetError> {
        let path = find_anvil(options.anvil.as_deref())?;
        // Another process may take the free port between our probe and anvil's bind: retry.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port().map_err(|source| DevnetError::Spawn {
                path: path.display().to_string(),
                source,
            })?;
            match AnvilProcess::spawn(&path, port).await {
                Ok(anvil) => return Devnet::deploy(anvil, options.block_time).await,
                Err(e @ DevnetError::NotReady(_)) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// Deploys on a chain that mines a block per transaction, then switches to `block_time`
    /// (so deployment never waits for blocks).
    async fn deploy(anvil: AnvilProcess, block_time: Option<u64>) -> Result<Devnet, DevnetError> {
        let chain = DevChain::connect(&anvil.rpc_url)?;
        let mut tokens = Vec::with_capacity(DEV_TOKENS.len());
        for (currency, name, decimals) in DEV_TOKENS {
            let address = chain.deploy_token(name, currency.as_str(), decimals).await?;
            let supply = U256::from(PAYER_TOKENS) * U256::from(10u64).pow(U256::from(decimals));
            chain.mint(address, chain.payer(), supply).await?;
            tokens.push(DevToken {
                currency,
                address,
                decimals,
            });
        }
        if let Some(secs) = block_time {
            chain
                .provider
                .raw_request::<_, serde_json::Value>("evm_setIntervalMining".into(), (secs,))
                .await
                .map_err(rpc_err)?;
        }
        Ok(Devnet {
            chain,
            tokens,
            _anvil: anvil,
        })
    }

    /// The client of this chain, to keep or clone apart from the process.
    pub fn chain(&self) -> &DevChain {
        &self.chain
    }

    pub fn tokens(&self) -> &[DevToken] {
        &self.tokens
    }

    pub fn token(&self, currency: Currency) -> &DevToken {
        self.tokens
            .iter()
            .find(|t| t.currency == currency)
            .expect("every currency is deployed")
    }

    /// This chain as `payin dev` records it in the database (see `Engine::record_chain`).
    pub fn recorded_chain(&self, now: Timestamp) -> RecordedChain {
        let tokens = self
            .tokens
            .iter()
            .map(|t| {
                let token = RecordedToken {
                    contract: t.address.to_checksum(None),
                    decimals: t.decimals,
                };
                (t.currency, token)
            })
            .collect();
        RecordedChain::new(DEV_CHAIN_ID, &self.chain.rpc_url, tokens, now).expect("chain local with an http URL")
    }

    /// The registry override that points chain [`DEV_CHAIN_ID`] at this chain: its RPC URL and
    /// token contracts. Put it under `chains.local` of a `FileConfig`, or record it with
    /// `Engine::record_chain`.
    pub fn chain_override(&self) -> ChainOverride {
        ChainOverride {
            protocol: Some(Protocol::Evm),
            evm_chain_id: Some(DEV_EVM_CHAIN_ID),
            rpc_urls: Some(vec![self.chain.rpc_url.clone()]),
            tokens: self
                .tokens
                .iter()
                .map(|t| {
                    (
                        t.currency.as_str().to_string(),
                        TokenOverride {
                            contract: Some(t.address.to_checksum(None)),
                            decimals: Some(t.decimals),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            ..ChainOverride::default()
        }
    }
}

/// The creation bytecode of `TestToken` from the committed artifact.
pub fn test_token_bytecode() -> Vec<u8> {
    let artifact: serde_json::Value = serde_json::from_str(TEST_TOKEN_ARTIFACT).expect("TestToken.json is JSON");
    let hex_code = artifact["bytecode"].as_str().expect("TestToken.json has a bytecode");
    hex::decode(hex_code.trim_start_matches("0x")).expect("TestToken.json bytecode is hex")
}

/// `n` receive-only EVM addresses for the dev pool, the same on every run. Their keys are
/// `keccak256("payin dev pool" ‖ i as u32 big-endian)`: public, so fit only for a dev chain.
pub fn dev_pool_addresses(n: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut seed = b"payin dev pool".to_vec();
            seed.extend_from_slice(&i.to_be_bytes());
            let signer = PrivateKeySigner::from_bytes(&keccak256(&seed)).expect("a hash is a valid key");
            signer.address().to_checksum(None)
        })
        .collect()
}

/// The anvil child process. It is spawned and reaped by a keeper thread that lives exactly as
/// long as this value: on Linux the child gets `PR_SET_PDEATHSIG`, which fires when the thread
/// that spawned it ends, so a short-lived runtime thread must not be that thread. The keeper
/// also ends when the whole process dies (even by SIGKILL), taking anvil with it.
struct AnvilProcess {
    rpc_url: String,
    port: u16,
    child: Arc<Mutex<Child>>,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

/// How long anvil may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl AnvilProcess {
    async fn spawn(path: &Path, port: u16) -> Result<AnvilProcess, DevnetError> {
        let mut cmd = Command::new(path);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &DEV_EVM_CHAIN_ID.to_string(), "--silent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        die_with_parent(&mut cmd);

        let (started_tx, started_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("anvil-keeper".into())
            .spawn(move || {
                let child = match cmd.spawn() {
                    Ok(c) => Arc::new(Mutex::new(c)),
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(child.clone()));
                // Returns when the owner drops the sender.
                let _ = stop_rx.recv();
                let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
                let _ = child.kill();
                let _ = child.wait();
            })
            .map_err(|source| DevnetError::Spawn {
                path: path.display().to_string(),
                source,
            })?;
        let child = started_rx
            .recv()
            .map_err(|_| DevnetError::NotReady("the keeper thread died".into()))?
            .map_err(|source| DevnetError::Spawn {
                path: path.display().to_string(),
                source,
            })?;
        let anvil = AnvilProcess {
            rpc_url: format!("http://127.0.0.1:{port}"),
            port,
            child,
            stop: Some(stop_tx),
            keeper: Some(keeper),
        };
        anvil.wait_ready().await?;
        Ok(anvil)
    }

    async fn wait_ready(&self) -> Result<(), DevnetError> {
        let provider = ProviderBuilder::new()
            .connect_http(self.rpc_url.parse().expect("a valid URL"))
            .erased();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
                .ok()
                .flatten()
            {
                return Err(DevnetError::NotReady(format!("anvil exited ({status})")));
            }
            match provider.get_chain_id().await {
                // Whoever answers must be our child: another process may have taken the port
                // between `free_port` and anvil's bind (anvil then exits, and `start` retries).
                Ok(DEV_EVM_CHAIN_ID) if self.owns_port() => return Ok(()),
                Ok(_) => {
                    return Err(DevnetError::NotReady(format!(
                        "another process answers on port {}",
                        self.port
                    )));
                }
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => return Err(DevnetError::NotReady(format!("no answer on {}: {e}", self.rpc_url))),
            }
        }
    }
}

impl AnvilProcess {
    /// True when the child holds the socket listening on `port` (Linux: the socket inodes of
    /// `/proc/net/tcp` against the child's descriptors). Elsewhere it is assumed.
    #[cfg(target_os = "linux")]
    fn owns_port(&self) -> bool {
        let pid = self.child.lock().unwrap_or_else(|e| e.into_inner()).id();
        let mut listening = std::collections::HashSet::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let port = fields
                    .get(1)
                    .and_then(|local| local.rsplit(':').next())
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok());
                // State 0A is LISTEN.
                if port == Some(self.port) && fields.get(3) == Some(&"0A") {
                    listening.extend(fields.get(9).map(|inode| format!("socket:[{inode}]")));
                }
            }
        }
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| listening.contains(target.to_string_lossy().as_ref()))
    }

    #[cfg(not(target_os = "linux"))]
    fn owns_port(&self) -> bool {
        true
    }
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Makes the kernel kill the child when the thread that spawned it ends (Linux). Elsewhere
/// anvil only stops on drop.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls.
    let parent = unsafe { libc::getpid() };
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_pool_addresses_are_distinct_valid_and_stable() {
        let a = dev_pool_addresses(100);
        assert_eq!(a.len(), 100);
        let unique: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(unique.len(), 100);
        for address in &a {
            assert_eq!(
                crate::chain::normalize_address(Protocol::Evm, address).unwrap(),
                *address
            );
        }
        assert_eq!(a[..3], dev_pool_addresses(3)[..]);
    }

    #[test]
    fn committed_bytecode_is_a_creation_bytecode() {
        let code = test_token_bytecode();
        // Solidity creation code starts by setting the free memory pointer: PUSH1 … PUSH1 0x40 MSTORE.
        assert_eq!((code[0], code[2], code[3], code[4]), (0x60, 0x60, 0x40, 0x52));
    }

    #[test]
    fn the_payer_key_is_anvils_first_account() {
        let chain = DevChain::connect("http://127.0.0.1:1").unwrap();
        assert_eq!(chain.payer().to_checksum(None), PAYER_ADDRESS);
    }

    #[tokio::test]
    async fn an_anvil_that_cannot_bind_its_port_is_not_mistaken_for_whoever_holds_it() {
        let Ok(path) = find_anvil(None) else {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but anvil is missing"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIPPED: anvil is not installed\n");
            return;
        };
        let first = AnvilProcess::spawn(&path, free_port().unwrap()).await.unwrap();
        assert!(first.owns_port());
        let err = AnvilProcess::spawn(&path, first.port)
            .await
            .err()
            .expect("the port is taken");
        assert!(matches!(err, DevnetError::NotReady(_)), "{err}");
    }

    #[test]
    fn explicit_anvil_path_must_exist() {
        let err = find_anvil(Some(Path::new("/nonexistent/anvil"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/anvil"), "{err}");
        assert!(err.to_string().contains("npm ci"), "{err}");
    }
}
