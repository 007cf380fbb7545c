//! Orders: one-time payments, each with its own address from the pool.
//! `pending → completed | expired`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::error::Error;
use crate::metadata::Metadata;
use crate::page::{PageRequest, SortOrder};
use crate::time::{Timestamp, serde_millis};

pub const MAX_REFERENCE_LEN: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Completed,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Completed => "completed",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<OrderStatus, Error> {
        match s {
            "pending" => Ok(OrderStatus::Pending),
            "completed" => Ok(OrderStatus::Completed),
            "expired" => Ok(OrderStatus::Expired),
            _ => Err(Error::validation(
                field,
                format!("{field} must be one of pending, completed, expired"),
            )),
        }
    }

    pub fn is_terminal(self) -> bool {
        self != OrderStatus::Pending
    }
}

/// The body of `POST /orders` (and the MCP `create_order` tool), as the client sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// Your unique order identifier (at most 255 characters).
    pub order_reference: String,
    /// Decimal string, e.g. "100.00"; at most the token's decimals.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.00"))]
    pub amount: Value,
    /// USDT, USDC or DAI.
    pub currency: String,
    /// Chain id string, e.g. "ethereum" or "polygon-amoy" (see GET /chains).
    pub chain_id: String,
    /// At most 10 key/value pairs, echoed in responses and webhooks.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Overrides the configured payment window for this order (1 to 10080).
    pub payment_window_minutes: Option<u32>,
    /// Overrides the configured grace period for this order (0 to 1440).
    pub grace_minutes: Option<u32>,
}

/// Parses an order reference (or deposit reference): 1 to 255 characters, no control characters.
pub fn parse_reference(field: &str, s: &str) -> Result<String, Error> {
    if s.is_empty() {
        return Err(Error::validation(field, format!("{field} must not be empty")));
    }
    if s.chars().count() > MAX_REFERENCE_LEN {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {MAX_REFERENCE_LEN} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(s.to_string())
}

/// A one-time payment order as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[cfg_attr(feature = "openapi", schema(example = "ord_k3j9x2m4p7q1w8e5"))]
    pub order_id: String,
    pub order_reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.00"))]
    pub amount: Amount,
    pub currency: Currency,
    pub chain_id: String,
    pub protocol: Protocol,
    pub address: String,
    pub status: OrderStatus,
    /// Sum of counted payments so far, in the order's scale.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub amount_received: Amount,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Metadata,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Hosted payment page for this order.
    pub payment_url: String,
    pub payment_window_minutes: u32,
    pub grace_minutes: u32,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<Timestamp>,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expired_at: Option<Timestamp>,
    /// The completing payment's transaction (set when the order completes).
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
    pub confirmations: Option<u64>,
    /// What was paid beyond `amount`, once completed by an overpayment.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub surplus: Option<Amount>,
}

impl Order {
    /// When payments stop counting: `expiresAt + grace`.
    pub fn grace_ends_at(&self) -> Timestamp {
        self.expires_at + chrono::Duration::minutes(i64::from(self.grace_minutes))
    }

    /// Where the payer goes once the order has ended: `successUrl` when completed, `cancelUrl`
    /// when expired, with `orderReference, status, amount, currency, chainId` (and `txHash` of
    /// a completed order) appended to its query. `None` while pending or without a URL.
    pub fn redirect_url(&self) -> Option<String> {
        let base = match self.status {
            OrderStatus::Pending => return None,
            OrderStatus::Completed => self.success_url.as_deref()?,
            OrderStatus::Expired => self.cancel_url.as_deref()?,
        };
        // Validated when the order was created; a URL that no longer parses gets no redirect.
        let mut url = url::Url::parse(base).ok()?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("orderReference", &self.order_reference)
                .append_pair("status", self.status.as_str())
                .append_pair("amount", &self.amount.to_string())
                .append_pair("currency", self.currency.as_str())
                .append_pair("chainId", &self.chain_id);
            if let Some(tx_hash) = &self.tx_hash {
                query.append_pair("txHash", tx_hash);
            }
        }
        Some(url.into())
    }
}

/// Fields `GET /orders` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderSortBy {
    #[default]
    CreatedAt,
    Amount,
    ExpiresAt,
}

impl OrderSortBy {
    pub fn parse(s: Option<&str>) -> Result<OrderSortBy, Error> {
        match s {
            None | Some("createdAt") => Ok(OrderSortBy::CreatedAt),
            Some("amount") => Ok(OrderSortBy::Amount),
            Some("expiresAt") => Ok(OrderSortBy::ExpiresAt),
            Some(_) => Err(Error::validation(
                "sortBy",
                "sortBy must be one of createdAt, amount, expiresAt",
            )),
        }
    }
}

/// A validated `GET /orders` query.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub page: PageRequest,
    pub status: Option<OrderStatus>,
    pub currency: Option<Currency>,
    pub chain_id: Option<String>,
    /// Substring match on the order reference, case-insensitive.
    pub order_reference: Option<String>,
    pub sort_by: OrderSortBy,
    pub sort_order: SortOrder,
}

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

    #[test]
    fn references_are_bounded() {
        assert!(parse_reference("orderReference", "ORDER-2025-001").is_ok());
        assert!(parse_reference("orderReference", &"x".repeat(255)).is_ok());
        assert!(parse_reference("orderReference", &"x".repeat(256)).is_err());
        assert!(parse_reference("orderReference", "").is_err());
        assert!(parse_reference("orderReference", "a\nb").is_err());
    }

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
        }
    }
}
