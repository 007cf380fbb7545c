//! SQLite side of the chain watcher: scans, confirmations and reorgs, each one transaction.
//! What they change is decided by [`crate::settle::rules`]; this file loads and persists.

use async_trait::async_trait;
use sqlx::Row;

pub(super) use crate::store::shared_chain::cool_down;

use super::{SqliteStore, Tx, deposit_from_row, insert_event, order_from_row};
use crate::amount::Amount;
use crate::chain::lease::{LeaseClaim, LeaseRecord};
use crate::chain::{Currency, Protocol};
use crate::deposit::Deposit;
use crate::error::Result;
use crate::event::Event;
use crate::ids;
use crate::order::Order;
use crate::settle::rules::{self, Holder, TransferKind};
use crate::settle::{CLOCK_SKEW, Confirmation, ObservedTransfer, PendingTransfer, Scan};
use crate::store::ChainStore;
use crate::store::shared_address::{self, SharedMatch};
use crate::store::shared_chain::{self, SettleDb};
use crate::time::{Timestamp, from_millis, to_millis};

/// Records each transfer not recorded yet, with what it means for its holder (order, deposit,
/// shared-address order or nobody) and its events: a scan's transfers and a claim's alike.
async fn record_transfers(tx: &mut Tx, transfers: &[ObservedTransfer], now: Timestamp) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for t in transfers {
        if shared_chain::already_recorded(tx, t).await? {
            continue;
        }
        let holder = holder_at(tx, t).await?;
        let effect = rules::on_transfer(holder, t, ids::deposit_id, now);
        events.extend(shared_chain::record_transfer(tx, t, effect, now).await?);
    }
    Ok(events)
}

async fn holder_at(tx: &mut Tx, t: &ObservedTransfer) -> Result<Holder> {
    let (address, at) = (t.to.as_str(), t.block_time + CLOCK_SKEW);
    match shared_address::match_transfer(tx, t, at).await? {
        SharedMatch::NotShared => {}
        SharedMatch::NoOrder => return Ok(rules::shared_holder(None, t)),
        SharedMatch::Candidate(order_id) => {
            let order = load_order(tx, &order_id).await?;
            return Ok(rules::shared_holder(Some(order), t));
        }
    }
    let order =
        sqlx::query("SELECT * FROM orders WHERE address = $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT 1")
            .bind(address)
            .bind(to_millis(&at))
            .fetch_optional(&mut **tx)
            .await?;
    let order = order.as_ref().map(order_from_row).transpose()?;
    let deposit = shared_chain::deposit_holder_at(tx, address, at).await?;
    Ok(rules::holder(order, deposit))
}

