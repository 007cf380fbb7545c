//! Database rows both backends decode alike, and their conversion to domain types.
//!
//! A row type names the columns a query returns; `sqlx::FromRow` decodes it on SQLite and on
//! PostgreSQL. Where the two store a value differently the row holds a type that decodes from
//! either form: [`DbTime`] (Unix milliseconds on SQLite, `timestamptz` on PostgreSQL) and
//! `Json` (text on SQLite, `jsonb` on PostgreSQL). Amounts are read as text on both: SQLite
//! stores them as text and PostgreSQL queries cast NUMERIC to text (see
//! [`order_columns!`](crate::store)), which keeps the scale of zero amounts.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::types::Json;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

use crate::amount::Amount;
use crate::apikey::ApiKey;
use crate::chain::{Currency, Protocol};
use crate::deposit::{Deposit, DepositBinding, DepositStatus};
#[cfg(feature = "dev")]
use crate::dev::recorded::RecordedChain;
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::idempotency::{KeyRecord, StoredResponse};
use crate::metadata::Metadata;
use crate::order::{Order, OrderStatus};
use crate::time::{Timestamp, from_millis, to_millis};
use crate::webhook::outbox;
use crate::webhook::{Delivery, DeliveryAttempt, DeliveryStatus, EndpointStatus, WebhookEndpoint};

/// A stored point in time: Unix milliseconds (INTEGER) on SQLite, `timestamptz` on PostgreSQL.
/// Bind it wherever a query compares or writes a time column, on either backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DbTime(pub Timestamp);

impl From<DbTime> for Timestamp {
    fn from(t: DbTime) -> Timestamp {
        t.0
    }
}

