//! PostgreSQL side of webhooks: endpoints, writing the delivery outbox, claims and attempts. Replicas
//! claim with `FOR UPDATE SKIP LOCKED` and lease what they claim, so no attempt is sent twice
//! at once.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, Postgres, Row};

use super::{PgStore, Tx};
use crate::error::Result;
use crate::event::EventType;
use crate::page::{Page, PageRequest};
use crate::store::WebhookStore;
use crate::store::rows::DeliveryRow;
use crate::store::shared_webhooks::Webhooks;
use crate::time::Timestamp;
use crate::webhook::outbox::{self, NewDelivery, Subscriber};
use crate::webhook::{
    AttemptOutcome, DELETED_REASON, Delivery, DeliveryFilter, DueDelivery, INTERRUPTED_ERROR, WebhookEndpoint,
};

/// Subscribers from rows of `id, events, order_id` of the active endpoints (see `insert_event`, which reads
/// them in the event's own statement).
pub(super) fn subscribers_from_rows(rows: &[PgRow]) -> Result<Vec<Subscriber>> {
    rows.iter()
        .map(|r| {
            let Json(events): Json<Vec<String>> = r.try_get("events")?;
            Subscriber::from_stored(r.try_get("id")?, &events, r.try_get("order_id")?)
        })
        .collect()
}

/// Writes pending deliveries (none: no statement), in order, as one statement.
pub(super) async fn insert_deliveries(tx: &mut Tx, deliveries: &[NewDelivery]) -> Result<Vec<PgRow>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    let event_ids: Vec<&str> = deliveries.iter().map(|d| d.event_id.as_str()).collect();
    let endpoint_ids: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
    let times: Vec<Timestamp> = deliveries.iter().map(|d| d.created_at).collect();
    Ok(sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at)
         SELECT id, event_id, endpoint_id, 'pending', 0, at, at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY
              AS d (id, event_id, endpoint_id, at, n)
         ORDER BY n
         RETURNING *",
    )
    .bind(&ids)
    .bind(&event_ids)
    .bind(&endpoint_ids)
    .bind(&times)
    .fetch_all(&mut **tx)
    .await?)
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint, secret: &str) -> Result<()> {
        Webhooks::<Postgres>::insert_endpoint(&self.pool, endpoint, secret).await
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>> {
        Webhooks::<Postgres>::get_endpoint(&self.pool, id).await
    }

    async fn list_webhook_endpoints(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>> {
        Webhooks::<Postgres>::list_endpoints(&self.pool, page).await
    }

    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Option<Timestamp>,
    ) -> Result<Option<WebhookEndpoint>> {
        Webhooks::<Postgres>::rotate_secret(&self.pool, id, secret, previous_until).await
    }

    async fn delete_webhook_endpoint(&self, id: &str, now: Timestamp) -> Result<Option<WebhookEndpoint>> {
        let mut tx = self.pool.begin().await?;
        let endpoint = Webhooks::<Postgres>::disable_endpoint(&mut tx, id, DELETED_REASON, now, true).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    async fn list_deliveries(&self, f: &DeliveryFilter) -> Result<Page<Delivery>> {
        Webhooks::<Postgres>::list_deliveries(&self.pool, f).await
    }

    async fn create_deliveries(
        &self,
        event_id: &str,
        event_type: EventType,
        event_order: Option<&str>,
        endpoint_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Delivery>> {
        let mut tx = self.pool.begin().await?;
        let endpoints = sqlx::query(
            "SELECT id, events, order_id FROM webhook_endpoints
             WHERE status = 'active' AND ($1::text IS NULL OR id = $1)
               AND (order_id IS NULL OR order_id = $2)
             ORDER BY created_at, id",
        )
        .bind(endpoint_id)
        .bind(event_order)
        .fetch_all(&mut *tx)
        .await?;
        let subscribers = subscribers_from_rows(&endpoints)?;
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
        let mut tx = self.pool.begin().await?;
        // SKIP LOCKED: replicas claiming at the same moment take disjoint deliveries; the lease
        // (next_attempt_at in the future) keeps them out of later claims until it ends.
        let claimed: Vec<(String, i32)> = sqlx::query_as(
            "WITH due AS (
                 SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'active'
                 ORDER BY d.next_attempt_at LIMIT $2
                 FOR UPDATE OF d SKIP LOCKED)
             UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
             FROM due WHERE d.id = due.id
             RETURNING d.id, d.attempts",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(lease_until)
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let (ids, attempts): (Vec<String>, Vec<i32>) = claimed.into_iter().unzip();
        // A previous attempt still without outcome belongs to a worker whose lease ran out.
        sqlx::query(
            "UPDATE webhook_attempts SET error = $2
             WHERE delivery_id = ANY($1) AND http_status IS NULL AND error IS NULL",
        )
        .bind(&ids)
        .bind(INTERRUPTED_ERROR)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, started_at)
             SELECT id, attempt, $3 FROM unnest($1::text[], $2::int[]) AS c (id, attempt)",
        )
        .bind(&ids)
        .bind(&attempts)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT d.id, d.attempts, d.event_id, ev.payload, d.endpoint_id, e.kind, e.url, e.secret, e.context,
                    CASE WHEN e.previous_secret_expires_at > $2 THEN e.previous_secret END AS previous_secret
             FROM webhook_deliveries d
             JOIN events ev ON ev.id = d.event_id
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.id = ANY($1)
             ORDER BY d.seq",
        )
        .bind(&ids)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    delivery_id: r.try_get("id")?,
                    attempt: r.try_get::<i32, _>("attempts")? as u32,
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
        let mut tx = self.pool.begin().await?;
        Webhooks::<Postgres>::record_outcome(&mut tx, o).await?;
        tx.commit().await?;
        Ok(())
    }
}
