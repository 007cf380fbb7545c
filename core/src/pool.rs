//! The address pool: per protocol, addresses move available → assigned → cooldown → available.

use serde::{Deserialize, Serialize};

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

pub use payin_types::pool::*;

/// Raw counts as a store reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub available: u64,
    pub assigned: u64,
    pub cooldown: u64,
}
