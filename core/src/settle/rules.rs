//! The order and deposit state machine as pure functions: the state a backend loaded (under
//! the locks it needs) goes in, the new state and the event to write come out. The backends
//! persist exactly what these functions return, in the transaction that loaded it.

use crate::amount::Amount;
use crate::chain::Protocol;
use crate::deposit::{Deposit, DepositStatus};
use crate::event::EventType;
use crate::order::{Order, OrderStatus};
use crate::time::Timestamp;

use super::ObservedTransfer;

/// Who held an address when a transfer's block was mined.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    /// Boxed: an order is far larger than the other variants.
    Order(Box<Order>),
    /// A deposit reference bound to the address.
    Deposit(String),
    Nobody,
    /// A shared address (the merchant's own) with no order asking for this exact amount of
    /// this token at the block's time.
    SharedUnmatched,
}

/// Who a transfer to a shared address pays: `candidate`, the latest order on the address,
/// chain and token whose `payAmount` is exactly the transfer's amount (created by the block's
/// time), while its tail is locked — through `expiresAt + grace`. After that the amount may
/// belong to a newer order, so an older one never claims it: the transfer is unmatched (and
/// reported as `payment.unmatched`), never guessed. A completed order's duplicate payment
/// within the lock is a late payment of that order, as for pool orders.
pub fn shared_holder(candidate: Option<Order>, t: &ObservedTransfer) -> Holder {
    match candidate {
        Some(o) if t.block_time <= o.grace_ends_at() => Holder::Order(Box::new(o)),
        _ => Holder::SharedUnmatched,
    }
}

/// The most recent holder wins: a pool address may serve an order, then a deposit binding.
/// `order` and `deposit` are the latest of each created by the block's time (with clock skew);
/// `deposit` is the reference and when it was bound to the address.
pub fn holder(order: Option<Order>, deposit: Option<(String, Timestamp)>) -> Holder {
    match (order, deposit) {
        (Some(o), Some((r, since))) if since > o.created_at => Holder::Deposit(r),
        (Some(o), _) => Holder::Order(Box::new(o)),
        (None, Some((r, _))) => Holder::Deposit(r),
        (None, None) => Holder::Nobody,
    }
}

/// What a recorded transfer counted as; stored in `transfers.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// Counted toward the order that held the address.
    Payment,
    /// To an order that had ended (or whose grace period was over) when the block was mined.
    Late,
    /// Wrong token or chain for the order: recorded, never counted nor reported.
    Mismatch,
    /// Credited to a deposit reference.
    Deposit,
    /// To a watched address nobody held.
    Unmatched,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Payment => "payment",
            TransferKind::Late => "late",
            TransferKind::Mismatch => "mismatch",
            TransferKind::Deposit => "deposit",
            TransferKind::Unmatched => "unmatched",
        }
    }

    /// Reads a stored kind back; `None` for a value this version does not know.
    pub fn from_stored(s: &str) -> Option<TransferKind> {
        Some(match s {
            "payment" => TransferKind::Payment,
            "late" => TransferKind::Late,
            "mismatch" => TransferKind::Mismatch,
            "deposit" => TransferKind::Deposit,
            "unmatched" => TransferKind::Unmatched,
            _ => return None,
        })
    }
}

/// What a transfer is to the order that held its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderPayment {
    /// Counts toward the order.
    Payment,
    /// The order had ended (or the grace period was over) when the block was mined.
    Late,
    /// Wrong token or wrong chain: recorded against the order, never counted.
    Mismatch,
}

/// Applies the order rules: right chain and token, mined by `expiresAt + grace`, order pending.
pub fn classify_order_payment(order: &Order, t: &ObservedTransfer) -> OrderPayment {
    if order.chain_id != t.chain_id || order.currency != t.currency {
        OrderPayment::Mismatch
    } else if order.status == OrderStatus::Pending && t.block_time <= order.grace_ends_at() {
        OrderPayment::Payment
    } else {
        OrderPayment::Late
    }
}

/// What recording a newly observed transfer changes.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferEffect {
    /// A transfer to an order's address. `order` is the order afterwards (its
    /// `amount_received` grown when the transfer counts); `event` is reported with it.
    Order {
        kind: TransferKind,
        order: Box<Order>,
        event: Option<EventType>,
    },
    /// A new pending deposit to write; reported as `deposit.pending`.
    Deposit(Box<Deposit>),
    /// Recorded as unmatched, nothing else.
    Unmatched,
    /// To a shared address, matching no order: recorded as unmatched and reported as
    /// `payment.unmatched`.
    SharedUnmatched,
}

