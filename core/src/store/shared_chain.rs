//! Statements of the chain store (scans, confirmations, rewinds) that both backends run alike:
//! the same SQL up to a [`Dialect`] word, called by each backend inside its own transaction.
//! Locking (PostgreSQL's cursor and order row locks) and what differs in a table's columns
//! stay in the backend's `settle.rs`.

use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Row, Transaction,
    Type,
};

use super::rows::DbTime;
use super::shared::Dialect;
use crate::amount::Amount;
use crate::deposit::Deposit;
use crate::error::{Error, Result};
use crate::event::{Event, EventType};
use crate::order::Order;
use crate::settle::rules::{self, AddressCooldown, PaymentConfirmed, Reversal, TransferEffect, TransferKind};
use crate::settle::{ObservedTransfer, PaymentEventData, PendingTransfer};
use crate::time::Timestamp;

/// Block hashes kept per chain for reorg detection.
const KEPT_BLOCKS: i64 = 512;

/// The next block to scan on `chain_id`, if it was ever scanned.
pub(crate) async fn chain_cursor<DB>(pool: &Pool<DB>, chain_id: &str) -> Result<Option<u64>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    let next: Option<i64> = sqlx::query_scalar("SELECT next_block FROM chain_cursors WHERE chain_id = $1")
        .bind(chain_id)
        .fetch_optional(pool)
        .await?;
    Ok(next.map(|n| n as u64))
}

/// The newest `limit` kept blocks of `chain_id`, newest first.
pub(crate) async fn recent_blocks<DB>(pool: &Pool<DB>, chain_id: &str, limit: u32) -> Result<Vec<(u64, String)>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
{
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT number, hash FROM chain_blocks WHERE chain_id = $1 ORDER BY number DESC LIMIT $2")
            .bind(chain_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(n, h)| (n as u64, h)).collect())
}

/// The transfers of `chain_id` still waiting for confirmations, in chain order.
pub(crate) async fn unconfirmed_transfers<DB>(pool: &Pool<DB>, chain_id: &str) -> Result<Vec<PendingTransfer>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> (String, i64, i64, String): FromRow<'r, DB::Row>,
{
    let rows: Vec<(String, i64, i64, String)> = sqlx::query_as(
        "SELECT tx_hash, log_index, block_number, block_hash FROM transfers
         WHERE chain_id = $1 AND status = 'unconfirmed' ORDER BY block_number, log_index",
    )
    .bind(chain_id)
    .fetch_all(pool)
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

/// The block numbers and amounts of `order_id`'s payments still waiting for confirmations, in
/// chain order (what its payment page shows as detected).
pub(crate) async fn unconfirmed_payments<DB>(pool: &Pool<DB>, order_id: &str) -> Result<Vec<(u64, Amount)>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
{
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT block_number, amount FROM transfers
         WHERE order_id = $1 AND kind = 'payment' AND status = 'unconfirmed' ORDER BY block_number, log_index",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(block, amount)| Ok((block as u64, Amount::from_stored(&amount)?)))
        .collect()
}

/// How a transfer is recorded, if it is and was not reversed: its kind and order (a payment
/// claim's question, see [`crate::claim`]).
pub(crate) async fn recorded_transfer<DB>(
    pool: &Pool<DB>,
    chain_id: &str,
    tx_hash: &str,
    log_index: u64,
) -> Result<Option<crate::claim::Recorded>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'r> (String, Option<String>): FromRow<'r, DB::Row>,
{
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT kind, order_id FROM transfers
         WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3 AND status <> 'reversed'",
    )
    .bind(chain_id)
    .bind(tx_hash)
    .bind(log_index as i64)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(kind, order_id)| crate::claim::Recorded { kind, order_id }))
}