async fn insert_deposit(tx: &mut Tx, d: &Deposit, block_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO deposits (deposit_id, deposit_reference, address, chain_id, currency, amount, amount_sort,
             tx_hash, log_index, block_number, block_hash, status, confirmations, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&d.deposit_id)
    .bind(&d.deposit_reference)
    .bind(&d.address)
    .bind(&d.chain_id)
    .bind(d.currency.as_str())
    .bind(d.amount.to_string())
    .bind(d.amount.sort_key())
    .bind(&d.tx_hash)
    .bind(d.log_index as i64)
    .bind(d.block_number as i64)
    .bind(block_hash)
    .bind(d.status.as_str())
    .bind(d.confirmations as i64)
    .bind(to_millis(&d.detected_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load_order(tx: &mut Tx, order_id: &str) -> Result<Order> {
    let row = sqlx::query("SELECT * FROM orders WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(&mut **tx)
        .await?;
    order_from_row(&row)
}

fn transfer_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ObservedTransfer> {
    Ok(ObservedTransfer {
        chain_id: r.try_get("chain_id")?,
        tx_hash: r.try_get("tx_hash")?,
        log_index: r.try_get::<i64, _>("log_index")? as u64,
        block_number: r.try_get::<i64, _>("block_number")? as u64,
        block_hash: r.try_get("block_hash")?,
        block_time: from_millis(r.try_get("block_time")?),
        token: r.try_get("token")?,
        currency: Currency::from_stored(r.try_get("currency")?)?,
        from: r.try_get("from_address")?,
        to: r.try_get("to_address")?,
        amount: Amount::from_stored(r.try_get("amount")?)?,
    })
}

/// Reverses one unconfirmed transfer: uncounts it and reports the reversal if it was reported.
async fn reverse(tx: &mut Tx, chain_id: &str, tx_hash: &str, log_index: u64, now: Timestamp) -> Result<Option<Event>> {
    let Some(row) = sqlx::query(
        "UPDATE transfers SET status = 'reversed', reversed_at = $4
         WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3 AND status = 'unconfirmed' RETURNING *",
    )
    .bind(chain_id)
    .bind(tx_hash)
    .bind(log_index as i64)
    .bind(to_millis(&now))
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let t = transfer_from_row(&row)?;
    shared_chain::reverse_transfer(tx, &row, &t, now).await
}

impl SettleDb for sqlx::Sqlite {
    async fn insert_event(tx: &mut Tx, event: &Event) -> Result<()> {
        insert_event(tx, event).await
    }

    async fn insert_deposit(tx: &mut Tx, d: &Deposit, block_hash: &str) -> Result<()> {
        insert_deposit(tx, d, block_hash).await
    }

    async fn load_order_confirmed(tx: &mut Tx, order_id: &str) -> Result<(Order, Amount)> {
        let row = sqlx::query("SELECT * FROM orders WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok((
            order_from_row(&row)?,
            Amount::from_stored(row.try_get("amount_confirmed")?)?,
        ))
    }

    async fn load_deposit(tx: &mut Tx, deposit_id: &str) -> Result<Option<Deposit>> {
        let row = sqlx::query("SELECT * FROM deposits WHERE deposit_id = $1")
            .bind(deposit_id)
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(deposit_from_row).transpose()
    }

    async fn load_order_to_reverse(tx: &mut Tx, order_id: &str, _kind: TransferKind) -> Result<Order> {
        load_order(tx, order_id).await
    }

    async fn delete_deposit(tx: &mut Tx, deposit_id: &str) -> Result<Deposit> {
        let row = sqlx::query("DELETE FROM deposits WHERE deposit_id = $1 RETURNING *")
            .bind(deposit_id)
            .fetch_one(&mut **tx)
            .await?;
        deposit_from_row(&row)
    }
}

#[async_trait]
impl ChainStore for SqliteStore {
    async fn chain_cursor(&self, chain_id: &str) -> Result<Option<u64>> {
        shared_chain::chain_cursor(&self.reader, chain_id).await
    }

    async fn recent_blocks(&self, chain_id: &str, limit: u32) -> Result<Vec<(u64, String)>> {
        shared_chain::recent_blocks(&self.reader, chain_id, limit).await
    }

    async fn watched_addresses(&self, protocol: Protocol, assigned_since: Option<Timestamp>) -> Result<Vec<String>> {
        let mut addresses: Vec<String> = sqlx::query_scalar(
            "SELECT address FROM pool_addresses
             WHERE protocol = $1 AND state IN ('assigned', 'cooldown') AND ($2 IS NULL OR assigned_at >= $2)",
        )
        .bind(protocol.as_str())
        .bind(assigned_since.as_ref().map(to_millis))
        .fetch_all(&self.reader)
        .await?;
        addresses.extend(shared_address::watched(&self.reader, protocol, assigned_since).await?);
        Ok(addresses)
    }

    async fn apply_scan(&self, scan: &Scan) -> Result<Vec<Event>> {
        let mut tx = self.begin().await?;
        let next: Option<i64> = sqlx::query_scalar("SELECT next_block FROM chain_cursors WHERE chain_id = $1")
            .bind(&scan.chain_id)
            .fetch_optional(&mut *tx)
            .await?;
        // Another process scanned this range meanwhile, or rewound below it: this scan is stale.
        if next.is_some_and(|n| n != scan.from as i64) {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let events = record_transfers(&mut tx, &scan.transfers, scan.now).await?;
        shared_chain::keep_block(&mut tx, &scan.chain_id, scan.to, &scan.to_hash).await?;
        sqlx::query(
            "INSERT INTO chain_cursors (chain_id, next_block, scanned_block_time, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (chain_id) DO UPDATE SET next_block = excluded.next_block,
                 scanned_block_time = excluded.scanned_block_time, updated_at = excluded.updated_at",
        )
        .bind(&scan.chain_id)
        .bind(scan.to as i64 + 1)
        .bind(to_millis(&scan.to_time))
        .bind(to_millis(&scan.now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn record_claimed_transfers(&self, transfers: &[ObservedTransfer], now: Timestamp) -> Result<Vec<Event>> {
        let mut tx = self.begin().await?;
        let events = record_transfers(&mut tx, transfers, now).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn recorded_transfer(
        &self,
        chain_id: &str,
        tx_hash: &str,
        log_index: u64,
    ) -> Result<Option<crate::claim::Recorded>> {
        shared_chain::recorded_transfer(&self.reader, chain_id, tx_hash, log_index).await
    }

    async fn unconfirmed_transfers(&self, chain_id: &str) -> Result<Vec<PendingTransfer>> {
        shared_chain::unconfirmed_transfers(&self.reader, chain_id).await
    }

    async fn unconfirmed_payments(&self, order_id: &str) -> Result<Vec<(u64, crate::amount::Amount)>> {
        shared_chain::unconfirmed_payments(&self.reader, order_id).await
    }

    async fn apply_confirmations(
        &self,
        outcomes: &[Confirmation],
        now: Timestamp,
        cooldown_until: Timestamp,
    ) -> Result<Vec<Event>> {
        let mut tx = self.begin().await?;
        let mut events = Vec::new();
        for outcome in outcomes {
            let (chain_id, tx_hash, log_index, confirmations) = match outcome {
                Confirmation::Reversed {
                    chain_id,
                    tx_hash,
                    log_index,
                } => {
                    events.extend(reverse(&mut tx, chain_id, tx_hash, *log_index, now).await?);
                    continue;
                }
                Confirmation::Confirmed {
                    chain_id,
                    tx_hash,
                    log_index,
                    confirmations,
                } => (chain_id, tx_hash, *log_index, *confirmations),
            };
            let Some(row) = sqlx::query(
                "UPDATE transfers SET status = 'confirmed', confirmed_at = $4
                 WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3 AND status = 'unconfirmed' RETURNING *",
            )
            .bind(chain_id)
            .bind(tx_hash)
            .bind(log_index as i64)
            .bind(to_millis(&now))
            .fetch_optional(&mut *tx)
            .await?
            else {
                continue;
            };
            let t = transfer_from_row(&row)?;
            events.extend(shared_chain::confirm_transfer(&mut tx, &row, &t, confirmations, now, cooldown_until).await?);
        }
        tx.commit().await?;
        Ok(events)
    }

    async fn rewind(&self, chain_id: &str, keep_through: u64, now: Timestamp) -> Result<Vec<Event>> {
        let mut tx = self.begin().await?;
        let mut events = Vec::new();
        for (tx_hash, log_index) in shared_chain::orphaned_transfers(&mut tx, chain_id, keep_through).await? {
            events.extend(reverse(&mut tx, chain_id, &tx_hash, log_index, now).await?);
        }
        shared_chain::rewind_cursor(&mut tx, chain_id, keep_through, now).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn claim_watcher_lease(&self, claim: &LeaseClaim<'_>) -> Result<bool> {
        super::lease::claim(self, claim).await
    }

    async fn release_watcher_lease(&self, chain_id: &str, holder: &str) -> Result<()> {
        super::lease::release(self, chain_id, holder).await
    }

    async fn watcher_leases(&self) -> Result<Vec<LeaseRecord>> {
        super::lease::records(self).await
    }
}
