//! SQLite side of the chain watcher: scans, confirmations and reorgs, each one transaction.

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, Tx, deposit_from_row, insert_event, order_from_row};
use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::error::{Error, Result};
use crate::event::{Event, EventType};
use crate::ids;
use crate::order::{Order, OrderStatus};
use crate::settle::{
    CLOCK_SKEW, Confirmation, ObservedTransfer, OrderPayment, PaymentEventData, PendingTransfer, Scan,
    classify_order_payment,
};
use crate::store::ChainStore;
use crate::time::{Timestamp, from_millis, to_millis};

/// Block hashes kept per chain for reorg detection.
const KEPT_BLOCKS: i64 = 512;

/// Who held an address when a block was mined.
enum Owner {
    /// Boxed: an order is far larger than the other variants.
    Order(Box<Order>),
    Deposit(String),
    Nobody,
}

async fn owner_at(tx: &mut Tx, address: &str, at: Timestamp) -> Result<Owner> {
    let at = at + CLOCK_SKEW;
    let order =
        sqlx::query("SELECT * FROM orders WHERE address = $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT 1")
            .bind(address)
            .bind(to_millis(&at))
            .fetch_optional(&mut **tx)
            .await?;
    let order = order.as_ref().map(order_from_row).transpose()?;
    let deposit: Option<(String, i64)> = sqlx::query_as(
        "SELECT deposit_reference, created_at FROM deposit_addresses
         WHERE address = $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(address)
    .bind(to_millis(&at))
    .fetch_optional(&mut **tx)
    .await?;
    // The most recent holder wins: a pool address may serve an order, then a deposit binding.
    Ok(match (order, deposit) {
        (Some(o), Some((r, since))) if from_millis(since) > o.created_at => Owner::Deposit(r),
        (Some(o), _) => Owner::Order(Box::new(o)),
        (None, Some((r, _))) => Owner::Deposit(r),
        (None, None) => Owner::Nobody,
    })
}

async fn insert_transfer(
    tx: &mut Tx,
    t: &ObservedTransfer,
    kind: &str,
    order_id: Option<&str>,
    deposit_id: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO transfers (chain_id, tx_hash, log_index, block_number, block_hash, block_time, token, currency,
             from_address, to_address, amount, status, kind, order_id, deposit_id, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'unconfirmed', $12, $13, $14, $15)",
    )
    .bind(&t.chain_id)
    .bind(&t.tx_hash)
    .bind(t.log_index as i64)
    .bind(t.block_number as i64)
    .bind(&t.block_hash)
    .bind(to_millis(&t.block_time))
    .bind(&t.token)
    .bind(t.currency.as_str())
    .bind(&t.from)
    .bind(&t.to)
    .bind(t.amount.to_string())
    .bind(kind)
    .bind(order_id)
    .bind(deposit_id)
    .bind(to_millis(&now))
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
    let kind: String = row.try_get("kind")?;
    let order_id: Option<String> = row.try_get("order_id")?;
    let deposit_id: Option<String> = row.try_get("deposit_id")?;
    let data = match (kind.as_str(), order_id, deposit_id) {
        ("payment", Some(id), _) => {
            let order = load_order(tx, &id).await?;
            let received = order.amount_received - t.amount;
            sqlx::query("UPDATE orders SET amount_received = $2 WHERE order_id = $1")
                .bind(&id)
                .bind(received.to_string())
                .execute(&mut **tx)
                .await?;
            let order = load_order(tx, &id).await?;
            serde_json::to_value(PaymentEventData {
                subject: &order,
                transfer: &t,
            })
        }
        ("late", Some(id), _) => {
            let order = load_order(tx, &id).await?;
            serde_json::to_value(PaymentEventData {
                subject: &order,
                transfer: &t,
            })
        }
        ("deposit", _, Some(id)) => {
            let row = sqlx::query("DELETE FROM deposits WHERE deposit_id = $1 RETURNING *")
                .bind(&id)
                .fetch_one(&mut **tx)
                .await?;
            let deposit = deposit_from_row(&row)?;
            serde_json::to_value(PaymentEventData {
                subject: &deposit,
                transfer: &t,
            })
        }
        // Mismatched and unmatched transfers were never reported.
        _ => return Ok(None),
    }
    .map_err(|e| Error::Internal(format!("event data: {e}")))?;
    let event = Event::new(EventType::PaymentReversed, now, &data)?;
    insert_event(tx, &event).await?;
    Ok(Some(event))
}

#[async_trait]
impl ChainStore for SqliteStore {
    async fn chain_cursor(&self, chain_id: &str) -> Result<Option<u64>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT next_block FROM chain_cursors WHERE chain_id = $1")
            .bind(chain_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(next.map(|n| n as u64))
    }