/// Whether a scanned transfer is already recorded (a rescan after a restart or a rewind): it is
/// recorded once, never twice. One reorged out earlier and mined again is forgotten, and starts over.
pub(crate) async fn already_recorded<DB>(tx: &mut Transaction<'_, DB>, t: &ObservedTransfer) -> Result<bool>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
{
    let seen: Option<String> =
        sqlx::query_scalar("SELECT status FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3")
            .bind(t.chain_id.as_str())
            .bind(t.tx_hash.as_str())
            .bind(t.log_index as i64)
            .fetch_optional(&mut **tx)
            .await?;
    match seen.as_deref() {
        None => Ok(false),
        Some("reversed") => {
            sqlx::query("DELETE FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3")
                .bind(t.chain_id.as_str())
                .bind(t.tx_hash.as_str())
                .bind(t.log_index as i64)
                .execute(&mut **tx)
                .await?;
            Ok(false)
        }
        Some(_) => Ok(true),
    }
}

/// Records a scanned transfer as unconfirmed, counted as `kind` for the order or deposit named.
pub(crate) async fn insert_transfer<DB>(
    tx: &mut Transaction<'_, DB>,
    t: &ObservedTransfer,
    kind: TransferKind,
    order_id: Option<&str>,
    deposit_id: Option<&str>,
    now: Timestamp,
) -> Result<()>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
{
    let sql = format!(
        "INSERT INTO transfers (chain_id, tx_hash, log_index, block_number, block_hash, block_time, token, currency,
             from_address, to_address, amount, status, kind, order_id, deposit_id, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11{numeric}, 'unconfirmed', $12, $13, $14, $15)",
        numeric = DB::AS_NUMERIC,
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(t.chain_id.as_str())
        .bind(t.tx_hash.as_str())
        .bind(t.log_index as i64)
        .bind(t.block_number as i64)
        .bind(t.block_hash.as_str())
        .bind(DbTime(t.block_time))
        .bind(t.token.as_str())
        .bind(t.currency.as_str())
        .bind(t.from.as_str())
        .bind(t.to.as_str())
        .bind(t.amount.to_string())
        .bind(kind.as_str())
        .bind(order_id)
        .bind(deposit_id)
        .bind(DbTime(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes an order's `amount_received` (on PostgreSQL the caller holds the order's row lock).
pub(crate) async fn save_amount_received<DB>(tx: &mut Transaction<'_, DB>, order: &Order) -> Result<()>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
{
    let sql = format!(
        "UPDATE orders SET amount_received = $2{numeric} WHERE order_id = $1",
        numeric = DB::AS_NUMERIC
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(order.order_id.as_str())
        .bind(order.amount_received.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves an ended order's address to cooldown, if the order still holds it.
pub(crate) async fn cool_down<DB>(tx: &mut Transaction<'_, DB>, c: &AddressCooldown) -> Result<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
{
    sqlx::query(
        "UPDATE pool_addresses SET state = 'cooldown', cooldown_until = $1
         WHERE protocol = $2 AND address = $3 AND state = 'assigned' AND assigned_ref = $4",
    )
    .bind(DbTime(c.until))
    .bind(c.protocol.as_str())
    .bind(c.address.as_str())
    .bind(c.order_id.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps the hash of a scanned range's last block for reorg detection, and forgets blocks
/// older than [`KEPT_BLOCKS`] below it.
pub(crate) async fn keep_block<DB>(tx: &mut Transaction<'_, DB>, chain_id: &str, number: u64, hash: &str) -> Result<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO chain_blocks (chain_id, number, hash) VALUES ($1, $2, $3)
         ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash",
    )
    .bind(chain_id)
    .bind(number as i64)
    .bind(hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM chain_blocks WHERE chain_id = $1 AND number < $2")
        .bind(chain_id)
        .bind(number as i64 - KEPT_BLOCKS)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The unconfirmed transfers of `chain_id` in blocks after `keep_through`, in chain order.
pub(crate) async fn orphaned_transfers<DB>(
    tx: &mut Transaction<'_, DB>,
    chain_id: &str,
    keep_through: u64,
) -> Result<Vec<(String, u64)>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
{
    let orphaned: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tx_hash, log_index FROM transfers
         WHERE chain_id = $1 AND status = 'unconfirmed' AND block_number > $2 ORDER BY block_number, log_index",
    )
    .bind(chain_id)
    .bind(keep_through as i64)
    .fetch_all(&mut **tx)
    .await?;
    Ok(orphaned.into_iter().map(|(h, i)| (h, i as u64)).collect())
}

/// Forgets the blocks of `chain_id` after `keep_through` and moves its cursor back to the next
/// one. The scanned block time goes with the blocks: expiry waits until the rescan passes the
/// deadline again, since a reversed payment may come back in the new blocks.
pub(crate) async fn rewind_cursor<DB>(
    tx: &mut Transaction<'_, DB>,
    chain_id: &str,
    keep_through: u64,
    now: Timestamp,
) -> Result<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
{
    sqlx::query("DELETE FROM chain_blocks WHERE chain_id = $1 AND number > $2")
        .bind(chain_id)
        .bind(keep_through as i64)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE chain_cursors SET next_block = $2, scanned_block_time = NULL, updated_at = $3
         WHERE chain_id = $1 AND next_block > $2",
    )
    .bind(chain_id)
    .bind(keep_through as i64 + 1)
    .bind(DbTime(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a backend writes its own way inside a settlement transaction: events (with their
/// outbox deliveries) and deposits (SQLite keeps a sort key beside the text amount).
pub(crate) trait SettleDb: Dialect {
    async fn insert_event(tx: &mut Transaction<'static, Self>, event: &Event) -> Result<()>;
    async fn insert_deposit(tx: &mut Transaction<'static, Self>, d: &Deposit, block_hash: &str) -> Result<()>;
    /// An order and the sum of its confirmed payments, for counting one more (PostgreSQL
    /// locks the order row until commit).
    async fn load_order_confirmed(tx: &mut Transaction<'static, Self>, order_id: &str) -> Result<(Order, Amount)>;
    /// A deposit, for confirming it (PostgreSQL locks its row until commit).
    async fn load_deposit(tx: &mut Transaction<'static, Self>, deposit_id: &str) -> Result<Option<Deposit>>;
    /// The order a reversed transfer of `kind` counted for (PostgreSQL locks a payment's
    /// order row, whose amount changes, until commit).
    async fn load_order_to_reverse(
        tx: &mut Transaction<'static, Self>,
        order_id: &str,
        kind: TransferKind,
    ) -> Result<Order>;
    /// Deletes a reversed deposit and returns it as it was.
    async fn delete_deposit(tx: &mut Transaction<'static, Self>, deposit_id: &str) -> Result<Deposit>;
}

/// The reference holding a deposit address at `at` (already widened by the clock skew), and
/// since when.
pub(crate) async fn deposit_holder_at<DB>(
    tx: &mut Transaction<'_, DB>,
    address: &str,
    at: Timestamp,
) -> Result<Option<(String, Timestamp)>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'r> (String, DbTime): FromRow<'r, DB::Row>,
{
    let deposit: Option<(String, DbTime)> = sqlx::query_as(
        "SELECT deposit_reference, created_at FROM deposit_addresses
         WHERE address = $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(address)
    .bind(DbTime(at))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(deposit.map(|(r, since)| (r, since.0)))
}

/// Persists what [`rules::on_transfer`] decided for a new transfer, and returns the event it
/// reports, if any.
pub(crate) async fn record_transfer<DB>(
    tx: &mut Transaction<'static, DB>,
    t: &ObservedTransfer,
    effect: TransferEffect,
    now: Timestamp,
) -> Result<Option<Event>>
where
    DB: SettleDb,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
{
    match effect {
        TransferEffect::Order { kind, order, event } => {
            insert_transfer(tx, t, kind, Some(&order.order_id), None, now).await?;
            if kind == TransferKind::Payment {
                save_amount_received(tx, &order).await?;
            }
            let Some(event_type) = event else {
                return Ok(None);
            };
            let e = Event::new(
                event_type,
                now,
                &PaymentEventData {
                    subject: &*order,
                    transfer: t,
                },
            )?;
            DB::insert_event(tx, &e).await?;
            Ok(Some(e))
        }
        TransferEffect::Deposit(deposit) => {
            DB::insert_deposit(tx, &deposit, &t.block_hash).await?;
            insert_transfer(tx, t, TransferKind::Deposit, None, Some(&deposit.deposit_id), now).await?;
            let e = Event::new(EventType::DepositPending, now, &*deposit)?;
            DB::insert_event(tx, &e).await?;
            Ok(Some(e))
        }
        TransferEffect::Unmatched => {
            insert_transfer(tx, t, TransferKind::Unmatched, None, None, now).await?;
            Ok(None)
        }
        TransferEffect::SharedUnmatched => {
            insert_transfer(tx, t, TransferKind::Unmatched, None, None, now).await?;
            let e = super::shared_address::unmatched_event(t, now)?;
            super::shared_address::record_unmatched(tx, t, &e.id, now).await?;
            DB::insert_event(tx, &e).await?;
            Ok(Some(e))
        }
    }
}

/// Persists what [`rules::on_payment_confirmed`] decided for `order_id` (on PostgreSQL under the
/// order's row lock). Returns the `order.completed` event if the order completed.
pub(crate) async fn save_payment_confirmed<DB>(
    tx: &mut Transaction<'static, DB>,
    order_id: &str,
    c: &PaymentConfirmed,
    now: Timestamp,
) -> Result<Option<Event>>
where
    DB: SettleDb,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'a> Option<DbTime>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<String>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB> + Type<DB>,
{
    let o = &c.order;
    let sql = format!(
        "UPDATE orders SET amount_confirmed = $2{numeric}, status = $3, completed_at = $4, tx_hash = $5,
             block_number = $6, confirmations = $7, surplus = $8{numeric}
         WHERE order_id = $1",
        numeric = DB::AS_NUMERIC,
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(order_id)
        .bind(c.amount_confirmed.to_string())
        .bind(o.status.as_str())
        .bind(o.completed_at.map(DbTime))
        .bind(o.tx_hash.as_deref())
        .bind(o.block_number.map(|n| n as i64))
        .bind(o.confirmations.map(|n| n as i64))
        .bind(o.surplus.map(|s| s.to_string()))
        .execute(&mut **tx)
        .await?;
    let Some(cooldown) = &c.completed else {
        return Ok(None);
    };
    cool_down(tx, cooldown).await?;
    let e = Event::new(EventType::OrderCompleted, now, o)?;
    DB::insert_event(tx, &e).await?;
    Ok(Some(e))
}

/// Confirms a loaded pending deposit (on PostgreSQL under its row lock) and reports it as
/// `deposit.confirmed` (the event completion waits on); `None` if it was not pending.
pub(crate) async fn save_deposit_confirmed<DB>(
    tx: &mut Transaction<'static, DB>,
    deposit: &Deposit,
    confirmations: u64,
    now: Timestamp,
) -> Result<Option<Event>>
where
    DB: SettleDb,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> Option<DbTime>: Encode<'a, DB> + Type<DB>,
{
    let Some(d) = rules::on_deposit_confirmed(deposit, confirmations, now) else {
        return Ok(None);
    };
    let e = Event::new(EventType::DepositConfirmed, now, &d)?;
    DB::insert_event(tx, &e).await?;
    sqlx::query(
        "UPDATE deposits SET status = $2, confirmations = $3, confirmed_at = $4, confirmed_event_id = $5
         WHERE deposit_id = $1",
    )
    .bind(d.deposit_id.as_str())
    .bind(d.status.as_str())
    .bind(d.confirmations as i64)
    .bind(d.confirmed_at.map(DbTime))
    .bind(e.id.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(Some(e))
}

/// Counts a transfer just marked confirmed (`row`, the transfer's row as updated) toward its
/// order or deposit, read through the backend (under a row lock on PostgreSQL), and persists
/// what the rules decided. Returns the event it reports, if any.
pub(crate) async fn confirm_transfer<DB>(
    tx: &mut Transaction<'static, DB>,
    row: &DB::Row,
    t: &ObservedTransfer,
    confirmations: u64,
    now: Timestamp,
    cooldown_until: Timestamp,
) -> Result<Option<Event>>
where
    DB: SettleDb,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + Decode<'a, DB> + ColumnIndex<DB::Row>,
    for<'a> String: Encode<'a, DB> + Type<DB> + Decode<'a, DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'a> Option<DbTime>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<String>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB> + Type<DB>,
{
    match TransferKind::from_stored(row.try_get("kind")?) {
        Some(TransferKind::Payment) => {
            let order_id: String = row.try_get("order_id")?;
            let (order, confirmed) = DB::load_order_confirmed(tx, &order_id).await?;
            let c = rules::on_payment_confirmed(&order, confirmed, t, confirmations, now, cooldown_until);
            save_payment_confirmed(tx, &order_id, &c, now).await
        }
        Some(TransferKind::Deposit) => {
            let deposit_id: String = row.try_get("deposit_id")?;
            let Some(deposit) = DB::load_deposit(tx, &deposit_id).await? else {
                return Ok(None);
            };
            save_deposit_confirmed(tx, &deposit, confirmations, now).await
        }
        _ => Ok(None),
    }
}

/// Uncounts a transfer just marked reversed (`row`, the transfer's row as updated) and reports
/// the reversal if the transfer was reported; the order is read through the backend (a
/// payment's under a row lock on PostgreSQL).
pub(crate) async fn reverse_transfer<DB>(
    tx: &mut Transaction<'static, DB>,
    row: &DB::Row,
    t: &ObservedTransfer,
    now: Timestamp,
) -> Result<Option<Event>>
where
    DB: SettleDb,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + Decode<'a, DB> + ColumnIndex<DB::Row>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> Option<String>: Decode<'a, DB> + Type<DB>,
{
    let Some(kind) = TransferKind::from_stored(row.try_get("kind")?) else {
        return Ok(None);
    };
    // An unmatched transfer to a shared address was reported: so is its reversal.
    if kind == TransferKind::Unmatched {
        if !super::shared_address::forget_unmatched(tx, t).await? {
            return Ok(None);
        }
        let event = Event::new(EventType::PaymentReversed, now, &serde_json::json!({ "transfer": t }))?;
        DB::insert_event(tx, &event).await?;
        return Ok(Some(event));
    }
    let order_id: Option<String> = row.try_get("order_id")?;
    let deposit_id: Option<String> = row.try_get("deposit_id")?;
    let order = match order_id {
        Some(id) if rules::reversal_needs_order(kind) => Some(DB::load_order_to_reverse(tx, &id, kind).await?),
        _ => None,
    };
    let data = match rules::on_reversed(kind, order, t) {
        Reversal::PaymentUncounted(order) => {
            save_amount_received(tx, &order).await?;
            serde_json::to_value(PaymentEventData {
                subject: &*order,
                transfer: t,
            })
        }
        Reversal::LatePayment(order) => serde_json::to_value(PaymentEventData {
            subject: &*order,
            transfer: t,
        }),
        Reversal::DeleteDeposit => {
            let Some(id) = deposit_id else {
                return Ok(None);
            };
            let deposit = DB::delete_deposit(tx, &id).await?;
            serde_json::to_value(PaymentEventData {
                subject: &deposit,
                transfer: t,
            })
        }
        Reversal::Silent => return Ok(None),
    }
    .map_err(|e| Error::Internal(format!("event data: {e}")))?;
    let event = Event::new(EventType::PaymentReversed, now, &data)?;
    DB::insert_event(tx, &event).await?;
    Ok(Some(event))
}
