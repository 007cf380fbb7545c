//! Permanent deposit addresses per end user (`depositReference`) and the deposits they receive.
//! Deposit record: `pending → confirmed → completed`.

use std::collections::BTreeMap;

use crate::amount::Amount;
use crate::chain::Currency;
use crate::time::Timestamp;
use crate::webhook::{DeliveryStatus, EndpointStatus};

pub use payin_types::deposit::*;

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
