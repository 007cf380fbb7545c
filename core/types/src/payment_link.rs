//! Payment links: a shareable checkout (`/checkout/{slug}`) that opens a new order for each
//! payer. `draft → active → archived`; a fixed price or, with amount `"0"`, the payer's own
//! amount (optionally between `minAmount` and `maxAmount`); optional inventory and expiry.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::amount::Amount;
use crate::chain::Currency;
use crate::error::{Error, InvalidCode};
use crate::metadata::Metadata;
use crate::page::PageRequest;
use crate::time::{Timestamp, serde_millis};

/// Longest title.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 2000;
/// Most currency/chain choices of one link.
pub const MAX_CURRENCIES: usize = 20;
/// Largest inventory.
pub const MAX_INVENTORY: u64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PaymentLinkStatus {
    Draft,
    Active,
    Archived,
}

impl PaymentLinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentLinkStatus::Draft => "draft",
            PaymentLinkStatus::Active => "active",
            PaymentLinkStatus::Archived => "archived",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<PaymentLinkStatus, Error> {
        match s {
            "draft" => Ok(PaymentLinkStatus::Draft),
            "active" => Ok(PaymentLinkStatus::Active),
            "archived" => Ok(PaymentLinkStatus::Archived),
            _ => Err(Error::validation(
                field,
                format!("{field} must be one of draft, active, archived"),
            )),
        }
    }
}

/// One currency on one chain a link accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkCurrency {
    /// USDT, USDC or DAI.
    pub currency: String,
    /// A watched chain id (see GET /chains).
    pub chain_id: String,
}

/// The body of `POST /payment-links`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePaymentLinkRequest {
    /// 1 to 200 characters, shown on the checkout page.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// At most 2000 characters, shown on the checkout page.
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: Option<String>,
    /// Decimal string, the price; "0" lets the payer choose the amount.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2500.00"))]
    pub amount: Value,
    /// With amount "0" only: the smallest amount a payer may choose.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5"))]
    #[serde(default)]
    pub min_amount: Option<Value>,
    /// With amount "0" only: the largest amount a payer may choose.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "500"))]
    #[serde(default)]
    pub max_amount: Option<Value>,
    /// 1 to 20 distinct currency/chain pairs, each on a watched chain with the token configured.
    pub currencies: Vec<LinkCurrency>,
    /// How many orders the link may sell (pending orders reserve one unit each); none: unlimited.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000000))]
    pub inventory_total: Option<u64>,
    /// When the link stops selling (ISO 8601, in the future).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<String>,
    /// At most 10 key/value pairs, copied onto each order the link opens.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct PaymentLinkDraft {
    pub title: String,
    pub description: Option<String>,
    /// `None`: the payer chooses.
    pub amount: Option<Amount>,
    pub min_amount: Option<Amount>,
    pub max_amount: Option<Amount>,
    pub currencies: Vec<(Currency, String)>,
    pub inventory_total: Option<u64>,
    pub expires_at: Option<Timestamp>,
    pub metadata: Metadata,
}

fn amount_value(field: &str, v: &Value, allow_zero: bool) -> Result<Option<Amount>, Error> {
    match v {
        Value::String(s) if allow_zero && !s.is_empty() && s.bytes().all(|b| b == b'0' || b == b'.') => {
            // "0", "0.00": the payer chooses (still a well-formed decimal).
            Amount::parse_positive(field, &format!("1{s}"))
                .map(|_| None)
                .map_err(|_| {
                    Error::invalid(
                        InvalidCode::Amount,
                        field,
                        format!("{field} must be a decimal string like \"100.00\" or \"0\""),
                    )
                })
        }
        Value::String(s) => Amount::parse_positive(field, s).map(Some),
        Value::Null => Err(Error::invalid(
            InvalidCode::Amount,
            field,
            format!("{field} is required"),
        )),
        _ => Err(Error::invalid(
            InvalidCode::Amount,
            field,
            format!("{field} must be a decimal string like \"100.00\", not a JSON number"),
        )),
    }
}

