//! `payin`: the one binary. It wires the engine to its front doors and the operator's commands.

mod dev;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use payin_core::chain::{Protocol, normalize_address};
use payin_core::config::{FileConfig, HttpConfig, RateLimitConfig};
use payin_core::pool::ImportAddressesRequest;
use payin_core::runtime::{WorkerOptions, Workers};
use payin_core::webhook::{CreateWebhookRequest, EndpointStatus, WebhookListQuery};
use payin_core::{Engine, EngineOptions};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "payin", version, about = "PayIn: a self-hosted stablecoin payment gateway")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Database URL: sqlite://path (embedded default) or postgres://…
    #[arg(long, env = "PAYIN_DATABASE_URL", default_value = "sqlite://payin.db", global = true)]
    database_url: String,
    /// TOML config file (chains, tokens, public URL).
    #[arg(long, env = "PAYIN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// PostgreSQL: the most connections this process opens (default 16, or the config file's
    /// [database] max_connections).
    #[arg(long, env = "PAYIN_DB_MAX_CONNECTIONS", global = true, value_parser = clap::value_parser!(u32).range(1..))]
    db_max_connections: Option<u32>,
    /// This process's name in the chain watchers' leases and /health, unique among the replicas
    /// (default: host name, process id and a random suffix).
    #[arg(long, env = "PAYIN_REPLICA_ID", global = true)]
    replica_id: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the REST API and the background tasks (order expiry, address cooldown, webhook delivery).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PAYIN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Also serve Prometheus metrics at /metrics on this address, without an API key (keep
        /// it reachable only by your monitoring). On the main address /metrics needs the API key.
        #[arg(long, env = "PAYIN_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// How often time-driven rules (expiry, cooldown) run, in milliseconds.
        #[arg(long, env = "PAYIN_TICK_MS", default_value_t = 1000, hide = true)]
        tick_ms: u64,
    },
    /// A local sandbox: a real EVM chain (anvil) as chain `local` with test USDT/USDC/DAI, an
    /// address pool, an API key and the server. `payin dev pay ORDER_ID` pays an order on it.
    Dev(dev::DevArgs),
    /// MCP server on stdio for AI assistants: the embedded engine on the database, or a remote
    /// deployment with --api-url and PAYIN_API_KEY. (`payin serve` also serves MCP at /mcp.)
    Mcp(McpArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the address pool.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Manage webhook endpoints.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Merchant credentials of the compatible APIs (HashNut v3, QieJiao).
    #[command(subcommand)]
    Compat(CompatCommand),
}

#[derive(Args)]
struct McpArgs {
    /// Root URL of a PayIn deployment (e.g. https://pay.example.com, or its /api/v1 URL): every
    /// tool calls its REST API instead of opening the database.
    #[arg(long, env = "PAYIN_API_URL")]
    api_url: Option<String>,
    /// API key (pk_…) for --api-url (ignored in embedded mode).
    #[arg(long, env = "PAYIN_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Embedded mode: the URL the gateway is served at (payment URLs, links in prompts), e.g.
    /// the `payin serve`/`payin dev` sharing the database; a config file's public_url wins.
    #[arg(long, env = "PAYIN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Embedded mode: also run the chain watcher, order expiry and webhook delivery in this
    /// process. Leave it off when a `payin serve` or `payin dev` runs on the same database.
    #[arg(long, conflicts_with = "api_url")]
    workers: bool,
    /// How often time-driven rules run with --workers, in milliseconds.
    #[arg(long, env = "PAYIN_TICK_MS", default_value_t = 1000, hide = true)]
    tick_ms: u64,
}

#[derive(Subcommand)]
enum CompatCommand {
    /// HashNut v3 merchants: `add` prints ACCESS_KEY_ID=… and SECRET=… (shell-sourceable).
    #[command(subcommand)]
    Hashnut(CompatMerchantCommand),
    /// QieJiao (epay-style) merchants: `add` prints PID=… and KEY=… (shell-sourceable).
    #[command(subcommand)]
    Qiejiao(CompatMerchantCommand),
}

