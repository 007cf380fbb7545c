//! PayIn's MCP server: the whole gateway as tools, resources and prompts for AI assistants
//! (rmcp). It is written against [`Gateway`], so the same server runs embedded (an in-process
//! [`payin_core::Engine`]) or remote (a [`payin_client::Client`] with an API key), over stdio
//! ([`serve_stdio`]) or streamable HTTP ([`http_service`], mounted at `/mcp` by `payin serve`).
//!
//! - tools (`tools.rs`): one per REST operation, plus `verify_webhook_signature` and, with the
//!   `dev` feature (`dev_tools.rs`), the dev chain's `simulate_payment` and `mine_blocks`; outputs are the REST `data` with the REST
//!   schemas, errors are `isError` results carrying the REST error envelope;
//! - resources (`resources.rs`): the API reference, the webhook guide, the OpenAPI document,
//!   the event catalogue, and templates for orders and deposit references;
//! - prompts (`prompts.rs`): step-by-step integration guides using this server's endpoints.

mod args;
mod completions;
#[cfg(feature = "dev")]
mod dev_tools;
mod error;
mod package_code;
mod package_guides;
mod prompts;
mod resources;
mod schema;
mod tools;

use std::sync::Arc;

use payin_core::Gateway;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, prompt_handler, tool_handler};

pub use error::ToolError;
pub use schema::Api;
pub use tools::{BoundAddress, SignatureCheck};

/// How the server reaches the gateway; shown to the assistant in the server instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// In-process engine on a database. `workers` says whether this process also runs the
    /// chain watcher, expiry and webhook delivery (otherwise a `payin serve` must).
    Embedded { workers: bool },
    /// Through the REST API of a PayIn deployment.
    Remote,
}

/// What the server says about itself.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The REST API root the prompts point at, e.g. `http://127.0.0.1:8080` (no `/api/v1`).
    pub api_url: String,
    pub mode: Mode,
}

/// What the instructions say about the dev chain's tools, in builds that have them.
#[cfg(feature = "dev")]
const DEV_CHAIN_INSTRUCTIONS: &str = " On the dev chains (chainId \"local\", and \"local-tron\" with T… addresses, started \
     by `payin dev`) simulate_payment really pays an order (exact, partial, over, late) and mine_blocks adds \
     confirmations on local.";
#[cfg(not(feature = "dev"))]
const DEV_CHAIN_INSTRUCTIONS: &str = "";

/// The MCP server over one [`Gateway`].
#[derive(Clone)]
pub struct PayinMcp {
    gateway: Arc<dyn Gateway>,
    options: Arc<ServerOptions>,
    tool_router: ToolRouter<PayinMcp>,
    prompt_router: PromptRouter<PayinMcp>,
}

impl PayinMcp {
    pub fn new(gateway: Arc<dyn Gateway>, options: ServerOptions) -> PayinMcp {
        PayinMcp {
            gateway,
            options: Arc::new(options),
            tool_router: PayinMcp::tools(),
            prompt_router: PayinMcp::prompts(),
        }
    }

    fn instructions(&self) -> String {
        let mode = match self.options.mode {
            Mode::Embedded { workers: true } => {
                "embedded: this process runs the engine, the chain watcher, order expiry and webhook delivery"
            }
            Mode::Embedded { workers: false } => {
                "embedded: this process shares the database of a `payin serve` (or `payin dev`), which runs the \
                 chain watcher, order expiry and webhook delivery"
            }
            Mode::Remote => "remote: every call goes to the PayIn REST API with an API key",
        };
        format!(
            "PayIn is a self-hosted stablecoin payment gateway (USDT, USDC, DAI on EVM chains; USDT and USDC on Tron). Mode: {mode}. \
             REST API: {api}/api/v1 (the same operations as these tools, same field names).\n\
             Typical flow: list_chains → create_order (amount as a decimal string, e.g. \"10.00\") → the payer \
             sends the tokens to the order's address → get_order shows status completed → the merchant's webhook \
             endpoint receives order.completed, signed (verify_webhook_signature checks one).{dev_chain} Failed \
             calls return isError with the REST error \
             envelope: `code` (e.g. INVALID_AMOUNT), `message` and `field` say what to correct. Resources: \
             payin://docs/api-reference, payin://docs/webhook-guide, payin://openapi.json, payin://events; \
             prompts integrate_checkout, add_deposit_wallet, handle_webhooks, migrate_to_rest_api.",
            api = self.options.api_url.trim_end_matches('/'),
            dev_chain = DEV_CHAIN_INSTRUCTIONS,
        )
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for PayinMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .enable_completions()
                .build(),
        )
        .with_server_info(Implementation::new("payin", env!("CARGO_PKG_VERSION")).with_title("PayIn"))
        .with_instructions(self.instructions())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult {
            resources: resources::list(),
            ..Default::default()
        })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult {
            resource_templates: resources::templates(),
            ..Default::default()
        })
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let mut values = completions::suggest(self.gateway.as_ref(), &request).await;
        values.truncate(CompletionInfo::MAX_VALUES);
        let completion = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(completion))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(self.gateway.as_ref(), &request.uri)
            .await
            .map(Into::into)
    }
}

/// Serves MCP over this process's stdin/stdout until the client closes it. Nothing else may
/// write to stdout meanwhile (logs go to stderr).
pub async fn serve_stdio(server: PayinMcp) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// The streamable HTTP endpoint as a tower service (mount it at `/mcp`, behind API-key
/// authentication). `allowed_hosts` are the `Host` values accepted besides loopback (DNS
/// rebinding protection), e.g. the host of the public URL.
pub fn http_service(
    server: PayinMcp,
    allowed_hosts: Vec<String>,
    stop: tokio_util::sync::CancellationToken,
) -> StreamableHttpService<PayinMcp, LocalSessionManager> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    hosts.extend(allowed_hosts);
    // Stateless: every request is served on its own, with no session kept in this process. The
    // server holds no per-client state (everything lives in the database), so any replica
    // behind a load balancer can answer any request, and a restart loses nothing.
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_cancellation_token(stop)
        .with_legacy_session_mode(false);
    // Plain JSON answers rather than one-event SSE streams: no tool sends progress.
    config.json_response = true;
    StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        config,
    )
}
