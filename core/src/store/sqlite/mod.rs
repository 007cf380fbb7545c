//! SQLite backend: the embedded default. One writer connection (SQLite serializes writers
//! anyway; a single connection queues them fairly instead of spinning on `SQLITE_BUSY`) and a
//! pool of readers over WAL.

mod lease;
mod settle;
mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, Pool, QueryBuilder, Row, Sqlite};
use tokio::sync::{mpsc, oneshot};

use super::rows::{DepositRow, OrderRow};
use super::shared::{self, Pools};
use super::{Bound, NewBinding, Store, duplicate_binding, pool_low_data};
use crate::amount::Amount;
use crate::chain::{Currency, Protocol};
use crate::deposit::{self, Deposit, DepositStatus, NewDeposit};
use crate::error::{Error, Result};
use crate::event::{Event, EventType};
use crate::metadata::Metadata;
use crate::order::{NewOrder, Order};
use crate::pool::{DeriveRange, HdKeyRecord, TopUp};
use crate::time::{Timestamp, from_millis, to_millis};
use crate::webhook;

/// The schema, embedded from `core/migrations/sqlite/` at compile time.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    orders: mpsc::Sender<OrderJob>,
    /// Dropping the store stops the checkpoint task.
    _stop_checkpoints: oneshot::Sender<()>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// An order waiting for the group-commit writer, and where to send its outcome.
type OrderJob = (NewOrder, oneshot::Sender<Result<Order>>);

/// Most orders written in one transaction.
const ORDER_BATCH: usize = 256;

type Tx = sqlx::Transaction<'static, Sqlite>;

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://path` URL.
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Commits never checkpoint (a checkpoint fsyncs, a latency spike for whoever commits);
        // a background task checkpoints instead, beside the writer.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let (orders, queue) = mpsc::channel(4 * ORDER_BATCH);
        tokio::spawn(order_writer(writer.clone(), queue));
        let (stop_checkpoints, stopped) = oneshot::channel();
        tokio::spawn(checkpoint_wal(checkpointer, stopped));
        Ok(SqliteStore {
            writer,
            reader,
            orders,
            _stop_checkpoints: stop_checkpoints,
        })
    }

    async fn begin(&self) -> Result<Tx> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Checkpoints the WAL off the commit path until the store is dropped. PASSIVE never blocks
/// the writer or readers; it copies what it can and leaves the rest for the next round.
async fn checkpoint_wal(pool: SqlitePool, mut stop: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
            }
            _ = &mut stop => break,
        }
    }
    pool.close().await;
}

/// Group commit for order creation, the hot write path. SQLite runs one writer at a time and
/// each statement is a hop to the connection's thread, so orders that arrive together are
/// written together: a handful of statements per batch instead of per order. Under light load
/// a batch is a single order and nothing waits for company.
async fn order_writer(writer: SqlitePool, mut queue: mpsc::Receiver<OrderJob>) {
    let mut jobs = Vec::with_capacity(ORDER_BATCH);
    while queue.recv_many(&mut jobs, ORDER_BATCH).await > 0 {
        let (orders, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
        match create_orders(&writer, orders).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "order batch failed");
                for reply in replies {
                    let _ = reply.send(Err(Error::Internal(format!("order batch failed: {e}"))));
                }
            }
        }
    }
}