#[derive(Subcommand)]
enum CompatMerchantCommand {
    /// Create credentials and print them as two shell-sourceable lines (only here, on stdout;
    /// never logged, not shown again).
    Add {
        #[arg(long)]
        name: String,
    },
    /// List merchants (never their secrets).
    List,
    /// Revoke a merchant by id (cpm_…) or public id: its requests are refused from now on.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (only the key, on stdout). It is not shown again.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List keys (never the secrets).
    List,
    /// Revoke a key by id (key_…) or by its listed prefix.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Register an endpoint; prints its id and signing secret (the secret is not shown again).
    Add {
        /// https URL (plain http only for localhost) that receives the events.
        url: String,
        /// Event types to deliver, comma-separated, e.g. order.completed,deposit.confirmed (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List endpoints (never their secrets).
    List,
    /// Delete an endpoint by id (whe_…): nothing more is delivered to it.
    Remove { id: String },
    /// Give an endpoint a new secret and print it (it is not shown again). The old secret keeps
    /// signing beside it for --keep-previous-hours (default 24), while receivers switch.
    Rotate {
        id: String,
        #[arg(long)]
        keep_previous_hours: Option<u32>,
    },
}

#[derive(Subcommand)]
enum PoolCommand {
    /// Import addresses, one per line, from FILE or `-` (stdin). Blank lines and # comments are skipped.
    Import {
        #[arg(long, value_parser = parse_protocol)]
        protocol: Protocol,
        file: String,
    },
    /// Show available / assigned / cooldown counts per protocol.
    Status,
    /// Watch-only HD keys: the pool derives its own addresses from an account xpub.
    #[command(subcommand)]
    Xpub(XpubCommand),
}

#[derive(Subcommand)]
enum XpubCommand {
    /// Add the ACCOUNT-level xpub of a wallet account (m/44'/60'/0' for evm, m/44'/195'/0' for
    /// tron); prints its fingerprint and first three addresses to compare with the wallet.
    /// PayIn never takes private keys: an xprv or a mnemonic is refused. `-` reads it from stdin.
    Add {
        #[arg(long, value_parser = parse_protocol)]
        protocol: Protocol,
        /// First address index to derive (default 0).
        #[arg(long)]
        start: Option<u32>,
        /// The xpub, or `-` for stdin. (Several words are taken together so that a pasted
        /// mnemonic is refused as one, never echoed.)
        #[arg(required = true, num_args = 1.., value_name = "XPUB")]
        xpub: Vec<String>,
    },
    /// List the HD keys: protocol, fingerprint, path, next index, first addresses.
    List,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    Protocol::parse("protocol", s).map_err(|e| e.to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve { .. } | Command::Dev(dev::DevArgs { command: None, .. }) => "info",
        // stdout is the MCP channel; stderr stays quiet unless RUST_LOG asks.
        Command::Mcp(_) => "warn",
        _ => "warn",
    };
    init_logging(cli.global.log_format, default_level);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default_level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn open_engine(global: &Global, public_url: Option<String>) -> anyhow::Result<Engine> {
    open_engine_with(global, load_config(global)?, public_url).await
}

/// The config file of `--config`, or the defaults.
fn load_config(global: &Global) -> anyhow::Result<FileConfig> {
    Ok(match &global.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    })
}

async fn open_engine_with(global: &Global, config: FileConfig, public_url: Option<String>) -> anyhow::Result<Engine> {
    let mut options = EngineOptions::new(global.database_url.clone());
    options.config = config;
    if let Some(n) = global.db_max_connections {
        options.config.database.max_connections = Some(n);
    }
    if let Some(id) = &global.replica_id {
        if id.trim().is_empty() {
            bail!("--replica-id / PAYIN_REPLICA_ID must not be empty");
        }
        options.replica_id = id.trim().to_string();
    }
    if let Some(url) = public_url {
        options.default_public_url = url;
    }
    Engine::open(options)
        .await
        .with_context(|| format!("opening database {}", redact(&global.database_url)))
}

/// A database URL with any password masked, fit for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            metrics_listen,
            tick_ms,
        } => {
            serve(
                &cli.global,
                listen,
                metrics_listen,
                Duration::from_millis(tick_ms.max(10)),
            )
            .await
        }
        Command::Dev(args) => dev::run(&cli.global, args).await,
        Command::Mcp(args) => mcp(&cli.global, args).await,
        Command::Keys(cmd) => keys(&cli.global, cmd).await,
        Command::Pool(cmd) => pool(&cli.global, cmd).await,
        Command::Compat(cmd) => compat(&cli.global, cmd).await,
        Command::Webhooks(cmd) => webhooks(&cli.global, cmd).await,
    }
}

