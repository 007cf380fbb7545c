//! Queries both backends run alike: the same SQL (up to the few [`Dialect`] words) over the
//! shared [row types](super::rows). [`RecordStore`] is implemented here once for any backend
//! that names its [`Pools`]; helpers the backends call inside their own transactions follow.
//! What needs a backend's own locking, batching or arithmetic stays in its module.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Postgres, QueryBuilder, Sqlite, Type};

use super::rows::{
    ApiKeyRow, BindingRow, DbTime, DepositAmountRow, DepositRow, IdempotencyRow, OrderRow, RecordedChainRow,
    ReferenceRow, ReferenceSummaryRow,
};
use super::{NewBinding, RecordStore};
use crate::amount::Amount;
use crate::apikey::ApiKey;
use crate::chain::{Currency, Protocol};
use crate::deposit::{
    self, Deposit, DepositBinding, DepositFilter, DepositReference, DepositReferenceSummary, DepositSortBy, NewDeposit,
};
#[cfg(feature = "dev")]
use crate::dev::recorded::RecordedChain;
use crate::error::{Error, Result};
use crate::event::{Event, EventFilter, EventType};
use crate::idempotency::{KeyRecord, StoredResponse};
use crate::ids;
use crate::metadata::Metadata;
use crate::order::{Order, OrderFilter, OrderSortBy, like_pattern};
use crate::page::{Page, PageRequest, Pagination};
use crate::pool::PoolCounts;
use crate::time::Timestamp;

/// Where the two backends differ for the shared queries: a few SQL words, and reading a
/// statement's outcome.
pub(crate) trait Dialect: Database {
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is, for ASCII).
    const ILIKE: &'static str;
    /// The column that sorts amounts numerically (SQLite stores amounts as text beside a sort key).
    const AMOUNT_SORT: &'static str;
    /// The distinct `protocol`s of a group, comma-separated.
    const DISTINCT_PROTOCOLS: &'static str;
    /// Follows a text parameter written to an amount column: amounts are text on SQLite and
    /// NUMERIC on PostgreSQL.
    const AS_NUMERIC: &'static str;
    /// Rows a statement changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

