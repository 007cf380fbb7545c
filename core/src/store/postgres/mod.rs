//! PostgreSQL backend: the production and multi-replica store. Transactions run at READ
//! COMMITTED; the invariants hold under concurrency through row locks (`FOR UPDATE SKIP
//! LOCKED` to claim work nobody else holds; a lock on the `pool_alerts` or
//! `deposit_references` row to serialize changes to one alert or one reference) and unique
//! constraints mapped to domain errors.
//!
//! Amounts are NUMERIC but cross the wire as text (`$n::numeric` in, cast to text out, see
//! `order_columns!`): sqlx's `Decimal` codec encodes and decodes zero without its scale, so
//! `"0.00"` would read back as `"0"`. Identifier columns are declared `COLLATE "C"` in the schema, so orderings
//! match SQLite's byte order whatever the database's locale, and the claim index serves them.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, FromRow, Pool, Postgres, Row};

use super::rows::{DepositRow, OrderRow};
use super::shared::{self, Pools};
use super::{Bound, NewBinding, Store, duplicate_binding, is_unique_violation, metadata_from_json, pool_low_data};
use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::deposit::{self, Deposit, DepositStatus, NewDeposit};
use crate::error::{Error, Result};
use crate::event::{Event, EventType};
use crate::order::{NewOrder, Order};
use crate::pool::{DeriveRange, HdKeyRecord, TopUp};
use crate::time::Timestamp;

mod lease;
mod settle;
mod webhooks;

/// The schema, embedded from `core/migrations/postgres/` at compile time.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

type Tx = sqlx::Transaction<'static, Postgres>;

