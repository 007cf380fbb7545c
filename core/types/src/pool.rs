//! The address pool as clients see it: imports and per-protocol counts.

use serde::{Deserialize, Serialize};

use crate::chain::Protocol;

/// Body of `POST /addresses/import`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportAddressesRequest {
    /// "evm" or "tron".
    #[cfg_attr(feature = "openapi", schema(value_type = Protocol))]
    pub protocol: String,
    /// Watch-only addresses you control; 1 to 100,000 per request.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100000))]
    pub addresses: Vec<String>,
}

/// Result of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub protocol: Protocol,
    /// Addresses in the request.
    pub received: u64,
    /// Addresses newly added to the pool.
    pub imported: u64,
    /// Addresses already in the pool (or repeated in the request), left as they were.
    pub duplicates: u64,
}

/// Address counts of one protocol's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolStatus {
    pub protocol: Protocol,
    pub available: u64,
    pub assigned: u64,
    pub cooldown: u64,
    pub total: u64,
    pub low_watermark: u32,
    /// True when fewer than `lowWatermark` addresses are available.
    pub low: bool,
}

/// Most addresses one import takes.
pub const MAX_IMPORT: usize = 100_000;
