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
            shared: None,
            quote: None,
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
    fn tails_start_at_the_amount_and_step_up_past_taken_amounts() {
        let amount = Amount::parse_positive("amount", "10.50").unwrap();
        let step = tail_step(6);
        let none = |_: &str| false;
        assert_eq!(allocate_tail(amount, step, &none).unwrap().to_string(), "10.50");
        let taken = ["10.5", "10.500001"];
        let some = |k: &str| taken.contains(&k);
        assert_eq!(allocate_tail(amount, step, &some).unwrap().to_string(), "10.500002");
        let all = |_: &str| true;
        assert_eq!(allocate_tail(amount, step, &all), None);
    }

    #[test]
    fn the_tail_step_is_the_token_unit_but_at_most_six_places() {
        assert_eq!(tail_step(6).to_string(), "0.000001");
        assert_eq!(tail_step(18).to_string(), "0.000001");
        assert_eq!(tail_step(2).to_string(), "0.01");
        let a = Amount::from_stored("10.500000").unwrap();
        assert_eq!(pay_key(&a), "10.5");
        assert_eq!(pay_key(&Amount::from_stored("10").unwrap()), "10");
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
    /// Shared-address mode: the merchant's address and the tail step; `None` for a pool order.
    pub shared: Option<SharedReceive>,
    /// The fiat price and rate the amount was converted from, if it was.
    pub quote: Option<FiatQuote>,
}

/// Where a shared-address order is paid, and the step its amount tail grows by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedReceive {
    /// The merchant's address in its protocol's canonical spelling.
    pub address: String,
    /// One tail step (see [`tail_step`]).
    pub step: Amount,
}

/// A fiat price converted into the order's token amount (see `crate::rates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiatQuote {
    /// ISO 4217 code, e.g. `CNY`.
    pub currency: String,
    pub amount: Amount,
    /// Fiat units per token unit.
    pub rate: Amount,
}

/// Most tail steps tried above an amount before a shared address is reported full.
pub const MAX_TAIL_STEPS: u32 = 10_000;

/// One step of a shared-address amount tail for a token with `decimals` places: the token's
/// smallest unit, but never finer than 0.000001 (a payer types the amount; 18-decimal DAI gets
/// 0.000001 too).
pub fn tail_step(decimals: u8) -> Amount {
    Amount::from_decimal(rust_decimal::Decimal::new(1, u32::from(decimals.min(6))))
}

/// The key of a payable amount in tail locks and matching: its value without trailing zeros,
/// so `10.5` and `10.500000` are the same amount, as they are on chain.
pub fn pay_key(a: &Amount) -> String {
    a.as_decimal().normalize().to_string()
}

/// The smallest payable amount `amount + n × step` (`n` from 0) whose [`pay_key`] `taken` does
/// not hold, written with the scale of `amount` or of `step` once a tail is added. `None` after
/// [`MAX_TAIL_STEPS`] taken amounts.
pub fn allocate_tail(amount: Amount, step: Amount, taken: &impl Fn(&str) -> bool) -> Option<Amount> {
    let base = amount.as_decimal();
    let step = step.as_decimal();
    for n in 0..MAX_TAIL_STEPS {
        let mut candidate = base + step * rust_decimal::Decimal::from(n);
        if n > 0 && candidate.scale() < step.scale() {
            candidate.rescale(step.scale());
        }
        let candidate = Amount::from_decimal(candidate);
        if !taken(&pay_key(&candidate)) {
            return Some(candidate);
        }
    }
    None
}

/// The error of a shared address whose every tail within [`MAX_TAIL_STEPS`] is taken.
pub fn tails_exhausted(address: &str, amount: &Amount) -> crate::error::Error {
    crate::error::Error::validation(
        "receiveAddress",
        format!(
            "receiveAddress {address} has no free amount tail for {amount}: the next {MAX_TAIL_STEPS} steps \
             are held by live orders; retry after some expire, or use another address"
        ),
    )
}

impl NewOrder {
    pub fn grace_ends_at(&self) -> Timestamp {
        self.expires_at + chrono::Duration::minutes(i64::from(self.grace_minutes))
    }

    /// The order as it reads once `address` is assigned (a pool order pays `amount`).
    pub fn into_order(self, address: String) -> Order {
        let pay_amount = self.amount;
        self.into_order_paying(address, pay_amount)
    }

    /// The order as it reads once `address` is assigned and `pay_amount` allocated.
    pub fn into_order_paying(self, address: String, pay_amount: Amount) -> Order {
        let (fiat_currency, fiat_amount, rate) = match self.quote {
            Some(q) => (Some(q.currency), Some(q.amount), Some(q.rate)),
            None => (None, None, None),
        };
        Order {
            amount_received: Amount::zero_with_scale(pay_amount.scale()),
            pay_amount,
            shared_address: self.shared.is_some(),
            fiat_currency,
            fiat_amount,
            rate,
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
