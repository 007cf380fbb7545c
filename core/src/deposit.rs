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
    pub deposit_reference: String,
    pub currency: String,
    pub chain_id: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// Body of `POST /deposits/bind`: one address for every chain of a protocol family.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindProtocolRequest {
    pub deposit_reference: String,
    /// "evm" or "tron".
    pub protocol: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Value>,
}

/// Body of `POST /deposits/unbind`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnbindRequest {
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

/// A transfer to record against a deposit address (written by settlement).
#[derive(Debug, Clone)]
pub struct NewDeposit {
    pub chain_id: String,
    pub address: String,
    pub currency: Currency,
    pub amount: Amount,
    pub tx_hash: String,
    pub log_index: u64,
    pub block_number: u64,
    pub confirmations: u64,
    pub status: DepositStatus,
    pub detected_at: Timestamp,
}

/// Adds confirmed deposits per currency; pending ones are not money yet.
pub fn totals(rows: impl IntoIterator<Item = (Currency, Amount, DepositStatus)>) -> (u64, BTreeMap<Currency, Amount>) {
    let mut count = 0;
    let mut totals: BTreeMap<Currency, Amount> = BTreeMap::new();
    for (currency, amount, status) in rows {
        if status.is_credited() {
            count += 1;
            let e = totals.entry(currency).or_default();
            *e = *e + amount;
        }
    }
    (count, totals)
}
