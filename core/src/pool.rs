//! The address pool: per protocol, addresses move available → assigned → cooldown → available.

use serde::{Deserialize, Serialize};

use crate::chain::Protocol;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressState {
    Available,
    Assigned,
    Cooldown,
}

impl AddressState {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressState::Available => "available",
            AddressState::Assigned => "assigned",
            AddressState::Cooldown => "cooldown",
        }
    }
}

/// Body of `POST /addresses/import`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportAddressesRequest {
    /// "evm" or "tron".
    pub protocol: String,
    /// Watch-only addresses you control; at most 100,000 per request.
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

/// Raw counts as a store reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub available: u64,
    pub assigned: u64,
    pub cooldown: u64,
}

pub const MAX_IMPORT: usize = 100_000;
