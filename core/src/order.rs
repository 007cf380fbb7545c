//! Orders: one-time payments, each with its own address from the pool.
//! `pending → completed | expired`.

use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::metadata::Metadata;
use crate::time::Timestamp;

pub use payin_types::order::*;

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` substring pattern.
pub fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: OrderStatus) -> Order {
        let created = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2025, 1, 20, 10, 30, 0).unwrap();
        let mut order = NewOrder {
            order_id: "ord_1".into(),
            order_reference: "INV 7/8&more".into(),
            amount: Amount::parse_positive("amount", "10.50").unwrap(),
            currency: Currency::Usdt,
            chain_id: "ethereum".into(),
            protocol: Protocol::Evm,
            metadata: Default::default(),
            success_url: Some("https://shop.example/paid?cart=9".into()),
            cancel_url: Some("https://shop.example/cancelled".into()),
            payment_url: String::new(),
            payment_window_minutes: 10,
            grace_minutes: 5,
            created_at: created,
            expires_at: created + chrono::Duration::minutes(10),
            payment_link_id: None,
        }
        .into_order("0x1".into());
        order.status = status;
        order
    }

    #[test]
    fn ended_orders_redirect_with_their_outcome_appended() {
        assert_eq!(order(OrderStatus::Pending).redirect_url(), None);
        let mut done = order(OrderStatus::Completed);
        done.tx_hash = Some("0xabc".into());
        assert_eq!(
            done.redirect_url().unwrap(),
            "https://shop.example/paid?cart=9&orderReference=INV+7%2F8%26more&status=completed&amount=10.50\
             &currency=USDT&chainId=ethereum&txHash=0xabc"
        );
        assert_eq!(
            order(OrderStatus::Expired).redirect_url().unwrap(),
            "https://shop.example/cancelled?orderReference=INV+7%2F8%26more&status=expired&amount=10.50\
             &currency=USDT&chainId=ethereum"
        );
        let mut nowhere = order(OrderStatus::Expired);
        nowhere.cancel_url = None;
        assert_eq!(nowhere.redirect_url(), None);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}

/// An order ready to be stored: everything but the address, which the store claims from the
/// pool in the same transaction as the insert.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: String,
    pub order_reference: String,
    pub amount: Amount,
    pub currency: Currency,
    pub chain_id: String,
    pub protocol: Protocol,
    pub metadata: Metadata,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub payment_url: String,
    pub payment_window_minutes: u32,
    pub grace_minutes: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The payment link whose checkout opens the order.
    pub payment_link_id: Option<String>,
}

impl NewOrder {
    pub fn grace_ends_at(&self) -> Timestamp {
        self.expires_at + chrono::Duration::minutes(i64::from(self.grace_minutes))
    }

    /// The order as it reads once `address` is assigned.
    pub fn into_order(self, address: String) -> Order {
        Order {
            amount_received: Amount::zero_with_scale(self.amount.scale()),
            order_id: self.order_id,
            order_reference: self.order_reference,
            amount: self.amount,
            currency: self.currency,
            chain_id: self.chain_id,
            protocol: self.protocol,
            address,
            status: OrderStatus::Pending,
            metadata: self.metadata,
            success_url: self.success_url,
            cancel_url: self.cancel_url,
            payment_url: self.payment_url,
            payment_window_minutes: self.payment_window_minutes,
            grace_minutes: self.grace_minutes,
            created_at: self.created_at,
            expires_at: self.expires_at,
            completed_at: None,
            expired_at: None,
            tx_hash: None,
            block_number: None,
            confirmations: None,
            surplus: None,
            payment_link_id: self.payment_link_id,
        }
    }
}
