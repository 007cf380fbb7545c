//! SQLite side of webhooks: endpoints, writing the delivery outbox, claims and attempts. Lists of ids
//! and rows cross as one JSON parameter (`json_each`), so a batch is one statement.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, Tx, opt_millis};
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::page::{Page, PageRequest, Pagination};
use crate::store::WebhookStore;
use crate::time::{Timestamp, from_millis, to_millis};
use crate::webhook::outbox::{self, NewDelivery, Subscriber};
use crate::webhook::{
    AttemptOutcome, DELETED_REASON, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryStatus, DueDelivery,
    EndpointStatus, GONE_REASON, INTERRUPTED_ERROR, NextStep, WebhookEndpoint, disabled_error,
};

/// Ids of up to `$2` pending deliveries due by `$1` to active endpoints, oldest first.
macro_rules! due_deliveries {
    () => {
        "SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'active'
         ORDER BY d.next_attempt_at LIMIT $2"
    };
}

fn stored_events(r: &SqliteRow) -> Result<Vec<String>> {
    serde_json::from_str(r.try_get("events")?).map_err(|e| Error::Internal(format!("stored endpoint events: {e}")))
}

fn endpoint_from_row(r: &SqliteRow) -> Result<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        events: outbox::stored_event_types(&stored_events(r)?)?,
        status: EndpointStatus::from_stored(r.try_get("status")?)?,
        created_at: from_millis(r.try_get("created_at")?),
        disabled_at: opt_millis(r.try_get("disabled_at")?),
        disabled_reason: r.try_get("disabled_reason")?,
    })
}

fn delivery_from_row(r: &SqliteRow, event_type: EventType, attempts: Vec<DeliveryAttempt>) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        event_type,
        endpoint_id: r.try_get("endpoint_id")?,
        status: DeliveryStatus::from_stored(r.try_get("status")?)?,
        attempt_count: r.try_get::<i64, _>("attempts")? as u32,
        next_attempt_at: opt_millis(r.try_get("next_attempt_at")?),
        last_http_status: r.try_get::<Option<i64>, _>("last_http_status")?.map(|s| s as u16),
        last_error: r.try_get("last_error")?,
        last_duration_ms: r.try_get::<Option<i64>, _>("last_duration_ms")?.map(|d| d as u64),
        created_at: from_millis(r.try_get("created_at")?),
        delivered_at: opt_millis(r.try_get("delivered_at")?),
        attempts,
    })
}

fn attempt_from_row(r: &SqliteRow) -> Result<DeliveryAttempt> {
    Ok(DeliveryAttempt {
        attempt: r.try_get::<i64, _>("attempt")? as u32,
        started_at: from_millis(r.try_get("started_at")?),
        http_status: r.try_get::<Option<i64>, _>("http_status")?.map(|s| s as u16),
        error: r.try_get("error")?,
        duration_ms: r.try_get::<Option<i64>, _>("duration_ms")?.map(|d| d as u64),
        headers: super::super::attempt_headers(r.try_get("headers")?)?,
    })
}

fn stored_event_type(r: &SqliteRow) -> Result<EventType> {
    let t: String = r.try_get("event_type")?;
    EventType::parse("type", &t).map_err(|e| Error::Internal(e.to_string()))
}

/// Disables an endpoint and fails its pending deliveries; the endpoint row first, so that
/// concurrent disables of one endpoint queue instead of deadlocking (on Postgres; same order here).
async fn disable_endpoint(
    tx: &mut Tx,
    id: &str,
    reason: &str,
    now: Timestamp,
    delete: bool,
) -> Result<Option<SqliteRow>> {
    let row = sqlx::query(
        "UPDATE webhook_endpoints
         SET status = 'disabled', disabled_at = COALESCE(disabled_at, $2), disabled_reason = $3,
             deleted_at = CASE WHEN $4 THEN $2 ELSE deleted_at END
         WHERE id = $1 AND deleted_at IS NULL AND ($4 OR status = 'active')
         RETURNING *",
    )
    .bind(id)
    .bind(to_millis(&now))
    .bind(reason)
    .bind(delete)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_some() {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2
             WHERE endpoint_id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(disabled_error(reason))
        .execute(&mut **tx)
        .await?;
    }
    Ok(row)
}