    async fn recent_blocks(&self, chain_id: &str, limit: u32) -> Result<Vec<(u64, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT number, hash FROM chain_blocks WHERE chain_id = $1 ORDER BY number DESC LIMIT $2")
                .bind(chain_id)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?;
        Ok(rows.into_iter().map(|(n, h)| (n as u64, h)).collect())
    }

    async fn watched_addresses(&self, protocol: Protocol, assigned_since: Option<Timestamp>) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT address FROM pool_addresses
             WHERE protocol = $1 AND state IN ('assigned', 'cooldown') AND ($2 IS NULL OR assigned_at >= $2)",
        )
        .bind(protocol.as_str())
        .bind(assigned_since.as_ref().map(to_millis))
        .fetch_all(&self.reader)
        .await?)
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
        let mut events = Vec::new();
        for t in &scan.transfers {
            let seen: Option<String> = sqlx::query_scalar(
                "SELECT status FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3",
            )
            .bind(&t.chain_id)
            .bind(&t.tx_hash)
            .bind(t.log_index as i64)
            .fetch_optional(&mut *tx)
            .await?;
            match seen.as_deref() {
                None => {}
                // Reorged out earlier and mined again: it starts over.
                Some("reversed") => {
                    sqlx::query("DELETE FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3")
                        .bind(&t.chain_id)
                        .bind(&t.tx_hash)
                        .bind(t.log_index as i64)
                        .execute(&mut *tx)
                        .await?;
                }
                // Recorded once, never twice (a rescan after a restart or a rewind).
                Some(_) => continue,
            }
            match owner_at(&mut tx, &t.to, t.block_time).await? {
                Owner::Order(order) => {
                    let order = *order;
                    let kind = classify_order_payment(&order, t);
                    let (kind_name, event_type) = match kind {
                        OrderPayment::Payment => ("payment", Some(EventType::OrderPaymentDetected)),
                        OrderPayment::Late => ("late", Some(EventType::OrderLatePayment)),
                        OrderPayment::Mismatch => ("mismatch", None),
                    };
                    insert_transfer(&mut tx, t, kind_name, Some(&order.order_id), None, scan.now).await?;
                    let order = if kind == OrderPayment::Payment {
                        let received = order.amount_received + t.amount;
                        sqlx::query("UPDATE orders SET amount_received = $2 WHERE order_id = $1")
                            .bind(&order.order_id)
                            .bind(received.to_string())
                            .execute(&mut *tx)
                            .await?;
                        load_order(&mut tx, &order.order_id).await?
                    } else {
                        order
                    };
                    if let Some(event_type) = event_type {
                        let e = Event::new(
                            event_type,
                            scan.now,
                            &PaymentEventData {
                                subject: &order,
                                transfer: t,
                            },
                        )?;
                        insert_event(&mut tx, &e).await?;
                        events.push(e);
                    }
                }
                Owner::Deposit(reference) => {
                    let deposit_id = ids::deposit_id();
                    let row = sqlx::query(
                        "INSERT INTO deposits (deposit_id, deposit_reference, address, chain_id, currency, amount,
                             amount_sort, tx_hash, log_index, block_number, block_hash, status, confirmations,
                             detected_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 1, $12) RETURNING *",
                    )
                    .bind(&deposit_id)
                    .bind(&reference)
                    .bind(&t.to)
                    .bind(&t.chain_id)
                    .bind(t.currency.as_str())
                    .bind(t.amount.to_string())
                    .bind(t.amount.sort_key())
                    .bind(&t.tx_hash)
                    .bind(t.log_index as i64)
                    .bind(t.block_number as i64)
                    .bind(&t.block_hash)
                    .bind(to_millis(&scan.now))
                    .fetch_one(&mut *tx)
                    .await?;
                    let deposit = deposit_from_row(&row)?;
                    insert_transfer(&mut tx, t, "deposit", None, Some(&deposit_id), scan.now).await?;
                    let e = Event::new(EventType::DepositPending, scan.now, &deposit)?;
                    insert_event(&mut tx, &e).await?;
                    events.push(e);
                }
                Owner::Nobody => insert_transfer(&mut tx, t, "unmatched", None, None, scan.now).await?,
            }
        }
        sqlx::query(
            "INSERT INTO chain_blocks (chain_id, number, hash) VALUES ($1, $2, $3)
             ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash",
        )
        .bind(&scan.chain_id)
        .bind(scan.to as i64)
        .bind(&scan.to_hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM chain_blocks WHERE chain_id = $1 AND number < $2")
            .bind(&scan.chain_id)
            .bind(scan.to as i64 - KEPT_BLOCKS)
            .execute(&mut *tx)
            .await?;
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

    async fn unconfirmed_transfers(&self, chain_id: &str) -> Result<Vec<PendingTransfer>> {
        let rows: Vec<(String, i64, i64, String)> = sqlx::query_as(
            "SELECT tx_hash, log_index, block_number, block_hash FROM transfers
             WHERE chain_id = $1 AND status = 'unconfirmed' ORDER BY block_number, log_index",
        )
        .bind(chain_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tx_hash, log_index, block_number, block_hash)| PendingTransfer {
                tx_hash,
                log_index: log_index as u64,
                block_number: block_number as u64,
                block_hash,
            })
            .collect())
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
            let kind: String = row.try_get("kind")?;
            match kind.as_str() {
                "payment" => {
                    let order_id: String = row.try_get("order_id")?;
                    let order = load_order(&mut tx, &order_id).await?;
                    let confirmed_before: String =
                        sqlx::query_scalar("SELECT amount_confirmed FROM orders WHERE order_id = $1")
                            .bind(&order_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    let confirmed = Amount::from_stored(&confirmed_before)? + t.amount;
                    sqlx::query("UPDATE orders SET amount_confirmed = $2 WHERE order_id = $1")
                        .bind(&order_id)
                        .bind(confirmed.to_string())
                        .execute(&mut *tx)
                        .await?;
                    // A payment counted before the order completed, confirmed after: the surplus grows.
                    if order.status == OrderStatus::Completed {
                        let surplus = confirmed - order.amount;
                        sqlx::query("UPDATE orders SET surplus = $2 WHERE order_id = $1")
                            .bind(&order_id)
                            .bind((!surplus.is_zero()).then(|| surplus.to_string()))
                            .execute(&mut *tx)
                            .await?;
                    }
                    if order.status == OrderStatus::Pending && confirmed >= order.amount {
                        let surplus = confirmed - order.amount;
                        let surplus = (!surplus.is_zero()).then(|| surplus.to_string());
                        sqlx::query(
                            "UPDATE orders SET status = 'completed', completed_at = $2, tx_hash = $3,
                                 block_number = $4, confirmations = $5, surplus = $6
                             WHERE order_id = $1",
                        )
                        .bind(&order_id)
                        .bind(to_millis(&now))
                        .bind(&t.tx_hash)
                        .bind(t.block_number as i64)
                        .bind(confirmations as i64)
                        .bind(surplus)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE pool_addresses SET state = 'cooldown', cooldown_until = $1
                             WHERE protocol = $2 AND address = $3 AND state = 'assigned' AND assigned_ref = $4",
                        )
                        .bind(to_millis(&cooldown_until))
                        .bind(order.protocol.as_str())
                        .bind(&order.address)
                        .bind(&order_id)
                        .execute(&mut *tx)
                        .await?;
                        let order = load_order(&mut tx, &order_id).await?;
                        let e = Event::new(EventType::OrderCompleted, now, &order)?;
                        insert_event(&mut tx, &e).await?;
                        events.push(e);
                    }
                }
                "deposit" => {
                    let deposit_id: String = row.try_get("deposit_id")?;
                    let row = sqlx::query(
                        "UPDATE deposits SET status = 'confirmed', confirmations = $2, confirmed_at = $3
                         WHERE deposit_id = $1 AND status = 'pending' RETURNING *",
                    )
                    .bind(&deposit_id)
                    .bind(confirmations as i64)
                    .bind(to_millis(&now))
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = row {
                        let deposit = deposit_from_row(&row)?;
                        let e = Event::new(EventType::DepositConfirmed, now, &deposit)?;
                        insert_event(&mut tx, &e).await?;
                        sqlx::query("UPDATE deposits SET confirmed_event_id = $2 WHERE deposit_id = $1")
                            .bind(&deposit_id)
                            .bind(&e.id)
                            .execute(&mut *tx)
                            .await?;
                        events.push(e);
                    }
                }
                _ => {}
            }
        }
        tx.commit().await?;
        Ok(events)
    }

    async fn rewind(&self, chain_id: &str, keep_through: u64, now: Timestamp) -> Result<Vec<Event>> {
        let mut tx = self.begin().await?;
        let orphaned: Vec<(String, i64)> = sqlx::query_as(
            "SELECT tx_hash, log_index FROM transfers
             WHERE chain_id = $1 AND status = 'unconfirmed' AND block_number > $2 ORDER BY block_number, log_index",
        )
        .bind(chain_id)
        .bind(keep_through as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut events = Vec::new();
        for (tx_hash, log_index) in orphaned {
            events.extend(reverse(&mut tx, chain_id, &tx_hash, log_index as u64, now).await?);
        }
        sqlx::query("DELETE FROM chain_blocks WHERE chain_id = $1 AND number > $2")
            .bind(chain_id)
            .bind(keep_through as i64)
            .execute(&mut *tx)
            .await?;
        // The scanned block time goes with the blocks: expiry waits until the rescan passes
        // the deadline again, since a reversed payment may come back in the new blocks.
        sqlx::query(
            "UPDATE chain_cursors SET next_block = $2, scanned_block_time = NULL, updated_at = $3
             WHERE chain_id = $1 AND next_block > $2",
        )
        .bind(chain_id)
        .bind(keep_through as i64 + 1)
        .bind(to_millis(&now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(events)
    }
}
