//! `payin dev`: a complete local sandbox (a real EVM chain `local`, a Tron-shaped chain
//! `local-tron` — a second anvil behind the test double of a Tron node — test tokens, pools, an
//! API key, the server) and `payin dev pay`, which pays an order on either chain from the funded
//! dev account.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use payin_core::chain::{Currency, Network, Protocol, evm_to_tron};
use payin_core::dev::devnet::{DEV_CHAIN_ID, DEV_EVM_CHAIN_ID, Devnet, DevnetOptions, PAYER_TOKENS};
use payin_core::dev::simulate::SimulatePaymentRequest;
use payin_core::dev::tron_double::{DEV_TRON_CHAIN_ID, TronDevnet, TronDoubleOptions};
use payin_core::pool::ImportAddressesRequest;

use crate::{FrontDoor, Global, load_config, open_engine, open_engine_with, redact, run_server};

/// Addresses `payin dev` puts in the EVM pool: well above the default low watermark (100), so
/// a sandbox does not raise `pool.low` after its first order.
const DEV_POOL_SIZE: u32 = 1000;

#[derive(Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    /// Address the API listens on (port 0 picks a free port).
    #[arg(long, env = "PAYIN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The anvil binary (default: PAYIN_ANVIL, then node_modules/@foundry-rs/anvil-linux-amd64
    /// from `npm ci`, then anvil on PATH).
    #[arg(long)]
    anvil: Option<PathBuf>,
    /// Seconds between blocks (default: a block per transaction).
    #[arg(long)]
    block_time: Option<u64>,
    /// How often time-driven rules (expiry, cooldown) run, in milliseconds.
    #[arg(long, env = "PAYIN_TICK_MS", default_value_t = 1000, hide = true)]
    tick_ms: u64,
}

#[derive(Subcommand)]
pub enum DevCommand {
    /// Pay an order (or any address) on the running dev chain from the funded dev account.
    Pay(PayArgs),
}

#[derive(Args)]
pub struct PayArgs {
    /// The order to pay (ord_…): its address, currency and amount.
    #[arg(required_unless_present = "to", conflicts_with = "to")]
    order_id: Option<String>,
    /// Pay this address instead of an order's, e.g. a deposit address (needs --amount); a T…
    /// address is paid on chain local-tron, a 0x… one on chain local.
    #[arg(long, requires = "amount")]
    to: Option<String>,
    /// Decimal amount instead of the order's, e.g. 12.50 (partial and over-payments).
    #[arg(long)]
    amount: Option<String>,
    /// Token to send: USDT, USDC or DAI (default: the order's currency; USDT with --to).
    #[arg(long, value_parser = parse_currency)]
    token: Option<Currency>,
    /// For an order: exact (default), partial (half), over (+10%) or late (mined after the
    /// grace period; moves the chain's clock forward).
    #[arg(long, conflicts_with = "to")]
    scenario: Option<String>,
}

fn parse_currency(s: &str) -> Result<Currency, String> {
    Currency::parse("token", &s.to_ascii_uppercase()).map_err(|e| e.to_string())
}

pub async fn run(global: &Global, args: DevArgs) -> anyhow::Result<()> {
    match args.command {
        Some(DevCommand::Pay(pay_args)) => pay(global, pay_args).await,
        None => sandbox(global, args).await,
    }
}

async fn sandbox(global: &Global, args: DevArgs) -> anyhow::Result<()> {
    let options = DevnetOptions {
        anvil: args.anvil,
        block_time: args.block_time,
    };
    // Both anvils start (and deploy their tokens) at the same time.
    let (devnet, tron) = tokio::join!(
        Devnet::start(options.clone()),
        TronDevnet::start(options, TronDoubleOptions::default())
    );
    let devnet = devnet.context("starting the local chain")?;
    let tron = tron.context("starting the Tron-shaped local chain (local-tron)")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let api = format!("http://{}", listener.local_addr()?);
    // The sandbox delivers webhooks to receivers on this machine: loopback is allowed on top
    // of whatever the config file allows (production servers refuse it unless configured).
    let mut config = load_config(global)?;
    config
        .webhooks
        .allow_private
        .extend(payin_core::webhook::guard::loopback());
    // HashNut's chain codes name the sandbox's chains, so its merchants' code can pay here.
    for (code, chain) in payin_core::config::HashnutConfig::dev_chains() {
        config.compat.hashnut.chains.entry(code).or_insert(chain);
    }
    // And QieJiao's chain types: 1 (TRC20) → local-tron, 2 (ERC20) → local.
    for (chain_type, chain) in payin_core::compat::qiejiao::dev_chain_types() {
        config.compat.qiejiao.chain_types.entry(chain_type).or_insert(chain);
    }
    let mut front = FrontDoor::from(&config);
    // The sandbox's own clients (curl, tests, an assistant on this machine) are not limited.
    front.rate_limit.exempt_loopback = true;
    let mut engine = open_engine_with(global, config, Some(api.clone())).await?;
    engine.record_chain(&devnet.recorded_chain(engine.now())).await?;
    engine.record_chain(&tron.recorded_chain(engine.now())).await?;
    warn_if_config_overrides(engine.chains().get(DEV_CHAIN_ID), &devnet);
    let pool = payin_core::dev::devnet::dev_pool_addresses(DEV_POOL_SIZE);
    // The same receive-only keys serve both pools: on Tron they are written T….
    let tron_pool = pool.iter().filter_map(|a| a.parse().ok().map(evm_to_tron)).collect();
    for (protocol, addresses) in [(Protocol::Evm, pool), (Protocol::Tron, tron_pool)] {
        engine
            .import_addresses(ImportAddressesRequest {
                protocol: protocol.to_string(),
                addresses,
            })
            .await?;
    }
    let (key, _) = engine.create_api_key("payin dev").await?;
    print_banner(&api, &key, &devnet, &tron, global);

    let engine = Arc::new(engine);
    let served = run_server(
        engine.clone(),
        listener,
        Duration::from_millis(args.tick_ms.max(10)),
        front,
    )
    .await;
    // The chain dies with this process: later processes on this database must not take it for
    // a live chain `local` (SIGKILL skips this; they then find its RPC URL dead).
    for recorded in [devnet.recorded_chain(engine.now()), tron.recorded_chain(engine.now())] {
        if let Err(e) = engine.forget_recorded_chain(&recorded).await {
            tracing::warn!(error = %e, chain = %recorded.chain_id, "could not remove the dev chain's recording from the database");
        }
    }
    // The chains go after the server, whose watchers read them until the end.
    drop(tron);
    drop(devnet);
    served
}

