//! PostgreSQL side of the watcher lease (see [`crate::chain::lease`]): one row per chain in
//! `watcher_leases`, timed by the database's clock (`clock_timestamp()`), so replicas whose
//! clocks disagree still agree on when a lease expired. Ages the holder measured on its own
//! monotonic clock are turned into database times on the way in.

use std::time::Duration;

use sqlx::Row;

use super::PgStore;
use crate::chain::lease::{LeaseClaim, LeaseRecord};
use crate::error::Result;

fn millis(d: Option<Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(super) async fn claim(store: &PgStore, claim: &LeaseClaim<'_>) -> Result<bool> {
    let p = claim.progress;
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO watcher_leases AS w
             (chain_id, holder, acquired_at, expires_at, head, last_success_at, last_error, last_error_at)
         VALUES ($1, $2, clock_timestamp(), clock_timestamp() + make_interval(secs => $3::float8 / 1000), $4,
                 clock_timestamp() - make_interval(secs => $5::float8 / 1000), $6,
                 clock_timestamp() - make_interval(secs => $7::float8 / 1000))
         ON CONFLICT (chain_id) DO UPDATE SET
             holder = excluded.holder,
             acquired_at = CASE WHEN w.holder = excluded.holder AND w.expires_at >= clock_timestamp()
                                THEN w.acquired_at ELSE excluded.acquired_at END,
             expires_at = excluded.expires_at,
             head = COALESCE(excluded.head, w.head),
             last_success_at = GREATEST(excluded.last_success_at, w.last_success_at),
             last_error = excluded.last_error,
             last_error_at = excluded.last_error_at
         WHERE w.holder = excluded.holder OR w.expires_at < clock_timestamp()
         RETURNING holder",
    )
    .bind(claim.chain_id)
    .bind(claim.holder)
    .bind(millis(Some(claim.ttl)))
    .bind(p.head.map(|h| h as i64))
    .bind(millis(p.last_success_age))
    .bind(p.last_error.as_deref())
    .bind(millis(p.last_error_age))
    .fetch_optional(&store.pool)
    .await?;
    Ok(held.is_some())
}

pub(super) async fn release(store: &PgStore, chain_id: &str, holder: &str) -> Result<()> {
    sqlx::query("UPDATE watcher_leases SET expires_at = clock_timestamp() WHERE chain_id = $1 AND holder = $2")
        .bind(chain_id)
        .bind(holder)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn records(store: &PgStore) -> Result<Vec<LeaseRecord>> {
    let rows = sqlx::query(
        "SELECT w.chain_id, w.holder, w.expires_at > clock_timestamp() AS live, w.head, c.next_block,
                w.last_success_at,
                (EXTRACT(EPOCH FROM clock_timestamp() - w.last_success_at) * 1000)::BIGINT AS last_success_age,
                w.last_error, w.last_error_at
         FROM watcher_leases w LEFT JOIN chain_cursors c ON c.chain_id = w.chain_id
         ORDER BY w.chain_id",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LeaseRecord {
                chain_id: r.try_get("chain_id")?,
                holder: r.try_get("holder")?,
                live: r.try_get("live")?,
                head: r.try_get::<Option<i64>, _>("head")?.map(|h| h as u64),
                cursor: r.try_get::<Option<i64>, _>("next_block")?.map(|c| c as u64),
                last_success_at: r.try_get("last_success_at")?,
                last_success_age: r
                    .try_get::<Option<i64>, _>("last_success_age")?
                    .map(|ms| Duration::from_millis(ms.max(0) as u64)),
                last_error: r.try_get("last_error")?,
                last_error_at: r.try_get("last_error_at")?,
            })
        })
        .collect()
}