impl Dialect for Sqlite {
    const ILIKE: &'static str = "LIKE";
    const AMOUNT_SORT: &'static str = "amount_sort";
    const DISTINCT_PROTOCOLS: &'static str = "group_concat(DISTINCT protocol)";
    const AS_NUMERIC: &'static str = "";
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

impl Dialect for Postgres {
    const ILIKE: &'static str = "ILIKE";
    const AMOUNT_SORT: &'static str = "amount";
    const DISTINCT_PROTOCOLS: &'static str = "string_agg(DISTINCT protocol, ',')";
    const AS_NUMERIC: &'static str = "::numeric";
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

/// A backend's connection pools: reads run on `reader`, writes on `writer` (on PostgreSQL
/// both are the one pool).
pub(crate) trait Pools: Send + Sync {
    type Db: Dialect;
    fn reader(&self) -> &Pool<Self::Db>;
    fn writer(&self) -> &Pool<Self::Db>;
}

/// One implementation for every backend: the same SQL over the shared row types. The bounds
/// say what the queries need of the backend's sqlx types; SQLite and PostgreSQL have it all.
#[async_trait]
impl<S> RecordStore for S
where
    S: Pools,
    <S::Db as Database>::Arguments: IntoArguments<S::Db> + Default,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Decode<'a, S::Db> + Type<S::Db>,
    for<'a> DbTime: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Json<serde_json::Value>: Encode<'a, S::Db> + Type<S::Db>,
    for<'r> (i64,): FromRow<'r, <S::Db as Database>::Row>,
    for<'r> (String,): FromRow<'r, <S::Db as Database>::Row>,
    for<'r> (String, i64): FromRow<'r, <S::Db as Database>::Row>,
    for<'r> (String, String): FromRow<'r, <S::Db as Database>::Row>,
    for<'r> OrderRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> DepositRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> ApiKeyRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> BindingRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> ReferenceRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> ReferenceSummaryRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> DepositAmountRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> RecordedChainRow: FromRow<'r, <S::Db as Database>::Row>,
    for<'r> IdempotencyRow: FromRow<'r, <S::Db as Database>::Row>,
{
    /// Inserts or replaces the recording of `chain.chain_id`.
    #[cfg(feature = "dev")]
    async fn save_recorded_chain(&self, chain: &RecordedChain) -> Result<()> {
        let pool = self.writer();
        sqlx::query(
            "INSERT INTO chain_overrides (chain_id, rpc_url, tokens, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (chain_id) DO UPDATE
             SET rpc_url = excluded.rpc_url, tokens = excluded.tokens, updated_at = excluded.updated_at",
        )
        .bind(chain.chain_id.as_str())
        .bind(chain.rpc_url.as_str())
        .bind(Json(chain.tokens_json()))
        .bind(DbTime(chain.updated_at))
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Every recorded chain, by chain id.
    #[cfg(feature = "dev")]
    async fn recorded_chains(&self) -> Result<Vec<RecordedChain>> {
        let pool = self.reader();
        let rows: Vec<RecordedChainRow> =
            sqlx::query_as("SELECT chain_id, rpc_url, tokens, updated_at FROM chain_overrides ORDER BY chain_id")
                .fetch_all(pool)
                .await?;
        rows.into_iter().map(RecordedChain::try_from).collect()
    }

    #[cfg(feature = "dev")]
    async fn forget_recorded_chain(&self, chain_id: &str, rpc_url: &str) -> Result<bool> {
        let pool = self.writer();
        let done = sqlx::query("DELETE FROM chain_overrides WHERE chain_id = $1 AND rpc_url = $2")
            .bind(chain_id)
            .bind(rpc_url)
            .execute(pool)
            .await?;
        Ok(S::Db::rows_affected(&done) > 0)
    }

    async fn insert_api_key(&self, key: &ApiKey, hash: &str) -> Result<()> {
        let pool = self.writer();
        sqlx::query("INSERT INTO api_keys (id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(key.id.as_str())
            .bind(key.name.as_str())
            .bind(key.prefix.as_str())
            .bind(hash)
            .bind(DbTime(key.created_at))
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>> {
        let pool = self.reader();
        let row: Option<ApiKeyRow> =
            sqlx::query_as("SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(pool)
                .await?;
        Ok(row.map(ApiKey::from))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let pool = self.reader();
        let rows: Vec<ApiKeyRow> = sqlx::query_as("SELECT * FROM api_keys ORDER BY created_at, id")
            .fetch_all(pool)
            .await?;
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }

    async fn revoke_api_key(&self, id_or_prefix: &str, now: Timestamp) -> Result<bool> {
        let pool = self.writer();
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE (id = $2 OR prefix = $2) AND revoked_at IS NULL")
                .bind(DbTime(now))
                .bind(id_or_prefix)
                .execute(pool)
                .await?;
        Ok(S::Db::rows_affected(&done) > 0)
    }

    async fn load_settings(&self) -> Result<Vec<(String, String)>> {
        let pool = self.reader();
        Ok(sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(pool)
            .await?)
    }

    async fn save_setting(&self, key: &str, value: Option<&str>, now: Timestamp) -> Result<()> {
        let pool = self.writer();
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(v)
                .bind(DbTime(now))
                .execute(pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE key = $1")
                    .bind(key)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reserve_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        locked_until: Timestamp,
    ) -> Result<(bool, Option<KeyRecord>)> {
        let pool = self.writer();
        let done = sqlx::query(
            "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, created_at, locked_until)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, idempotency_key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(DbTime(now))
        .bind(DbTime(locked_until))
        .execute(pool)
        .await?;
        let inserted = S::Db::rows_affected(&done) == 1;
        let row: Option<IdempotencyRow> = sqlx::query_as(
            "SELECT request_hash, status_code, response_body, locked_until FROM idempotency_keys
             WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        Ok((inserted, row.map(KeyRecord::from)))
    }

    async fn take_over_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
        locked_until: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $3
             WHERE scope = $1 AND idempotency_key = $2 AND status_code IS NULL AND locked_until <= $4",
        )
        .bind(scope)
        .bind(key)
        .bind(DbTime(locked_until))
        .bind(DbTime(now))
        .execute(self.writer())
        .await?;
        Ok(S::Db::rows_affected(&done) == 1)
    }

    async fn complete_idempotency_key(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, response_body = $4
             WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(i64::from(response.status))
        .bind(response.body.as_str())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn release_idempotency_key(&self, scope: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND status_code IS NULL")
            .bind(scope)
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(DbTime(before))
            .execute(self.writer())
            .await?;
        Ok(S::Db::rows_affected(&done))
    }

    async fn pool_counts(&self, protocol: Protocol) -> Result<PoolCounts> {
        pool_counts(self.reader(), protocol).await
    }

    async fn state_counts(&self) -> Result<super::StateCounts> {
        let pool = self.reader();
        let orders: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status")
            .fetch_all(pool)
            .await?;
        let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(pool)
            .await?;
        Ok(super::StateCounts {
            orders_by_status: orders.into_iter().map(|(s, n)| (s, n.max(0) as u64)).collect(),
            pending_deliveries: pending.max(0) as u64,
        })
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<Order>> {
        let pool = self.reader();
        let row: Option<OrderRow> =
            sqlx::query_as(concat!("SELECT ", order_columns!(), " FROM orders WHERE order_id = $1"))
                .bind(order_id)
                .fetch_optional(pool)
                .await?;
        row.map(Order::try_from).transpose()
    }

    async fn get_order_by_reference(&self, reference: &str) -> Result<Option<Order>> {
        let pool = self.reader();
        let row: Option<OrderRow> = sqlx::query_as(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE order_reference = $1"
        ))
        .bind(reference)
        .fetch_optional(pool)
        .await?;
        row.map(Order::try_from).transpose()
    }

    async fn list_orders(&self, f: &OrderFilter) -> Result<Page<Order>> {
        let column = match f.sort_by {
            OrderSortBy::CreatedAt => "created_at",
            OrderSortBy::Amount => S::Db::AMOUNT_SORT,
            OrderSortBy::ExpiresAt => "expires_at",
        };
        let dir = f.sort_order.sql();
        // Qualified: a bare `amount` would name the text output column and sort as text.
        let order_by = format!("orders.{column} {dir}, order_id {dir}");
        let filter = |qb: &mut QueryBuilder<S::Db>| push_order_filters(qb, f);
        let (rows, pagination) =
            fetch_page::<_, OrderRow>(self.reader(), order_columns!(), "orders", filter, &order_by, f.page).await?;
        Ok(Page {
            items: rows.into_iter().map(Order::try_from).collect::<Result<_>>()?,
            pagination,
        })
    }

    async fn get_deposit_reference(&self, reference: &str) -> Result<Option<DepositReference>> {
        let pool = self.reader();
        let row: Option<ReferenceRow> = sqlx::query_as("SELECT * FROM deposit_references WHERE deposit_reference = $1")
            .bind(reference)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bindings: Vec<BindingRow> =
            sqlx::query_as("SELECT * FROM deposit_bindings WHERE deposit_reference = $1 ORDER BY created_at, chain_id")
                .bind(reference)
                .fetch_all(pool)
                .await?;
        let addresses = bindings
            .into_iter()
            .map(DepositBinding::try_from)
            .collect::<Result<Vec<_>>>()?;
        let (total_deposits, total_amount) = totals(pool, reference).await?;
        Ok(Some(DepositReference {
            deposit_reference: row.deposit_reference.clone(),
            addresses,
            total_deposits,
            total_amount,
            created_at: row.created_at.into(),
            metadata: row.metadata(),
        }))
    }

    async fn list_deposit_references(
        &self,
        f: &crate::deposit::ReferenceFilter,
    ) -> Result<Page<DepositReferenceSummary>> {
        let pool = self.reader();
        let pattern = f.search.as_deref().map(like_pattern);
        let filter = |qb: &mut QueryBuilder<S::Db>| {
            if let Some(p) = &pattern {
                qb.push(format_args!(" WHERE r.deposit_reference {} ", S::Db::ILIKE))
                    .push_bind(p.clone())
                    .push(" ESCAPE '\\'");
            }
        };
        let columns = format!(
            "r.deposit_reference, r.created_at,
             (SELECT {} FROM deposit_bindings b WHERE b.deposit_reference = r.deposit_reference) AS protocols,
             (SELECT COUNT(*) FROM deposit_bindings b WHERE b.deposit_reference = r.deposit_reference) AS address_count,
             (SELECT MAX(detected_at) FROM deposits d WHERE d.deposit_reference = r.deposit_reference) AS last_deposit_at",
            S::Db::DISTINCT_PROTOCOLS
        );
        let order_by = "r.created_at DESC, r.deposit_reference DESC";
        let (rows, pagination) =
            fetch_page::<_, ReferenceSummaryRow>(pool, &columns, "deposit_references r", filter, order_by, f.page)
                .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let (total_deposits, total_amount) = totals(pool, &r.deposit_reference).await?;
            items.push(DepositReferenceSummary {
                protocols: r.protocols()?,
                address_count: r.address_count(),
                total_deposits,
                total_amount,
                last_deposit_at: r.last_deposit_at(),
                created_at: r.created_at.into(),
                deposit_reference: r.deposit_reference,
            });
        }
        Ok(Page { items, pagination })
    }

    async fn list_deposits(&self, f: &DepositFilter) -> Result<Page<Deposit>> {
        let column = match f.sort_by {
            DepositSortBy::DetectedAt => "detected_at",
            DepositSortBy::Amount => S::Db::AMOUNT_SORT,
            DepositSortBy::BlockNumber => "block_number",
        };
        let dir = f.sort_order.sql();
        let order_by = format!("deposits.{column} {dir}, deposit_id {dir}");
        let filter = |qb: &mut QueryBuilder<S::Db>| push_deposit_filters(qb, f);
        let (rows, pagination) =
            fetch_page::<_, DepositRow>(self.reader(), deposit_columns!(), "deposits", filter, &order_by, f.page)
                .await?;
        Ok(Page {
            items: rows.into_iter().map(Deposit::try_from).collect::<Result<_>>()?,
            pagination,
        })
    }

    async fn list_events(&self, f: &EventFilter) -> Result<Page<Event>> {
        let filter = |qb: &mut QueryBuilder<S::Db>| {
            if let Some(t) = f.event_type {
                qb.push(" WHERE type = ").push_bind(EventType::as_str(t));
            }
        };
        let (payloads, pagination) =
            fetch_page::<_, (String,)>(self.reader(), "payload", "events", filter, "seq DESC", f.page).await?;
        Ok(Page {
            items: payloads
                .iter()
                .map(|(p,)| Event::from_payload(p))
                .collect::<Result<_, _>>()?,
            pagination,
        })
    }

    async fn get_event(&self, id: &str) -> Result<Option<Event>> {
        let pool = self.reader();
        let payload: Option<(String,)> = sqlx::query_as("SELECT payload FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        Ok(payload.map(|(p,)| Event::from_payload(&p)).transpose()?)
    }
}

/// Addresses of `protocol` by pool state.
pub(crate) async fn pool_counts<'c, DB>(
    executor: impl Executor<'c, Database = DB>,
    protocol: Protocol,
) -> Result<PoolCounts>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
{
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM pool_addresses WHERE protocol = $1 GROUP BY state")
            .bind(protocol.as_str())
            .fetch_all(executor)
            .await?;
    let mut c = PoolCounts::default();
    for (state, n) in rows {
        let n = n as u64;
        match state.as_str() {
            "available" => c.available = n,
            "assigned" => c.assigned = n,
            "retired" => c.retired = n,
            _ => c.cooldown = n,
        }
    }
    Ok(c)
}

/// One page of `SELECT {columns} FROM {from}` under the conditions `filter` pushes, sorted by
/// `order_by`, with the pagination of all matching rows.
async fn fetch_page<DB, R>(
    pool: &Pool<DB>,
    columns: &str,
    from: &str,
    filter: impl Fn(&mut QueryBuilder<DB>) + Send,
    order_by: &str,
    page: PageRequest,
) -> Result<(Vec<R>, Pagination)>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB> + Default,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> R: FromRow<'r, DB::Row> + Send + Unpin,
{
    let mut count = QueryBuilder::<DB>::new(format!("SELECT COUNT(*) FROM {from}"));
    filter(&mut count);
    let (total,): (i64,) = count.build_query_as().fetch_one(pool).await?;
    let mut qb = QueryBuilder::<DB>::new(format!("SELECT {columns} FROM {from}"));
    filter(&mut qb);
    qb.push(format_args!(" ORDER BY {order_by} LIMIT "))
        .push_bind(i64::from(page.limit))
        .push(" OFFSET ")
        .push_bind(page.offset());
    let rows: Vec<R> = qb.build_query_as().fetch_all(pool).await?;
    Ok((rows, Pagination::new(page, total as u64)))
}

/// Count and per-currency sums of a reference's credited deposits, summed in Rust by
/// [`deposit::totals`] (SQLite has no exact decimal arithmetic).
async fn totals<DB>(pool: &Pool<DB>, reference: &str) -> Result<(u64, BTreeMap<Currency, Amount>)>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> DepositAmountRow: FromRow<'r, DB::Row>,
{
    let rows: Vec<DepositAmountRow> = sqlx::query_as(
        "SELECT currency, CAST(amount AS TEXT) AS amount, status FROM deposits WHERE deposit_reference = $1",
    )
    .bind(reference)
    .fetch_all(pool)
    .await?;
    let rows = rows.iter().map(DepositAmountRow::parse).collect::<Result<Vec<_>>>()?;
    Ok(deposit::totals(rows))
}

/// The reference a deposit address belongs to. An address unbound since still belongs to
/// whoever held it last.
pub(crate) async fn deposit_owner<'c, DB>(executor: impl Executor<'c, Database = DB>, address: &str) -> Result<String>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    let reference: Option<(String,)> = sqlx::query_as(
        "SELECT deposit_reference FROM deposit_addresses WHERE address = $1
         ORDER BY released_at IS NULL DESC, created_at DESC LIMIT 1",
    )
    .bind(address)
    .fetch_optional(executor)
    .await?;
    reference
        .map(|(r,)| r)
        .ok_or_else(|| Error::NotFound(format!("'{address}' is not a deposit address")))
}

/// The deposit a transfer to an address of `reference` records; a credited one is confirmed
/// when detected.
pub(crate) fn new_deposit(d: NewDeposit, reference: String) -> Deposit {
    Deposit {
        deposit_id: ids::deposit_id(),
        deposit_reference: reference,
        amount: d.amount,
        currency: d.currency,
        chain_id: d.chain_id,
        address: d.address,
        tx_hash: d.tx_hash,
        log_index: d.log_index,
        block_number: d.block_number,
        status: d.status,
        confirmations: d.confirmations,
        detected_at: d.detected_at,
        confirmed_at: d.status.is_credited().then_some(d.detected_at),
        completed_at: None,
    }
}

/// The event a newly recorded deposit fires: confirmed when credited, pending otherwise.
pub(crate) fn deposit_recorded_event(deposit: &Deposit) -> Result<Event> {
    let event_type = if deposit.status.is_credited() {
        EventType::DepositConfirmed
    } else {
        EventType::DepositPending
    };
    Ok(Event::new(event_type, deposit.detected_at, deposit)?)
}

/// The event of a successful bind of `b` to `address`.
pub(crate) fn bound_event(b: &NewBinding, address: &str, metadata: &Metadata) -> Result<Event> {
    let data = serde_json::json!({
        "depositReference": b.deposit_reference,
        "protocol": b.protocol,
        "address": address,
        "chains": b.chains.iter().map(|(c, cur)| serde_json::json!({"chainId": c, "currency": cur})).collect::<Vec<_>>(),
        "metadata": metadata,
    });
    Ok(Event::new(EventType::DepositAddressBound, b.now, &data)?)
}

/// Whether a pool is low: it has addresses, and fewer than `watermark` available.
pub(crate) fn pool_is_low(counts: PoolCounts, watermark: u32) -> bool {
    let total = counts.available + counts.assigned + counts.cooldown;
    total > 0 && counts.available < u64::from(watermark)
}

fn push_order_filters<DB>(qb: &mut QueryBuilder<DB>, f: &OrderFilter)
where
    DB: Dialect,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if let Some(s) = f.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(c) = f.currency {
        qb.push(" AND currency = ").push_bind(c.as_str());
    }
    if let Some(c) = &f.chain_id {
        qb.push(" AND chain_id = ").push_bind(c.clone());
    }
    if let Some(r) = &f.order_reference {
        qb.push(format_args!(" AND order_reference {} ", DB::ILIKE))
            .push_bind(like_pattern(r))
            .push(" ESCAPE '\\'");
    }
}

fn push_deposit_filters<DB>(qb: &mut QueryBuilder<DB>, f: &DepositFilter)
where
    DB: Database,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if let Some(r) = &f.deposit_reference {
        qb.push(" AND deposit_reference = ").push_bind(r.clone());
    }
    if let Some(s) = f.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(c) = f.currency {
        qb.push(" AND currency = ").push_bind(c.as_str());
    }
    if let Some(c) = &f.chain_id {
        qb.push(" AND chain_id = ").push_bind(c.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deposit::DepositStatus;
    use crate::time::from_millis;

    fn transfer(status: DepositStatus) -> NewDeposit {
        NewDeposit {
            chain_id: "base".into(),
            address: "0xabc".into(),
            currency: Currency::Usdc,
            amount: Amount::from_stored("12.500000").unwrap(),
            tx_hash: "0x01".into(),
            log_index: 7,
            block_number: 100,
            confirmations: 0,
            status,
            detected_at: from_millis(5_000),
        }
    }

    #[test]
    fn a_pending_deposit_is_not_confirmed_and_fires_deposit_pending() {
        let d = new_deposit(transfer(DepositStatus::Pending), "user-1".into());
        assert_eq!(d.deposit_reference, "user-1");
        assert_eq!(d.amount.to_string(), "12.500000");
        assert_eq!(d.confirmed_at, None);
        let event = deposit_recorded_event(&d).unwrap();
        assert_eq!(event.event_type, EventType::DepositPending);
        assert_eq!(event.created_at, from_millis(5_000));
    }

    #[test]
    fn a_credited_deposit_is_confirmed_when_detected_and_fires_deposit_confirmed() {
        let d = new_deposit(transfer(DepositStatus::Confirmed), "user-1".into());
        assert_eq!(d.confirmed_at, Some(from_millis(5_000)));
        assert_eq!(d.completed_at, None);
        assert_eq!(
            deposit_recorded_event(&d).unwrap().event_type,
            EventType::DepositConfirmed
        );
    }

    #[test]
    fn a_pool_is_low_below_the_watermark_unless_empty() {
        let counts = |available, assigned, cooldown| PoolCounts {
            available,
            assigned,
            cooldown,
            retired: 0,
        };
        assert!(!pool_is_low(counts(0, 0, 0), 10), "an empty pool was never filled");
        assert!(pool_is_low(counts(9, 1, 0), 10));
        assert!(pool_is_low(counts(0, 0, 3), 1));
        assert!(!pool_is_low(counts(10, 0, 0), 10), "at the watermark is not low");
        assert!(!pool_is_low(counts(5, 5, 5), 0));
    }

    #[test]
    fn a_bind_event_names_the_reference_address_and_chains() {
        let b = NewBinding {
            deposit_reference: "user-1".into(),
            protocol: Protocol::Evm,
            chains: vec![("base".into(), Some(Currency::Usdc)), ("ethereum".into(), None)],
            metadata: None,
            now: from_millis(9_000),
        };
        let mut metadata = Metadata::new();
        metadata.insert("tier".into(), "gold".into());
        let event = bound_event(&b, "0xabc", &metadata).unwrap();
        assert_eq!(event.event_type, EventType::DepositAddressBound);
        let data = &event.data;
        assert_eq!(data["depositReference"], "user-1");
        assert_eq!(data["address"], "0xabc");
        assert_eq!(data["chains"][0]["chainId"], "base");
        assert_eq!(data["chains"][1]["currency"], serde_json::Value::Null);
        assert_eq!(data["metadata"]["tier"], "gold");
    }
}