/// Decides what a transfer is, by design §4: to an order, what [`classify_order_payment`]
/// says (a payment grows `amountReceived`); to a deposit address it becomes a pending deposit,
/// named by `new_deposit_id` and detected `now`.
pub fn on_transfer(
    holder: Holder,
    t: &ObservedTransfer,
    new_deposit_id: impl FnOnce() -> String,
    now: Timestamp,
) -> TransferEffect {
    match holder {
        Holder::Order(order) => {
            let mut order = *order;
            let kind = match classify_order_payment(&order, t) {
                OrderPayment::Payment => TransferKind::Payment,
                OrderPayment::Late => TransferKind::Late,
                OrderPayment::Mismatch => TransferKind::Mismatch,
            };
            let event = match kind {
                TransferKind::Payment => {
                    order.amount_received = order.amount_received + t.amount;
                    Some(EventType::OrderPaymentDetected)
                }
                TransferKind::Late => Some(EventType::OrderLatePayment),
                _ => None,
            };
            TransferEffect::Order {
                kind,
                order: Box::new(order),
                event,
            }
        }
        Holder::Deposit(reference) => TransferEffect::Deposit(Box::new(Deposit {
            deposit_id: new_deposit_id(),
            deposit_reference: reference,
            amount: t.amount,
            currency: t.currency,
            chain_id: t.chain_id.clone(),
            address: t.to.clone(),
            tx_hash: t.tx_hash.clone(),
            log_index: t.log_index,
            block_number: t.block_number,
            status: DepositStatus::Pending,
            // The block holding the transfer is its first confirmation.
            confirmations: 1,
            detected_at: now,
            confirmed_at: None,
            completed_at: None,
        })),
        Holder::Nobody => TransferEffect::Unmatched,
        Holder::SharedUnmatched => TransferEffect::SharedUnmatched,
    }
}

/// A pool address moving to cooldown because the order holding it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressCooldown {
    pub protocol: Protocol,
    pub address: String,
    /// Only while the address is still assigned to this order.
    pub order_id: String,
    pub until: Timestamp,
}

impl AddressCooldown {
    fn of(order: &Order, until: Timestamp) -> AddressCooldown {
        AddressCooldown {
            protocol: order.protocol,
            address: order.address.clone(),
            order_id: order.order_id.clone(),
            until,
        }
    }
}

/// What a payment's confirmation changes on its order.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentConfirmed {
    /// The order afterwards (status, completion fields and surplus).
    pub order: Order,
    /// Sum of confirmed payments, this one included.
    pub amount_confirmed: Amount,
    /// Set when this confirmation completed the order: its address cools down and
    /// `order.completed` is reported.
    pub completed: Option<AddressCooldown>,
}

/// Counts a confirmed payment (`t`, with `confirmations` blocks) toward its order, whose
/// confirmed payments so far sum to `amount_confirmed`. A pending order completes when
/// confirmed payments reach its `payAmount` (its amount, plus the tail of a shared-address
/// order); what was paid beyond it is the surplus, which grows when a payment counted before
/// completion is confirmed after it.
pub fn on_payment_confirmed(
    order: &Order,
    amount_confirmed: Amount,
    t: &ObservedTransfer,
    confirmations: u64,
    now: Timestamp,
    cooldown_until: Timestamp,
) -> PaymentConfirmed {
    let confirmed = amount_confirmed + t.amount;
    let mut order = order.clone();
    let due = order.pay_amount;
    let surplus = (confirmed > due).then(|| confirmed - due);
    let mut completed = None;
    match order.status {
        OrderStatus::Pending if confirmed >= due => {
            order.status = OrderStatus::Completed;
            order.completed_at = Some(now);
            order.tx_hash = Some(t.tx_hash.clone());
            order.block_number = Some(t.block_number);
            order.confirmations = Some(confirmations);
            order.surplus = surplus;
            completed = Some(AddressCooldown::of(&order, cooldown_until));
        }
        OrderStatus::Completed => order.surplus = surplus,
        OrderStatus::Pending | OrderStatus::Expired => {}
    }
    PaymentConfirmed {
        order,
        amount_confirmed: confirmed,
        completed,
    }
}

