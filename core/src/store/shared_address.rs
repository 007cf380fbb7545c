//! Shared-address orders (issue 13), the statements both backends run alike: amount-tail locks
//! (`amount_locks`), matching a transfer to a shared address by its exact amount, and recording
//! one that matches nothing (`unmatched_transfers` + `payment.unmatched`).
//!
//! Race freedom: the primary key of `amount_locks` — (chain_id, currency, address, pay_key) —
//! is the invariant, checked by the database on every backend. SQLite writes every order under
//! its single writer (`BEGIN IMMEDIATE`), so the live tails read in the transaction are all
//! there are. PostgreSQL replicas first take a transaction-scoped advisory lock on the
//! (chain, token, address), so creations on one shared address take turns and each reads the
//! tails the previous one committed; creations on other addresses do not wait.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type};

use super::rows::DbTime;
use super::shared::Dialect;
use crate::chain::Protocol;
use crate::error::Result;
use crate::event::{Event, EventType};
use crate::order::{NewOrder, pay_key};
use crate::settle::ObservedTransfer;
use crate::time::Timestamp;

/// The tails (`pay_key`s) in use on a shared address for `order`'s chain and token, after
/// deleting the locks that ran out (time past and order no longer pending): a new order on the
/// address may take those amounts again.
pub(crate) async fn live_tails<DB>(
    tx: &mut Transaction<'_, DB>,
    order: &NewOrder,
    address: &str,
) -> Result<HashSet<String>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    sqlx::query(
        "DELETE FROM amount_locks
         WHERE chain_id = $1 AND currency = $2 AND address = $3 AND locked_until <= $4
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = amount_locks.order_id AND o.status = 'pending')",
    )
    .bind(order.chain_id.as_str())
    .bind(order.currency.as_str())
    .bind(address)
    .bind(DbTime(order.created_at))
    .execute(&mut **tx)
    .await?;
    let keys: Vec<(String,)> =
        sqlx::query_as("SELECT pay_key FROM amount_locks WHERE chain_id = $1 AND currency = $2 AND address = $3")
            .bind(order.chain_id.as_str())
            .bind(order.currency.as_str())
            .bind(address)
            .fetch_all(&mut **tx)
            .await?;
    Ok(keys.into_iter().map(|(k,)| k).collect())
}

/// Locks `key` on the order's shared address until its grace ends (inserted after the order
/// row, which it references). A unique violation here means another writer took the tail.
pub(crate) async fn insert_lock<DB>(
    tx: &mut Transaction<'_, DB>,
    order: &NewOrder,
    address: &str,
    key: &str,
) -> std::result::Result<(), sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO amount_locks (chain_id, currency, address, pay_key, protocol, order_id, locked_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(order.chain_id.as_str())
    .bind(order.currency.as_str())
    .bind(address)
    .bind(key)
    .bind(order.protocol.as_str())
    .bind(order.order_id.as_str())
    .bind(DbTime(order.grace_ends_at()))
    .bind(DbTime(order.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Releases an ended order's tail lock (expiry: its window and grace are over).
pub(crate) async fn release_lock<DB>(tx: &mut Transaction<'_, DB>, order_id: &str) -> Result<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
{
    sqlx::query("DELETE FROM amount_locks WHERE order_id = $1")
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the locks that ran out (see [`crate::store::Store::purge_amount_locks`]).
pub(crate) async fn purge<DB>(pool: &Pool<DB>, now: Timestamp) -> Result<u64>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
{
    let done = sqlx::query(
        "DELETE FROM amount_locks WHERE locked_until <= $1
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = amount_locks.order_id AND o.status = 'pending')",
    )
    .bind(DbTime(now))
    .execute(pool)
    .await?;
    Ok(DB::rows_affected(&done))
}

/// Shared addresses the watcher must watch: those with a tail lock (a live order, or one whose
/// grace ended recently), of `protocol`; with `since`, only locks taken at or after it.
pub(crate) async fn watched<DB>(pool: &Pool<DB>, protocol: Protocol, since: Option<Timestamp>) -> Result<Vec<String>>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<DbTime>: Encode<'a, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    // `$2 IS NULL` needs a typed NULL on PostgreSQL: compare through the column instead.
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT address FROM amount_locks WHERE protocol = $1 AND created_at >= COALESCE($2, created_at)",
    )
    .bind(protocol.as_str())
    .bind(since.map(DbTime))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(a,)| a).collect())
}