/// A config file that sets chain `local` wins over the recording (see `dev::recorded::RecordedChain`);
/// say so when that points the sandbox away from its own chain.
fn warn_if_config_overrides(local: Option<&Network>, devnet: &Devnet) {
    let Some(local) = local else { return };
    let ours = local.rpc_urls.first().map(String::as_str) == Some(devnet.rpc_url())
        && devnet.tokens().iter().all(|t| {
            local.token(t.currency).and_then(|x| x.contract.as_deref()) == Some(t.address.to_checksum(None).as_str())
        });
    if !ours {
        tracing::warn!(
            "the config file sets [chains.local]; it wins over the dev chain recorded in the database, so \
             orders on chain local may not point at this sandbox's chain and tokens"
        );
    }
}

fn print_banner(api: &str, key: &str, devnet: &Devnet, tron: &TronDevnet, global: &Global) {
    let mut out = String::new();
    out.push_str("PayIn dev sandbox is running.\n\n");
    out.push_str(&format!("API URL:   {api}/api/v1\n"));
    out.push_str(&format!("API key:   {key}\n"));
    out.push_str(&format!(
        "Chain id:  {DEV_CHAIN_ID} (EVM chain id {DEV_EVM_CHAIN_ID})\n"
    ));
    out.push_str(&format!("RPC URL:   {}\n", devnet.rpc_url()));
    for t in devnet.tokens() {
        out.push_str(&format!(
            "{:<10} {} ({} decimals)\n",
            format!("{}:", t.currency),
            t.address.to_checksum(None),
            t.decimals
        ));
    }
    out.push_str(&format!(
        "Payer:     {} (anvil's dev account 0; {PAYER_TOKENS} of each token)\n\n",
        devnet.payer().to_checksum(None)
    ));
    out.push_str(&format!(
        "Chain id:  {DEV_TRON_CHAIN_ID} (Tron-shaped: anvil behind a test double of a Tron node's JSON-RPC)\n"
    ));
    out.push_str(&format!("RPC URL:   {}\n", tron.node().url()));
    for t in tron.tokens() {
        out.push_str(&format!(
            "{:<10} {} ({} decimals)\n",
            format!("{}:", t.currency),
            evm_to_tron(t.address),
            t.decimals
        ));
    }
    out.push_str(&format!("Payer:     {}\n", evm_to_tron(tron.payer())));
    out.push_str(&format!("Database:  {}\n\n", redact(&global.database_url)));
    // A fresh reference per run: the database may outlive the sandbox, references must not repeat.
    let reference = format!("DEV-{}", payin_core::ids::random_lower_alnum(8).to_uppercase());
    out.push_str("Create an order on the local chain:\n");
    out.push_str(&format!(
        "  curl -s -X POST {api}/api/v1/orders -H 'Authorization: Bearer {key}' \
         -H 'Content-Type: application/json' -d '{{\"orderReference\": \"{reference}\", \"amount\": \"10.00\", \
         \"currency\": \"USDT\", \"chainId\": \"{DEV_CHAIN_ID}\"}}'\n\n"
    ));
    out.push_str(&format!(
        "(or \"chainId\": \"{DEV_TRON_CHAIN_ID}\" for a Tron order, paid to a T… address)\n\n"
    ));
    out.push_str("Pay it on the chain (from another terminal):\n");
    out.push_str(&format!(
        "  payin --database-url '{}' dev pay ORDER_ID [--amount 10.00] [--token USDT] [--scenario partial|over|late]\n\n",
        redact(&global.database_url)
    ));
    out.push_str("Connect an AI assistant (MCP), over HTTP or stdio:\n");
    out.push_str(&format!("  URL {api}/mcp with header 'Authorization: Bearer {key}'\n"));
    out.push_str(&format!("  PAYIN_API_KEY={key} payin mcp --api-url {api}\n\n"));
    out.push_str("Ctrl-C stops the server and the chains (their state is not kept).\n");
    print!("{out}");
}

async fn pay(global: &Global, args: PayArgs) -> anyhow::Result<()> {
    let engine = open_engine(global, None).await?;
    let paid = engine
        .simulate_payment(SimulatePaymentRequest {
            order_id: args.order_id,
            address: args.to,
            scenario: args.scenario,
            amount: args.amount,
            currency: args.token.map(|t| t.to_string()),
        })
        .await?;
    match &paid.order_id {
        Some(id) => println!(
            "paid {} {} to {} for order {id} on chain {}",
            paid.amount, paid.currency, paid.to, paid.chain_id
        ),
        None => println!(
            "sent {} {} to {} on chain {}",
            paid.amount, paid.currency, paid.to, paid.chain_id
        ),
    }
    println!("tx:    {}", paid.tx_hash);
    println!("block: {}", paid.block_number);
    Ok(())
}