/// What reversing a recorded transfer (its block left the canonical chain) changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Reversal {
    /// A counted payment: the order afterwards, its `amount_received` reduced; reported as
    /// `payment.reversed`.
    PaymentUncounted(Box<Order>),
    /// A late payment: nothing was counted; reported as `payment.reversed` with the order.
    LatePayment(Box<Order>),
    /// The pending or confirmed deposit it created is deleted; reported as `payment.reversed`.
    DeleteDeposit,
    /// Never reported, so nothing to undo.
    Silent,
}

/// Undoes what [`on_transfer`] did for a transfer recorded as `kind`. `order` is the order
/// the transfer was recorded against (for payments and late payments).
pub fn on_reversed(kind: TransferKind, order: Option<Order>, t: &ObservedTransfer) -> Reversal {
    match (kind, order) {
        (TransferKind::Payment, Some(mut order)) => {
            order.amount_received = order.amount_received - t.amount;
            Reversal::PaymentUncounted(Box::new(order))
        }
        (TransferKind::Late, Some(order)) => Reversal::LatePayment(Box::new(order)),
        (TransferKind::Deposit, _) => Reversal::DeleteDeposit,
        _ => Reversal::Silent,
    }
}

/// Whether [`on_reversed`] needs the order the transfer was recorded against.
pub fn reversal_needs_order(kind: TransferKind) -> bool {
    matches!(kind, TransferKind::Payment | TransferKind::Late)
}

/// A deposit's confirmation: a pending deposit becomes confirmed (and is reported as
/// `deposit.confirmed`); one already confirmed or completed stays as it is (`None`).
pub fn on_deposit_confirmed(deposit: &Deposit, confirmations: u64, now: Timestamp) -> Option<Deposit> {
    (deposit.status == DepositStatus::Pending).then(|| Deposit {
        status: DepositStatus::Confirmed,
        confirmations,
        confirmed_at: Some(now),
        ..deposit.clone()
    })
}

/// How far a chain's watcher has scanned, as expiry needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainProgress {
    /// No watcher has scanned the chain: nothing can still arrive through it.
    Unwatched,
    /// Block time of the last scanned block; `None` right after a rewind.
    ScannedThrough(Option<Timestamp>),
}

/// What expiry knows about a pending order besides the order itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryFacts {
    /// A payment to the order was seen and awaits its confirmations.
    pub awaiting_confirmation: bool,
    pub chain: ChainProgress,
}

/// An order that expired, and its address's cooldown.
#[derive(Debug, Clone, PartialEq)]
pub struct Expired {
    pub order: Order,
    pub cooldown: AddressCooldown,
}

