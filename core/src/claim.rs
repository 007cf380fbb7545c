//! Payment claims: a payer (or the merchant for them) says "transaction X paid order Y" — QieJiao's
//! supplement (补单). The claim is checked on the chain itself, never trusted: the transaction is
//! read from the order's chain, and [`judge`] decides whether its transfers pay the order. What
//! passes is recorded exactly as the watcher would have recorded it (each transfer once, by
//! `(chain, tx hash, log index)`), so a claim and a later scan of the same block never count a
//! payment twice.

use rust_decimal::Decimal;

use crate::chain::source::MinedTransaction;
use crate::order::{Order, OrderStatus};
use crate::settle::{CLOCK_SKEW, ObservedTransfer};
use crate::time::Timestamp;

/// Why a claimed transaction does not pay the order. Each says what was checked, so the
/// merchant (and their payer) can tell what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefusal {
    #[error("transaction {0} was not found on {1} (not mined yet, or another chain)")]
    NotFound(String, String),
    #[error("transaction {0} reverted: it moved no tokens")]
    Reverted(String),
    #[error("transaction {tx} has no {currency} transfer to the order's address {address}")]
    NoTransfer {
        tx: String,
        currency: String,
        address: String,
    },
    #[error("transaction {tx} was not sent from {payer} (its transfers to the order come from {from})")]
    WrongPayer { tx: String, payer: String, from: String },
    #[error("transaction {tx} was mined at {mined}, before the order was created at {created}")]
    BeforeOrder { tx: String, mined: String, created: String },
    #[error("transaction {tx} was mined at {mined}, after the order's payment window and grace ended at {ended}")]
    AfterWindow { tx: String, mined: String, ended: String },
    #[error("transaction {tx} has {have} confirmations; {need} are required")]
    NotConfirmed { tx: String, have: u64, need: u64 },
    #[error("transaction {tx} pays {paid} {currency}; {due} {currency} is due")]
    TooLittle {
        tx: String,
        paid: String,
        due: String,
        currency: String,
    },
    #[error("transaction {tx} is already recorded ({kind}{order}) and cannot be credited again")]
    AlreadyRecorded { tx: String, kind: String, order: String },
    #[error("the order is {0}; only a pending order can be paid")]
    NotPending(String),
}

/// How a transfer of the claimed transaction is already recorded, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `payment`, `late`, `mismatch`, `deposit` or `unmatched`.
    pub kind: String,
    pub order_id: Option<String>,
}

/// What a claim comes to once judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// These transfers pay the order and are not recorded yet: record and confirm them.
    Credit(Vec<ObservedTransfer>),
    /// They already count toward this order (a claim repeated, or the watcher was first).
    AlreadyCounted,
}

/// What [`judge`] needs beyond the transaction.
#[derive(Clone)]
pub struct ClaimFacts<'a> {
    pub tx_hash: &'a str,
    pub chain_name: &'a str,
    /// The payer address the claim names, in the chain's own form; compared by account.
    pub payer: Option<&'a str>,
    /// Same account as `payer`? (Address forms differ per chain: the caller compares.)
    pub same_account: &'a (dyn Fn(&str, &str) -> bool + Sync),
    /// The chain's newest block.
    pub head: u64,
    pub confirmations_required: u64,
    /// How each of the transaction's transfers is already recorded (`None`: not at all), in
    /// the order of `mined.transfers`.
    pub recorded: &'a [Option<Recorded>],
}

