//! Orders: one-time payments, each with its own address from the pool.
//! `pending → completed | expired`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::error::{Error, InvalidCode};
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
    /// Your unique order identifier: 1 to 255 characters, not only whitespace, without
    /// control or bidirectional formatting characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]+$"
        )
    )]
    pub order_reference: String,
    /// Decimal string, e.g. "100.00", greater than zero; at most the token's decimals.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.00", pattern = r"^[0-9]+(\.[0-9]+)?$"))]
    pub amount: Value,
    /// USDT, USDC or DAI.
    #[cfg_attr(feature = "openapi", schema(value_type = Currency))]
    pub currency: String,
    /// Chain id string, e.g. "ethereum" or "polygon-amoy" (see GET /chains); a watched chain.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, example = "ethereum"))]
    pub chain_id: String,
    /// At most 10 key/value pairs (keys of 1 to 40 characters, 4096 bytes as JSON, nested at
    /// most 32 levels), echoed in responses and webhooks.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
    /// Absolute http(s) URL, at most 2048 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 2048, format = "uri"))]
    pub success_url: Option<String>,
    /// Absolute http(s) URL, at most 2048 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 2048, format = "uri"))]
    pub cancel_url: Option<String>,
    /// Overrides the configured payment window for this order (1 to 10080).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10080))]
    pub payment_window_minutes: Option<u32>,
    /// Overrides the configured grace period for this order (0 to 1440).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1440))]
    pub grace_minutes: Option<u32>,
    /// Shared-address mode: your own fixed address on the chain (0x… for EVM chains, T… for
    /// Tron) instead of one from the pool. The order's `payAmount` then carries a unique tail
    /// (amount + n × 0.000001) among the live orders on this chain, token and address, and a
    /// transfer pays it only if it is exactly `payAmount`. Must not be an address of the pool.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0"))]
    pub receive_address: Option<String>,
}

/// A create-order request parsed into domain values: what the engine opens an order from.
/// `C` is what the server's chain lookup resolved `chainId` to (its network).
#[derive(Debug, Clone)]
pub struct OrderDraft<C> {
    pub order_reference: String,
    pub amount: Amount,
    pub currency: Currency,
    pub chain: C,
    pub metadata: Metadata,
    /// `None`: the configured default.
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub payment_window_minutes: Option<u32>,
    pub grace_minutes: Option<u32>,
    /// Shared-address mode: the merchant's own address, as sent (the server normalizes it
    /// for the chain's protocol and checks it is not a pool address).
    pub receive_address: Option<String>,
}

impl CreateOrderRequest {
    /// The request as sent, parsed once into an [`OrderDraft`]. `chain` resolves `chainId` for
    /// the currency and amount (known, watched, with the token configured, within the token's
    /// decimals: the registry is the server's). Fields are checked in the order they are
    /// listed, so the first bad one is the one reported.
    pub fn parse<C, E: From<Error>>(
        &self,
        chain: impl FnOnce(&str, Currency, &Amount) -> Result<C, E>,
    ) -> Result<OrderDraft<C>, E> {
        let order_reference = parse_reference("orderReference", &self.order_reference)?;
        let amount = match &self.amount {
            Value::String(s) => Amount::parse_positive("amount", s)?,
            Value::Null => return Err(Error::invalid(InvalidCode::Amount, "amount", "amount is required").into()),
            _ => {
                return Err(Error::invalid(
                    InvalidCode::Amount,
                    "amount",
                    "amount must be a decimal string like \"100.00\", not a JSON number",
                )
                .into());
            }
        };
        let currency = Currency::parse("currency", &self.currency)?;
        let chain = chain(&self.chain_id, currency, &amount)?;
        let metadata = crate::metadata::parse("metadata", self.metadata.as_ref())?;
        let redirect = |field: &str, url: &Option<String>| {
            url.as_deref()
                .map(|u| crate::config::redirect_url(field, u))
                .transpose()
        };
        let success_url = redirect("successUrl", &self.success_url)?;
        let cancel_url = redirect("cancelUrl", &self.cancel_url)?;
        let minutes = |field: &str, value: Option<u32>, min: u32, max: u32| {
            value
                .map(|m| crate::config::minutes(field, &m.into(), min, max))
                .transpose()
        };
        Ok(OrderDraft {
            order_reference,
            amount,
            currency,
            chain,
            metadata,
            success_url,
            cancel_url,
            payment_window_minutes: minutes(
                "paymentWindowMinutes",
                self.payment_window_minutes,
                1,
                crate::config::MAX_WINDOW_MINUTES,
            )?,
            grace_minutes: minutes("graceMinutes", self.grace_minutes, 0, crate::config::MAX_GRACE_MINUTES)?,
            receive_address: match self.receive_address.as_deref() {
                None => None,
                Some(a) if a.trim().is_empty() => {
                    return Err(Error::validation("receiveAddress", "receiveAddress must not be empty").into());
                }
                Some(a) => Some(a.trim().to_string()),
            },
        })
    }
}

