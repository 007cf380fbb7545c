//! The dev chain's tools (feature `dev`): `simulate_payment` and `mine_blocks`, a second tool
//! router that [`PayinMcp::tools`] adds to the others.

use payin_core::dev::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use rmcp::handler::server::wrapper::Json;
use rmcp::{tool, tool_router};

use crate::PayinMcp;
use crate::args::Parameters;
use crate::error::ToolError;
use crate::schema::Api;
use crate::tools::out;

#[tool_router(router = dev_tools, vis = "pub(crate)")]
impl PayinMcp {
    /// Dev chains only (chain "local" of `payin dev`, and "local-tron", its Tron-shaped chain):
    /// really pay an order — scenario exact (default), partial (half), over (+10%) or late (mined
    /// after the grace period) — or any address (e.g. a deposit address, with amount; a T…
    /// address is paid on local-tron, a 0x… one on local) with a token transfer from the funded
    /// dev account. The watcher credits it within about a second; then get_order or
    /// list_deposits shows it, and webhooks go out.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn simulate_payment(
        &self,
        Parameters(args): Parameters<Api<SimulatePaymentRequest>>,
    ) -> Result<Json<Api<SimulatedPayment>>, ToolError> {
        out(self.gateway.simulate_payment(args?.0).await?)
    }

    /// Dev chain only: mine empty blocks (1 to 1000), e.g. to give a payment the
    /// confirmations its chain requires.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn mine_blocks(
        &self,
        Parameters(args): Parameters<Api<MineBlocksRequest>>,
    ) -> Result<Json<Api<MinedBlocks>>, ToolError> {
        out(self.gateway.mine_blocks(args?.0).await?)
    }
}