/// Decides whether `mined` pays `order`: a succeeded transaction, with transfers of the order's
/// token to the order's address (from the named payer, if one is named), mined between the
/// order's creation and the end of its grace period, with enough confirmations, paying at least
/// what is still due, and not already recorded for anything else.
pub fn judge(order: &Order, mined: Option<&MinedTransaction>, facts: &ClaimFacts<'_>) -> Result<Verdict, ClaimRefusal> {
    let tx = facts.tx_hash.to_string();
    let Some(mined) = mined else {
        return Err(ClaimRefusal::NotFound(tx, facts.chain_name.to_string()));
    };
    if !mined.succeeded {
        return Err(ClaimRefusal::Reverted(tx));
    }
    let ours: Vec<(usize, &ObservedTransfer)> = mined
        .transfers
        .iter()
        .enumerate()
        .filter(|(_, t)| t.currency == order.currency)
        .collect();
    if ours.is_empty() {
        return Err(ClaimRefusal::NoTransfer {
            tx,
            currency: order.currency.as_str().to_string(),
            address: order.address.clone(),
        });
    }
    // Counted already for this very order: the claim is answered, nothing is written again.
    let counted_here = |i: usize| {
        facts
            .recorded
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|r| r.kind == "payment" && r.order_id.as_deref() == Some(order.order_id.as_str()))
    };
    if ours.iter().all(|(i, _)| counted_here(*i)) {
        return Ok(Verdict::AlreadyCounted);
    }
    if let Some(r) = ours
        .iter()
        .find_map(|(i, _)| facts.recorded.get(*i).and_then(Option::as_ref))
    {
        return Err(ClaimRefusal::AlreadyRecorded {
            tx,
            kind: r.kind.clone(),
            order: r
                .order_id
                .as_ref()
                .map(|o| format!(" for order {o}"))
                .unwrap_or_default(),
        });
    }
    if order.status != OrderStatus::Pending {
        return Err(ClaimRefusal::NotPending(order.status.as_str().to_string()));
    }
    if let Some(payer) = facts.payer
        && let Some((_, t)) = ours.iter().find(|(_, t)| !(facts.same_account)(payer, &t.from))
    {
        return Err(ClaimRefusal::WrongPayer {
            tx,
            payer: payer.to_string(),
            from: t.from.clone(),
        });
    }
    let time = |t: Timestamp| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // Block times are whole seconds: as the watcher does, a block of the second the order was
    // created in (within CLOCK_SKEW) belongs to it.
    if mined.block_time + CLOCK_SKEW < order.created_at {
        return Err(ClaimRefusal::BeforeOrder {
            tx,
            mined: time(mined.block_time),
            created: time(order.created_at),
        });
    }
    if mined.block_time > order.grace_ends_at() {
        return Err(ClaimRefusal::AfterWindow {
            tx,
            mined: time(mined.block_time),
            ended: time(order.grace_ends_at()),
        });
    }
    let have = facts.head.saturating_sub(mined.block_number).saturating_add(1);
    if facts.head < mined.block_number || have < facts.confirmations_required {
        return Err(ClaimRefusal::NotConfirmed {
            tx,
            have: if facts.head < mined.block_number { 0 } else { have },
            need: facts.confirmations_required,
        });
    }
    let paid: Decimal = ours.iter().map(|(_, t)| t.amount.as_decimal()).sum();
    let due = (order.amount.as_decimal() - order.amount_received.as_decimal()).max(Decimal::ZERO);
    if paid < due {
        return Err(ClaimRefusal::TooLittle {
            tx,
            paid: paid.normalize().to_string(),
            due: due.normalize().to_string(),
            currency: order.currency.as_str().to_string(),
        });
    }
    Ok(Verdict::Credit(ours.into_iter().map(|(_, t)| t.clone()).collect()))
}

/// The answer to a claim: the order as it now stands, or why the transaction does not pay it.
pub type ClaimOutcome = std::result::Result<Order, ClaimRefusal>;

impl crate::Engine {
    /// Checks on the order's chain that transaction `tx_hash` (sent by `payer`, when named)
    /// pays order `order_id`, and if it does records its transfers as the watcher would and
    /// confirms them: the order completes and its events go out. Idempotent: a transaction
    /// already counted for the order answers the order again.
    ///
    /// `Err` is for what is not the claim's fault (unknown order, the chain not watched or its
    /// node not answering); a transaction that does not pay is `Ok(Err(refusal))`.
    pub async fn claim_payment(
        &self,
        order_id: &str,
        tx_hash: &str,
        payer: Option<&str>,
    ) -> crate::Result<ClaimOutcome> {
        let order = self.get_order(order_id).await?;
        let network = self
            .chains()
            .get(&order.chain_id)
            .ok_or_else(|| crate::Error::Internal(format!("chain {} is not configured", order.chain_id)))?
            .clone();
        let Some(source) = crate::chain::source::for_network(&network)? else {
            return Err(crate::Error::Internal(format!("chain {} is not watched", network.id)));
        };
        let recipient = source.watch_key(&order.address).ok_or_else(|| {
            crate::Error::Internal(format!(
                "order address {} is not a {} address",
                order.address, network.id
            ))
        })?;
        if let Some(p) = payer
            && source.watch_key(p).is_none()
        {
            return Err(crate::Error::validation(
                "p_addr",
                format!("'{p}' is not an address of {}", network.name),
            ));
        }
        let mined = source.transaction(tx_hash, recipient).await?;
        let head = source.head().await?;
        let mut recorded = Vec::new();
        for t in mined.iter().flat_map(|m| &m.transfers) {
            recorded.push(
                self.chain_store()
                    .recorded_transfer(&t.chain_id, &t.tx_hash, t.log_index)
                    .await?,
            );
        }
        let same_account = |a: &str, b: &str| match (source.watch_key(a), source.watch_key(b)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        let facts = ClaimFacts {
            tx_hash,
            chain_name: &network.name,
            payer,
            same_account: &same_account,
            head,
            confirmations_required: u64::from(network.confirmations),
            recorded: &recorded,
        };
        let transfers = match judge(&order, mined.as_ref(), &facts) {
            Err(refusal) => return Ok(Err(refusal)),
            Ok(Verdict::AlreadyCounted) => return Ok(Ok(order)),
            Ok(Verdict::Credit(transfers)) => transfers,
        };
        let now = self.now();
        let store = self.chain_store();
        let mut events = store.record_claimed_transfers(&transfers, now).await?;
        let confirmations: Vec<crate::settle::Confirmation> = transfers
            .iter()
            .map(|t| crate::settle::Confirmation::Confirmed {
                chain_id: t.chain_id.clone(),
                tx_hash: t.tx_hash.clone(),
                log_index: t.log_index,
                confirmations: head.saturating_sub(t.block_number) + 1,
            })
            .collect();
        let cooldown = chrono::Duration::minutes(i64::from(self.settings().address_cooldown_minutes));
        events.extend(store.apply_confirmations(&confirmations, now, now + cooldown).await?);
        if !events.is_empty() {
            self.notify_events_written();
        }
        Ok(Ok(self.get_order(order_id).await?))
    }
}
