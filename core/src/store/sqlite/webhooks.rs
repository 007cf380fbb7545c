//! SQLite side of webhooks: endpoints, writing the delivery outbox, claims and attempts. Lists of ids
//! and rows cross as one JSON parameter (`json_each`), so a batch is one statement.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row, Sqlite};

use super::{SqliteStore, Tx};
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::page::{Page, PageRequest};
use crate::store::WebhookStore;
use crate::store::rows::DeliveryRow;
use crate::store::shared_webhooks::Webhooks;
use crate::time::{Timestamp, to_millis};
use crate::webhook::outbox::{self, NewDelivery, Subscriber};
use crate::webhook::{
    AttemptOutcome, DELETED_REASON, Delivery, DeliveryFilter, DueDelivery, INTERRUPTED_ERROR, WebhookEndpoint,
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

/// The active endpoints, oldest first, that the outbox rule may give a delivery of events about
/// `orders`: every registered endpoint, and those scoped to one of these orders.
pub(super) async fn active_subscribers(tx: &mut Tx, orders: &[&str]) -> Result<Vec<Subscriber>> {
    let rows = sqlx::query(
        "SELECT id, events, order_id FROM webhook_endpoints
         WHERE status = 'active' AND (order_id IS NULL OR order_id IN (SELECT value FROM json_each($1)))
         ORDER BY created_at, id",
    )
    .bind(serde_json::to_string(orders).expect("ids serialize"))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Subscriber::from_stored(r.try_get("id")?, &stored_events(r)?, r.try_get("order_id")?))
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
        Webhooks::<Sqlite>::insert_endpoint(&self.writer, endpoint, secret).await
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>> {
        Webhooks::<Sqlite>::get_endpoint(&self.reader, id).await
    }

    async fn list_webhook_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        Webhooks::<Sqlite>::list_endpoints(&self.reader, page).await
    }

    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Option<Timestamp>,
    ) -> Result<Option<WebhookEndpoint>> {
        Webhooks::<Sqlite>::rotate_secret(&self.writer, id, secret, previous_until).await
    }

    async fn delete_webhook_endpoint(&self, id: &str, now: Timestamp) -> Result<Option<WebhookEndpoint>> {
        let mut tx = self.begin().await?;
        let endpoint = Webhooks::<Sqlite>::disable_endpoint(&mut tx, id, DELETED_REASON, now, true).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    async fn list_deliveries(&self, f: &DeliveryFilter) -> Result<Page<Delivery>> {
        Webhooks::<Sqlite>::list_deliveries(&self.reader, f).await
    }

    async fn create_deliveries(
        &self,
        event_id: &str,
        event_type: EventType,
        event_order: Option<&str>,
        endpoint_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Delivery>> {
        let mut tx = self.begin().await?;
        let subscribers: Vec<Subscriber> = active_subscribers(&mut tx, event_order.as_slice())
            .await?
            .into_iter()
            .filter(|s| endpoint_id.is_none_or(|id| s.endpoint_id == id))
            .collect();
        let rows = insert_deliveries(
            &mut tx,
            &outbox::deliveries_for(&subscribers, event_id, event_type, event_order, now),
        )
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| DeliveryRow::from_row(r)?.into_delivery(event_type, Vec::new()))
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
            "SELECT d.id, d.attempts, d.event_id, ev.payload, d.endpoint_id, e.kind, e.url, e.secret, e.context,
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
                    context: r.try_get("context")?,
                })
            })
            .collect()
    }

    async fn record_attempt(&self, o: &AttemptOutcome) -> Result<()> {
        let mut tx = self.begin().await?;
        Webhooks::<Sqlite>::record_outcome(&mut tx, o).await?;
        tx.commit().await?;
        Ok(())
    }
}