impl Type<Sqlite> for DbTime {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for DbTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> std::result::Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(to_millis(&self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbTime {
    fn decode(value: SqliteValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(DbTime(from_millis(<i64 as Decode<'r, Sqlite>>::decode(value)?)))
    }
}

impl Type<Postgres> for DbTime {
    fn type_info() -> PgTypeInfo {
        <Timestamp as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <Timestamp as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for DbTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> std::result::Result<IsNull, BoxDynError> {
        <Timestamp as Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbTime {
    fn decode(value: PgValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(DbTime(<Timestamp as Decode<'r, Postgres>>::decode(value)?))
    }
}

fn opt_time(t: Option<DbTime>) -> Option<Timestamp> {
    t.map(Timestamp::from)
}

/// A stored count or block number, never negative.
fn unsigned(v: i64) -> u64 {
    v as u64
}

/// Stored metadata; anything but an object reads as empty.
fn metadata(Json(v): Json<serde_json::Value>) -> Metadata {
    super::metadata_from_json(v)
}

fn order_status(s: &str) -> Result<OrderStatus> {
    OrderStatus::parse("status", s).map_err(|e| Error::Internal(e.to_string()))
}

pub(crate) fn deposit_status(s: &str) -> Result<DepositStatus> {
    DepositStatus::parse("status", s).map_err(|e| Error::Internal(e.to_string()))
}

/// An `orders` row; amounts as text.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderRow {
    pub order_id: String,
    pub order_reference: String,
    pub amount: String,
    pub amount_received: String,
    pub currency: String,
    pub chain_id: String,
    pub protocol: String,
    pub address: String,
    pub status: String,
    pub metadata: Json<serde_json::Value>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub payment_url: String,
    pub payment_window_minutes: i32,
    pub grace_minutes: i32,
    pub created_at: DbTime,
    pub expires_at: DbTime,
    pub completed_at: Option<DbTime>,
    pub expired_at: Option<DbTime>,
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
    pub confirmations: Option<i64>,
    pub surplus: Option<String>,
    pub payment_link_id: Option<String>,
    /// `NULL` on orders created before migration 0013: they pay `amount`.
    pub pay_amount: Option<String>,
    /// The normalized pay amount of a shared-address order; `NULL` for pool orders.
    pub pay_key: Option<String>,
    pub fiat_currency: Option<String>,
    pub fiat_amount: Option<String>,
    pub rate: Option<String>,
}

impl TryFrom<OrderRow> for Order {
    type Error = Error;

    fn try_from(r: OrderRow) -> Result<Order> {
        let amount = Amount::from_stored(&r.amount)?;
        let opt_amount = |s: Option<&str>| s.map(Amount::from_stored).transpose();
        Ok(Order {
            pay_amount: opt_amount(r.pay_amount.as_deref())?.unwrap_or(amount),
            shared_address: r.pay_key.is_some(),
            fiat_currency: r.fiat_currency,
            fiat_amount: opt_amount(r.fiat_amount.as_deref())?,
            rate: opt_amount(r.rate.as_deref())?,
            amount,
            amount_received: Amount::from_stored(&r.amount_received)?,
            currency: Currency::from_stored(&r.currency)?,
            protocol: Protocol::from_stored(&r.protocol)?,
            status: order_status(&r.status)?,
            metadata: metadata(r.metadata),
            payment_window_minutes: r.payment_window_minutes as u32,
            grace_minutes: r.grace_minutes as u32,
            created_at: r.created_at.into(),
            expires_at: r.expires_at.into(),
            completed_at: opt_time(r.completed_at),
            expired_at: opt_time(r.expired_at),
            block_number: r.block_number.map(unsigned),
            confirmations: r.confirmations.map(unsigned),
            surplus: r.surplus.as_deref().map(Amount::from_stored).transpose()?,
            order_id: r.order_id,
            order_reference: r.order_reference,
            chain_id: r.chain_id,
            address: r.address,
            success_url: r.success_url,
            cancel_url: r.cancel_url,
            payment_url: r.payment_url,
            tx_hash: r.tx_hash,
            payment_link_id: r.payment_link_id,
        })
    }
}

/// A `deposits` row; the amount as text.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DepositRow {
    pub deposit_id: String,
    pub deposit_reference: String,
    pub amount: String,
    pub currency: String,
    pub chain_id: String,
    pub address: String,
    pub tx_hash: String,
    pub log_index: i64,
    pub block_number: i64,
    pub status: String,
    pub confirmations: i64,
    pub detected_at: DbTime,
    pub confirmed_at: Option<DbTime>,
    pub completed_at: Option<DbTime>,
}

impl TryFrom<DepositRow> for Deposit {
    type Error = Error;

    fn try_from(r: DepositRow) -> Result<Deposit> {
        Ok(Deposit {
            amount: Amount::from_stored(&r.amount)?,
            currency: Currency::from_stored(&r.currency)?,
            status: deposit_status(&r.status)?,
            log_index: unsigned(r.log_index),
            block_number: unsigned(r.block_number),
            confirmations: unsigned(r.confirmations),
            detected_at: r.detected_at.into(),
            confirmed_at: opt_time(r.confirmed_at),
            completed_at: opt_time(r.completed_at),
            deposit_id: r.deposit_id,
            deposit_reference: r.deposit_reference,
            chain_id: r.chain_id,
            address: r.address,
            tx_hash: r.tx_hash,
        })
    }
}

/// An `idempotency_keys` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub response_body: Option<String>,
    pub locked_until: DbTime,
}

impl From<IdempotencyRow> for KeyRecord {
    fn from(r: IdempotencyRow) -> KeyRecord {
        KeyRecord {
            request_hash: r.request_hash,
            response: match (r.status_code, r.response_body) {
                (Some(status), Some(body)) => Some(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }),
                _ => None,
            },
            locked_until: r.locked_until.0,
        }
    }
}

/// An `api_keys` row, without its hash.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DbTime,
    pub revoked_at: Option<DbTime>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> ApiKey {
        ApiKey {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at.into(),
            revoked_at: opt_time(r.revoked_at),
        }
    }
}

/// A `deposit_bindings` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BindingRow {
    pub currency: Option<String>,
    pub chain_id: String,
    pub protocol: String,
    pub address: String,
    pub created_at: DbTime,
}

impl TryFrom<BindingRow> for DepositBinding {
    type Error = Error;

    fn try_from(r: BindingRow) -> Result<DepositBinding> {
        Ok(DepositBinding {
            currency: r.currency.as_deref().map(Currency::from_stored).transpose()?,
            protocol: Protocol::from_stored(&r.protocol)?,
            created_at: r.created_at.into(),
            chain_id: r.chain_id,
            address: r.address,
        })
    }
}

/// A `deposit_references` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReferenceRow {
    pub deposit_reference: String,
    pub metadata: Json<serde_json::Value>,
    pub created_at: DbTime,
}

impl ReferenceRow {
    pub fn metadata(self) -> Metadata {
        metadata(self.metadata)
    }
}

/// One line of the deposit reference list: the reference with aggregates over its bindings
/// and deposits (`protocols` comma-separated).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReferenceSummaryRow {
    pub deposit_reference: String,
    pub created_at: DbTime,
    pub protocols: Option<String>,
    pub address_count: i64,
    pub last_deposit_at: Option<DbTime>,
}

impl ReferenceSummaryRow {
    /// The distinct protocols of the reference's bindings, in order.
    pub fn protocols(&self) -> Result<Vec<Protocol>> {
        let set = self
            .protocols
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(Protocol::from_stored)
            .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
        Ok(set.into_iter().collect())
    }

    pub fn address_count(&self) -> u64 {
        unsigned(self.address_count)
    }

    pub fn last_deposit_at(&self) -> Option<Timestamp> {
        opt_time(self.last_deposit_at)
    }
}

/// A credited-or-not deposit as the reference totals need it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DepositAmountRow {
    pub currency: String,
    pub amount: String,
    pub status: String,
}

impl DepositAmountRow {
    pub fn parse(&self) -> Result<(Currency, Amount, DepositStatus)> {
        Ok((
            Currency::from_stored(&self.currency)?,
            Amount::from_stored(&self.amount)?,
            deposit_status(&self.status)?,
        ))
    }
}

/// A `chain_overrides` row. Read only with feature `dev` (chains `payin dev` recorded); the
/// shared queries name it either way.
#[derive(Debug, sqlx::FromRow)]
#[cfg_attr(not(feature = "dev"), allow(dead_code))]
pub(crate) struct RecordedChainRow {
    pub chain_id: String,
    pub rpc_url: String,
    pub tokens: Json<serde_json::Value>,
    pub updated_at: DbTime,
}

#[cfg(feature = "dev")]
impl TryFrom<RecordedChainRow> for RecordedChain {
    type Error = Error;

    fn try_from(r: RecordedChainRow) -> Result<RecordedChain> {
        RecordedChain::from_stored(r.chain_id, r.rpc_url, r.tokens.0, r.updated_at.into())
    }
}

/// A `webhook_endpoints` row; `events` is a JSON array of event type names (TEXT on SQLite,
/// JSONB on PostgreSQL), empty for every type.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct WebhookEndpointRow {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub events: Json<Vec<String>>,
    pub status: String,
    pub created_at: DbTime,
    pub disabled_at: Option<DbTime>,
    pub disabled_reason: Option<String>,
}

impl TryFrom<WebhookEndpointRow> for WebhookEndpoint {
    type Error = Error;
    fn try_from(r: WebhookEndpointRow) -> Result<WebhookEndpoint> {
        Ok(WebhookEndpoint {
            events: outbox::stored_event_types(&r.events.0)?,
            status: EndpointStatus::from_stored(&r.status)?,
            id: r.id,
            url: crate::webhook::without_credentials(r.url),
            description: r.description,
            created_at: r.created_at.into(),
            disabled_at: opt_time(r.disabled_at),
            disabled_reason: r.disabled_reason,
        })
    }
}

/// A `webhook_deliveries` row. Its event type and attempts live in other tables: see
/// [`DeliveryRow::into_delivery`].
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DbTime>,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub created_at: DbTime,
    pub delivered_at: Option<DbTime>,
}

