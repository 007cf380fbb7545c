//! Settlement: what an observed transfer means, by the rules of design §4.
//!
//! The watcher reports transfers to watched addresses; the store finds who held the address
//! when the transfer's block was mined. What the transfer then means, what its confirmation or
//! reversal changes, and when an order expires are decided by the pure functions of [`rules`];
//! the store persists what they return, in the same transaction as the scan.

pub mod rules;

pub use rules::{OrderPayment, classify_order_payment};

use alloy::primitives::U256;
use serde::Serialize;

use crate::amount::{Amount, AmountUnits};
use crate::chain::Currency;
use crate::time::{Timestamp, serde_millis};

/// Tolerance between block timestamps (whole seconds, set by block producers) and the
/// gateway's clock when deciding who held an address when a block was mined: a payment mined
/// in the same second an order was created belongs to that order. Kept to two seconds because
/// a late payment to an address's previous order, mined within this window before the next
/// order was created, would be credited to the next one.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(2);

/// A token transfer seen on chain, to an address the gateway watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedTransfer {
    pub chain_id: String,
    pub tx_hash: String,
    pub log_index: u64,
    pub block_number: u64,
    pub block_hash: String,
    #[serde(with = "serde_millis")]
    pub block_time: Timestamp,
    /// Token contract.
    pub token: String,
    pub currency: Currency,
    pub from: String,
    pub to: String,
    pub amount: Amount,
}

impl ObservedTransfer {
    /// Converts raw base units; `None` if the value exceeds what an amount can hold.
    pub fn amount_from_units(units: U256, decimals: u8) -> Option<Amount> {
        Amount::from_base_units(units, decimals)
    }
}

/// A transfer's confirmation outcome, decided by the watcher against the canonical chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Still in the canonical chain with enough blocks on top.
    Confirmed {
        chain_id: String,
        tx_hash: String,
        log_index: u64,
        confirmations: u64,
    },
    /// Its block is no longer canonical.
    Reversed {
        chain_id: String,
        tx_hash: String,
        log_index: u64,
    },
}

/// An unconfirmed transfer the watcher must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransfer {
    pub tx_hash: String,
    pub log_index: u64,
    pub block_number: u64,
    pub block_hash: String,
}

/// One scanned block range and what it held, committed atomically with the cursor.
#[derive(Debug, Clone)]
pub struct Scan {
    pub chain_id: String,
    /// Blocks `from..=to` were scanned; the cursor moves to `to + 1`.
    pub from: u64,
    pub to: u64,
    pub to_hash: String,
    pub to_time: Timestamp,
    pub transfers: Vec<ObservedTransfer>,
    pub now: Timestamp,
}

/// Event payload of `order.payment_detected`, `order.late_payment` and `payment.reversed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEventData<'a, T: Serialize> {
    #[serde(flatten)]
    pub subject: &'a T,
    pub transfer: &'a ObservedTransfer,
}