async fn serve(
    global: &Global,
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    tick: Duration,
) -> anyhow::Result<()> {
    let config = load_config(global)?;
    let front = FrontDoor::from(&config);
    let engine = Arc::new(open_engine_with(global, config, Some(format!("http://{listen}"))).await?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    if let Some(addr) = metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
        let app = payin_http::metrics_router(engine.clone());
        // Ends with the process; a scrape in flight at shutdown is simply cut.
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, app).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    run_server(engine, listener, tick, front).await
}

/// The config file's settings of the HTTP server: `[http]` and `[rate_limit]`.
struct FrontDoor {
    http: HttpConfig,
    rate_limit: RateLimitConfig,
}

impl From<&FileConfig> for FrontDoor {
    fn from(config: &FileConfig) -> Self {
        FrontDoor {
            http: config.http.clone(),
            rate_limit: config.rate_limit.clone(),
        }
    }
}

/// The server of `serve` and `dev`: the REST API, MCP at `/mcp` and the background tasks,
/// until SIGTERM/SIGINT.
async fn run_server(
    engine: Arc<Engine>,
    listener: tokio::net::TcpListener,
    tick: Duration,
    front: FrontDoor,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(
        listen = %local,
        database = engine.backend(),
        replica = engine.replica_id(),
        version = env!("CARGO_PKG_VERSION"),
        "PayIn listening on http://{local} (REST at /api/v1, MCP at /mcp)"
    );
    let state =
        payin_http::AppState::new(engine.clone()).with_rate_limits(payin_http::RateLimits::new(&front.rate_limit)?);
    let workers = Workers::start(
        &engine,
        WorkerOptions {
            tick,
            ..WorkerOptions::default()
        },
        CancellationToken::new(),
    )?;
    let stop_mcp = CancellationToken::new();
    let app = payin_http::router_with(state.clone()).merge(mcp_endpoint(&state, stop_mcp.child_token()));
    payin_http::serve(
        listener,
        app,
        payin_http::ServerOptions::from(&front.http),
        async move {
            shutdown_signal().await;
            // Open MCP event streams would otherwise hold the graceful shutdown forever.
            stop_mcp.cancel();
        },
    )
    .await?;
    workers.stop().await?;
    tracing::info!("PayIn stopped");
    Ok(())
}

/// Streamable HTTP MCP at `/mcp`, behind the API key (and its rate limit), on the in-process
/// engine.
fn mcp_endpoint(state: &payin_http::AppState, stop: CancellationToken) -> axum::Router {
    let engine = &state.engine;
    let public_url = engine.public_url().to_string();
    // The public URL's host is accepted besides loopback (DNS-rebinding protection).
    let hosts = url::Url::parse(&public_url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => vec![host.clone(), format!("{host}:{port}")],
                None => vec![host],
            })
        })
        .unwrap_or_default();
    let server = payin_mcp::PayinMcp::new(
        engine.clone(),
        payin_mcp::ServerOptions {
            api_url: public_url,
            mode: payin_mcp::Mode::Embedded { workers: true },
        },
    );
    let service = payin_mcp::http_service(server, hosts, stop);
    payin_http::with_api_key(axum::Router::new().nest_service("/mcp", service), state)
}

