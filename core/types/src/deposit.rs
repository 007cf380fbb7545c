//! Permanent deposit addresses per end user (`depositReference`) and the deposits they receive.
//! Deposit record: `pending → confirmed → completed`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::error::Error;
use crate::metadata::Metadata;
use crate::page::{PageRequest, SortOrder};
use crate::time::{Timestamp, serde_millis};

/// Body of `POST /deposits/references`: bind a reference on one chain for one currency.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindReferenceRequest {
    /// Your identifier of the end user: 1 to 255 characters, not only whitespace, without
    /// control or bidirectional formatting characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]+$"
        )
    )]
    pub deposit_reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Currency))]
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, example = "ethereum"))]
    pub chain_id: String,
    /// As an order's metadata: at most 10 keys.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// Body of `POST /deposits/bind`: one address for every chain of a protocol family.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindProtocolRequest {
    /// As in `POST /deposits/references`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]+$"
        )
    )]
    pub deposit_reference: String,
    /// "evm" or "tron" (a protocol with a watched chain).
    #[cfg_attr(feature = "openapi", schema(value_type = Protocol))]
    pub protocol: String,
    /// As an order's metadata: at most 10 keys.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// Body of `POST /deposits/unbind`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnbindRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]+$"
        )
    )]
    pub deposit_reference: String,
    /// Unbind only this chain; all chains when omitted.
    pub chain_id: Option<String>,
}

/// A reference's address on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepositBinding {
    /// The currency bound with `POST /deposits/references`; null for a protocol binding,
    /// which receives every configured token.
    pub currency: Option<Currency>,
    pub chain_id: String,
    pub protocol: Protocol,
    pub address: String,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// Response of `POST /deposits/references`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BoundReference {
    pub deposit_reference: String,
    pub currency: Currency,
    pub chain_id: String,
    pub protocol: Protocol,
    pub address: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Metadata,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// Response of `POST /deposits/bind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BoundProtocol {
    pub deposit_reference: String,
    pub protocol: Protocol,
    pub address: String,
    /// Every chain of the protocol this address is watched on.
    pub monitored_chains: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Metadata,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// Response of `GET /deposits/references/:depositReference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepositReference {
    pub deposit_reference: String,
    pub addresses: Vec<DepositBinding>,
    /// Deposits that reached their confirmations.
    pub total_deposits: u64,
    /// Confirmed amount per currency, e.g. {"USDT": "523.45"}.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub total_amount: BTreeMap<Currency, Amount>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Metadata,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// One row of `GET /deposits/references`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DepositReferenceSummary {
    pub deposit_reference: String,
    pub protocols: Vec<Protocol>,
    pub address_count: u64,
    pub total_deposits: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub total_amount: BTreeMap<Currency, Amount>,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_deposit_at: Option<Timestamp>,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// Response of both unbind forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Unbound {
    pub deposit_reference: String,
    /// Number of chain bindings removed.
    pub unbound_addresses: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DepositStatus {
    Pending,
    Confirmed,
    Completed,
}

impl DepositStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DepositStatus::Pending => "pending",
            DepositStatus::Confirmed => "confirmed",
            DepositStatus::Completed => "completed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<DepositStatus, Error> {
        match s {
            "pending" => Ok(DepositStatus::Pending),
            "confirmed" => Ok(DepositStatus::Confirmed),
            "completed" => Ok(DepositStatus::Completed),
            _ => Err(Error::validation(
                field,
                format!("{field} must be one of pending, confirmed, completed"),
            )),
        }
    }

    /// Whether the money counts toward a reference's totals.
    pub fn is_credited(self) -> bool {
        self != DepositStatus::Pending
    }
}

/// A transfer received on a deposit address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deposit {
    pub deposit_id: String,
    pub deposit_reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Amount,
    pub currency: Currency,
    pub chain_id: String,
    pub address: String,
    pub tx_hash: String,
    pub log_index: u64,
    pub block_number: u64,
    pub status: DepositStatus,
    pub confirmations: u64,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub detected_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub confirmed_at: Option<Timestamp>,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<Timestamp>,
}

/// Fields `GET /deposits` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "camelCase"))]
pub enum DepositSortBy {
    #[default]
    DetectedAt,
    Amount,
    BlockNumber,
}