/// Expires a pending order once its grace period is over (`expiresAt + grace <= now`), unless a
/// payment seen but not yet confirmed keeps it open, or its chain has not been scanned past the
/// grace end yet (a payment mined in time may still be found).
pub fn expiry(order: &Order, facts: ExpiryFacts, now: Timestamp, cooldown_until: Timestamp) -> Option<Expired> {
    let grace_ends_at = order.grace_ends_at();
    let scanned = match facts.chain {
        ChainProgress::Unwatched => true,
        ChainProgress::ScannedThrough(t) => t.is_some_and(|t| t >= grace_ends_at),
    };
    if order.status != OrderStatus::Pending || grace_ends_at > now || facts.awaiting_confirmation || !scanned {
        return None;
    }
    let mut order = order.clone();
    order.status = OrderStatus::Expired;
    order.expired_at = Some(now);
    let cooldown = AddressCooldown::of(&order, cooldown_until);
    Some(Expired { order, cooldown })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Currency;
    use chrono::{Duration, TimeZone, Utc};

    fn amount(s: &str) -> Amount {
        Amount::from_stored(s).unwrap()
    }

    fn order() -> Order {
        let created = Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap();
        crate::order::NewOrder {
            order_id: "ord_1".into(),
            order_reference: "r".into(),
            amount: amount("10.00"),
            currency: Currency::Usdt,
            chain_id: "ethereum".into(),
            protocol: Protocol::Evm,
            metadata: Default::default(),
            success_url: None,
            cancel_url: None,
            payment_url: String::new(),
            payment_window_minutes: 10,
            grace_minutes: 5,
            created_at: created,
            expires_at: created + Duration::minutes(10),
            payment_link_id: None,
            shared: None,
            quote: None,
        }
        .into_order("0x1".into())
    }

    fn transfer(value: &str, at: Timestamp) -> ObservedTransfer {
        ObservedTransfer {
            chain_id: "ethereum".into(),
            tx_hash: "0xaa".into(),
            log_index: 0,
            block_number: 7,
            block_hash: "0xbb".into(),
            block_time: at,
            token: "0xtoken".into(),
            currency: Currency::Usdt,
            from: "0xfrom".into(),
            to: "0x1".into(),
            amount: amount(value),
        }
    }

    fn at(o: &Order, minutes: i64) -> Timestamp {
        o.created_at + Duration::minutes(minutes)
    }

    /// Records `t` against `o`, returning the kind, the order afterwards and the event.
    fn record(o: &Order, t: &ObservedTransfer) -> (TransferKind, Order, Option<EventType>) {
        match on_transfer(Holder::Order(Box::new(o.clone())), t, || "dep_1".into(), at(o, 1)) {
            TransferEffect::Order { kind, order, event } => (kind, *order, event),
            other => panic!("expected an order effect, got {other:?}"),
        }
    }

    fn confirm(o: &Order, confirmed_before: &str, t: &ObservedTransfer) -> PaymentConfirmed {
        on_payment_confirmed(o, amount(confirmed_before), t, 12, at(o, 3), at(o, 33))
    }

    #[test]
    fn the_latest_holder_of_an_address_receives_its_transfers() {
        let o = order();
        let before = o.created_at - Duration::minutes(1);
        let after = o.created_at + Duration::minutes(1);
        assert_eq!(holder(None, None), Holder::Nobody);
        assert_eq!(holder(Some(o.clone()), None), Holder::Order(Box::new(o.clone())));
        assert_eq!(holder(None, Some(("u1".into(), before))), Holder::Deposit("u1".into()));
        assert_eq!(
            holder(Some(o.clone()), Some(("u1".into(), before))),
            Holder::Order(Box::new(o.clone()))
        );
        assert_eq!(
            holder(Some(o.clone()), Some(("u1".into(), after))),
            Holder::Deposit("u1".into())
        );
    }

    #[test]
    fn a_shared_address_transfer_pays_the_exact_amount_order_only_while_its_tail_is_locked() {
        let o = order();
        let in_time = transfer("10", at(&o, 14));
        assert_eq!(
            shared_holder(Some(o.clone()), &in_time),
            Holder::Order(Box::new(o.clone()))
        );
        let after_grace = transfer("10", at(&o, 16));
        assert_eq!(shared_holder(Some(o.clone()), &after_grace), Holder::SharedUnmatched);
        assert_eq!(shared_holder(None, &in_time), Holder::SharedUnmatched);
        assert_eq!(
            on_transfer(Holder::SharedUnmatched, &in_time, || "dep_1".into(), at(&o, 1)),
            TransferEffect::SharedUnmatched
        );
    }

    #[test]
    fn a_shared_address_order_completes_at_its_pay_amount_without_surplus() {
        let mut o = order();
        o.pay_amount = amount("10.000003");
        let short = confirm(&o, "0", &transfer("10", at(&o, 1)));
        assert_eq!(
            short.order.status,
            OrderStatus::Pending,
            "the amount alone is not the pay amount"
        );
        let exact = confirm(&o, "0", &transfer("10.000003", at(&o, 1)));
        assert_eq!(exact.order.status, OrderStatus::Completed);
        assert_eq!(exact.order.surplus, None);
    }

    #[test]
    fn an_exact_payment_counts_and_is_reported_as_detected() {
        let o = order();
        let (kind, after, event) = record(&o, &transfer("10", at(&o, 1)));
        assert_eq!(kind, TransferKind::Payment);
        assert_eq!(after.amount_received.to_string(), "10.00");
        assert_eq!(after.status, OrderStatus::Pending, "completion waits for confirmations");
        assert_eq!(event, Some(EventType::OrderPaymentDetected));
    }

    #[test]
    fn partial_payments_add_up() {
        let mut o = order();
        o.amount_received = amount("4.00");
        let (kind, after, _) = record(&o, &transfer("2.5", at(&o, 1)));
        assert_eq!(kind, TransferKind::Payment);
        assert_eq!(after.amount_received.to_string(), "6.50");
    }

    #[test]
    fn payments_count_until_expiry_plus_grace_and_are_late_after() {
        let o = order();
        let (kind, after, _) = record(&o, &transfer("10", o.grace_ends_at()));
        assert_eq!(kind, TransferKind::Payment);
        assert_eq!(after.amount_received.to_string(), "10.00");
        let (kind, after, event) = record(&o, &transfer("10", o.grace_ends_at() + Duration::seconds(1)));
        assert_eq!(kind, TransferKind::Late);
        assert_eq!(
            after.amount_received.to_string(),
            "0.00",
            "a late payment is never counted"
        );
        assert_eq!(event, Some(EventType::OrderLatePayment));
    }

    #[test]
    fn payments_to_ended_orders_are_late() {
        for status in [OrderStatus::Completed, OrderStatus::Expired] {
            let mut o = order();
            o.status = status;
            let (kind, after, event) = record(&o, &transfer("10", at(&o, 1)));
            assert_eq!(kind, TransferKind::Late, "{status:?}");
            assert_eq!(after, o);
            assert_eq!(event, Some(EventType::OrderLatePayment));
        }
    }

    #[test]
    fn wrong_token_or_chain_is_a_silent_mismatch() {
        let o = order();
        let mut wrong_token = transfer("10", at(&o, 1));
        wrong_token.currency = Currency::Usdc;
        let mut wrong_chain = transfer("10", at(&o, 1));
        wrong_chain.chain_id = "polygon".into();
        for t in [wrong_token, wrong_chain] {
            let (kind, after, event) = record(&o, &t);
            assert_eq!(kind, TransferKind::Mismatch);
            assert_eq!(after, o);
            assert_eq!(event, None);
        }
    }

    #[test]
    fn a_transfer_to_a_deposit_address_is_a_pending_deposit() {
        let o = order();
        let t = transfer("3.25", at(&o, 1));
        let TransferEffect::Deposit(d) =
            on_transfer(Holder::Deposit("user-1".into()), &t, || "dep_9".into(), at(&o, 2))
        else {
            panic!("expected a deposit");
        };
        assert_eq!(d.deposit_id, "dep_9");
        assert_eq!(d.deposit_reference, "user-1");
        assert_eq!(d.amount, t.amount);
        assert_eq!(
            (d.address.as_str(), d.tx_hash.as_str(), d.log_index),
            ("0x1", "0xaa", 0)
        );
        assert_eq!(d.status, DepositStatus::Pending);
        assert_eq!(d.confirmations, 1);
        assert_eq!(d.detected_at, at(&o, 2));
        assert_eq!(
            on_transfer(Holder::Nobody, &t, || "dep_9".into(), at(&o, 2)),
            TransferEffect::Unmatched
        );
    }

    #[test]
    fn a_confirmation_reaching_the_amount_completes_the_order() {
        let o = order();
        let t = transfer("10", at(&o, 1));
        let done = confirm(&o, "0", &t);
        assert_eq!(done.amount_confirmed.to_string(), "10");
        assert_eq!(done.order.status, OrderStatus::Completed);
        assert_eq!(done.order.completed_at, Some(at(&o, 3)));
        assert_eq!(done.order.tx_hash.as_deref(), Some("0xaa"));
        assert_eq!(done.order.block_number, Some(7));
        assert_eq!(done.order.confirmations, Some(12));
        assert_eq!(done.order.surplus, None, "an exact payment leaves no surplus");
        assert_eq!(
            done.completed,
            Some(AddressCooldown {
                protocol: Protocol::Evm,
                address: "0x1".into(),
                order_id: "ord_1".into(),
                until: at(&o, 33),
            })
        );
    }

    #[test]
    fn a_partial_confirmation_keeps_the_order_pending() {
        let o = order();
        let half = confirm(&o, "0", &transfer("4", at(&o, 1)));
        assert_eq!(half.amount_confirmed.to_string(), "4");
        assert_eq!(half.order, o);
        assert_eq!(half.completed, None);
        let rest = confirm(&half.order, "4", &transfer("6.00", at(&o, 2)));
        assert_eq!(rest.amount_confirmed.to_string(), "10.00");
        assert_eq!(rest.order.status, OrderStatus::Completed);
        assert_eq!(rest.order.surplus, None);
    }

    #[test]
    fn an_overpayment_completes_with_a_surplus() {
        let o = order();
        let done = confirm(&o, "0", &transfer("12.5", at(&o, 1)));
        assert_eq!(done.order.status, OrderStatus::Completed);
        assert_eq!(done.order.surplus.map(|s| s.to_string()).as_deref(), Some("2.50"));
    }

    #[test]
    fn a_confirmation_after_completion_grows_the_surplus() {
        let o = order();
        let done = confirm(&o, "0", &transfer("10", at(&o, 1))).order;
        let later = on_payment_confirmed(
            &done,
            amount("10"),
            &transfer("1.5", at(&o, 2)),
            12,
            at(&o, 9),
            at(&o, 39),
        );
        assert_eq!(later.amount_confirmed.to_string(), "11.5");
        assert_eq!(later.order.surplus.map(|s| s.to_string()).as_deref(), Some("1.50"));
        assert_eq!(later.order.completed_at, done.completed_at, "completion is not redone");
        assert_eq!(later.order.tx_hash, done.tx_hash);
        assert_eq!(later.completed, None, "completed once, cooled down once");
    }

    #[test]
    fn a_confirmation_of_an_expired_order_only_counts() {
        let mut o = order();
        o.status = OrderStatus::Expired;
        let c = confirm(&o, "0", &transfer("10", at(&o, 1)));
        assert_eq!(c.amount_confirmed.to_string(), "10");
        assert_eq!(c.order, o);
        assert_eq!(c.completed, None);
    }

    #[test]
    fn reversing_a_payment_before_completion_uncounts_it() {
        let mut o = order();
        o.amount_received = amount("10.00");
        let t = transfer("4", at(&o, 1));
        let Reversal::PaymentUncounted(after) = on_reversed(TransferKind::Payment, Some(o.clone()), &t) else {
            panic!("expected the order");
        };
        assert_eq!(after.amount_received.to_string(), "6.00");
        assert_eq!(after.status, OrderStatus::Pending);
        assert!(reversal_needs_order(TransferKind::Payment));
    }

    #[test]
    fn reversals_report_late_payments_and_deposits_but_not_mismatches() {
        let o = order();
        let t = transfer("4", at(&o, 1));
        assert_eq!(
            on_reversed(TransferKind::Late, Some(o.clone()), &t),
            Reversal::LatePayment(Box::new(o.clone()))
        );
        assert_eq!(on_reversed(TransferKind::Deposit, None, &t), Reversal::DeleteDeposit);
        assert_eq!(
            on_reversed(TransferKind::Mismatch, Some(o.clone()), &t),
            Reversal::Silent
        );
        assert_eq!(on_reversed(TransferKind::Unmatched, None, &t), Reversal::Silent);
        assert!(!reversal_needs_order(TransferKind::Mismatch));
        assert!(!reversal_needs_order(TransferKind::Deposit));
    }

    #[test]
    fn transfer_kinds_round_trip_through_storage() {
        for k in [
            TransferKind::Payment,
            TransferKind::Late,
            TransferKind::Mismatch,
            TransferKind::Deposit,
            TransferKind::Unmatched,
        ] {
            assert_eq!(TransferKind::from_stored(k.as_str()), Some(k));
        }
        assert_eq!(TransferKind::from_stored("other"), None);
    }

    #[test]
    fn a_pending_deposit_is_confirmed_once() {
        let o = order();
        let TransferEffect::Deposit(pending) = on_transfer(
            Holder::Deposit("u".into()),
            &transfer("1", at(&o, 1)),
            || "dep_1".into(),
            at(&o, 1),
        ) else {
            panic!("expected a deposit");
        };
        let confirmed = on_deposit_confirmed(&pending, 12, at(&o, 4)).expect("pending deposits confirm");
        assert_eq!(confirmed.status, DepositStatus::Confirmed);
        assert_eq!(confirmed.confirmations, 12);
        assert_eq!(confirmed.confirmed_at, Some(at(&o, 4)));
        assert_eq!(confirmed.detected_at, pending.detected_at);
        assert_eq!(on_deposit_confirmed(&confirmed, 13, at(&o, 5)), None);
    }

    const SCANNED_LONG_AGO: ExpiryFacts = ExpiryFacts {
        awaiting_confirmation: false,
        chain: ChainProgress::Unwatched,
    };

    #[test]
    fn an_order_expires_at_the_end_of_its_grace_period() {
        let o = order();
        let end = o.grace_ends_at();
        assert_eq!(expiry(&o, SCANNED_LONG_AGO, end - Duration::milliseconds(1), end), None);
        let expired = expiry(&o, SCANNED_LONG_AGO, end, end + Duration::minutes(30)).expect("expires at grace end");
        assert_eq!(expired.order.status, OrderStatus::Expired);
        assert_eq!(expired.order.expired_at, Some(end));
        assert_eq!(
            expired.cooldown,
            AddressCooldown {
                protocol: Protocol::Evm,
                address: "0x1".into(),
                order_id: "ord_1".into(),
                until: end + Duration::minutes(30),
            }
        );
    }

    #[test]
    fn an_unconfirmed_payment_keeps_the_order_open() {
        let o = order();
        let facts = ExpiryFacts {
            awaiting_confirmation: true,
            ..SCANNED_LONG_AGO
        };
        assert_eq!(
            expiry(&o, facts, o.grace_ends_at() + Duration::hours(1), o.grace_ends_at()),
            None
        );
    }

    #[test]
    fn expiry_waits_for_the_chain_to_be_scanned_past_the_grace_end() {
        let o = order();
        let end = o.grace_ends_at();
        let now = end + Duration::hours(1);
        let scanned = |t| ExpiryFacts {
            awaiting_confirmation: false,
            chain: ChainProgress::ScannedThrough(t),
        };
        assert_eq!(expiry(&o, scanned(None), now, now), None, "rewound chain");
        assert_eq!(expiry(&o, scanned(Some(end - Duration::seconds(1))), now, now), None);
        assert!(expiry(&o, scanned(Some(end)), now, now).is_some());
    }

    #[test]
    fn ended_orders_do_not_expire_again() {
        for status in [OrderStatus::Completed, OrderStatus::Expired] {
            let mut o = order();
            o.status = status;
            assert_eq!(
                expiry(
                    &o,
                    SCANNED_LONG_AGO,
                    o.grace_ends_at() + Duration::hours(1),
                    o.created_at
                ),
                None
            );
        }
    }
}