/// The active endpoints, oldest first: who the outbox rule may give a delivery.
pub(super) async fn active_subscribers(tx: &mut Tx) -> Result<Vec<Subscriber>> {
    let rows = sqlx::query("SELECT id, events FROM webhook_endpoints WHERE status = 'active' ORDER BY created_at, id")
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| Subscriber::from_stored(r.try_get("id")?, &stored_events(r)?))
        .collect()
}

/// Writes pending deliveries (none: no statement), in order, as one statement.
pub(super) async fn insert_deliveries(tx: &mut Tx, deliveries: &[NewDelivery]) -> Result<Vec<SqliteRow>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(&str, &str, &str, i64)> = deliveries
        .iter()
        .map(|d| {
            (
                d.id.as_str(),
                d.event_id.as_str(),
                d.endpoint_id.as_str(),
                to_millis(&d.created_at),
            )
        })
        .collect();
    Ok(sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 'pending', 0,
                json_extract(value, '$[3]'), json_extract(value, '$[3]')
         FROM json_each($1) ORDER BY key
         RETURNING *",
    )
    .bind(serde_json::to_string(&rows).expect("deliveries serialize"))
    .fetch_all(&mut **tx)
    .await?)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint, secret: &str) -> Result<()> {
        let events: Vec<&str> = endpoint.events.iter().map(|t| t.as_str()).collect();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, description, events, secret, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&endpoint.id)
        .bind(&endpoint.url)
        .bind(&endpoint.description)
        .bind(serde_json::to_string(&events).expect("strings serialize"))
        .bind(secret)
        .bind(endpoint.status.as_str())
        .bind(to_millis(&endpoint.created_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>> {
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(endpoint_from_row).transpose()
    }

    async fn list_webhook_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL")
            .fetch_one(&self.reader)
            .await?;
        let rows = sqlx::query(
            "SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(page.limit))
        .bind(page.offset())
        .fetch_all(&self.reader)
        .await?;
        Ok(Page {
            items: rows.iter().map(endpoint_from_row).collect::<Result<_>>()?,
            pagination: Pagination::new(page, total as u64),
        })
    }

    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Option<Timestamp>,
    ) -> Result<Option<WebhookEndpoint>> {
        let row = sqlx::query(
            "UPDATE webhook_endpoints
             SET previous_secret = CASE WHEN $3 IS NULL THEN NULL ELSE secret END,
                 previous_secret_expires_at = $3, secret = $2
             WHERE id = $1 AND deleted_at IS NULL
             RETURNING *",
        )
        .bind(id)
        .bind(secret)
        .bind(previous_until.as_ref().map(to_millis))
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(endpoint_from_row).transpose()
    }

    async fn delete_webhook_endpoint(&self, id: &str, now: Timestamp) -> Result<Option<WebhookEndpoint>> {
        let mut tx = self.begin().await?;
        let row = disable_endpoint(&mut tx, id, DELETED_REASON, now, true).await?;
        tx.commit().await?;
        row.as_ref().map(endpoint_from_row).transpose()
    }

    async fn list_deliveries(&self, f: &DeliveryFilter) -> Result<Page<Delivery>> {
        let status = f.status.map(DeliveryStatus::as_str);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries
             WHERE ($1 IS NULL OR event_id = $1) AND ($2 IS NULL OR endpoint_id = $2) AND ($3 IS NULL OR status = $3)",
        )
        .bind(&f.event_id)
        .bind(&f.endpoint_id)
        .bind(status)
        .fetch_one(&self.reader)
        .await?;
        let rows = sqlx::query(
            "SELECT d.*, ev.type AS event_type FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
             WHERE ($1 IS NULL OR d.event_id = $1) AND ($2 IS NULL OR d.endpoint_id = $2) AND ($3 IS NULL OR d.status = $3)
             ORDER BY d.seq DESC LIMIT $4 OFFSET $5",
        )
        .bind(&f.event_id)
        .bind(&f.endpoint_id)
        .bind(status)
        .bind(i64::from(f.page.limit))
        .bind(f.page.offset())
        .fetch_all(&self.reader)
        .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        let attempt_rows = sqlx::query(
            "SELECT * FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each($1))
             ORDER BY delivery_id, attempt",
        )
        .bind(serde_json::to_string(&ids).expect("strings serialize"))
        .fetch_all(&self.reader)
        .await?;
        let mut attempts: std::collections::HashMap<String, Vec<DeliveryAttempt>> = Default::default();
        for r in &attempt_rows {
            attempts
                .entry(r.try_get("delivery_id")?)
                .or_default()
                .push(attempt_from_row(r)?);
        }
        let items = rows
            .iter()
            .zip(&ids)
            .map(|(r, id)| delivery_from_row(r, stored_event_type(r)?, attempts.remove(id).unwrap_or_default()))
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            pagination: Pagination::new(f.page, total as u64),
        })
    }

    async fn create_deliveries(
        &self,
        event_id: &str,
        event_type: EventType,
        endpoint_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Delivery>> {
        let mut tx = self.begin().await?;
        let subscribers: Vec<Subscriber> = active_subscribers(&mut tx)
            .await?
            .into_iter()
            .filter(|s| endpoint_id.is_none_or(|id| s.endpoint_id == id))
            .collect();
        let rows = insert_deliveries(
            &mut tx,
            &outbox::deliveries_for(&subscribers, event_id, event_type, now),
        )
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| delivery_from_row(r, event_type, Vec::new()))
            .collect()
    }

    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        // Look on a reader first: an idle poll must not take the writer from order creation.
        let any: Option<String> = sqlx::query_scalar(due_deliveries!())
            .bind(to_millis(&now))
            .bind(1i64)
            .fetch_optional(&self.reader)
            .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let claimed: Vec<(String, i64)> = sqlx::query_as(concat!(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $3 WHERE id IN (",
            due_deliveries!(),
            ") RETURNING id, attempts"
        ))
        .bind(to_millis(&now))
        .bind(i64::from(limit))
        .bind(to_millis(&lease_until))
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let claimed_json = serde_json::to_string(&claimed).expect("claims serialize");
        // A previous attempt still without outcome belongs to a worker whose lease ran out.
        sqlx::query(
            "UPDATE webhook_attempts SET error = $2
             WHERE delivery_id IN (SELECT json_extract(value, '$[0]') FROM json_each($1))
               AND http_status IS NULL AND error IS NULL",
        )
        .bind(&claimed_json)
        .bind(INTERRUPTED_ERROR)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, started_at)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), $2 FROM json_each($1)",
        )
        .bind(&claimed_json)
        .bind(to_millis(&now))
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT d.id, d.attempts, d.event_id, ev.payload, d.endpoint_id, e.kind, e.url, e.secret,
                    CASE WHEN e.previous_secret_expires_at > $2 THEN e.previous_secret END AS previous_secret
             FROM webhook_deliveries d
             JOIN events ev ON ev.id = d.event_id
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.id IN (SELECT json_extract(value, '$[0]') FROM json_each($1))
             ORDER BY d.seq",
        )
        .bind(&claimed_json)
        .bind(to_millis(&now))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    delivery_id: r.try_get("id")?,
                    attempt: r.try_get::<i64, _>("attempts")? as u32,
                    event_id: r.try_get("event_id")?,
                    payload: r.try_get("payload")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    kind: r.try_get("kind")?,
                    url: r.try_get("url")?,
                    secret: r.try_get("secret")?,
                    previous_secret: r.try_get("previous_secret")?,
                })
            })
            .collect()
    }

    async fn record_attempt(&self, o: &AttemptOutcome) -> Result<()> {
        let mut tx = self.begin().await?;
        if o.next == NextStep::DisableEndpoint {
            disable_endpoint(&mut tx, &o.endpoint_id, GONE_REASON, o.finished_at, false).await?;
        }
        sqlx::query(
            "UPDATE webhook_attempts SET http_status = $3, error = $4, duration_ms = $5, headers = $6
             WHERE delivery_id = $1 AND attempt = $2",
        )
        .bind(&o.delivery_id)
        .bind(i64::from(o.attempt))
        .bind(o.http_status.map(i64::from))
        .bind(&o.error)
        .bind(o.duration_ms as i64)
        .bind(
            o.headers
                .as_ref()
                .map(|h| serde_json::to_string(h).expect("headers serialize")),
        )
        .execute(&mut *tx)
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
        .bind(&o.delivery_id)
        .bind(i64::from(o.attempt))
        .bind(o.status().as_str())
        .bind(o.next_attempt_at().as_ref().map(to_millis))
        .bind(o.delivered_at().as_ref().map(to_millis))
        .bind(o.http_status.map(i64::from))
        .bind(&o.error)
        .bind(o.duration_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