impl DepositSortBy {
    pub fn parse(s: Option<&str>) -> Result<DepositSortBy, Error> {
        match s {
            None | Some("detectedAt") => Ok(DepositSortBy::DetectedAt),
            Some("amount") => Ok(DepositSortBy::Amount),
            Some("blockNumber") => Ok(DepositSortBy::BlockNumber),
            Some(_) => Err(Error::validation(
                "sortBy",
                "sortBy must be one of detectedAt, amount, blockNumber",
            )),
        }
    }
}

/// A validated `GET /deposits` query.
#[derive(Debug, Clone, Default)]
pub struct DepositFilter {
    pub page: PageRequest,
    pub deposit_reference: Option<String>,
    pub status: Option<DepositStatus>,
    pub currency: Option<Currency>,
    pub chain_id: Option<String>,
    pub sort_by: DepositSortBy,
    pub sort_order: SortOrder,
}

/// A validated `GET /deposits/references` query.
#[derive(Debug, Clone, Default)]
pub struct ReferenceFilter {
    pub page: PageRequest,
    /// Substring match on the deposit reference, case-insensitive.
    pub search: Option<String>,
}

/// Query of `GET /deposits`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct DepositListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub deposit_reference: Option<String>,
    /// pending, confirmed or completed.
    #[cfg_attr(feature = "openapi", param(value_type = Option<DepositStatus>))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<Currency>))]
    pub currency: Option<String>,
    pub chain_id: Option<String>,
    /// detectedAt (default), amount or blockNumber.
    #[cfg_attr(feature = "openapi", param(value_type = Option<DepositSortBy>))]
    pub sort_by: Option<String>,
    /// asc or desc (default).
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::page::SortOrder>))]
    pub sort_order: Option<String>,
}

/// Query of `GET /deposits/references`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct ReferenceListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    /// Case-insensitive substring of the deposit reference.
    pub search: Option<String>,
}

impl DepositListQuery {
    /// The query as sent, parsed once into a validated filter; see [`crate::order::OrderListQuery::parse`].
    pub fn parse<E: From<Error>>(&self, chain: impl FnOnce(&str) -> Result<String, E>) -> Result<DepositFilter, E> {
        Ok(DepositFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            deposit_reference: self.deposit_reference.clone().filter(|s| !s.is_empty()),
            status: self
                .status
                .as_deref()
                .map(|s| DepositStatus::parse("status", s))
                .transpose()?,
            currency: self
                .currency
                .as_deref()
                .map(|c| Currency::parse("currency", c))
                .transpose()?,
            chain_id: self.chain_id.as_deref().map(chain).transpose()?,
            sort_by: DepositSortBy::parse(self.sort_by.as_deref())?,
            sort_order: SortOrder::parse(self.sort_order.as_deref())?,
        })
    }
}

impl ReferenceListQuery {
    /// The query as sent, parsed once into a validated filter.
    pub fn parse(&self) -> Result<ReferenceFilter, Error> {
        Ok(ReferenceFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            search: self.search.clone().filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deposit_list_query_parses_into_a_typed_filter() {
        let q = DepositListQuery {
            deposit_reference: Some("user-1".into()),
            status: Some("confirmed".into()),
            sort_by: Some("blockNumber".into()),
            chain_id: Some("polygon".into()),
            ..DepositListQuery::default()
        };
        let f = q.parse(|c| Ok::<_, Error>(format!("{c}!"))).unwrap();
        assert_eq!(f.deposit_reference.as_deref(), Some("user-1"));
        assert_eq!(f.status, Some(DepositStatus::Confirmed));
        assert_eq!(
            f.chain_id.as_deref(),
            Some("polygon!"),
            "the chain id is the resolver's"
        );
        assert_eq!((f.sort_by, f.sort_order), (DepositSortBy::BlockNumber, SortOrder::Desc));
        let bad = DepositListQuery {
            status: Some("lost".into()),
            ..DepositListQuery::default()
        };
        assert_eq!(
            bad.parse(|c| Ok::<_, Error>(c.into())).unwrap_err().field(),
            Some("status")
        );
    }

    #[test]
    fn a_reference_list_query_drops_an_empty_search() {
        let q = ReferenceListQuery {
            limit: Some("5".into()),
            search: Some(String::new()),
            ..ReferenceListQuery::default()
        };
        let f = q.parse().unwrap();
        assert_eq!((f.page.limit, f.search), (5, None));
        let bad = ReferenceListQuery {
            limit: Some("0".into()),
            ..ReferenceListQuery::default()
        };
        assert_eq!(bad.parse().unwrap_err().field(), Some("limit"));
    }
}
