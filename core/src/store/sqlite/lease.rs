//! SQLite side of the watcher lease (see [`crate::chain::lease`]): one row per chain in
//! `watcher_leases`, in Unix milliseconds of this machine's clock (every process on a SQLite
//! database runs on the same machine).

use std::time::Duration;

use sqlx::Row;

use super::SqliteStore;
use crate::chain::lease::{LeaseClaim, LeaseRecord};
use crate::error::Result;
use crate::time::{from_millis, to_millis};

fn now_ms() -> i64 {
    to_millis(&chrono::Utc::now())
}

fn ago(now: i64, age: Option<Duration>) -> Option<i64> {
    age.map(|d| now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
}

pub(super) async fn claim(store: &SqliteStore, claim: &LeaseClaim<'_>) -> Result<bool> {
    let now = now_ms();
    let p = claim.progress;
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO watcher_leases AS w
             (chain_id, holder, acquired_at, expires_at, head, last_success_at, last_error, last_error_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (chain_id) DO UPDATE SET
             holder = excluded.holder,
             acquired_at = CASE WHEN w.holder = excluded.holder AND w.expires_at >= $3
                                THEN w.acquired_at ELSE excluded.acquired_at END,
             expires_at = excluded.expires_at,
             head = COALESCE(excluded.head, w.head),
             last_success_at = MAX(COALESCE(excluded.last_success_at, w.last_success_at),
                                   COALESCE(w.last_success_at, excluded.last_success_at)),
             last_error = excluded.last_error,
             last_error_at = excluded.last_error_at
         WHERE w.holder = excluded.holder OR w.expires_at < $3
         RETURNING holder",
    )
    .bind(claim.chain_id)
    .bind(claim.holder)
    .bind(now)
    .bind(now + i64::try_from(claim.ttl.as_millis()).unwrap_or(i64::MAX / 2))
    .bind(p.head.map(|h| h as i64))
    .bind(ago(now, p.last_success_age))
    .bind(p.last_error.as_deref())
    .bind(ago(now, p.last_error_age))
    .fetch_optional(&store.writer)
    .await?;
    Ok(held.is_some())
}

pub(super) async fn release(store: &SqliteStore, chain_id: &str, holder: &str) -> Result<()> {
    sqlx::query("UPDATE watcher_leases SET expires_at = $3 WHERE chain_id = $1 AND holder = $2")
        .bind(chain_id)
        .bind(holder)
        .bind(now_ms())
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn records(store: &SqliteStore) -> Result<Vec<LeaseRecord>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT w.chain_id, w.holder, w.expires_at, w.head, c.next_block, w.last_success_at, w.last_error,
                w.last_error_at
         FROM watcher_leases w LEFT JOIN chain_cursors c ON c.chain_id = w.chain_id
         ORDER BY w.chain_id",
    )
    .fetch_all(&store.reader)
    .await?;
    rows.iter()
        .map(|r| {
            let last_success: Option<i64> = r.try_get("last_success_at")?;
            Ok(LeaseRecord {
                chain_id: r.try_get("chain_id")?,
                holder: r.try_get("holder")?,
                live: r.try_get::<i64, _>("expires_at")? > now,
                head: r.try_get::<Option<i64>, _>("head")?.map(|h| h as u64),
                cursor: r.try_get::<Option<i64>, _>("next_block")?.map(|c| c as u64),
                last_success_at: last_success.map(from_millis),
                last_success_age: last_success.map(|at| Duration::from_millis((now - at).max(0) as u64)),
                last_error: r.try_get("last_error")?,
                last_error_at: r.try_get::<Option<i64>, _>("last_error_at")?.map(from_millis),
            })
        })
        .collect()
}