/// Writes a batch of orders in one transaction: each gets an address, a duplicate reference
/// error, or a no-address error, in arrival order. A database error fails the whole batch.
async fn create_orders(writer: &SqlitePool, batch: Vec<NewOrder>) -> Result<Vec<Result<Order>>> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let outcomes = create_orders_in(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// [`create_orders`] inside a transaction the caller commits (a payment link's checkout checks
/// its inventory in the same transaction first).
async fn create_orders_in(tx: &mut Tx, batch: Vec<NewOrder>) -> Result<Vec<Result<Order>>> {
    let references: Vec<&str> = batch.iter().map(|o| o.order_reference.as_str()).collect();
    let existing: Vec<(String, String)> = sqlx::query_as(
        "SELECT order_reference, order_id FROM orders
         WHERE order_reference IN (SELECT value FROM json_each($1))",
    )
    .bind(serde_json::to_string(&references).expect("strings serialize"))
    .fetch_all(&mut **tx)
    .await?;
    let mut owners: HashMap<String, String> = existing.into_iter().collect();

    // Decide each order's fate; the first of several with one reference wins.
    let mut outcomes: Vec<Option<Result<Order>>> = batch.iter().map(|_| None).collect();
    let mut wanting: BTreeMap<Protocol, Vec<usize>> = BTreeMap::new();
    let mut sharing: Vec<usize> = Vec::new();
    for (i, order) in batch.iter().enumerate() {
        match owners.get(&order.order_reference) {
            Some(existing_order_id) => {
                outcomes[i] = Some(Err(Error::DuplicateOrderReference {
                    reference: order.order_reference.clone(),
                    existing_order_id: existing_order_id.clone(),
                }))
            }
            None => {
                owners.insert(order.order_reference.clone(), order.order_id.clone());
                if order.shared.is_some() {
                    sharing.push(i);
                } else {
                    wanting.entry(order.protocol).or_default().push(i);
                }
            }
        }
    }
    // Each order's address and payable amount: a pool address and the amount, or the shared
    // address and the smallest free tail on it (this writer is the only one, so the tails read
    // here, plus those this batch takes, are all there are).
    let mut assigned: Vec<(usize, String, Amount)> = Vec::new();
    for (protocol, indices) in wanting {
        let free: Vec<String> = sqlx::query_scalar(
            "SELECT address FROM pool_addresses WHERE protocol = $1 AND state = 'available'
             ORDER BY available_since, address LIMIT $2",
        )
        .bind(protocol.as_str())
        .bind(indices.len() as i64)
        .fetch_all(&mut **tx)
        .await?;
        for (k, i) in indices.into_iter().enumerate() {
            match free.get(k) {
                Some(address) => assigned.push((i, address.clone(), batch[i].amount)),
                None => outcomes[i] = Some(Err(Error::NoAvailableAddresses(protocol))),
            }
        }
    }
    let pool_claims: Vec<(String, String, String)> = assigned
        .iter()
        .map(|(i, a, _)| {
            (
                batch[*i].protocol.as_str().to_string(),
                a.clone(),
                batch[*i].order_id.clone(),
            )
        })
        .collect();
    let claimed_at = assigned.iter().map(|(i, _, _)| to_millis(&batch[*i].created_at)).max();
    let mut tails: HashMap<(String, Currency, String), std::collections::HashSet<String>> = HashMap::new();
    for i in sharing {
        let o = &batch[i];
        let shared = o.shared.as_ref().expect("sharing orders are shared");
        let key = (o.chain_id.clone(), o.currency, shared.address.clone());
        let taken = match tails.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(super::shared_address::live_tails(tx, o, &shared.address).await?)
            }
        };
        match crate::order::allocate_tail(o.amount, shared.step, &|k| taken.contains(k)) {
            Some(pay) => {
                taken.insert(crate::order::pay_key(&pay));
                assigned.push((i, shared.address.clone(), pay));
            }
            None => outcomes[i] = Some(Err(crate::order::tails_exhausted(&shared.address, &o.amount))),
        }
    }
    if !assigned.is_empty() {
        if !pool_claims.is_empty() {
            sqlx::query(
                "UPDATE pool_addresses
                 SET state = 'assigned', assigned_kind = 'order', cooldown_until = NULL,
                     assigned_ref = json_extract(c.value, '$[2]'), assigned_at = $2
                 FROM json_each($1) AS c
                 WHERE pool_addresses.protocol = json_extract(c.value, '$[0]')
                   AND pool_addresses.address = json_extract(c.value, '$[1]')
                   AND pool_addresses.state = 'available'",
            )
            .bind(serde_json::to_string(&pool_claims).expect("strings serialize"))
            .bind(claimed_at)
            .execute(&mut **tx)
            .await?;
        }

        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO orders (order_id, order_reference, amount, amount_sort, amount_received, currency,
                 chain_id, protocol, address, status, metadata, success_url, cancel_url, payment_url,
                 payment_window_minutes, grace_minutes, created_at, expires_at, grace_ends_at,
                 payment_link_id, pay_amount, pay_key, fiat_currency, fiat_amount, rate) ",
        );
        insert.push_values(&assigned, |mut row, (i, address, pay)| {
            let o = &batch[*i];
            row.push_bind(o.order_id.clone())
                .push_bind(o.order_reference.clone())
                .push_bind(o.amount.to_string())
                .push_bind(o.amount.sort_key())
                .push_bind(Amount::zero_with_scale(pay.scale()).to_string())
                .push_bind(o.currency.as_str())
                .push_bind(o.chain_id.clone())
                .push_bind(o.protocol.as_str())
                .push_bind(address.clone())
                .push("'pending'")
                .push_bind(json_text(&o.metadata))
                .push_bind(o.success_url.clone())
                .push_bind(o.cancel_url.clone())
                .push_bind(o.payment_url.clone())
                .push_bind(i64::from(o.payment_window_minutes))
                .push_bind(i64::from(o.grace_minutes))
                .push_bind(to_millis(&o.created_at))
                .push_bind(to_millis(&o.expires_at))
                .push_bind(to_millis(&o.grace_ends_at()))
                .push_bind(o.payment_link_id.clone())
                .push_bind(pay.to_string())
                .push_bind(o.shared.as_ref().map(|_| crate::order::pay_key(pay)))
                .push_bind(o.quote.as_ref().map(|q| q.currency.clone()))
                .push_bind(o.quote.as_ref().map(|q| q.amount.to_string()))
                .push_bind(o.quote.as_ref().map(|q| q.rate.to_string()));
        });
        insert.build().execute(&mut **tx).await?;
        for (i, address, pay) in &assigned {
            if batch[*i].shared.is_some() {
                super::shared_address::insert_lock(tx, &batch[*i], address, &crate::order::pay_key(pay)).await?;
            }
        }

        let mut events = Vec::with_capacity(assigned.len());
        for (i, address, pay) in assigned {
            let order = batch[i].clone().into_order_paying(address, pay);
            events.push(Event::new(EventType::OrderCreated, order.created_at, &order)?);
            outcomes[i] = Some(Ok(order));
        }
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO events (id, type, created_at, payload) ");
        insert.push_values(&events, |mut row, e| {
            row.push_bind(e.id.clone())
                .push_bind(e.event_type.as_str())
                .push_bind(to_millis(&e.created_at))
                .push_bind(e.payload());
        });
        insert.build().execute(&mut **tx).await?;
        // The batch's webhook outbox: endpoints are read once for all its events.
        let orders: Vec<&str> = events.iter().filter_map(webhook::outbox::order_of).collect();
        let subscribers = webhooks::active_subscribers(tx, &orders).await?;
        let deliveries: Vec<_> = events
            .iter()
            .flat_map(|e| {
                webhook::outbox::deliveries_for(
                    &subscribers,
                    &e.id,
                    e.event_type,
                    webhook::outbox::order_of(e),
                    e.created_at,
                )
            })
            .collect();
        webhooks::insert_deliveries(tx, &deliveries).await?;
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every order has an outcome"))
        .collect())
}

