//! Payments on the dev chain of `payin dev`, made on request (`POST /dev/…`, MCP
//! `simulate_payment` / `mine_blocks`).

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::chain::Currency;
use crate::error::{Error, Result};
use crate::time::{Timestamp, serde_millis};

/// Most blocks one `mine_blocks` call mines.
pub const MAX_MINE_BLOCKS: u64 = 1000;

/// What a simulated order payment pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PaymentScenario {
    /// The order's amount: the order completes.
    #[default]
    Exact,
    /// Half the order's amount: the order stays pending with `amountReceived` set.
    Partial,
    /// The order's amount plus 10%: the order completes and records the surplus.
    Over,
    /// The order's amount, mined after `expiresAt + grace`: `order.late_payment`. The dev
    /// chain's clock moves forward to that moment (block times never go back).
    Late,
}

impl PaymentScenario {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentScenario::Exact => "exact",
            PaymentScenario::Partial => "partial",
            PaymentScenario::Over => "over",
            PaymentScenario::Late => "late",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<PaymentScenario> {
        match s {
            "exact" => Ok(PaymentScenario::Exact),
            "partial" => Ok(PaymentScenario::Partial),
            "over" => Ok(PaymentScenario::Over),
            "late" => Ok(PaymentScenario::Late),
            _ => Err(Error::validation(
                field,
                format!("{field} must be one of exact, partial, over, late (got {s:?})"),
            )),
        }
    }
}

/// The body of `POST /dev/simulate-payment` (and the MCP `simulate_payment` tool).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulatePaymentRequest {
    /// Pay this order (ord_…) on its address. Exactly one of orderId and address.
    pub order_id: Option<String>,
    /// Pay this address instead, e.g. a deposit address (needs amount).
    pub address: Option<String>,
    /// exact (default), partial, over or late; for orders only.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PaymentScenario>))]
    pub scenario: Option<String>,
    /// Decimal string sent instead of the scenario's amount, e.g. "12.50".
    #[cfg_attr(feature = "openapi", schema(example = "10.00", pattern = r"^[0-9]+(\.[0-9]+)?$"))]
    pub amount: Option<String>,
    /// Token to send: the order's currency by default (USDT for an address). Another token
    /// than the order's shows what a wrong-token payment does.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Currency>))]
    pub currency: Option<String>,
}

/// A payment sent on the dev chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimulatedPayment {
    /// The order paid, when one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The scenario played, for an order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<PaymentScenario>,
    pub chain_id: String,
    /// The dev chain's funded payer account.
    pub from: String,
    pub to: String,
    pub currency: Currency,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "10.00"))]
    pub amount: Amount,
    pub tx_hash: String,
    pub block_number: u64,
    /// The block's timestamp.
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub block_time: Timestamp,
}

/// The body of `POST /dev/mine-blocks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MineBlocksRequest {
    /// Empty blocks to mine, 1 to 1000 (default 1): confirmations for pending payments.
    pub blocks: Option<u64>,
}

/// Blocks mined on the dev chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MinedBlocks {
    pub chain_id: String,
    pub blocks_mined: u64,
    /// The chain's head after mining.
    pub block_number: u64,
}

/// What a gateway built without dev chain support answers to the dev chain's calls.
pub fn not_built() -> Error {
    Error::DevChainUnavailable("this gateway was built without dev chain support (cargo feature `dev`)".to_string())
}
