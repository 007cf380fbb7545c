//! The address pool: per protocol, addresses move available → assigned → cooldown → available.

pub mod hd;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressState {
    Available,
    Assigned,
    Cooldown,
    /// An `address_reuse = "never"` address whose late-payment watch ended: never watched or
    /// assigned again.
    Retired,
}

impl AddressState {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressState::Available => "available",
            AddressState::Assigned => "assigned",
            AddressState::Cooldown => "cooldown",
            AddressState::Retired => "retired",
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
    pub retired: u64,
}

/// A stored watch-only HD key (see [`hd`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdKeyRecord {
    pub id: String,
    pub protocol: crate::chain::Protocol,
    /// Canonical spelling of the account xpub.
    pub xpub: String,
    pub fingerprint: String,
    pub account: u32,
    pub start_index: u32,
    /// Next index to derive; every index below it was derived once.
    pub next_index: u32,
    pub created_at: crate::time::Timestamp,
}

/// Derives addresses `range` of an xpub as `(index, address)`, skipping indices BIP-32 declares
/// invalid. Called by the store inside the transaction that holds the key's index.
pub type DeriveRange<'a> =
    &'a (dyn Fn(&str, std::ops::Range<u32>) -> crate::error::Result<Vec<(u32, String)>> + Send + Sync);

/// What one top-up of a pool from its HD key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopUp {
    /// Whether the protocol has an HD key at all.
    pub has_key: bool,
    /// Addresses inserted as available.
    pub added: u64,
    /// Indices consumed (above `added` when some derived address was already in the pool).
    pub derived: u64,
}