/// Inserts an event and its webhook deliveries (the outbox), due at the event's time.
async fn insert_event(tx: &mut Tx, event: &Event) -> Result<()> {
    sqlx::query("INSERT INTO events (id, type, created_at, payload) VALUES ($1, $2, $3, $4)")
        .bind(&event.id)
        .bind(event.event_type.as_str())
        .bind(to_millis(&event.created_at))
        .bind(event.payload())
        .execute(&mut **tx)
        .await?;
    let order = webhook::outbox::order_of(event);
    let subscribers = webhooks::active_subscribers(tx, order.as_slice()).await?;
    let deliveries =
        webhook::outbox::deliveries_for(&subscribers, &event.id, event.event_type, order, event.created_at);
    webhooks::insert_deliveries(tx, &deliveries).await?;
    Ok(())
}

fn opt_millis(v: Option<i64>) -> Option<Timestamp> {
    v.map(from_millis)
}

fn json_text(m: &Metadata) -> String {
    serde_json::to_string(m).expect("metadata always serializes")
}

fn metadata_from_text(s: &str) -> Metadata {
    super::metadata_from_json(serde_json::from_str(s).unwrap_or_default())
}

fn order_from_row(r: &SqliteRow) -> Result<Order> {
    Order::try_from(OrderRow::from_row(r)?)
}