/// Checks free text shown on the public page: bounded, no control or invisible formatting
/// characters (newlines and tabs allowed in a description).
fn text(field: &str, s: &str, max: usize, multiline: bool) -> Result<String, Error> {
    if s.chars().count() > max {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if s.chars().any(|c| {
        (c.is_control() && !(multiline && matches!(c, '\n' | '\t' | '\r'))) || crate::order::is_invisible_format(c)
    }) {
        return Err(Error::validation(
            field,
            format!("{field} must not contain control or invisible formatting characters"),
        ));
    }
    Ok(s.to_string())
}

impl CreatePaymentLinkRequest {
    /// Parses the request; `chain` checks a currency on a chain id (known, watched, token
    /// configured) and returns the token's decimals. Fields are checked in listed order.
    pub fn parse(
        &self,
        now: Timestamp,
        mut chain: impl FnMut(&str, usize, Currency) -> Result<(String, u8), Error>,
    ) -> Result<PaymentLinkDraft, Error> {
        if self.title.trim().is_empty() {
            return Err(Error::validation("title", "title must not be empty"));
        }
        let title = text("title", &self.title, MAX_TITLE_LEN, false)?;
        let description = self
            .description
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| text("description", d, MAX_DESCRIPTION_LEN, true))
            .transpose()?;
        let amount = amount_value("amount", &self.amount, true)?;
        let bound = |field: &str, v: &Option<Value>| -> Result<Option<Amount>, Error> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => amount_value(field, v, false),
            }
        };
        let min_amount = bound("minAmount", &self.min_amount)?;
        let max_amount = bound("maxAmount", &self.max_amount)?;
        if amount.is_some() {
            if min_amount.is_some() {
                return Err(Error::validation(
                    "minAmount",
                    "minAmount applies only when amount is \"0\"",
                ));
            }
            if max_amount.is_some() {
                return Err(Error::validation(
                    "maxAmount",
                    "maxAmount applies only when amount is \"0\"",
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (min_amount, max_amount)
            && lo > hi
        {
            return Err(Error::invalid(
                InvalidCode::Amount,
                "maxAmount",
                "maxAmount must be at least minAmount",
            ));
        }
        if self.currencies.is_empty() {
            return Err(Error::validation(
                "currencies",
                "currencies must list at least one currency/chain",
            ));
        }
        if self.currencies.len() > MAX_CURRENCIES {
            return Err(Error::validation(
                "currencies",
                format!("currencies lists at most {MAX_CURRENCIES} currency/chain pairs"),
            ));
        }
        let mut currencies: Vec<(Currency, String)> = Vec::new();
        for (i, c) in self.currencies.iter().enumerate() {
            let currency = Currency::parse(&format!("currencies[{i}].currency"), &c.currency)?;
            let (chain_id, decimals) = chain(&c.chain_id, i, currency)?;
            for (field, a) in [("amount", amount), ("minAmount", min_amount), ("maxAmount", max_amount)] {
                if let Some(a) = a {
                    a.check_precision(field, decimals, currency.as_str())?;
                }
            }
            if currencies.iter().any(|(cur, ch)| *cur == currency && *ch == chain_id) {
                return Err(Error::validation(
                    format!("currencies[{i}]"),
                    format!("currencies lists {currency} on {chain_id} twice"),
                ));
            }
            currencies.push((currency, chain_id));
        }
        let inventory_total = match self.inventory_total {
            None => None,
            Some(n) if (1..=MAX_INVENTORY).contains(&n) => Some(n),
            Some(_) => {
                return Err(Error::validation(
                    "inventoryTotal",
                    format!("inventoryTotal must be a whole number from 1 to {MAX_INVENTORY}"),
                ));
            }
        };
        let expires_at = match self.expires_at.as_deref() {
            None => None,
            Some(s) => {
                let t = chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|_| {
                        Error::validation(
                            "expiresAt",
                            "expiresAt must be an ISO 8601 time like 2025-01-20T10:30:00.000Z",
                        )
                    })?
                    .with_timezone(&chrono::Utc);
                if t <= now {
                    return Err(Error::validation("expiresAt", "expiresAt must be in the future"));
                }
                Some(t)
            }
        };
        let metadata = crate::metadata::parse("metadata", self.metadata.as_ref())?;
        Ok(PaymentLinkDraft {
            title,
            description,
            amount,
            min_amount,
            max_amount,
            currencies,
            inventory_total,
            expires_at,
            metadata,
        })
    }
}

/// A payment link as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentLink {
    #[cfg_attr(feature = "openapi", schema(example = "plk_k3j9x2m4p7q1w8e5"))]
    pub id: String,
    /// The last segment of `checkoutUrl`.
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// The price; "0" when the payer chooses.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2500.00"))]
    pub amount: Amount,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub min_amount: Option<Amount>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub max_amount: Option<Amount>,
    pub currencies: Vec<LinkCurrency>,
    pub status: PaymentLinkStatus,
    /// `None`: unlimited.
    pub inventory_total: Option<u64>,
    /// Units held by pending orders.
    pub inventory_reserved: u64,
    /// Units of completed orders.
    pub inventory_sold: u64,
    /// Units still for sale (`None`: unlimited).
    pub inventory_remaining: Option<u64>,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Metadata,
    /// The public checkout page.
    pub checkout_url: String,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl PaymentLink {
    /// True when the payer chooses the amount.
    pub fn is_open_amount(&self) -> bool {
        self.amount.is_zero()
    }
}

/// A validated `GET /payment-links` query.
#[derive(Debug, Clone, Default)]
pub struct PaymentLinkFilter {
    pub page: PageRequest,
    pub status: Option<PaymentLinkStatus>,
}

/// Query of `GET /payment-links`, as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct PaymentLinkListQuery {
    /// Page number, from 1.
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<String>,
    /// draft, active or archived.
    #[cfg_attr(feature = "openapi", param(value_type = Option<PaymentLinkStatus>))]
    pub status: Option<String>,
}