impl DeliveryRow {
    pub fn into_delivery(self, event_type: EventType, attempts: Vec<DeliveryAttempt>) -> Result<Delivery> {
        Ok(Delivery {
            status: DeliveryStatus::from_stored(&self.status)?,
            id: self.id,
            event_id: self.event_id,
            event_type,
            endpoint_id: self.endpoint_id,
            attempt_count: self.attempts as u32,
            next_attempt_at: opt_time(self.next_attempt_at),
            last_http_status: self.last_http_status.map(|s| s as u16),
            last_error: self.last_error,
            last_duration_ms: self.last_duration_ms.map(unsigned),
            created_at: self.created_at.into(),
            delivered_at: opt_time(self.delivered_at),
            attempts,
        })
    }
}

/// A delivery row joined with its event's `type` (as `event_type`), as deliveries are listed.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ListedDeliveryRow {
    #[sqlx(flatten)]
    pub delivery: DeliveryRow,
    pub event_type: String,
}

impl ListedDeliveryRow {
    pub fn into_delivery(self, attempts: Vec<DeliveryAttempt>) -> Result<Delivery> {
        let event_type = EventType::parse("type", &self.event_type).map_err(|e| Error::Internal(e.to_string()))?;
        self.delivery.into_delivery(event_type, attempts)
    }
}

/// A `webhook_attempts` row; `headers` is the receiver's answer headers as a JSON object.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliveryAttemptRow {
    pub delivery_id: String,
    pub attempt: i32,
    pub started_at: DbTime,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub headers: Option<String>,
}