fn deposit_from_row(r: &SqliteRow) -> Result<Deposit> {
    Deposit::try_from(DepositRow::from_row(r)?)
}

impl Pools for SqliteStore {
    type Db = Sqlite;

    fn reader(&self) -> &Pool<Sqlite> {
        &self.reader
    }

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn import_addresses(&self, protocol: Protocol, addresses: &[String], now: Timestamp) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut inserted = 0;
        // 4 bound parameters per row; stay well under SQLite's variable limit.
        for chunk in addresses.chunks(2000) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO pool_addresses (protocol, address, state, available_since, imported_at) ",
            );
            qb.push_values(chunk, |mut row, address| {
                row.push_bind(protocol.as_str())
                    .push_bind(address.clone())
                    .push("'available'")
                    .push_bind(to_millis(&now))
                    .push_bind(to_millis(&now));
            });
            qb.push(" ON CONFLICT (protocol, address) DO NOTHING");
            inserted += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn shared_receive_addresses(&self, addresses: &[String]) -> Result<Vec<String>> {
        let mut shared = Vec::new();
        for chunk in addresses.chunks(2000) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "SELECT DISTINCT address FROM orders WHERE pay_key IS NOT NULL AND address IN (",
            );
            let mut list = qb.separated(", ");
            for address in chunk {
                list.push_bind(address.clone());
            }
            qb.push(")");
            let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&self.reader).await?;
            shared.extend(rows.into_iter().map(|(a,)| a));
        }
        Ok(shared)
    }

    async fn release_cooled_addresses(&self, now: Timestamp, never_reuse: &[Protocol]) -> Result<u64> {
        let kept: Vec<&str> = never_reuse.iter().map(|p| p.as_str()).collect();
        let done = sqlx::query(
            "UPDATE pool_addresses
             SET state = 'available', assigned_kind = NULL, assigned_ref = NULL,
                 cooldown_until = NULL, available_since = $1
             WHERE state = 'cooldown' AND cooldown_until <= $1
               AND protocol NOT IN (SELECT value FROM json_each($2))",
        )
        .bind(to_millis(&now))
        .bind(serde_json::to_string(&kept).expect("strings serialize"))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn retire_cooled_addresses(&self, protocol: Protocol, cooled_by: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE pool_addresses
             SET state = 'retired', cooldown_until = NULL
             WHERE protocol = $1 AND state = 'cooldown' AND cooldown_until <= $2",
        )
        .bind(protocol.as_str())
        .bind(to_millis(&cooled_by))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_hd_key(&self, key: &HdKeyRecord) -> Result<(HdKeyRecord, bool)> {
        let mut tx = self.begin().await?;
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
        .bind(to_millis(&key.created_at))
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
        .fetch_all(&self.reader)
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
        // BEGIN IMMEDIATE takes the one writer: no other top-up, claim or import runs meanwhile.
        let mut tx = self.begin().await?;
        let key: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT key_id, xpub, next_index FROM hd_keys WHERE protocol = $1
             ORDER BY created_at DESC, key_id DESC LIMIT 1",
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
            for chunk in derived.chunks(2000) {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO pool_addresses (protocol, address, state, available_since, imported_at, hd_key_id, hd_index) ",
                );
                qb.push_values(chunk, |mut row, (index, address)| {
                    row.push_bind(protocol.as_str())
                        .push_bind(address.clone())
                        .push("'available'")
                        .push_bind(to_millis(&now))
                        .push_bind(to_millis(&now))
                        .push_bind(key_id.clone())
                        .push_bind(i64::from(*index));
                });
                qb.push(" ON CONFLICT (protocol, address) DO NOTHING");
                let added = qb.build().execute(&mut *tx).await?.rows_affected();
                top_up.added += added;
                missing = missing.saturating_sub(added);
            }
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
        // Count on a reader: counting a large pool inside the writer's transaction would stall
        // every order creation behind it. The writer is only taken when the alert flips.
        let counts = shared::pool_counts(&self.reader, protocol).await?;
        let is_low = shared::pool_is_low(counts, watermark);
        let flag_sql = "SELECT low FROM pool_alerts WHERE protocol = $1";
        let was_low = |v: Option<i64>| v.is_some_and(|v| v != 0);
        let seen: Option<i64> = sqlx::query_scalar(flag_sql)
            .bind(protocol.as_str())
            .fetch_optional(&self.reader)
            .await?;
        if is_low == was_low(seen) {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        let seen: Option<i64> = sqlx::query_scalar(flag_sql)
            .bind(protocol.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if is_low == was_low(seen) {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO pool_alerts (protocol, low) VALUES ($1, $2)
             ON CONFLICT (protocol) DO UPDATE SET low = excluded.low",
        )
        .bind(protocol.as_str())
        .bind(i64::from(is_low))
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
            .fetch_one(&self.reader)
            .await?;
        Ok(found > 0)
    }

    async fn purge_amount_locks(&self, now: Timestamp) -> Result<u64> {
        super::shared_address::purge(&self.writer, now).await
    }

    async fn create_order(&self, new: NewOrder) -> Result<Order> {
        let (reply, answer) = oneshot::channel();
        self.orders
            .send((new, reply))
            .await
            .map_err(|_| Error::Internal("order writer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("order writer dropped a request".into()))?
    }

    async fn expire_orders(&self, now: Timestamp, cooldown_until: Timestamp, limit: u32) -> Result<Vec<Order>> {
        use crate::settle::rules::{self, ChainProgress, ExpiryFacts, TransferKind};
        let mut tx = self.begin().await?;
        let mut expired = Vec::new();
        // Pending orders past their grace end (an indexed narrowing; `rules::expiry` decides),
        // with what the rule needs to know about them, a page at a time: orders the rule keeps
        // open are stepped over instead of filling the batch.
        let mut after: Option<(i64, String)> = None;
        'pages: loop {
            let rows = sqlx::query(
                "SELECT o.*,
                     EXISTS (SELECT 1 FROM transfers t
                             WHERE t.order_id = o.order_id AND t.kind = $2 AND t.status = 'unconfirmed')
                         AS awaiting_confirmation,
                     c.chain_id IS NOT NULL AS chain_watched,
                     c.scanned_block_time AS chain_scanned_through
                 FROM orders o LEFT JOIN chain_cursors c ON c.chain_id = o.chain_id
                 WHERE o.status = 'pending' AND o.grace_ends_at <= $1
                   AND ($3 IS NULL OR (o.grace_ends_at, o.order_id) > ($3, $4))
                 ORDER BY o.grace_ends_at, o.order_id LIMIT $5",
            )
            .bind(to_millis(&now))
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
                        ChainProgress::ScannedThrough(opt_millis(row.try_get("chain_scanned_through")?))
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
                .bind(e.order.expired_at.as_ref().map(to_millis))
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
        let mut tx = self.begin().await?;
        for (chain_id, _) in &b.chains {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM deposit_bindings WHERE deposit_reference = $1 AND chain_id = $2")
                    .bind(&b.deposit_reference)
                    .bind(chain_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(duplicate_binding(&b.deposit_reference, chain_id));
            }
        }
        let stored: Option<(String, i64)> =
            sqlx::query_as("SELECT metadata, created_at FROM deposit_references WHERE deposit_reference = $1")
                .bind(&b.deposit_reference)
                .fetch_optional(&mut *tx)
                .await?;
        let metadata = match (stored, &b.metadata) {
            (None, m) => {
                let m = m.clone().unwrap_or_default();
                sqlx::query(
                    "INSERT INTO deposit_references (deposit_reference, metadata, created_at) VALUES ($1, $2, $3)",
                )
                .bind(&b.deposit_reference)
                .bind(json_text(&m))
                .bind(to_millis(&b.now))
                .execute(&mut *tx)
                .await?;
                m
            }
            (Some(_), Some(m)) => {
                sqlx::query("UPDATE deposit_references SET metadata = $2 WHERE deposit_reference = $1")
                    .bind(&b.deposit_reference)
                    .bind(json_text(m))
                    .execute(&mut *tx)
                    .await?;
                m.clone()
            }
            (Some((m, _)), None) => metadata_from_text(&m),
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
                let claimed: Option<String> = sqlx::query_scalar(
                    "UPDATE pool_addresses
                     SET state = 'assigned', assigned_kind = 'deposit', assigned_ref = $1, cooldown_until = NULL,
                         assigned_at = $3
                     WHERE protocol = $2 AND address = (
                         SELECT address FROM pool_addresses
                         WHERE protocol = $2 AND state = 'available'
                         ORDER BY available_since, address LIMIT 1)
                     RETURNING address",
                )
                .bind(&b.deposit_reference)
                .bind(b.protocol.as_str())
                .bind(to_millis(&b.now))
                .fetch_optional(&mut *tx)
                .await?;
                let a = claimed.ok_or(Error::NoAvailableAddresses(b.protocol))?;
                sqlx::query(
                    "INSERT INTO deposit_addresses (deposit_reference, protocol, address, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&b.deposit_reference)
                .bind(b.protocol.as_str())
                .bind(&a)
                .bind(to_millis(&b.now))
                .execute(&mut *tx)
                .await?;
                a
            }
        };
        for (chain_id, currency) in &b.chains {
            sqlx::query(
                "INSERT INTO deposit_bindings (deposit_reference, chain_id, currency, protocol, address, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&b.deposit_reference)
            .bind(chain_id)
            .bind(currency.map(Currency::as_str))
            .bind(b.protocol.as_str())
            .bind(&address)
            .bind(to_millis(&b.now))
            .execute(&mut *tx)
            .await?;
        }
        insert_event(&mut tx, &shared::bound_event(&b, &address, &metadata)?).await?;
        tx.commit().await?;
        Ok(Bound {
            address,
            metadata,
            created_at: b.now,
        })
    }

    async fn unbind_deposit(
        &self,
        reference: &str,
        chain_id: Option<&str>,
        now: Timestamp,
        cooldown_until: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM deposit_references WHERE deposit_reference = $1")
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::DepositReferenceNotFound(reference.to_string()));
        }
        let removed: Vec<(String, String)> = sqlx::query_as(
            "DELETE FROM deposit_bindings WHERE deposit_reference = $1 AND ($2 IS NULL OR chain_id = $2)
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
            .bind(to_millis(&now))
            .fetch_all(&mut *tx)
            .await?;
            for address in addresses {
                sqlx::query(
                    "UPDATE pool_addresses SET state = 'cooldown', cooldown_until = $1
                     WHERE protocol = $2 AND address = $3 AND state = 'assigned'",
                )
                .bind(to_millis(&cooldown_until))
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
        let mut tx = self.begin().await?;
        let reference = shared::deposit_owner(&mut *tx, &d.address).await?;
        let deposit = shared::new_deposit(d, reference);
        let inserted = sqlx::query(
            "INSERT INTO deposits (deposit_id, deposit_reference, address, chain_id, currency, amount, amount_sort,
                 tx_hash, log_index, block_number, status, confirmations, detected_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING",
        )
        .bind(&deposit.deposit_id)
        .bind(&deposit.deposit_reference)
        .bind(&deposit.address)
        .bind(&deposit.chain_id)
        .bind(deposit.currency.as_str())
        .bind(deposit.amount.to_string())
        .bind(deposit.amount.sort_key())
        .bind(&deposit.tx_hash)
        .bind(deposit.log_index as i64)
        .bind(deposit.block_number as i64)
        .bind(deposit.status.as_str())
        .bind(deposit.confirmations as i64)
        .bind(to_millis(&deposit.detected_at))
        .bind(deposit.confirmed_at.as_ref().map(to_millis))
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
        let mut tx = self.begin().await?;
        let confirmed = sqlx::query("SELECT * FROM deposits WHERE status = $1 AND confirmed_event_id IS NOT NULL")
            .bind(DepositStatus::Confirmed.as_str())
            .fetch_all(&mut *tx)
            .await?;
        if confirmed.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
            "SELECT d.event_id, d.endpoint_id, d.status, e.status, e.deleted_at IS NOT NULL
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.event_id IN (SELECT confirmed_event_id FROM deposits
                                  WHERE status = $1 AND confirmed_event_id IS NOT NULL)",
        )
        .bind(DepositStatus::Confirmed.as_str())
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
        for row in &confirmed {
            let event_id: String = row.try_get("confirmed_event_id")?;
            let delivered = deliveries.get(&event_id).map_or(&[][..], Vec::as_slice);
            let Some(d) = deposit::on_acknowledged(&deposit_from_row(row)?, delivered, now) else {
                continue;
            };
            done +=
                sqlx::query("UPDATE deposits SET status = $2, completed_at = $3 WHERE deposit_id = $1 AND status = $4")
                    .bind(&d.deposit_id)
                    .bind(d.status.as_str())
                    .bind(d.completed_at.as_ref().map(to_millis))
                    .bind(DepositStatus::Confirmed.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// An `hd_keys` row (all its columns).
fn hd_key_from_row(row: &SqliteRow) -> Result<HdKeyRecord> {
    Ok(HdKeyRecord {
        id: row.try_get("key_id")?,
        protocol: Protocol::from_stored(row.try_get("protocol")?)?,
        xpub: row.try_get("xpub")?,
        fingerprint: row.try_get("fingerprint")?,
        account: row.try_get::<i64, _>("account")? as u32,
        start_index: row.try_get::<i64, _>("start_index")? as u32,
        next_index: row.try_get::<i64, _>("next_index")? as u32,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

super::links::link_store_impl!(SqliteStore, links_open);
super::compat::compat_store_impl!(SqliteStore);

/// Opens an order from a payment link under the writer lock (`BEGIN IMMEDIATE`): the link's
/// state and its pending and completed orders are read and the order written before any other
/// writer runs, so the last unit sells once.
async fn links_open(store: &SqliteStore, link_id: &str, mut order: NewOrder) -> Result<crate::payment_link::LinkOrder> {
    use crate::payment_link::LinkOrder;
    let mut tx = store.begin().await?;
    let link: Option<(String, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT status, inventory_total, expires_at FROM payment_links WHERE id = $1")
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
    if let Some(refusal) = super::links::check_sellable(
        &status,
        inventory_total,
        expires_at.map(from_millis),
        taken,
        order.created_at,
    ) {
        return Ok(LinkOrder::Refused(refusal));
    }
    order.payment_link_id = Some(link_id.to_string());
    let outcome = create_orders_in(&mut tx, vec![order])
        .await?
        .pop()
        .expect("one order, one outcome")?;
    tx.commit().await?;
    Ok(LinkOrder::Opened(Box::new(outcome)))
}