/// How a transfer's recipient relates to shared-address orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SharedMatch {
    /// No shared-address order was ever paid to the address: match it by address as usual.
    NotShared,
    /// The latest order on the address, chain and token created by the block's time (with the
    /// clock skew) whose `payAmount` is exactly the transfer's amount.
    Candidate(String),
    /// A shared address, but no order there asks for this exact amount of this token.
    NoOrder,
}

/// Finds the shared-address order a transfer pays, by exact amount (`at`: the block time
/// widened by the clock skew). Whether it still counts is [`crate::settle::rules::shared_holder`]'s call.
pub(crate) async fn match_transfer<DB>(
    tx: &mut Transaction<'_, DB>,
    t: &ObservedTransfer,
    at: Timestamp,
) -> Result<SharedMatch>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    let shared: Option<(String,)> =
        sqlx::query_as("SELECT order_id FROM orders WHERE address = $1 AND pay_key IS NOT NULL LIMIT 1")
            .bind(t.to.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    if shared.is_none() {
        return Ok(SharedMatch::NotShared);
    }
    let order: Option<(String,)> = sqlx::query_as(
        "SELECT order_id FROM orders
         WHERE address = $1 AND chain_id = $2 AND currency = $3 AND pay_key = $4 AND created_at <= $5
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(t.to.as_str())
    .bind(t.chain_id.as_str())
    .bind(t.currency.as_str())
    .bind(pay_key(&t.amount))
    .bind(DbTime(at))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match order {
        Some((id,)) => SharedMatch::Candidate(id),
        None => SharedMatch::NoOrder,
    })
}

/// The payload of `payment.unmatched`: the transfer, and where it went.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UnmatchedData<'a> {
    address: &'a str,
    chain_id: &'a str,
    currency: crate::chain::Currency,
    amount: String,
    transfer: &'a ObservedTransfer,
}

/// The `payment.unmatched` event of a transfer to a shared address that paid no order.
pub(crate) fn unmatched_event(t: &ObservedTransfer, now: Timestamp) -> Result<Event> {
    Ok(Event::new(
        EventType::PaymentUnmatched,
        now,
        &UnmatchedData {
            address: &t.to,
            chain_id: &t.chain_id,
            currency: t.currency,
            amount: t.amount.to_string(),
            transfer: t,
        },
    )?)
}

/// Records a transfer to a shared address that paid no order beside its `transfers` row, with
/// the event that reported it (a transfer mined again after a reorg is recorded again).
pub(crate) async fn record_unmatched<DB>(
    tx: &mut Transaction<'_, DB>,
    t: &ObservedTransfer,
    event_id: &str,
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
{
    let sql = "INSERT INTO unmatched_transfers (chain_id, tx_hash, log_index, address, currency, amount, event_id, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET event_id = excluded.event_id,
             detected_at = excluded.detected_at";
    sqlx::query(AssertSqlSafe(sql))
        .bind(t.chain_id.as_str())
        .bind(t.tx_hash.as_str())
        .bind(t.log_index as i64)
        .bind(t.to.as_str())
        .bind(t.currency.as_str())
        .bind(t.amount.to_string())
        .bind(event_id)
        .bind(DbTime(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forgets a reorged-out unmatched transfer; true when it had been reported (so its reversal
/// is reported too).
pub(crate) async fn forget_unmatched<DB>(tx: &mut Transaction<'_, DB>, t: &ObservedTransfer) -> Result<bool>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let done = sqlx::query("DELETE FROM unmatched_transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3")
        .bind(t.chain_id.as_str())
        .bind(t.tx_hash.as_str())
        .bind(t.log_index as i64)
        .execute(&mut **tx)
        .await?;
    Ok(DB::rows_affected(&done) > 0)
}