impl TryFrom<DeliveryAttemptRow> for DeliveryAttempt {
    type Error = Error;
    fn try_from(r: DeliveryAttemptRow) -> Result<DeliveryAttempt> {
        Ok(DeliveryAttempt {
            attempt: r.attempt as u32,
            started_at: r.started_at.into(),
            http_status: r.http_status.map(|s| s as u16),
            error: r.error,
            duration_ms: r.duration_ms.map(unsigned),
            headers: super::attempt_headers(r.headers)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::truncate_millis;

    fn order_row() -> OrderRow {
        OrderRow {
            order_id: "ord_1".into(),
            order_reference: "INV-1".into(),
            amount: "10.50".into(),
            amount_received: "0.00".into(),
            currency: "USDT".into(),
            chain_id: "ethereum".into(),
            protocol: "evm".into(),
            address: "0xabc".into(),
            status: "pending".into(),
            metadata: Json(serde_json::json!({"customer": "c-1"})),
            success_url: None,
            cancel_url: Some("https://shop.example/cancel".into()),
            payment_url: "https://pay.example/ord_1".into(),
            payment_window_minutes: 30,
            grace_minutes: 5,
            created_at: DbTime(from_millis(1_737_369_000_123)),
            expires_at: DbTime(from_millis(1_737_370_800_123)),
            completed_at: None,
            expired_at: None,
            tx_hash: None,
            block_number: Some(19_000_000),
            confirmations: Some(12),
            surplus: Some("0.000001".into()),
            payment_link_id: None,
            pay_amount: None,
            pay_key: None,
            fiat_currency: None,
            fiat_amount: None,
            rate: None,
        }
    }

    #[test]
    fn order_row_converts_keeping_amount_scale() {
        let order = Order::try_from(order_row()).unwrap();
        assert_eq!(order.amount.to_string(), "10.50");
        assert_eq!(order.amount_received.to_string(), "0.00");
        assert_eq!(order.surplus.unwrap().to_string(), "0.000001");
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.protocol, Protocol::Evm);
        assert_eq!(order.metadata["customer"], "c-1");
        assert_eq!(order.payment_window_minutes, 30);
        assert_eq!(order.block_number, Some(19_000_000));
        assert_eq!(crate::time::format(&order.created_at), "2025-01-20T10:30:00.123Z");
    }

    #[test]
    fn order_row_with_non_object_metadata_reads_empty() {
        let row = OrderRow {
            metadata: Json(serde_json::json!([1, 2])),
            ..order_row()
        };
        assert!(Order::try_from(row).unwrap().metadata.is_empty());
    }

    #[test]
    fn order_row_with_unknown_status_is_an_internal_error() {
        let row = OrderRow {
            status: "paid".into(),
            ..order_row()
        };
        assert!(matches!(Order::try_from(row), Err(Error::Internal(_))));
    }

    #[test]
    fn order_row_with_a_bad_amount_is_an_internal_error() {
        let row = OrderRow {
            amount: "ten".into(),
            ..order_row()
        };
        assert!(matches!(Order::try_from(row), Err(Error::Internal(_))));
    }

    #[test]
    fn deposit_row_converts() {
        let row = DepositRow {
            deposit_id: "dep_1".into(),
            deposit_reference: "user-1".into(),
            amount: "5.000000".into(),
            currency: "USDC".into(),
            chain_id: "base".into(),
            address: "0xdef".into(),
            tx_hash: "0x01".into(),
            log_index: 3,
            block_number: 42,
            status: "confirmed".into(),
            confirmations: 6,
            detected_at: DbTime(from_millis(1_000)),
            confirmed_at: Some(DbTime(from_millis(2_000))),
            completed_at: None,
        };
        let d = Deposit::try_from(row).unwrap();
        assert_eq!(d.amount.to_string(), "5.000000");
        assert_eq!(d.status, DepositStatus::Confirmed);
        assert_eq!((d.log_index, d.block_number, d.confirmations), (3, 42, 6));
        assert_eq!(d.confirmed_at, Some(from_millis(2_000)));
        assert_eq!(d.completed_at, None);
    }

    #[test]
    fn reference_summary_lists_each_protocol_once_in_order() {
        let row = ReferenceSummaryRow {
            deposit_reference: "user-1".into(),
            created_at: DbTime(from_millis(0)),
            protocols: Some("tron,evm,tron".into()),
            address_count: 3,
            last_deposit_at: None,
        };
        assert_eq!(row.protocols().unwrap(), vec![Protocol::Evm, Protocol::Tron]);
        let none = ReferenceSummaryRow { protocols: None, ..row };
        assert!(none.protocols().unwrap().is_empty());
    }

    async fn sqlite() -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn db_time_is_unix_millis_on_sqlite() {
        let pool = sqlite().await;
        let t = truncate_millis(from_millis(1_737_369_000_123));
        let (stored, back): (i64, DbTime) = sqlx::query_as("SELECT $1, $1")
            .bind(DbTime(t))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(stored, 1_737_369_000_123);
        assert_eq!(back, DbTime(t));
        let none: Option<DbTime> = sqlx::query_scalar("SELECT NULL").fetch_one(&pool).await.unwrap();
        assert_eq!(none, None);
    }

    #[tokio::test]
    async fn rows_decode_by_column_name_on_sqlite() {
        let pool = sqlite().await;
        let key: ApiKeyRow = sqlx::query_as(
            "SELECT 'key_1' AS id, 'ci' AS name, 'pk_ab' AS prefix, 1000 AS created_at, NULL AS revoked_at,
                    'ignored' AS key_hash",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let key = ApiKey::from(key);
        assert_eq!((key.id.as_str(), key.created_at), ("key_1", from_millis(1000)));
        assert_eq!(key.revoked_at, None);
        let chain: RecordedChainRow = sqlx::query_as(
            "SELECT 'anvil' AS chain_id, 'http://127.0.0.1:8545' AS rpc_url, '[]' AS tokens, 5 AS updated_at",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(chain.tokens.0, serde_json::json!([]));
        assert_eq!(chain.updated_at, DbTime(from_millis(5)));
    }

    #[tokio::test]
    async fn webhook_rows_decode_on_sqlite_and_convert() {
        let pool = sqlite().await;
        let endpoint: WebhookEndpointRow = sqlx::query_as(
            "SELECT 'whe_1' AS id, 'https://shop.example/hook' AS url, NULL AS description,
                    '[\"order.completed\"]' AS events, 'disabled' AS status, 1000 AS created_at,
                    2000 AS disabled_at, 'deleted' AS disabled_reason, 'ignored' AS secret",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let endpoint = WebhookEndpoint::try_from(endpoint).unwrap();
        assert_eq!(endpoint.events, vec![EventType::OrderCompleted]);
        assert_eq!(endpoint.status, EndpointStatus::Disabled);
        assert_eq!(endpoint.disabled_at, Some(from_millis(2000)));

        let delivery: ListedDeliveryRow = sqlx::query_as(
            "SELECT 'whd_1' AS id, 'evt_1' AS event_id, 'whe_1' AS endpoint_id, 'failed' AS status, 3 AS attempts,
                    NULL AS next_attempt_at, 503 AS last_http_status, NULL AS last_error, 42 AS last_duration_ms,
                    1000 AS created_at, NULL AS delivered_at, 'order.completed' AS event_type",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let attempt: DeliveryAttemptRow = sqlx::query_as(
            "SELECT 'whd_1' AS delivery_id, 3 AS attempt, 1500 AS started_at, 503 AS http_status,
                    NULL AS error, 42 AS duration_ms, '{\"retry-after\":\"5\"}' AS headers",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let attempt = DeliveryAttempt::try_from(attempt).unwrap();
        assert_eq!(attempt.headers.as_ref().unwrap()["retry-after"], "5");
        let delivery = delivery.into_delivery(vec![attempt]).unwrap();
        assert_eq!(delivery.event_type, EventType::OrderCompleted);
        assert_eq!(delivery.status, DeliveryStatus::Failed);
        assert_eq!(
            (
                delivery.attempt_count,
                delivery.last_http_status,
                delivery.last_duration_ms
            ),
            (3, Some(503), Some(42))
        );
        assert_eq!(delivery.attempts[0].started_at, from_millis(1500));
    }

    #[test]
    fn a_stored_delivery_with_an_unknown_status_is_an_error() {
        let row = DeliveryRow {
            id: "whd_1".into(),
            event_id: "evt_1".into(),
            endpoint_id: "whe_1".into(),
            status: "lost".into(),
            attempts: 0,
            next_attempt_at: None,
            last_http_status: None,
            last_error: None,
            last_duration_ms: None,
            created_at: DbTime(from_millis(0)),
            delivered_at: None,
        };
        assert!(row.into_delivery(EventType::OrderCompleted, Vec::new()).is_err());
    }
}