/// Parses an order reference (or deposit reference): 1 to 255 characters, not only whitespace,
/// no control characters and no bidirectional-text controls (a reference shown on a payment
/// page or in a dashboard must read as what it is).
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
    if s.chars().all(char::is_whitespace) {
        return Err(Error::validation(field, format!("{field} must not be only whitespace")));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    if let Some(c) = s.chars().find(|c| is_invisible_format(*c)) {
        return Err(Error::validation(
            field,
            format!(
                "{field} must not contain bidirectional or invisible formatting characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(s.to_string())
}

/// Characters that change how the text around them is displayed without being visible
/// themselves: the bidirectional controls (U+061C, U+200E/F, U+202A–E, U+2066–9), the line and
/// paragraph separators, zero-width spaces and the byte-order mark.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
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
    /// What the payer must send: `amount` for an order with its own pool address; for a
    /// shared-address order (`receiveAddress` at creation) `amount` plus the order's unique
    /// tail, to be sent exactly.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.000001"))]
    pub pay_amount: Amount,
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
    /// The payment link (`plk_…`) whose checkout opened this order; `null` otherwise.
    #[serde(default)]
    pub payment_link_id: Option<String>,
    /// True when the order is paid to a shared address (the merchant's `receiveAddress`),
    /// matched by exact `payAmount`; false for an order with its own pool address.
    #[serde(default)]
    pub shared_address: bool,
    /// The fiat currency the order was priced in (e.g. `CNY`), when it was converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiat_currency: Option<String>,
    /// The fiat price the order was created from, when it was converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "72.00"))]
    pub fiat_amount: Option<Amount>,
    /// The rate used: fiat units per token unit (e.g. CNY per USDT), when it was converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "7.2"))]
    pub rate: Option<Amount>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "camelCase"))]
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

/// Query of `GET /orders`, as sent (parsed by the engine so every front-end reports the same errors).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct OrderListQuery {
    /// Page number, from 1.
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<String>,
    /// pending, completed or expired.
    #[cfg_attr(feature = "openapi", param(value_type = Option<OrderStatus>))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<Currency>))]
    pub currency: Option<String>,
    pub chain_id: Option<String>,
    /// Case-insensitive substring of the order reference.
    pub order_reference: Option<String>,
    /// createdAt (default), amount or expiresAt.
    #[cfg_attr(feature = "openapi", param(value_type = Option<OrderSortBy>))]
    pub sort_by: Option<String>,
    /// asc or desc (default).
    #[cfg_attr(feature = "openapi", param(value_type = Option<SortOrder>))]
    pub sort_order: Option<String>,
}