impl PaymentLinkListQuery {
    pub fn parse(&self) -> Result<PaymentLinkFilter, Error> {
        Ok(PaymentLinkFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            status: self
                .status
                .as_deref()
                .map(|s| PaymentLinkStatus::parse("status", s))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2025, 1, 20, 10, 30, 0).unwrap()
    }

    fn chain(id: &str, i: usize, _: Currency) -> Result<(String, u8), Error> {
        match id {
            "ethereum" => Ok((id.to_string(), 6)),
            _ => Err(Error::invalid(
                InvalidCode::Chain,
                format!("currencies[{i}].chainId"),
                "unknown chain",
            )),
        }
    }

    fn request(amount: &str) -> CreatePaymentLinkRequest {
        CreatePaymentLinkRequest {
            title: "Invoice".into(),
            amount: Value::String(amount.into()),
            currencies: vec![LinkCurrency {
                currency: "USDT".into(),
                chain_id: "ethereum".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_zero_amount_is_an_open_amount_with_bounds() {
        let mut r = request("0");
        r.min_amount = Some(Value::String("5".into()));
        r.max_amount = Some(Value::String("50.5".into()));
        let d = r.parse(now(), chain).unwrap();
        assert_eq!(d.amount, None);
        assert_eq!(d.min_amount.unwrap().to_string(), "5");
        r.max_amount = Some(Value::String("1".into()));
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("maxAmount"));
        let mut fixed = request("10");
        fixed.min_amount = Some(Value::String("5".into()));
        assert_eq!(fixed.parse(now(), chain).unwrap_err().field(), Some("minAmount"));
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            request("1.1234567").parse(now(), chain).unwrap_err().field(),
            Some("amount")
        );
        assert_eq!(request("-1").parse(now(), chain).unwrap_err().field(), Some("amount"));
        let mut r = request("1");
        r.currencies[0].chain_id = "mars".into();
        assert_eq!(
            r.parse(now(), chain).unwrap_err().field(),
            Some("currencies[0].chainId")
        );
        let mut r = request("1");
        r.currencies[0].currency = "EUR".into();
        assert_eq!(
            r.parse(now(), chain).unwrap_err().field(),
            Some("currencies[0].currency")
        );
        let mut r = request("1");
        r.currencies.push(r.currencies[0].clone());
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("currencies[1]"));
        let mut r = request("1");
        r.inventory_total = Some(0);
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("inventoryTotal"));
        let mut r = request("1");
        r.expires_at = Some("2020-01-01T00:00:00Z".into());
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("expiresAt"));
        let mut r = request("1");
        r.title = "a\u{0}b".into();
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("title"));
        let mut r = request("1");
        r.currencies.clear();
        assert_eq!(r.parse(now(), chain).unwrap_err().field(), Some("currencies"));
    }
}