#[cfg(test)]
mod classification_tests {
    use super::*;
    use crate::chain::{Currency, Protocol};
    use chrono::{Duration, TimeZone, Utc};

    fn order() -> Order {
        let created = Utc.with_ymd_and_hms(2025, 1, 20, 10, 30, 0).unwrap();
        crate::order::NewOrder {
            order_id: "ord_1".into(),
            order_reference: "r".into(),
            amount: Amount::parse_positive("amount", "10").unwrap(),
            currency: Currency::Usdt,
            chain_id: "ethereum".into(),
            protocol: Protocol::Evm,
            metadata: Default::default(),
            success_url: None,
            cancel_url: None,
            payment_url: String::new(),
            payment_window_minutes: 10,
            grace_minutes: 5,
            created_at: created,
            expires_at: created + Duration::minutes(10),
            payment_link_id: None,
            shared: None,
            quote: None,
        }
        .into_order("0x1".into())
    }

    fn transfer(at: Timestamp) -> ObservedTransfer {
        ObservedTransfer {
            chain_id: "ethereum".into(),
            tx_hash: "0xaa".into(),
            log_index: 0,
            block_number: 1,
            block_hash: "0xbb".into(),
            block_time: at,
            token: "0xtoken".into(),
            currency: Currency::Usdt,
            from: "0xfrom".into(),
            to: "0x1".into(),
            amount: Amount::parse_positive("amount", "10").unwrap(),
        }
    }

    #[test]
    fn payments_count_until_expiry_plus_grace() {
        let o = order();
        assert_eq!(
            classify_order_payment(&o, &transfer(o.grace_ends_at())),
            OrderPayment::Payment
        );
        let late = transfer(o.grace_ends_at() + Duration::seconds(1));
        assert_eq!(classify_order_payment(&o, &late), OrderPayment::Late);
    }

    #[test]
    fn terminal_orders_get_late_payments_and_wrong_tokens_never_count() {
        let mut o = order();
        let t = transfer(o.created_at);
        let mut wrong = t.clone();
        wrong.currency = Currency::Usdc;
        assert_eq!(classify_order_payment(&o, &wrong), OrderPayment::Mismatch);
        let mut other_chain = t.clone();
        other_chain.chain_id = "polygon".into();
        assert_eq!(classify_order_payment(&o, &other_chain), OrderPayment::Mismatch);
        o.status = OrderStatus::Completed;
        assert_eq!(classify_order_payment(&o, &t), OrderPayment::Late);
    }
}
