//! Webhook store statements both backends run alike: endpoints, listing deliveries with their
//! attempts, disabling an endpoint and recording an attempt's outcome, over the shared
//! [row types](super::rows). Each backend calls them from its `WebhookStore` impl, on its own
//! pools and inside its own transactions (`BEGIN IMMEDIATE` on SQLite). What needs a backend's
//! own locking or batching (claims, writing the outbox) stays in its `webhooks.rs`.

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::rows::{DbTime, DeliveryAttemptRow, ListedDeliveryRow, WebhookEndpointRow};
use crate::error::Result;
use crate::page::{Page, PageRequest, Pagination};
use crate::time::Timestamp;
use crate::webhook::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryFilter, GONE_REASON, NextStep, WebhookEndpoint, disabled_error,
};

/// The shared webhook statements on a backend's database `DB`. The bounds, stated once here,
/// say what the statements need of the backend's sqlx types; SQLite and PostgreSQL have it all.
pub(crate) struct Webhooks<DB>(std::marker::PhantomData<DB>);

impl<DB> Webhooks<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB> + Default,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> bool: Encode<'a, DB> + Type<DB>,
    for<'a> i32: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> DbTime: Encode<'a, DB> + Type<DB>,
    for<'a> Json<Vec<String>>: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    for<'a> Option<String>: Encode<'a, DB>,
    for<'a> Option<i32>: Encode<'a, DB>,
    for<'a> Option<DbTime>: Encode<'a, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> WebhookEndpointRow: FromRow<'r, DB::Row>,
    for<'r> ListedDeliveryRow: FromRow<'r, DB::Row>,
    for<'r> DeliveryAttemptRow: FromRow<'r, DB::Row>,
{
    pub async fn insert_endpoint(pool: &Pool<DB>, endpoint: &WebhookEndpoint, secret: &str) -> Result<()> {
        let events: Vec<String> = endpoint.events.iter().map(|t| t.as_str().to_string()).collect();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, description, events, secret, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(endpoint.id.as_str())
        .bind(endpoint.url.as_str())
        .bind(endpoint.description.as_deref())
        .bind(Json(events))
        .bind(secret)
        .bind(endpoint.status.as_str())
        .bind(DbTime(endpoint.created_at))
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn get_endpoint(pool: &Pool<DB>, id: &str) -> Result<Option<WebhookEndpoint>> {
        let row: Option<WebhookEndpointRow> =
            sqlx::query_as("SELECT * FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        row.map(WebhookEndpoint::try_from).transpose()
    }

    pub async fn list_endpoints(pool: &Pool<DB>, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        // Endpoints scoped to one order (compatible APIs' callbacks) are not the merchant's list.
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL AND order_id IS NULL")
                .fetch_one(pool)
                .await?;
        let rows: Vec<WebhookEndpointRow> = sqlx::query_as(
            "SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL AND order_id IS NULL
             ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(page.limit))
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
        Ok(Page {
            items: rows.into_iter().map(WebhookEndpoint::try_from).collect::<Result<_>>()?,
            pagination: Pagination::new(page, total as u64),
        })
    }

    /// Makes `secret` current; the old one stays valid until `previous_until` (none: at once).
    pub async fn rotate_secret(
        pool: &Pool<DB>,
        id: &str,
        secret: &str,
        previous_until: Option<Timestamp>,
    ) -> Result<Option<WebhookEndpoint>> {
        let row: Option<WebhookEndpointRow> = sqlx::query_as(
            "UPDATE webhook_endpoints
             SET previous_secret = CASE WHEN $3 IS NULL THEN NULL ELSE secret END,
                 previous_secret_expires_at = $3, secret = $2
             WHERE id = $1 AND deleted_at IS NULL
             RETURNING *",
        )
        .bind(id)
        .bind(secret)
        .bind(previous_until.map(DbTime))
        .fetch_optional(pool)
        .await?;
        row.map(WebhookEndpoint::try_from).transpose()
    }

    /// Disables an endpoint (and with `delete`, deletes it) and fails its pending deliveries.
    /// The endpoint row is written first, so concurrent disables of one endpoint queue on it
    /// instead of deadlocking over deliveries (on PostgreSQL; the same order on SQLite).
    pub async fn disable_endpoint(
        conn: &mut DB::Connection,
        id: &str,
        reason: &str,
        now: Timestamp,
        delete: bool,
    ) -> Result<Option<WebhookEndpoint>> {
        let row: Option<WebhookEndpointRow> = sqlx::query_as(
            "UPDATE webhook_endpoints
             SET status = 'disabled', disabled_at = COALESCE(disabled_at, $2), disabled_reason = $3,
                 deleted_at = CASE WHEN $4 THEN $2 ELSE deleted_at END
             WHERE id = $1 AND deleted_at IS NULL AND ($4 OR status = 'active')
             RETURNING *",
        )
        .bind(id)
        .bind(DbTime(now))
        .bind(reason)
        .bind(delete)
        .fetch_optional(&mut *conn)
        .await?;
        if row.is_some() {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2
                 WHERE endpoint_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(disabled_error(reason))
            .execute(&mut *conn)
            .await?;
        }
        row.map(WebhookEndpoint::try_from).transpose()
    }

    /// Deliveries matching `f`, newest first, each with its attempts in order.
    pub async fn list_deliveries(pool: &Pool<DB>, f: &DeliveryFilter) -> Result<Page<Delivery>> {
        let mut count = QueryBuilder::<DB>::new("SELECT COUNT(*) FROM webhook_deliveries d");
        push_delivery_filters(&mut count, f);
        let (total,): (i64,) = count.build_query_as().fetch_one(pool).await?;
        let mut query = QueryBuilder::<DB>::new(
            "SELECT d.*, ev.type AS event_type FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id",
        );
        push_delivery_filters(&mut query, f);
        query
            .push(" ORDER BY d.seq DESC LIMIT ")
            .push_bind(i64::from(f.page.limit))
            .push(" OFFSET ")
            .push_bind(f.page.offset());
        let rows: Vec<ListedDeliveryRow> = query.build_query_as().fetch_all(pool).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.delivery.id.as_str()).collect();
        let mut attempts = Self::attempts_of(pool, &ids).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let attempts = attempts.remove(&r.delivery.id).unwrap_or_default();
                r.into_delivery(attempts)
            })
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            pagination: Pagination::new(f.page, total as u64),
        })
    }

    /// The attempts of the deliveries `ids`, by delivery, in attempt order.
    async fn attempts_of(pool: &Pool<DB>, ids: &[&str]) -> Result<HashMap<String, Vec<DeliveryAttempt>>> {
        let mut by_delivery: HashMap<String, Vec<DeliveryAttempt>> = HashMap::new();
        if ids.is_empty() {
            return Ok(by_delivery);
        }
        let mut query = QueryBuilder::<DB>::new("SELECT * FROM webhook_attempts WHERE delivery_id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        query.push(") ORDER BY delivery_id, attempt");
        let rows: Vec<DeliveryAttemptRow> = query.build_query_as().fetch_all(pool).await?;
        for r in rows {
            let delivery_id = r.delivery_id.clone();
            by_delivery
                .entry(delivery_id)
                .or_default()
                .push(DeliveryAttempt::try_from(r)?);
        }
        Ok(by_delivery)
    }

    /// Writes an attempt's outcome and moves its delivery on, disabling the endpoint first when
    /// the outcome says so; the caller's transaction holds it all.
    pub async fn record_outcome(conn: &mut DB::Connection, o: &AttemptOutcome) -> Result<()> {
        if o.next == NextStep::DisableEndpoint {
            Self::disable_endpoint(&mut *conn, &o.endpoint_id, GONE_REASON, o.finished_at, false).await?;
        }
        let attempt = o.attempt as i32;
        let http_status = o.http_status.map(i32::from);
        let duration_ms = o.duration_ms as i64;
        sqlx::query(
            "UPDATE webhook_attempts SET http_status = $3, error = $4, duration_ms = $5, headers = $6
             WHERE delivery_id = $1 AND attempt = $2",
        )
        .bind(o.delivery_id.as_str())
        .bind(attempt)
        .bind(http_status)
        .bind(o.error.as_deref())
        .bind(duration_ms)
        .bind(
            o.headers
                .as_ref()
                .map(|h| serde_json::to_string(h).expect("headers serialize")),
        )
        .execute(&mut *conn)
        .await?;
        // `attempts = $n` fences a worker whose lease was taken over; a delivery failed
        // meanwhile (endpoint disabled) keeps its status unless this attempt got through.
        sqlx::query(
            "UPDATE webhook_deliveries
             SET status = CASE WHEN status = 'pending' OR $3 = 'succeeded' THEN $3 ELSE status END,
                 next_attempt_at = CASE WHEN status = 'pending' OR $3 = 'succeeded' THEN $4 ELSE NULL END,
                 delivered_at = COALESCE($5, delivered_at),
                 last_http_status = $6, last_error = $7, last_duration_ms = $8
             WHERE id = $1 AND attempts = $2",
        )
        .bind(o.delivery_id.as_str())
        .bind(attempt)
        .bind(o.status().as_str())
        .bind(o.next_attempt_at().map(DbTime))
        .bind(o.delivered_at().map(DbTime))
        .bind(http_status)
        .bind(o.error.as_deref())
        .bind(duration_ms)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// ` WHERE` conditions of a delivery filter, on the deliveries aliased `d`.
fn push_delivery_filters<DB>(qb: &mut QueryBuilder<DB>, f: &DeliveryFilter)
where
    DB: Database,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if let Some(id) = &f.event_id {
        qb.push(" AND d.event_id = ").push_bind(id.clone());
    }
    if let Some(id) = &f.endpoint_id {
        qb.push(" AND d.endpoint_id = ").push_bind(id.clone());
    }
    if let Some(s) = f.status {
        qb.push(" AND d.status = ").push_bind(s.as_str());
    }
}
