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
use crate::webhook::{DeliveryStatus, EndpointStatus};

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

/// One delivery of a deposit's `deposit.confirmed` event, as completion needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedEventDelivery {
    pub endpoint_id: String,
    pub endpoint_status: EndpointStatus,
    pub endpoint_deleted: bool,
    pub status: DeliveryStatus,
}

impl ConfirmedEventDelivery {
    /// An endpoint deleted or disabled since the event no longer waits for it.
    fn endpoint_subscribed(&self) -> bool {
        self.endpoint_status == EndpointStatus::Active && !self.endpoint_deleted
    }
}

/// Completes a confirmed deposit once its `deposit.confirmed` event is acknowledged: every
/// endpoint still subscribed that was sent the event has at least one successful delivery of
/// it (a resend that succeeded acknowledges it even if an earlier delivery failed). Endpoints
/// deleted or disabled since no longer hold it back. `None` while unacknowledged, or when the
/// deposit is not (or no longer) confirmed.
pub fn on_acknowledged(deposit: &Deposit, deliveries: &[ConfirmedEventDelivery], now: Timestamp) -> Option<Deposit> {
    let waiting = deliveries.iter().any(|d| {
        d.endpoint_subscribed()
            && !deliveries
                .iter()
                .any(|ok| ok.endpoint_id == d.endpoint_id && ok.status == DeliveryStatus::Succeeded)
    });
    (deposit.status == DepositStatus::Confirmed && !waiting).then(|| Deposit {
        status: DepositStatus::Completed,
        completed_at: Some(now),
        ..deposit.clone()
    })
}

/// The protocols whose deposit addresses an unbind releases (into cooldown): those it removed
/// bindings of, and of which the reference keeps no binding on any other chain.
pub fn released_protocols<'a>(
    removed: impl IntoIterator<Item = &'a str>,
    still_bound: &[String],
) -> std::collections::BTreeSet<&'a str> {
    removed
        .into_iter()
        .filter(|p| !still_bound.iter().any(|b| b == p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn deposit(status: DepositStatus) -> Deposit {
        let at = Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap();
        Deposit {
            deposit_id: "dep_1".into(),
            deposit_reference: "user-1".into(),
            amount: Amount::from_stored("5.00").unwrap(),
            currency: Currency::Usdt,
            chain_id: "ethereum".into(),
            address: "0x1".into(),
            tx_hash: "0xaa".into(),
            log_index: 0,
            block_number: 7,
            status,
            confirmations: 12,
            detected_at: at,
            confirmed_at: Some(at),
            completed_at: None,
        }
    }

    fn delivery(endpoint: &str, subscribed: bool, succeeded: bool) -> ConfirmedEventDelivery {
        ConfirmedEventDelivery {
            endpoint_id: endpoint.into(),
            endpoint_status: EndpointStatus::Active,
            endpoint_deleted: !subscribed,
            status: if succeeded {
                DeliveryStatus::Succeeded
            } else {
                DeliveryStatus::Failed
            },
        }
    }

    #[test]
    fn a_confirmed_deposit_completes_once_every_subscribed_endpoint_acknowledged_it() {
        let d = deposit(DepositStatus::Confirmed);
        let now = d.detected_at + chrono::Duration::minutes(1);
        let done = on_acknowledged(&d, &[delivery("a", true, true), delivery("b", true, true)], now).unwrap();
        assert_eq!(done.status, DepositStatus::Completed);
        assert_eq!(done.completed_at, Some(now));
        assert_eq!(
            on_acknowledged(&d, &[delivery("a", true, true), delivery("b", true, false)], now),
            None
        );
    }

    #[test]
    fn a_successful_resend_acknowledges_a_failed_delivery() {
        let d = deposit(DepositStatus::Confirmed);
        let now = d.detected_at;
        let deliveries = [delivery("a", true, false), delivery("a", true, true)];
        assert!(on_acknowledged(&d, &deliveries, now).is_some());
    }

    #[test]
    fn endpoints_no_longer_subscribed_and_no_endpoints_hold_nothing_back() {
        let d = deposit(DepositStatus::Confirmed);
        let now = d.detected_at;
        assert!(on_acknowledged(&d, &[delivery("gone", false, false)], now).is_some());
        assert!(on_acknowledged(&d, &[], now).is_some());
    }

    #[test]
    fn a_disabled_endpoint_holds_nothing_back() {
        let d = deposit(DepositStatus::Confirmed);
        let mut disabled = delivery("a", true, false);
        disabled.endpoint_status = EndpointStatus::Disabled;
        assert!(on_acknowledged(&d, &[disabled], d.detected_at).is_some());
    }

    #[test]
    fn only_confirmed_deposits_complete() {
        for status in [DepositStatus::Pending, DepositStatus::Completed] {
            let d = deposit(status);
            assert_eq!(on_acknowledged(&d, &[], d.detected_at), None, "{status:?}");
        }
    }

    #[test]
    fn an_unbind_releases_a_protocol_only_when_no_binding_of_it_is_left() {
        let released = released_protocols(["evm", "evm", "tron"], &["evm".to_string()]);
        assert_eq!(released.into_iter().collect::<Vec<_>>(), vec!["tron"]);
        let released = released_protocols(["evm"], &[]);
        assert_eq!(released.into_iter().collect::<Vec<_>>(), vec!["evm"]);
    }
}