/// `payin mcp`: MCP on stdio, embedded or remote.
async fn mcp(global: &Global, args: McpArgs) -> anyhow::Result<()> {
    let (server, workers) = match &args.api_url {
        Some(api_url) => {
            let key = args
                .api_key
                .as_deref()
                .context("--api-url needs the API key: set PAYIN_API_KEY (or --api-key)")?;
            let client = payin_client::Client::new(api_url, key)?;
            let options = payin_mcp::ServerOptions {
                // The gateway's root, also when --api-url was given as its /api/v1 URL.
                api_url: client.base_url().to_string(),
                mode: payin_mcp::Mode::Remote,
            };
            (payin_mcp::PayinMcp::new(Arc::new(client), options), None)
        }
        None => {
            let engine = Arc::new(open_engine(global, args.public_url.clone()).await?);
            let workers = if args.workers {
                let tick = Duration::from_millis(args.tick_ms.max(10));
                Some(Workers::start(
                    &engine,
                    WorkerOptions {
                        tick,
                        ..WorkerOptions::default()
                    },
                    CancellationToken::new(),
                )?)
            } else {
                None
            };
            let options = payin_mcp::ServerOptions {
                api_url: engine.public_url().to_string(),
                mode: payin_mcp::Mode::Embedded { workers: args.workers },
            };
            (payin_mcp::PayinMcp::new(engine, options), workers)
        }
    };
    tracing::info!("PayIn MCP server on stdio");
    let served = payin_mcp::serve_stdio(server).await.map_err(|e| anyhow::anyhow!(e));
    if let Some(workers) = workers {
        workers.stop().await?;
    }
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

async fn compat(global: &Global, cmd: CompatCommand) -> anyhow::Result<()> {
    use payin_core::compat::{CompatApi, CreateCompatMerchantRequest};
    let (api, cmd) = match cmd {
        CompatCommand::Hashnut(cmd) => (CompatApi::Hashnut, cmd),
        CompatCommand::Qiejiao(cmd) => (CompatApi::Qiejiao, cmd),
    };
    let engine = open_engine(global, None).await?;
    match cmd {
        CompatMerchantCommand::Add { name } => {
            let created = engine
                .create_compat_merchant(api, CreateCompatMerchantRequest { name })
                .await?;
            let (public, secret) = api.credential_names();
            // Only on stdout, as two shell-sourceable lines (both values are alphanumeric).
            println!("{public}={}", created.merchant.public_id);
            println!("{secret}={}", created.secret);
            eprintln!(
                "Merchant {} created; store the {} now, it is not shown again.",
                created.merchant.id,
                secret.to_ascii_lowercase()
            );
        }
        CompatMerchantCommand::List => {
            let (public, _) = api.credential_names();
            println!(
                "{:<20}  {:<24}  {:<24}  {:<24}  NAME",
                "ID", public, "CREATED", "REVOKED"
            );
            for m in engine.list_compat_merchants(api).await? {
                println!(
                    "{:<20}  {:<24}  {:<24}  {:<24}  {}",
                    m.id,
                    m.public_id,
                    payin_core::time::format(&m.created_at),
                    m.revoked_at
                        .as_ref()
                        .map(payin_core::time::format)
                        .unwrap_or_else(|| "-".into()),
                    m.name
                );
            }
        }
        CompatMerchantCommand::Revoke { id } => {
            let m = engine.revoke_compat_merchant(api, &id).await?;
            println!("revoked {}", m.id);
        }
    }
    Ok(())
}

async fn keys(global: &Global, cmd: KeysCommand) -> anyhow::Result<()> {
    let engine = open_engine(global, None).await?;
    match cmd {
        KeysCommand::Create { name } => {
            let (secret, _) = engine.create_api_key(&name).await?;
            println!("{secret}");
        }
        KeysCommand::List => {
            println!(
                "{:<20}  {:<10}  {:<24}  {:<24}  NAME",
                "ID", "PREFIX", "CREATED", "REVOKED"
            );
            for k in engine.list_api_keys().await? {
                println!(
                    "{:<20}  {:<10}  {:<24}  {:<24}  {}",
                    k.id,
                    k.prefix,
                    payin_core::time::format(&k.created_at),
                    k.revoked_at
                        .as_ref()
                        .map(payin_core::time::format)
                        .unwrap_or_else(|| "-".into()),
                    k.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            engine.revoke_api_key(&id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn webhooks(global: &Global, cmd: WebhooksCommand) -> anyhow::Result<()> {
    let engine = open_engine(global, None).await?;
    match cmd {
        WebhooksCommand::Add {
            url,
            events,
            description,
        } => {
            let created = engine
                .create_webhook_endpoint(CreateWebhookRequest {
                    url,
                    events: Some(events),
                    description,
                })
                .await?;
            println!("id:     {}", created.endpoint.id);
            println!("secret: {}", created.secret);
            eprintln!("The secret signs every delivery; store it now, it is not shown again.");
        }
        WebhooksCommand::List => {
            println!(
                "{:<20}  {:<24}  {:<24}  {:<32}  URL",
                "ID", "STATUS", "CREATED", "EVENTS"
            );
            for page in 1.. {
                let listed = engine
                    .list_webhook_endpoints(&WebhookListQuery {
                        page: Some(page.to_string()),
                        limit: Some("100".into()),
                    })
                    .await?;
                for e in &listed.items {
                    let status = match (e.status, &e.disabled_reason) {
                        (EndpointStatus::Disabled, Some(reason)) => format!("disabled: {reason}"),
                        (status, _) => status.as_str().to_string(),
                    };
                    let events = if e.events.is_empty() {
                        "all".to_string()
                    } else {
                        e.events.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
                    };
                    println!(
                        "{:<20}  {:<24}  {:<24}  {:<32}  {}",
                        e.id,
                        status,
                        payin_core::time::format(&e.created_at),
                        events,
                        e.url
                    );
                }
                if !listed.pagination.has_more {
                    break;
                }
            }
        }
        WebhooksCommand::Remove { id } => {
            engine.delete_webhook_endpoint(&id).await?;
            println!("removed {id}");
        }
        WebhooksCommand::Rotate {
            id,
            keep_previous_hours,
        } => {
            let rotated = engine
                .rotate_webhook_secret(&id, payin_core::webhook::RotateSecretRequest { keep_previous_hours })
                .await?;
            println!("secret: {}", rotated.secret);
            match rotated.previous_secret_expires_at {
                Some(until) => eprintln!(
                    "The previous secret signs deliveries too until {}; switch your receivers before then.",
                    payin_core::time::format(&until)
                ),
                None => eprintln!("The previous secret no longer signs deliveries."),
            }
        }
    }
    Ok(())
}

/// Addresses sent to the engine per transaction.
const IMPORT_BATCH: usize = 10_000;

async fn pool(global: &Global, cmd: PoolCommand) -> anyhow::Result<()> {
    let engine = open_engine(global, None).await?;
    match cmd {
        PoolCommand::Import { protocol, file } => {
            let addresses = read_addresses(protocol, &file)?;
            if addresses.is_empty() {
                bail!("{file} holds no addresses");
            }
            let bar = indicatif::ProgressBar::new(addresses.len() as u64);
            if !std::io::stderr().is_terminal() || addresses.len() < IMPORT_BATCH {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let (mut imported, mut received) = (0, 0);
            for chunk in addresses.chunks(IMPORT_BATCH) {
                let r = engine
                    .import_addresses(ImportAddressesRequest {
                        protocol: protocol.to_string(),
                        addresses: chunk.to_vec(),
                    })
                    .await?;
                imported += r.imported;
                received += r.received;
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            println!(
                "imported {imported} new {protocol} addresses ({} already in the pool)",
                received - imported
            );
        }
        PoolCommand::Xpub(cmd) => xpub(&engine, cmd).await?,
        PoolCommand::Status => {
            println!(
                "{:<8}  {:>10}  {:>10}  {:>10}  {:>10}",
                "PROTOCOL", "AVAILABLE", "ASSIGNED", "COOLDOWN", "TOTAL"
            );
            for p in engine.pool_status().await? {
                let flag = if p.low { "  (below low watermark)" } else { "" };
                println!(
                    "{:<8}  {:>10}  {:>10}  {:>10}  {:>10}{flag}",
                    p.protocol.as_str(),
                    p.available,
                    p.assigned,
                    p.cooldown,
                    p.total
                );
            }
        }
    }
    Ok(())
}

async fn xpub(engine: &Engine, cmd: XpubCommand) -> anyhow::Result<()> {
    match cmd {
        XpubCommand::Add { protocol, start, xpub } => {
            let mut xpub = xpub.join(" ");
            if xpub == "-" {
                xpub.clear();
                std::io::stdin()
                    .read_line(&mut xpub)
                    .context("reading the xpub from stdin")?;
            }
            let (key, new) = engine
                .add_xpub(payin_core::pool::AddXpubRequest {
                    protocol: protocol.to_string(),
                    xpub,
                    start,
                })
                .await?;
            if !new {
                eprintln!("This xpub was already added; nothing changed.");
            }
            print_xpub(&key);
            eprintln!("Compare these addresses with your wallet before taking payments to them.");
        }
        XpubCommand::List => {
            let keys = engine.list_xpubs().await?;
            if keys.is_empty() {
                println!("no HD keys (add one with `payin pool xpub add --protocol evm XPUB`)");
            }
            for key in keys {
                print_xpub(&key);
                println!();
            }
        }
    }
    Ok(())
}

fn print_xpub(key: &payin_core::pool::XpubKey) {
    println!("id:          {}", key.id);
    println!("protocol:    {}", key.protocol);
    println!("fingerprint: {}", key.fingerprint);
    println!("path:        {}/0/i", key.path);
    println!("next index:  {} (from {})", key.next_index, key.start_index);
    for a in &key.first_addresses {
        println!("  {}  {}", a.path, a.address);
    }
}

/// Reads and validates every line before anything is written, reporting the first bad line.
fn read_addresses(protocol: Protocol, file: &str) -> anyhow::Result<Vec<String>> {
    let reader: Box<dyn BufRead> = if file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("opening {file}"))?,
        ))
    };
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {file}"))?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let address = normalize_address(protocol, trimmed).map_err(|e| anyhow::anyhow!("{file}:{}: {e}", i + 1))?;
        out.push(address);
    }
    Ok(out)
}