/// Connections per process unless the config says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// How long opening the store waits for the server before giving up with a clear error.
const STARTUP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl PgStore {
    /// Connects to a `postgres://` URL with a pool of [`DEFAULT_MAX_CONNECTIONS`].
    pub async fn connect(url: &str) -> Result<PgStore> {
        PgStore::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects to a `postgres://` URL with a pool of at most `max_connections`. A server that
    /// does not answer fails at once (within a few seconds), naming its host and port.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<PgStore> {
        let options = PgConnectOptions::from_str(url)?;
        // One plain connection first: the pool would retry until its acquire timeout and then
        // report only that it timed out, not why.
        match tokio::time::timeout(STARTUP_CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => return Err(Error::Internal(unreachable_server(&options, &e))),
            Err(_) => {
                return Err(Error::Internal(format!(
                    "cannot connect to PostgreSQL at {}: no answer within {} s",
                    server_address(&options),
                    STARTUP_CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(PgStore { pool })
    }
}

/// `host:port` (or the socket path) a connection goes to.
fn server_address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

/// Why the server could not be reached, in words an operator acts on.
fn unreachable_server(options: &PgConnectOptions, e: &sqlx::Error) -> String {
    let at = server_address(options);
    let reason = match e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    };
    format!("cannot connect to PostgreSQL at {at}: {reason}")
}

/// Inserts an event and its webhook deliveries (the outbox), due at the event's time. The
/// event's statement also reads the active endpoints, so with none it costs no extra round trip.
async fn insert_event(tx: &mut Tx, event: &Event) -> Result<()> {
    let order = crate::webhook::outbox::order_of(event);
    let endpoints = sqlx::query(
        "WITH event AS (INSERT INTO events (id, type, created_at, payload) VALUES ($1, $2, $3, $4))
         SELECT id, events, order_id FROM webhook_endpoints
         WHERE status = 'active' AND (order_id IS NULL OR order_id = $5)
         ORDER BY created_at, id",
    )
    .bind(&event.id)
    .bind(event.event_type.as_str())
    .bind(event.created_at)
    .bind(event.payload())
    .bind(order)
    .fetch_all(&mut **tx)
    .await?;
    if !endpoints.is_empty() {
        let subscribers = webhooks::subscribers_from_rows(&endpoints)?;
        let deliveries =
            crate::webhook::outbox::deliveries_for(&subscribers, &event.id, event.event_type, order, event.created_at);
        webhooks::insert_deliveries(tx, &deliveries).await?;
    }
    Ok(())
}

fn order_from_row(r: &PgRow) -> Result<Order> {
    Order::try_from(OrderRow::from_row(r)?)
}

fn deposit_from_row(r: &PgRow) -> Result<Deposit> {
    Deposit::try_from(DepositRow::from_row(r)?)
}

/// Claims the least recently used available address of `protocol` for `kind`/`reference`.
/// `SKIP LOCKED`: concurrent claims take different rows and never wait on each other.
async fn claim_address(
    tx: &mut Tx,
    protocol: Protocol,
    kind: &'static str,
    reference: &str,
    now: Timestamp,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE pool_addresses
         SET state = 'assigned', assigned_kind = $3, assigned_ref = $1, cooldown_until = NULL, assigned_at = $4
         WHERE (protocol, address) = (
             SELECT protocol, address FROM pool_addresses
             WHERE protocol = $2 AND state = 'available'
             ORDER BY available_since, address LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING address",
    )
    .bind(reference)
    .bind(protocol.as_str())
    .bind(kind)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Inserts a new order's row with its claimed address (or shared address) and payable amount.
async fn insert_order_row(
    tx: &mut Tx,
    new: &NewOrder,
    address: &str,
    pay: &Amount,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO orders (order_id, order_reference, amount, amount_received, currency,
             chain_id, protocol, address, status, metadata, success_url, cancel_url, payment_url,
             payment_window_minutes, grace_minutes, created_at, expires_at, grace_ends_at,
             payment_link_id, pay_amount, pay_key, fiat_currency, fiat_amount, rate)
         VALUES ($1, $2, $3::numeric, $4::numeric, $5, $6, $7, $8, 'pending', $9, $10, $11, $12,
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
    )
    .bind(&new.order_id)
    .bind(&new.order_reference)
    .bind(new.amount.to_string())
    .bind(Amount::zero_with_scale(pay.scale()).to_string())
    .bind(new.currency.as_str())
    .bind(&new.chain_id)
    .bind(new.protocol.as_str())
    .bind(address)
    .bind(Json(&new.metadata))
    .bind(&new.success_url)
    .bind(&new.cancel_url)
    .bind(&new.payment_url)
    .bind(new.payment_window_minutes as i32)
    .bind(new.grace_minutes as i32)
    .bind(new.created_at)
    .bind(new.expires_at)
    .bind(new.grace_ends_at())
    .bind(&new.payment_link_id)
    .bind(pay.to_string())
    .bind(new.shared.as_ref().map(|_| crate::order::pay_key(pay)))
    .bind(new.quote.as_ref().map(|q| q.currency.clone()))
    .bind(new.quote.as_ref().map(|q| q.amount.to_string()))
    .bind(new.quote.as_ref().map(|q| q.rate.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the smallest free amount tail on a shared order's (chain, token, address): under a
/// transaction-scoped advisory lock on that triple, so creations on one shared address take
/// turns across replicas (each reads the tails committed before it) while others run freely.
/// `amount_locks`' primary key stays the last line of defence.
async fn allocate_tail(tx: &mut Tx, new: &NewOrder) -> Result<Amount> {
    let shared = new.shared.as_ref().expect("a shared order");
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 13))")
        .bind(format!("{}|{}|{}", new.chain_id, new.currency.as_str(), shared.address))
        .execute(&mut **tx)
        .await?;
    let taken = super::shared_address::live_tails(tx, new, &shared.address).await?;
    crate::order::allocate_tail(new.amount, shared.step, &|k| taken.contains(k))
        .ok_or_else(|| crate::order::tails_exhausted(&shared.address, &new.amount))
}

/// How one attempt at a bind ended.
enum BindAttempt {
    Done(Bound),
    /// A concurrent bind gave the reference a live address of this protocol first.
    Raced,
}

impl Pools for PgStore {
    type Db = Postgres;

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn import_addresses(&self, protocol: Protocol, addresses: &[String], now: Timestamp) -> Result<u64> {
        // One array parameter per statement: no bind-parameter limit to chunk around.
        let done = sqlx::query(
            "INSERT INTO pool_addresses (protocol, address, state, available_since, imported_at)
             SELECT $1, address, 'available', $3, $3 FROM unnest($2::text[]) AS a (address)
             ON CONFLICT (protocol, address) DO NOTHING",
        )
        .bind(protocol.as_str())
        .bind(addresses)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn shared_receive_addresses(&self, addresses: &[String]) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT address FROM orders WHERE pay_key IS NOT NULL AND address = ANY($1::text[])",
        )
        .bind(addresses)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }

    async fn release_cooled_addresses(&self, now: Timestamp, never_reuse: &[Protocol]) -> Result<u64> {
        // SKIP LOCKED: replicas releasing at the same moment split the rows instead of
        // waiting on (or deadlocking over) each other's.
        let kept: Vec<&str> = never_reuse.iter().map(|p| p.as_str()).collect();
        let done = sqlx::query(
            "UPDATE pool_addresses
             SET state = 'available', assigned_kind = NULL, assigned_ref = NULL,
                 cooldown_until = NULL, available_since = $1
             WHERE (protocol, address) IN (
                 SELECT protocol, address FROM pool_addresses
                 WHERE state = 'cooldown' AND cooldown_until <= $1 AND protocol <> ALL($2::text[])
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(now)
        .bind(&kept)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn retire_cooled_addresses(&self, protocol: Protocol, cooled_by: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE pool_addresses
             SET state = 'retired', cooldown_until = NULL
             WHERE (protocol, address) IN (
                 SELECT protocol, address FROM pool_addresses
                 WHERE protocol = $1 AND state = 'cooldown' AND cooldown_until <= $2
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(protocol.as_str())
        .bind(cooled_by)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_hd_key(&self, key: &HdKeyRecord) -> Result<(HdKeyRecord, bool)> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO hd_keys (key_id, protocol, xpub, fingerprint, account, start_index, next_index, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (protocol, xpub) DO NOTHING",
        )
        .bind(&key.id)
        .bind(key.protocol.as_str())
        .bind(&key.xpub)
        .bind(&key.fingerprint)
        .bind(i64::from(key.account))
        .bind(i64::from(key.start_index))
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(
            "SELECT key_id, protocol, xpub, fingerprint, account, start_index, next_index, created_at
             FROM hd_keys WHERE protocol = $1 AND xpub = $2",
        )
        .bind(key.protocol.as_str())
        .bind(&key.xpub)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((hd_key_from_row(&row)?, inserted))
    }

    async fn hd_keys(&self) -> Result<Vec<HdKeyRecord>> {
        let rows = sqlx::query(
            "SELECT key_id, protocol, xpub, fingerprint, account, start_index, next_index, created_at
             FROM hd_keys ORDER BY created_at, key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hd_key_from_row).collect()
    }

    async fn top_up_hd(
        &self,
        protocol: Protocol,
        target: u64,
        derive: DeriveRange<'_>,
        now: Timestamp,
    ) -> Result<TopUp> {
        let mut tx = self.pool.begin().await?;
        // The key's row lock serializes top-ups across replicas: the next one reads the index
        // this one committed.
        let key: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT key_id, xpub, next_index FROM hd_keys WHERE protocol = $1
             ORDER BY created_at DESC, key_id DESC LIMIT 1 FOR UPDATE",
        )
        .bind(protocol.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((key_id, xpub, next_index)) = key else {
            return Ok(TopUp::default());
        };
        let available: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pool_addresses WHERE protocol = $1 AND state = 'available'")
                .bind(protocol.as_str())
                .fetch_one(&mut *tx)
                .await?;
        let mut top_up = TopUp {
            has_key: true,
            ..TopUp::default()
        };
        let mut next = next_index as u32;
        let mut missing = target.saturating_sub(available as u64);
        // A derived address already in the pool (imported by hand) is skipped, its index spent;
        // a few rounds make up for such skips.
        for _ in 0..super::TOP_UP_ROUNDS {
            if missing == 0 || next >= crate::pool::hd::MAX_INDEX {
                break;
            }
            let end = next
                .saturating_add(missing.min(u64::from(u32::MAX)) as u32)
                .min(crate::pool::hd::MAX_INDEX);
            let derived = derive(&xpub, next..end)?;
            top_up.derived += u64::from(end - next);
            next = end;
            let (indices, addresses): (Vec<i64>, Vec<String>) =
                derived.into_iter().map(|(i, a)| (i64::from(i), a)).unzip();
            let added = sqlx::query(
                "INSERT INTO pool_addresses (protocol, address, state, available_since, imported_at, hd_key_id, hd_index)
                 SELECT $1, a.address, 'available', $3, $3, $4, a.hd_index
                 FROM unnest($2::text[], $5::bigint[]) AS a (address, hd_index)
                 ON CONFLICT (protocol, address) DO NOTHING",
            )
            .bind(protocol.as_str())
            .bind(&addresses)
            .bind(now)
            .bind(&key_id)
            .bind(&indices)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            top_up.added += added;
            missing = missing.saturating_sub(added);
        }
        sqlx::query("UPDATE hd_keys SET next_index = $1 WHERE key_id = $2")
            .bind(i64::from(next))
            .bind(&key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(top_up)
    }

    async fn check_pool_low(&self, protocol: Protocol, watermark: u32, now: Timestamp) -> Result<Option<Event>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO pool_alerts (protocol, low) VALUES ($1, FALSE) ON CONFLICT (protocol) DO NOTHING")
            .bind(protocol.as_str())
            .execute(&mut *tx)
            .await?;
        // The row lock serializes replicas: the second one reads the first one's verdict.
        let was_low: bool = sqlx::query_scalar("SELECT low FROM pool_alerts WHERE protocol = $1 FOR UPDATE")
            .bind(protocol.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let counts = shared::pool_counts(&mut *tx, protocol).await?;
        let is_low = shared::pool_is_low(counts, watermark);
        if is_low == was_low {
            tx.commit().await?;
            return Ok(None);
        }
        sqlx::query("UPDATE pool_alerts SET low = $2 WHERE protocol = $1")
            .bind(protocol.as_str())
            .bind(is_low)
            .execute(&mut *tx)
            .await?;
        let event = if is_low {
            let e = Event::new(EventType::PoolLow, now, &pool_low_data(protocol, counts, watermark))?;
            insert_event(&mut tx, &e).await?;
            Some(e)
        } else {
            None
        };
        tx.commit().await?;
        Ok(event)
    }

    async fn is_pool_address(&self, protocol: Protocol, address: &str) -> Result<bool> {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pool_addresses WHERE protocol = $1 AND address = $2")
            .bind(protocol.as_str())
            .bind(address)
            .fetch_one(&self.pool)
            .await?;
        Ok(found > 0)
    }

    async fn purge_amount_locks(&self, now: Timestamp) -> Result<u64> {
        super::shared_address::purge(&self.pool, now).await
    }

    async fn create_order(&self, new: NewOrder) -> Result<Order> {
        // A tail taken by another writer despite the advisory lock (it is the invariant's
        // guard, not the invariant) costs a retry from the start, never a duplicate.
        let mut attempts = 0;
        loop {
            match create_order_once(self, new.clone()).await {
                Err(TailTaken) if attempts < TAIL_RETRIES => attempts += 1,
                Err(TailTaken) => {
                    return Err(Error::Internal(format!(
                        "amount tail still taken after {TAIL_RETRIES} retries"
                    )));
                }
                Ok(outcome) => return outcome,
            }
        }
    }

    async fn expire_orders(&self, now: Timestamp, cooldown_until: Timestamp, limit: u32) -> Result<Vec<Order>> {
        use crate::settle::rules::{self, ChainProgress, ExpiryFacts, TransferKind};
        let mut tx = self.pool.begin().await?;
        let mut expired = Vec::new();
        // Pending orders past their grace end (an indexed narrowing; `rules::expiry` decides),
        // with what the rule needs to know about them, a page at a time: orders the rule keeps
        // open are stepped over instead of filling the batch. The facts are read in the
        // statement that locks the order, so no payment can be recorded in between. SKIP
        // LOCKED: replicas expiring at the same moment take disjoint orders, so each order
        // expires (and fires `order.expired`) once, and an order settlement has locked is left
        // to it.
        let mut after: Option<(Timestamp, String)> = None;
        'pages: loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                order_columns!(),
                ", grace_ends_at,
                     EXISTS (SELECT 1 FROM transfers t
                             WHERE t.order_id = orders.order_id AND t.kind = $2 AND t.status = 'unconfirmed')
                         AS awaiting_confirmation,
                     EXISTS (SELECT 1 FROM chain_cursors c WHERE c.chain_id = orders.chain_id) AS chain_watched,
                     (SELECT c.scanned_block_time FROM chain_cursors c WHERE c.chain_id = orders.chain_id)
                         AS chain_scanned_through
                 FROM orders WHERE status = 'pending' AND grace_ends_at <= $1
                   AND ($3::timestamptz IS NULL OR (grace_ends_at, order_id) > ($3, $4))
                 ORDER BY grace_ends_at, order_id LIMIT $5
                 FOR UPDATE SKIP LOCKED"
            ))
            .bind(now)
            .bind(TransferKind::Payment.as_str())
            .bind(after.as_ref().map(|(at, _)| *at))
            .bind(after.as_ref().map(|(_, id)| id.as_str()))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let facts = ExpiryFacts {
                    awaiting_confirmation: row.try_get("awaiting_confirmation")?,
                    chain: if row.try_get("chain_watched")? {
                        ChainProgress::ScannedThrough(row.try_get("chain_scanned_through")?)
                    } else {
                        ChainProgress::Unwatched
                    },
                };
                expired.extend(rules::expiry(&order_from_row(row)?, facts, now, cooldown_until));
                if expired.len() >= limit as usize {
                    break 'pages;
                }
            }
            match rows.last() {
                Some(last) if rows.len() >= limit as usize => {
                    after = Some((last.try_get("grace_ends_at")?, last.try_get("order_id")?));
                }
                _ => break,
            }
        }
        let mut orders = Vec::with_capacity(expired.len());
        for e in expired {
            sqlx::query("UPDATE orders SET status = $2, expired_at = $3 WHERE order_id = $1 AND status = 'pending'")
                .bind(&e.order.order_id)
                .bind(e.order.status.as_str())
                .bind(e.order.expired_at)
                .execute(&mut *tx)
                .await?;
            settle::cool_down(&mut tx, &e.cooldown).await?;
            super::shared_address::release_lock(&mut tx, &e.order.order_id).await?;
            insert_event(&mut tx, &Event::new(EventType::OrderExpired, now, &e.order)?).await?;
            orders.push(e.order);
        }
        tx.commit().await?;
        Ok(orders)
    }

    async fn bind_deposit(&self, b: NewBinding) -> Result<Bound> {
        // The reference row lock makes a race impossible in practice; should the live-address
        // index still fire, the retry reads the winner's address and shares it.
        for _ in 0..2 {
            if let BindAttempt::Done(bound) = self.try_bind(&b).await? {
                return Ok(bound);
            }
        }
        Err(Error::Internal(format!(
            "binding '{}' kept racing a concurrent bind",
            b.deposit_reference
        )))
    }

    async fn unbind_deposit(
        &self,
        reference: &str,
        chain_id: Option<&str>,
        now: Timestamp,
        cooldown_until: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        // Locks the reference against concurrent binds, which could otherwise attach a
        // binding to the address being released.
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM deposit_references WHERE deposit_reference = $1 FOR NO KEY UPDATE")
                .bind(reference)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(Error::DepositReferenceNotFound(reference.to_string()));
        }
        let removed: Vec<(String, String)> = sqlx::query_as(
            "DELETE FROM deposit_bindings WHERE deposit_reference = $1 AND ($2::text IS NULL OR chain_id = $2)
             RETURNING chain_id, protocol",
        )
        .bind(reference)
        .bind(chain_id)
        .fetch_all(&mut *tx)
        .await?;
        if let (Some(chain), true) = (chain_id, removed.is_empty()) {
            return Err(Error::NotFound(format!(
                "Deposit reference '{reference}' has no binding on chain '{chain}'"
            )));
        }
        let mut released = Vec::new();
        let still_bound: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT protocol FROM deposit_bindings WHERE deposit_reference = $1")
                .bind(reference)
                .fetch_all(&mut *tx)
                .await?;
        for protocol in deposit::released_protocols(removed.iter().map(|(_, p)| p.as_str()), &still_bound) {
            let addresses: Vec<String> = sqlx::query_scalar(
                "UPDATE deposit_addresses SET released_at = $3
                 WHERE deposit_reference = $1 AND protocol = $2 AND released_at IS NULL RETURNING address",
            )
            .bind(reference)
            .bind(protocol)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for address in addresses {
                sqlx::query(
                    "UPDATE pool_addresses SET state = 'cooldown', cooldown_until = $1
                     WHERE protocol = $2 AND address = $3 AND state = 'assigned'",
                )
                .bind(cooldown_until)
                .bind(protocol)
                .bind(&address)
                .execute(&mut *tx)
                .await?;
                released.push(address);
            }
        }
        let count = removed.len() as u64;
        if count > 0 {
            let data = serde_json::json!({
                "depositReference": reference,
                "chains": removed.iter().map(|(c, _)| c).collect::<Vec<_>>(),
                "unboundAddresses": count,
                "releasedAddresses": released,
            });
            insert_event(&mut tx, &Event::new(EventType::DepositAddressUnbound, now, &data)?).await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn record_deposit(&self, d: NewDeposit) -> Result<Option<Deposit>> {
        let mut tx = self.pool.begin().await?;
        let reference = shared::deposit_owner(&mut *tx, &d.address).await?;
        let deposit = shared::new_deposit(d, reference);
        // A replica recording the same transfer concurrently waits here, then inserts nothing.
        let inserted = sqlx::query(
            "INSERT INTO deposits (deposit_id, deposit_reference, address, chain_id, currency, amount,
                 tx_hash, log_index, block_number, status, confirmations, detected_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING",
        )
        .bind(&deposit.deposit_id)
        .bind(&deposit.deposit_reference)
        .bind(&deposit.address)
        .bind(&deposit.chain_id)
        .bind(deposit.currency.as_str())
        .bind(deposit.amount.to_string())
        .bind(&deposit.tx_hash)
        .bind(deposit.log_index as i64)
        .bind(deposit.block_number as i64)
        .bind(deposit.status.as_str())
        .bind(deposit.confirmations as i64)
        .bind(deposit.detected_at)
        .bind(deposit.confirmed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        insert_event(&mut tx, &shared::deposit_recorded_event(&deposit)?).await?;
        tx.commit().await?;
        Ok(Some(deposit))
    }

    async fn complete_acknowledged_deposits(&self, now: Timestamp) -> Result<u64> {
        use crate::webhook::{DeliveryStatus, EndpointStatus};
        let mut tx = self.pool.begin().await?;
        // SKIP LOCKED: replicas completing at the same moment split the deposits.
        let confirmed = sqlx::query(concat!(
            "SELECT ",
            deposit_columns!(),
            ", confirmed_event_id FROM deposits WHERE status = $1 AND confirmed_event_id IS NOT NULL
             FOR UPDATE SKIP LOCKED"
        ))
        .bind(DepositStatus::Confirmed.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if confirmed.is_empty() {
            return Ok(0);
        }
        let event_ids = confirmed
            .iter()
            .map(|r| r.try_get("confirmed_event_id"))
            .collect::<std::result::Result<Vec<String>, _>>()?;
        let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
            "SELECT d.event_id, d.endpoint_id, d.status, e.status, e.deleted_at IS NOT NULL
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.event_id = ANY($1)",
        )
        .bind(&event_ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut deliveries: BTreeMap<String, Vec<deposit::ConfirmedEventDelivery>> = BTreeMap::new();
        for (event_id, endpoint_id, status, endpoint_status, endpoint_deleted) in rows {
            deliveries
                .entry(event_id)
                .or_default()
                .push(deposit::ConfirmedEventDelivery {
                    endpoint_id,
                    endpoint_status: EndpointStatus::from_stored(&endpoint_status)?,
                    endpoint_deleted,
                    status: DeliveryStatus::from_stored(&status)?,
                });
        }
        let mut done = 0;
        for (row, event_id) in confirmed.iter().zip(&event_ids) {
            let delivered = deliveries.get(event_id).map_or(&[][..], Vec::as_slice);
            let Some(d) = deposit::on_acknowledged(&deposit_from_row(row)?, delivered, now) else {
                continue;
            };
            done += sqlx::query("UPDATE deposits SET status = $2, completed_at = $3 WHERE deposit_id = $1")
                .bind(&d.deposit_id)
                .bind(d.status.as_str())
                .bind(d.completed_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(done)
    }
}

impl PgStore {
    /// One bind in one transaction. The reference row is created if missing and then locked,
    /// so binds and unbinds of one reference run one at a time and every check below reads
    /// what the previous one committed.
    async fn try_bind(&self, b: &NewBinding) -> Result<BindAttempt> {
        let mut tx = self.pool.begin().await?;
        let initial = b.metadata.clone().unwrap_or_default();
        let created = sqlx::query(
            "INSERT INTO deposit_references (deposit_reference, metadata, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (deposit_reference) DO NOTHING",
        )
        .bind(&b.deposit_reference)
        .bind(Json(&initial))
        .bind(b.now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        // NO KEY UPDATE, not UPDATE: deposits recorded meanwhile only need a key-share lock
        // for their foreign key and must not wait on a bind.
        let stored: serde_json::Value = sqlx::query_scalar(
            "SELECT metadata FROM deposit_references WHERE deposit_reference = $1 FOR NO KEY UPDATE",
        )
        .bind(&b.deposit_reference)
        .fetch_one(&mut *tx)
        .await?;
        for (chain_id, _) in &b.chains {
            let taken: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM deposit_bindings WHERE deposit_reference = $1 AND chain_id = $2")
                    .bind(&b.deposit_reference)
                    .bind(chain_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(duplicate_binding(&b.deposit_reference, chain_id));
            }
        }
        let metadata = match (created, &b.metadata) {
            (true, _) => initial,
            (false, Some(m)) => {
                sqlx::query("UPDATE deposit_references SET metadata = $2 WHERE deposit_reference = $1")
                    .bind(&b.deposit_reference)
                    .bind(Json(m))
                    .execute(&mut *tx)
                    .await?;
                m.clone()
            }
            (false, None) => metadata_from_json(stored),
        };
        let live: Option<String> = sqlx::query_scalar(
            "SELECT address FROM deposit_addresses
             WHERE deposit_reference = $1 AND protocol = $2 AND released_at IS NULL",
        )
        .bind(&b.deposit_reference)
        .bind(b.protocol.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let address = match live {
            Some(a) => a,
            None => {
                let a = claim_address(&mut tx, b.protocol, "deposit", &b.deposit_reference, b.now)
                    .await?
                    .ok_or(Error::NoAvailableAddresses(b.protocol))?;
                let inserted = sqlx::query(
                    "INSERT INTO deposit_addresses (deposit_reference, protocol, address, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&b.deposit_reference)
                .bind(b.protocol.as_str())
                .bind(&a)
                .bind(b.now)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => a,
                    Err(e) if is_unique_violation(&e, "deposit_addresses_live_ref") => {
                        tx.rollback().await?;
                        return Ok(BindAttempt::Raced);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        for (chain_id, currency) in &b.chains {
            let inserted = sqlx::query(
                "INSERT INTO deposit_bindings (deposit_reference, chain_id, currency, protocol, address, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&b.deposit_reference)
            .bind(chain_id)
            .bind(currency.map(Currency::as_str))
            .bind(b.protocol.as_str())
            .bind(&address)
            .bind(b.now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e, "deposit_bindings_pkey") => {
                    return Err(duplicate_binding(&b.deposit_reference, chain_id));
                }
                Err(e) => return Err(e.into()),
            }
        }
        insert_event(&mut tx, &shared::bound_event(b, &address, &metadata)?).await?;
        tx.commit().await?;
        Ok(BindAttempt::Done(Bound {
            address,
            metadata,
            created_at: b.now,
        }))
    }
}

/// An `hd_keys` row (all its columns).
fn hd_key_from_row(row: &PgRow) -> Result<HdKeyRecord> {
    Ok(HdKeyRecord {
        id: row.try_get("key_id")?,
        protocol: Protocol::from_stored(row.try_get("protocol")?)?,
        xpub: row.try_get("xpub")?,
        fingerprint: row.try_get("fingerprint")?,
        account: row.try_get::<i64, _>("account")? as u32,
        start_index: row.try_get::<i64, _>("start_index")? as u32,
        next_index: row.try_get::<i64, _>("next_index")? as u32,
        created_at: row.try_get("created_at")?,
    })
}

/// A unique violation of `amount_locks`: the tail was taken by another writer meanwhile.
struct TailTaken;

/// Retries of an order creation whose tail another writer took.
const TAIL_RETRIES: u32 = 3;

/// One attempt at [`Store::create_order`]: `Err(TailTaken)` when the tail lock was taken by a
/// concurrent writer (the transaction is rolled back), else the outcome.
async fn create_order_once(store: &PgStore, new: NewOrder) -> std::result::Result<Result<Order>, TailTaken> {
    let mut tail_taken = false;
    let outcome = create_order_in(store, new, &mut tail_taken).await;
    if tail_taken { Err(TailTaken) } else { Ok(outcome) }
}

async fn create_order_in(store: &PgStore, new: NewOrder, tail_taken: &mut bool) -> Result<Order> {
    let mut tx = store.pool.begin().await?;
    // Checked before claiming, so a duplicate never touches the pool.
    let existing: Option<String> = sqlx::query_scalar("SELECT order_id FROM orders WHERE order_reference = $1")
        .bind(&new.order_reference)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(existing_order_id) = existing {
        return Err(Error::DuplicateOrderReference {
            reference: new.order_reference,
            existing_order_id,
        });
    }
    let (address, pay) = match &new.shared {
        Some(shared) => (shared.address.clone(), allocate_tail(&mut tx, &new).await?),
        None => match claim_address(&mut tx, new.protocol, "order", &new.order_id, new.created_at).await? {
            Some(address) => (address, new.amount),
            None => return Err(Error::NoAvailableAddresses(new.protocol)),
        },
    };
    let mut inserted = insert_order_row(&mut tx, &new, &address, &pay).await;
    if inserted.is_ok() && new.shared.is_some() {
        inserted = super::shared_address::insert_lock(&mut tx, &new, &address, &crate::order::pay_key(&pay)).await;
        if matches!(&inserted, Err(e) if is_unique_violation(e, "amount_locks")) {
            *tail_taken = true;
            return Err(Error::Internal("amount tail taken concurrently".into()));
        }
    }
    match inserted {
        Ok(_) => {}
        // A concurrent create with the same reference committed after our check. Its
        // commit is what raised the violation, so a fresh read finds its id.
        Err(e) if is_unique_violation(&e, "order_reference") => {
            tx.rollback().await?;
            let existing_order_id: Option<String> =
                sqlx::query_scalar("SELECT order_id FROM orders WHERE order_reference = $1")
                    .bind(&new.order_reference)
                    .fetch_optional(&store.pool)
                    .await?;
            return match existing_order_id {
                Some(existing_order_id) => Err(Error::DuplicateOrderReference {
                    reference: new.order_reference,
                    existing_order_id,
                }),
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    }
    let order = new.into_order_paying(address, pay);
    insert_event(&mut tx, &Event::new(EventType::OrderCreated, order.created_at, &order)?).await?;
    tx.commit().await?;
    Ok(order)
}

super::links::link_store_impl!(PgStore, links_open);
super::compat::compat_store_impl!(PgStore);

/// Opens an order from a payment link holding the link's row lock (`FOR UPDATE`): concurrent
/// checkouts of one link queue on it, each counting the orders the previous ones committed,
/// so the last unit sells once.
async fn links_open(store: &PgStore, link_id: &str, mut order: NewOrder) -> Result<crate::payment_link::LinkOrder> {
    use crate::payment_link::LinkOrder;
    let mut tx = store.pool.begin().await?;
    let link: Option<(String, Option<i64>, Option<Timestamp>)> =
        sqlx::query_as("SELECT status, inventory_total, expires_at FROM payment_links WHERE id = $1 FOR UPDATE")
            .bind(link_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, inventory_total, expires_at)) = link else {
        return Ok(LinkOrder::Refused(crate::payment_link::LinkRefusal::NotFound));
    };
    let taken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE payment_link_id = $1 AND status IN ('pending', 'completed')",
    )
    .bind(link_id)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(refusal) = super::links::check_sellable(&status, inventory_total, expires_at, taken, order.created_at) {
        return Ok(LinkOrder::Refused(refusal));
    }
    order.payment_link_id = Some(link_id.to_string());
    let Some(address) = claim_address(&mut tx, order.protocol, "order", &order.order_id, order.created_at).await?
    else {
        return Err(Error::NoAvailableAddresses(order.protocol));
    };
    let pay = order.amount;
    insert_order_row(&mut tx, &order, &address, &pay).await?;
    let order = order.into_order(address);
    insert_event(&mut tx, &Event::new(EventType::OrderCreated, order.created_at, &order)?).await?;
    tx.commit().await?;
    Ok(LinkOrder::Opened(Box::new(order)))
}
