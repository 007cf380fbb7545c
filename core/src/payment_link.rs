//! Payment links: a public checkout (`/checkout/{slug}`) opening one order per payer.
//! `draft → active → archived`. Inventory is derived, never counted by hand: a link's pending
//! orders reserve a unit each, its completed orders are sold units, an expired order holds
//! nothing — so completion consumes and expiry releases a unit in the very transaction that
//! changes the order. Opening an order checks the link and its inventory under the writer lock
//! (SQLite) or the link's row lock (PostgreSQL), so the last unit is sold once.

use crate::amount::Amount;
use crate::chain::Currency;
use crate::metadata::Metadata;
use crate::order::Order;
use crate::time::Timestamp;

pub use payin_types::payment_link::*;

/// A link ready to be stored.
#[derive(Debug, Clone)]
pub struct NewPaymentLink {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// Zero: the payer chooses.
    pub amount: Amount,
    pub min_amount: Option<Amount>,
    pub max_amount: Option<Amount>,
    pub currencies: Vec<(Currency, String)>,
    pub inventory_total: Option<u64>,
    pub expires_at: Option<Timestamp>,
    pub metadata: Metadata,
    pub created_at: Timestamp,
}

/// Why a link opens no order right now. What the checkout page shows, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Unknown slug, or a draft: not public (404).
    NotFound,
    /// Archived by the merchant (410).
    Archived,
    /// Past its `expiresAt` (410).
    Expired,
    /// Every unit is reserved or sold (409: units may come back when pending orders expire).
    SoldOut,
}

impl LinkRefusal {
    pub fn status_code(self) -> u16 {
        match self {
            LinkRefusal::NotFound => 404,
            LinkRefusal::Archived | LinkRefusal::Expired => 410,
            LinkRefusal::SoldOut => 409,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkRefusal::NotFound => "not_found",
            LinkRefusal::Archived => "archived",
            LinkRefusal::Expired => "expired",
            LinkRefusal::SoldOut => "sold_out",
        }
    }
}

/// What a link's state says about selling now (`None`: it may sell).
pub fn refusal(link: &PaymentLink, now: Timestamp) -> Option<LinkRefusal> {
    match link.status {
        PaymentLinkStatus::Draft => Some(LinkRefusal::NotFound),
        PaymentLinkStatus::Archived => Some(LinkRefusal::Archived),
        PaymentLinkStatus::Active if link.expires_at.is_some_and(|t| t <= now) => Some(LinkRefusal::Expired),
        PaymentLinkStatus::Active if link.inventory_remaining == Some(0) => Some(LinkRefusal::SoldOut),
        PaymentLinkStatus::Active => None,
    }
}

/// How opening an order from a link ended.
#[derive(Debug, Clone)]
pub enum LinkOrder {
    Opened(Box<Order>),
    Refused(LinkRefusal),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(status: PaymentLinkStatus, remaining: Option<u64>, expires_at: Option<Timestamp>) -> PaymentLink {
        let now = chrono::Utc::now();
        PaymentLink {
            id: "plk_1".into(),
            slug: "abc".into(),
            title: "t".into(),
            description: None,
            amount: Amount::zero_with_scale(0),
            min_amount: None,
            max_amount: None,
            currencies: vec![],
            status,
            inventory_total: remaining.map(|_| 1),
            inventory_reserved: 0,
            inventory_sold: 0,
            inventory_remaining: remaining,
            expires_at,
            metadata: Metadata::new(),
            checkout_url: String::new(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn only_an_active_unexpired_link_with_stock_sells() {
        let now = chrono::Utc::now();
        assert_eq!(refusal(&link(PaymentLinkStatus::Active, None, None), now), None);
        assert_eq!(refusal(&link(PaymentLinkStatus::Active, Some(1), None), now), None);
        assert_eq!(
            refusal(&link(PaymentLinkStatus::Draft, None, None), now),
            Some(LinkRefusal::NotFound)
        );
        assert_eq!(
            refusal(&link(PaymentLinkStatus::Archived, None, None), now),
            Some(LinkRefusal::Archived)
        );
        assert_eq!(
            refusal(&link(PaymentLinkStatus::Active, Some(0), None), now),
            Some(LinkRefusal::SoldOut)
        );
        assert_eq!(
            refusal(&link(PaymentLinkStatus::Active, None, Some(now)), now),
            Some(LinkRefusal::Expired)
        );
        assert_eq!(LinkRefusal::SoldOut.status_code(), 409);
        assert_eq!(LinkRefusal::Expired.status_code(), 410);
    }
}