impl OrderListQuery {
    /// The query as sent, parsed once into a validated filter. `chain` resolves a chain id
    /// (the registry is the server's); fields are checked in the order they are listed, so
    /// the first bad one is the one reported.
    pub fn parse<E: From<Error>>(&self, chain: impl FnOnce(&str) -> Result<String, E>) -> Result<OrderFilter, E> {
        Ok(OrderFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            status: self
                .status
                .as_deref()
                .map(|s| OrderStatus::parse("status", s))
                .transpose()?,
            currency: self
                .currency
                .as_deref()
                .map(|c| Currency::parse("currency", c))
                .transpose()?,
            chain_id: self.chain_id.as_deref().map(chain).transpose()?,
            order_reference: self.order_reference.clone().filter(|s| !s.is_empty()),
            sort_by: OrderSortBy::parse(self.sort_by.as_deref())?,
            sort_order: SortOrder::parse(self.sort_order.as_deref())?,
        })
    }
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
        assert!(
            parse_reference("orderReference", "ORDER 1").is_ok(),
            "inner spaces are fine"
        );
        assert!(parse_reference("orderReference", "résumé-注文-1").is_ok());
        for bad in [
            " ",
            "  \t ",
            "\u{3000}",
            "inv\u{202E}1-gpj.exe",
            "a\u{2066}b",
            "a\u{200B}b",
            "\u{FEFF}a",
            "a\u{0}b",
        ] {
            let e = parse_reference("orderReference", bad).unwrap_err();
            assert_eq!(e.field(), Some("orderReference"), "{bad:?}");
        }
    }

    fn known_chain(id: &str) -> Result<String, Error> {
        match id {
            "ethereum" => Ok(id.to_string()),
            _ => Err(Error::invalid(
                crate::error::InvalidCode::Chain,
                "chainId",
                "unknown chain",
            )),
        }
    }

    #[test]
    fn an_order_list_query_parses_into_a_typed_filter() {
        let q = OrderListQuery {
            page: Some("2".into()),
            limit: Some("50".into()),
            status: Some("completed".into()),
            currency: Some("USDC".into()),
            chain_id: Some("ethereum".into()),
            order_reference: Some(String::new()),
            sort_by: Some("amount".into()),
            sort_order: Some("asc".into()),
        };
        let f = q.parse(known_chain).unwrap();
        assert_eq!(f.page, PageRequest { page: 2, limit: 50 });
        assert_eq!(
            (f.status, f.currency),
            (Some(OrderStatus::Completed), Some(Currency::Usdc))
        );
        assert_eq!(f.chain_id.as_deref(), Some("ethereum"));
        assert_eq!(f.order_reference, None, "an empty search is no search");
        assert_eq!((f.sort_by, f.sort_order), (OrderSortBy::Amount, SortOrder::Asc));
        let defaults = OrderListQuery::default().parse(known_chain).unwrap();
        assert_eq!(
            (defaults.sort_by, defaults.sort_order),
            (OrderSortBy::CreatedAt, SortOrder::Desc)
        );
    }

    #[test]
    fn the_first_bad_field_of_a_list_query_is_the_one_reported() {
        let q = OrderListQuery {
            currency: Some("EUR".into()),
            chain_id: Some("mars".into()),
            sort_by: Some("colour".into()),
            ..OrderListQuery::default()
        };
        assert_eq!(q.parse(known_chain).unwrap_err().field(), Some("currency"));
        let q = OrderListQuery { currency: None, ..q };
        assert_eq!(q.parse(known_chain).unwrap_err().code(), "INVALID_CHAIN");
        let q = OrderListQuery { chain_id: None, ..q };
        assert_eq!(q.parse(known_chain).unwrap_err().field(), Some("sortBy"));
    }

    fn request(amount: Value) -> CreateOrderRequest {
        CreateOrderRequest {
            order_reference: "ORDER-1".into(),
            amount,
            currency: "USDT".into(),
            chain_id: "ethereum".into(),
            ..Default::default()
        }
    }

    fn parse(req: &CreateOrderRequest) -> Result<OrderDraft<String>, Error> {
        req.parse(|id, _, _| known_chain(id))
    }

    #[test]
    fn a_create_order_request_parses_into_a_draft_leaving_defaults_to_the_server() {
        let draft = parse(&request(Value::String("10.50".into()))).unwrap();
        assert_eq!(draft.order_reference, "ORDER-1");
        assert_eq!(draft.amount, Amount::parse_positive("amount", "10.5").unwrap());
        assert_eq!(draft.currency, Currency::Usdt);
        assert_eq!(draft.chain, "ethereum");
        assert!(draft.metadata.is_empty());
        assert_eq!(
            (draft.success_url, draft.payment_window_minutes, draft.grace_minutes),
            (None, None, None)
        );
    }

    #[test]
    fn the_amount_must_be_a_decimal_string() {
        for (amount, message) in [
            (serde_json::json!(10), "not a JSON number"),
            (Value::Null, "amount is required"),
            (Value::String("-1".into()), ""),
        ] {
            let e = parse(&request(amount.clone())).unwrap_err();
            assert_eq!((e.code(), e.field()), ("INVALID_AMOUNT", Some("amount")), "{amount}");
            assert!(e.to_string().contains(message), "{amount}: {e}");
        }
    }

    #[test]
    fn the_first_bad_field_in_request_order_is_reported() {
        let mut req = request(Value::String("1".into()));
        req.chain_id = "nowhere".into();
        req.grace_minutes = Some(100_000);
        let e = parse(&req).unwrap_err();
        assert_eq!((e.code(), e.field()), ("INVALID_CHAIN", Some("chainId")));
        req.chain_id = "ethereum".into();
        let e = parse(&req).unwrap_err();
        assert_eq!((e.code(), e.field()), ("VALIDATION_ERROR", Some("graceMinutes")));
        req.grace_minutes = Some(0);
        req.success_url = Some("javascript:alert(1)".into());
        assert_eq!(parse(&req).unwrap_err().field(), Some("successUrl"));
    }
}
