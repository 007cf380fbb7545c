//! Settlement: what an observed transfer means, by the rules of design §4.
//!
//! The watcher reports transfers to watched addresses; the store finds who held the address
//! when the transfer's block was mined and asks [`classify`] what the transfer is. Counting,
//! confirming and reversing then happen in the store, in the same transaction as the scan.

use alloy::primitives::U256;
use serde::Serialize;

use crate::amount::Amount;
use crate::chain::Currency;
use crate::order::{Order, OrderStatus};
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

/// What a transfer is to the order that held its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderPayment {
    /// Counts toward the order.
    Payment,
    /// The order had ended (or the grace period was over) when the block was mined.
    Late,
    /// Wrong token or wrong chain: recorded against the order, never counted.
    Mismatch,
}

/// Applies the order rules: right chain and token, mined by `expiresAt + grace`, order pending.
pub fn classify_order_payment(order: &Order, t: &ObservedTransfer) -> OrderPayment {
    if order.chain_id != t.chain_id || order.currency != t.currency {
        OrderPayment::Mismatch
    } else if order.status == OrderStatus::Pending && t.block_time <= order.grace_ends_at() {
        OrderPayment::Payment
    } else {
        OrderPayment::Late
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Protocol;
    use chrono::{Duration, TimeZone, Utc};

    fn order() -> Order {
        let created = Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap();
        crate::order::NewOrder {
            order_id: "ord_1".into(),
            order_reference: "r".into(),
            amount: Amount::parse_positive("amount", "10").unwrap(),
            currency: Currency::Usdt,
            chain_id: "ethereum".into(),
            protocol: Protocol::Evm,
            metadata: Default::default(),
            success_url: None,
            cancel_url: None,
            payment_url: String::new(),
            payment_window_minutes: 10,
            grace_minutes: 5,
            created_at: created,
            expires_at: created + Duration::minutes(10),
        }
        .into_order("0x1".into())
    }

    fn transfer(at: Timestamp) -> ObservedTransfer {
        ObservedTransfer {
            chain_id: "ethereum".into(),
            tx_hash: "0xaa".into(),
            log_index: 0,
            block_number: 1,
            block_hash: "0xbb".into(),
            block_time: at,
            token: "0xtoken".into(),
            currency: Currency::Usdt,
            from: "0xfrom".into(),
            to: "0x1".into(),
            amount: Amount::parse_positive("amount", "10").unwrap(),
        }
    }

    #[test]
    fn payments_count_until_expiry_plus_grace() {
        let o = order();
        assert_eq!(
            classify_order_payment(&o, &transfer(o.grace_ends_at())),
            OrderPayment::Payment
        );
        let late = transfer(o.grace_ends_at() + Duration::seconds(1));
        assert_eq!(classify_order_payment(&o, &late), OrderPayment::Late);
    }

    #[test]
    fn terminal_orders_get_late_payments_and_wrong_tokens_never_count() {
        let mut o = order();
        let t = transfer(o.created_at);
        let mut wrong = t.clone();
        wrong.currency = Currency::Usdc;
        assert_eq!(classify_order_payment(&o, &wrong), OrderPayment::Mismatch);
        let mut other_chain = t.clone();
        other_chain.chain_id = "polygon".into();
        assert_eq!(classify_order_payment(&o, &other_chain), OrderPayment::Mismatch);
        o.status = OrderStatus::Completed;
        assert_eq!(classify_order_payment(&o, &t), OrderPayment::Late);
    }
}
