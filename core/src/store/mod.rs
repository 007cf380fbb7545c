//! Storage: one [`Store`] trait, one module per backend, each with its own `migrations/`.
//! Rows both backends decode alike are in `rows`; queries both run alike (the whole of
//! [`RecordStore`]) are written once in `shared`. A backend module keeps what needs its own
//! locking, batching or dialect.
//!
//! Every method that changes state also writes the events it causes, in the same transaction.
//! The invariants both backends guarantee under concurrency:
//! - an address is assigned to at most one live order or deposit binding at a time;
//! - an order reference, and an on-chain transfer (chain, tx hash, log index), exist once;
//! - a state change and its event commit together or not at all;
//! - an event and its webhook deliveries commit together: every backend writes events through
//!   one function (`insert_event`, and the SQLite order writer's batch) that also inserts one
//!   delivery per active endpoint the rule of [`crate::webhook::outbox`] subscribes to the event.

/// The columns an [`rows::OrderRow`] reads, amounts as text (on PostgreSQL, sqlx's `Decimal`
/// codec would drop the scale of a zero amount: `"0.00"` would read back as `"0"`).
macro_rules! order_columns {
    () => {
        "order_id, order_reference, CAST(amount AS TEXT) AS amount,
         CAST(amount_received AS TEXT) AS amount_received, currency, chain_id, protocol, address,
         status, metadata, success_url, cancel_url, payment_url, payment_window_minutes,
         grace_minutes, created_at, expires_at, completed_at, expired_at, tx_hash, block_number,
         confirmations, CAST(surplus AS TEXT) AS surplus, payment_link_id, pay_amount, pay_key,
         fiat_currency, fiat_amount, rate"
    };
}

/// The columns a [`rows::DepositRow`] reads, the amount as text.
macro_rules! deposit_columns {
    () => {
        "deposit_id, deposit_reference, address, chain_id, currency, CAST(amount AS TEXT) AS amount,
         tx_hash, log_index, block_number, status, confirmations, detected_at, confirmed_at,
         completed_at"
    };
}

// Declared after the column macros so the backends can use them.
pub mod compat;
pub mod links;
pub mod postgres;
mod rows;
mod shared;
mod shared_address;
mod shared_chain;
mod shared_webhooks;
pub mod sqlite;

use async_trait::async_trait;

use crate::apikey::ApiKey;
use crate::chain::lease::{LeaseClaim, LeaseRecord};
use crate::chain::{Currency, Protocol};
use crate::deposit::{Deposit, DepositFilter, DepositReference, DepositReferenceSummary, NewDeposit, ReferenceFilter};
#[cfg(feature = "dev")]
use crate::dev::recorded::RecordedChain;
use crate::error::{Error, Result};
use crate::event::{Event, EventFilter};
use crate::idempotency::{KeyRecord, StoredResponse};
use crate::metadata::Metadata;
use crate::order::{NewOrder, Order, OrderFilter};
use crate::page::Page;
use crate::pool::{DeriveRange, HdKeyRecord, PoolCounts, TopUp};
use crate::settle::{Confirmation, PendingTransfer, Scan};
use crate::time::Timestamp;
use crate::webhook::{AttemptOutcome, Delivery, DeliveryFilter, DueDelivery, WebhookEndpoint};

/// Derivation rounds of one HD top-up: a round falls short only by derived addresses that were
/// in the pool already (imported by hand).
const TOP_UP_ROUNDS: usize = 4;

/// Counts `/metrics` reads at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Orders by stored status (`pending`, `completed`, `expired`); absent statuses have none.
    pub orders_by_status: std::collections::BTreeMap<String, u64>,
    /// Deliveries still to be attempted (`pending`, including those waiting for a retry).
    pub pending_deliveries: u64,
}

/// A request to bind a deposit reference on some chains of one protocol.
#[derive(Debug, Clone)]
pub struct NewBinding {
    pub deposit_reference: String,
    pub protocol: Protocol,
    /// Chains to bind, each with the currency bound (`None`: every configured token).
    pub chains: Vec<(String, Option<Currency>)>,
    /// Replaces the reference's metadata when given.
    pub metadata: Option<Metadata>,
    pub now: Timestamp,
}

/// What a successful bind produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub address: String,
    pub metadata: Metadata,
    pub created_at: Timestamp,
}

/// What the chain watcher needs from storage. Each method is one transaction.
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// The next block to scan, if the chain was scanned before.
    async fn chain_cursor(&self, chain_id: &str) -> Result<Option<u64>>;
    /// Recently scanned block hashes, newest first, for reorg detection.
    async fn recent_blocks(&self, chain_id: &str, limit: u32) -> Result<Vec<(u64, String)>>;
    /// Addresses whose transfers matter: assigned or cooling-down pool addresses; with
    /// `assigned_since`, only those assigned at or after that time.
    async fn watched_addresses(&self, protocol: Protocol, assigned_since: Option<Timestamp>) -> Result<Vec<String>>;
    /// Records a scanned range: its transfers (each once), what they mean for orders and
    /// deposits, their events, the range's last block hash and the cursor, all together.
    async fn apply_scan(&self, scan: &Scan) -> Result<Vec<Event>>;
    /// Records transfers found outside a scan (a payment claim checked on chain, see
    /// [`crate::claim`]): each once, with what it means for orders and deposits and its events,
    /// as `apply_scan` records them, without moving the cursor. A later scan of the same block
    /// finds them recorded and skips them.
    async fn record_claimed_transfers(
        &self,
        transfers: &[crate::settle::ObservedTransfer],
        now: Timestamp,
    ) -> Result<Vec<Event>>;
    /// How a transfer is recorded, if it is (and not reversed): its kind and order.
    async fn recorded_transfer(
        &self,
        chain_id: &str,
        tx_hash: &str,
        log_index: u64,
    ) -> Result<Option<crate::claim::Recorded>>;
    /// Transfers waiting for confirmations on a chain.
    async fn unconfirmed_transfers(&self, chain_id: &str) -> Result<Vec<PendingTransfer>>;
    /// An order's payments seen but not yet confirmed: block number and amount, in chain order.
    async fn unconfirmed_payments(&self, order_id: &str) -> Result<Vec<(u64, crate::amount::Amount)>>;
    /// Confirms or reverses transfers; completes orders and confirms deposits accordingly.
    /// Addresses of completed orders cool down until `cooldown_until`.
    async fn apply_confirmations(
        &self,
        outcomes: &[Confirmation],
        now: Timestamp,
        cooldown_until: Timestamp,
    ) -> Result<Vec<Event>>;
    /// After a reorg: reverses unconfirmed transfers above `keep_through` and rescans from the
    /// block after it.
    async fn rewind(&self, chain_id: &str, keep_through: u64, now: Timestamp) -> Result<Vec<Event>>;

    // The watcher lease (see `chain::lease`); its times are the database's clock on PostgreSQL.
    /// Takes the chain's lease for the claim's holder until `ttl` from now, or renews it, unless
    /// another holder's lease has not expired; while held, stores the holder's progress. True
    /// when the claim's holder holds the lease now.
    async fn claim_watcher_lease(&self, claim: &LeaseClaim<'_>) -> Result<bool>;
    /// Ends `holder`'s lease of `chain_id` now, if it still holds it.
    async fn release_watcher_lease(&self, chain_id: &str, holder: &str) -> Result<()>;
    /// Every chain's lease with the progress its holder last stored and the chain's cursor.
    async fn watcher_leases(&self) -> Result<Vec<LeaseRecord>>;
}

/// Webhook endpoints and the delivery outbox. Deliveries of new events are not written here
/// but with the event row itself, in its transaction (see the module docs).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint with its signing secret.
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint, secret: &str) -> Result<()>;
    /// The endpoint, unless it does not exist or was deleted.
    async fn get_webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>>;
    /// Endpoints not deleted, newest first.
    async fn list_webhook_endpoints(&self, page: crate::page::PageRequest) -> Result<Page<WebhookEndpoint>>;
    /// Replaces the endpoint's secret; the old one is kept to sign until `previous_until`
    /// (`None`: not kept). `None` when there is no such endpoint (or it was deleted).
    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Option<Timestamp>,
    ) -> Result<Option<WebhookEndpoint>>;
    /// Disables and hides an endpoint and fails its pending deliveries; `None` when there is
    /// no such endpoint (or it was deleted before).
    async fn delete_webhook_endpoint(&self, id: &str, now: Timestamp) -> Result<Option<WebhookEndpoint>>;
    /// Deliveries, newest first, each with its attempts.
    async fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Page<Delivery>>;
    /// New pending deliveries, due `now`, of a stored event to every active endpoint subscribed
    /// to `event_type` (or only to `endpoint_id`, under the same conditions).
    /// `event_order` is the order the event is about: endpoints scoped to it are subscribers too.
    async fn create_deliveries(
        &self,
        event_id: &str,
        event_type: crate::event::EventType,
        event_order: Option<&str>,
        endpoint_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Delivery>>;
    /// Claims up to `limit` pending deliveries due by `now` to active endpoints: starts and
    /// records their next attempt and leases them until `lease_until`, so no other worker
    /// claims them meanwhile. A claim on an expired lease marks the unfinished attempt
    /// interrupted.
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;
    /// Records how a claimed attempt ended and what follows. An outcome of a worker whose lease
    /// was taken over only completes its attempt row.
    async fn record_attempt(&self, outcome: &AttemptOutcome) -> Result<()>;
}

/// API keys, settings, recorded chains, and the reads of the pool, orders, deposits and
/// events: what both backends do with the same SQL, so it is written once (`store::shared`)
/// for every backend.
#[async_trait]
pub trait RecordStore: Send + Sync {
    // Chains recorded in the database (`payin dev`'s local chain; feature `dev`); see
    // `dev::recorded::RecordedChain`
    /// Inserts or replaces the recording of `chain.chain_id`.
    #[cfg(feature = "dev")]
    async fn save_recorded_chain(&self, chain: &RecordedChain) -> Result<()>;
    #[cfg(feature = "dev")]
    async fn recorded_chains(&self) -> Result<Vec<RecordedChain>>;
    /// Removes the recording of `chain_id` if it still names `rpc_url` (a later `payin dev` on
    /// the same database may have recorded its own chain since); true when one was removed.
    #[cfg(feature = "dev")]
    async fn forget_recorded_chain(&self, chain_id: &str, rpc_url: &str) -> Result<bool>;

    // API keys
    async fn insert_api_key(&self, key: &ApiKey, hash: &str) -> Result<()>;
    /// The active (not revoked) key with this hash.
    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    /// Revokes by id or display prefix; false when no active key matched.
    async fn revoke_api_key(&self, id_or_prefix: &str, now: Timestamp) -> Result<bool>;

    // Idempotency keys (see `crate::idempotency`)
    /// Reserves `key` for a request unless the scope already has it. Returns whether this call
    /// inserted the reservation, and the key's row (`None` if it vanished in between: a
    /// released reservation; try again).
    async fn reserve_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        locked_until: Timestamp,
    ) -> Result<(bool, Option<KeyRecord>)>;
    /// Renews a reservation that expired unanswered for a new holder; false when another
    /// request took it over or answered it first.
    async fn take_over_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
        locked_until: Timestamp,
    ) -> Result<bool>;
    /// Stores the answer of the reservation's request.
    async fn complete_idempotency_key(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<()>;
    /// Drops an unanswered reservation, so a retry runs again.
    async fn release_idempotency_key(&self, scope: &str, key: &str) -> Result<()>;
    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64>;

    // Settings
    async fn load_settings(&self) -> Result<Vec<(String, String)>>;
    /// Stores a setting; `None` removes it (back to the default).
    async fn save_setting(&self, key: &str, value: Option<&str>, now: Timestamp) -> Result<()>;

    // Reads
    async fn pool_counts(&self, protocol: Protocol) -> Result<PoolCounts>;
    /// What `/metrics` shows as state: orders by status, deliveries waiting to be sent.
    async fn state_counts(&self) -> Result<StateCounts>;
    async fn get_order(&self, order_id: &str) -> Result<Option<Order>>;
    async fn get_order_by_reference(&self, reference: &str) -> Result<Option<Order>>;
    async fn list_orders(&self, filter: &OrderFilter) -> Result<Page<Order>>;
    async fn get_deposit_reference(&self, reference: &str) -> Result<Option<DepositReference>>;
    async fn list_deposit_references(&self, filter: &ReferenceFilter) -> Result<Page<DepositReferenceSummary>>;
    async fn list_deposits(&self, filter: &DepositFilter) -> Result<Page<Deposit>>;
    async fn list_events(&self, filter: &EventFilter) -> Result<Page<Event>>;
    async fn get_event(&self, id: &str) -> Result<Option<Event>>;
}

#[async_trait]
pub trait Store:
    ChainStore + WebhookStore + RecordStore + links::LinkStore + compat::CompatStore + Send + Sync + 'static
{
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Cheap round trip for health checks.
    async fn ping(&self) -> Result<()>;

    // Address pool
    /// Adds canonical addresses as available; returns how many were new.
    async fn import_addresses(&self, protocol: Protocol, addresses: &[String], now: Timestamp) -> Result<u64>;
    /// Which of `addresses` a shared-address order was ever paid to (its `receiveAddress`):
    /// such an address must never enter the pool.
    async fn shared_receive_addresses(&self, addresses: &[String]) -> Result<Vec<String>>;
    /// Returns cooled-down addresses to the pool, except those of the `never_reuse` protocols;
    /// returns how many.
    async fn release_cooled_addresses(&self, now: Timestamp, never_reuse: &[Protocol]) -> Result<u64>;
    /// Retires `protocol`'s addresses whose cooldown ended by `cooled_by`: they leave the watched
    /// set and are never assigned again. Returns how many.
    async fn retire_cooled_addresses(&self, protocol: Protocol, cooled_by: Timestamp) -> Result<u64>;
    /// Stores a watch-only HD key unless its protocol has the same xpub already. Returns the
    /// stored key (the existing one on a repeat) and whether it is new.
    async fn insert_hd_key(&self, key: &HdKeyRecord) -> Result<(HdKeyRecord, bool)>;
    /// Every HD key, oldest first.
    async fn hd_keys(&self) -> Result<Vec<HdKeyRecord>>;
    /// Tops `protocol`'s pool up from its newest HD key until `target` addresses are available:
    /// in one transaction holding the key's row (a row lock on PostgreSQL, the writer on
    /// SQLite), derives from its next index, inserts the addresses not in the pool yet and
    /// advances the index past every index derived, so no index is derived twice, on any
    /// replica. Nothing when the protocol has no HD key or enough available addresses.
    async fn top_up_hd(
        &self,
        protocol: Protocol,
        target: u64,
        derive: DeriveRange<'_>,
        now: Timestamp,
    ) -> Result<TopUp>;
    /// Fires `pool.low` once when available addresses fall below `watermark` (re-arms when
    /// they are back at or above it). `data` is the event payload.
    async fn check_pool_low(&self, protocol: Protocol, watermark: u32, now: Timestamp) -> Result<Option<Event>>;

    /// Whether `address` (canonical spelling) is in `protocol`'s pool, in any state.
    async fn is_pool_address(&self, protocol: Protocol, address: &str) -> Result<bool>;

    // Orders
    /// Claims an address of the order's protocol, inserts the order and its `order.created`
    /// event. `NoAvailableAddresses` when the pool is empty; `DuplicateOrderReference` when
    /// the reference exists. A shared-address order (`order.shared`) claims no address but the
    /// smallest free amount tail on its (chain, token, address) instead, as a row of
    /// `amount_locks` held until the order's grace ends (see `shared_address`).
    async fn create_order(&self, order: NewOrder) -> Result<Order>;
    /// Deletes tail locks whose time ran out (`locked_until <= now`) and whose order is no
    /// longer pending; returns how many.
    async fn purge_amount_locks(&self, now: Timestamp) -> Result<u64>;
    /// Expires up to `limit` pending orders whose grace period ended by `now`, moving their
    /// addresses to cooldown until `cooldown_until` and writing `order.expired` events.
    async fn expire_orders(&self, now: Timestamp, cooldown_until: Timestamp, limit: u32) -> Result<Vec<Order>>;

    // Deposits
    async fn bind_deposit(&self, binding: NewBinding) -> Result<Bound>;
    /// Removes the reference's bindings (on one chain, or all); an address whose protocol has
    /// no binding left goes to cooldown. Returns the number of bindings removed.
    async fn unbind_deposit(
        &self,
        reference: &str,
        chain_id: Option<&str>,
        now: Timestamp,
        cooldown_until: Timestamp,
    ) -> Result<u64>;
    /// Records a transfer to a bound deposit address once; `None` if it was already recorded.
    async fn record_deposit(&self, deposit: NewDeposit) -> Result<Option<Deposit>>;

    // Events
    /// Moves confirmed deposits to `completed` once every endpoint still subscribed (active, not
    /// deleted) acknowledged their `deposit.confirmed` event (at once when none is): a delivery
    /// of the event to that endpoint succeeded, whether the first or a resend. A delivery given
    /// up on an active endpoint keeps the deposit `confirmed` until a resend succeeds.
    async fn complete_acknowledged_deposits(&self, now: Timestamp) -> Result<u64>;
}

/// An attempt's stored signature headers (a JSON object), if it was sent.
fn attempt_headers(stored: Option<String>) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    stored
        .map(|json| {
            serde_json::from_str(&json)
                .map_err(|e| crate::Error::Internal(format!("stored attempt headers are not JSON: {e}")))
        })
        .transpose()
}

/// Opens the store a database URL names: `sqlite://path` or `postgres://…`.
pub async fn connect(url: &str) -> Result<Box<dyn Store>> {
    connect_with(url, &crate::config::DatabaseConfig::default()).await
}

/// [`connect`] with the config file's `[database]` settings.
pub async fn connect_with(url: &str, config: &crate::config::DatabaseConfig) -> Result<Box<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let max_connections = config.max_connections.unwrap_or(postgres::DEFAULT_MAX_CONNECTIONS);
        Ok(Box::new(postgres::PgStore::connect_with(url, max_connections).await?))
    } else {
        Err(Error::validation(
            "database-url",
            "database URL must start with sqlite:// or postgres://",
        ))
    }
}

/// The message of a duplicate binding, shared by both backends.
pub(crate) fn duplicate_binding(reference: &str, chain_id: &str) -> Error {
    Error::DuplicateDepositReference {
        message: format!("Deposit reference '{reference}' already exists for chain '{chain_id}'"),
    }
}

/// Event payload of a pool status change.
pub(crate) fn pool_low_data(protocol: Protocol, counts: PoolCounts, watermark: u32) -> serde_json::Value {
    serde_json::json!({
        "protocol": protocol,
        "available": counts.available,
        "assigned": counts.assigned,
        "cooldown": counts.cooldown,
        "lowWatermark": watermark,
    })
}

/// True when `e` is a unique-constraint violation mentioning `needle` (constraint or column).
pub(crate) fn is_unique_violation(e: &sqlx::Error, needle: &str) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                && (db.constraint().is_some_and(|c| c.contains(needle)) || db.message().contains(needle))
        }
        _ => false,
    }
}

/// Parses stored JSON metadata; anything but an object reads as empty.
pub(crate) fn metadata_from_json(v: serde_json::Value) -> Metadata {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Metadata::new(),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::migrate::Migrator;

    /// SHA-384 of each released migration file. A database remembers the checksum of every
    /// migration it applied and refuses to start when a file no longer matches, so released
    /// files never change; new ones are added after them.
    const RELEASED: [(&str, [&str; 8]); 2] = [
        (
            "sqlite",
            [
                "18abb9e009763f09335b374bf74cf389f653a22d167ec7f02fca948b03ec7b5641329e2ff8e4f6f1ffac0c92bd5e58a5",
                "345f6e067aa70115b17e4b79f36977e19e7d375a321d04fe03b020336cf527e78a84d9f8feff593cce7617f78bc7639e",
                "2102f014441369fae3050894ff065fcd280535a0618dba8d737eaba898ae8466b26f1897073070d45bd3268df924bdcc",
                "2826734c21399435deb0aa5c28595e77f8fd11fd004227d7b5f4e538ddb3dbe9ad7618ba37e62c1f5cd28f45dac620ba",
                "c41c49280f921289f4dfe2eb34c32edfca77f368505541c03e5700a9fe2c801b9db2394be8d4b1dbd4ecd82f441d8d21",
                "eeeac343d83f538a2f9ae9c094b33ae5a8667de0fbef5d92d8740eaa5fcf0aee5ae3b0d3b604bea01e9ac4afec364d5c",
                "bbe3d4525e6114c18d1c5cf95ea50ed654c92bdeee51dead5c593cf1ee689cb2045b5b5468d5745577c1901acbe81805",
                "38377475236c4c32398f876f398a250a68e8d0ae16807ee75f2a7550bea60459a9ae0bba397ff0365e9af814aa0b6a58",
            ],
        ),
        (
            "postgres",
            [
                "aa8ac80615d4b85d72d13ed852e9e2d1bc72b8af6d93d8f86b630306d92b0a4ea033fb58a21bcaf5703c3f9dbb6cf8da",
                "19d4f86a1976a78bbc0a71d08254efc20bb3f4dc70344df14cdbe4cfcc7f5ef3487889355f1474a292b6d97b91a78be4",
                "119f0ecd934d567749136b2fde43316f8b32c44784aeee19eaa94fa3829a85360841c89a4fa1eba66e04761e94530346",
                "ecceef8dadaa37f5e4eedb9fb1e4fd7db672b150e0af86b0445105ea6e4f5d6ea533a37f0fa1498fb2fae92687e824c1",
                "ec1db9cbeb876d2596057dde423a04f5f8840ebe4216135ded5d59035b335cb5771424353f5000fa0dd218f05acab942",
                "eeeac343d83f538a2f9ae9c094b33ae5a8667de0fbef5d92d8740eaa5fcf0aee5ae3b0d3b604bea01e9ac4afec364d5c",
                "b9610937437ea4bbed6c01d3838ee8312dca4d4e7085259d00473f321316b59b141eabed4b7577bbc539a20d54c8bb67",
                "65043cad372938fa05ca6e8ae644dbae20ef2eef8c5bf80a45d2a2638c8913356948846155c0d67f5694c78bef6cd08c",
            ],
        ),
    ];

    fn migrator(backend: &str) -> &'static Migrator {
        match backend {
            "sqlite" => &super::sqlite::MIGRATOR,
            _ => &super::postgres::MIGRATOR,
        }
    }

    #[test]
    fn released_migrations_keep_their_checksums() {
        for (backend, checksums) in RELEASED {
            let migrations: Vec<_> = migrator(backend).iter().collect();
            assert!(
                migrations.len() >= checksums.len(),
                "{backend}: a released migration is missing"
            );
            for (i, expected) in checksums.iter().enumerate() {
                let m = migrations[i];
                assert_eq!(m.version, i as i64 + 1, "{backend}: migrations out of sequence");
                assert_eq!(
                    &hex::encode(&m.checksum),
                    expected,
                    "{backend} migration {} changed",
                    m.version
                );
            }
        }
    }

    /// Releases before `sqlx::migrate!` built their migrator by hand, with descriptions such as
    /// `chain_overrides`; a database they migrated must migrate again without complaint.
    #[tokio::test]
    async fn a_database_migrated_by_earlier_releases_migrates_again() {
        use sqlx::SqlSafeStr;
        use sqlx::migrate::{Migration, MigrationType};
        let earlier = Migrator::with_migrations(
            super::sqlite::MIGRATOR
                .iter()
                .take(RELEASED[0].1.len())
                .map(|m| {
                    let description = m.description.replace(' ', "_");
                    let sql = sqlx::AssertSqlSafe(m.sql.as_str().to_owned()).into_sql_str();
                    Migration::new(m.version, description.into(), MigrationType::Simple, sql, false)
                })
                .collect(),
        );
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        earlier.run(&pool).await.unwrap();
        super::sqlite::MIGRATOR.run(&pool).await.unwrap();
        let applied: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(applied.len(), super::sqlite::MIGRATOR.iter().count());
        assert_eq!(applied[2], (3, "chain_overrides".to_string()));
    }

    #[test]
    fn migration_versions_follow_each_other() {
        for backend in ["sqlite", "postgres"] {
            let versions: Vec<i64> = migrator(backend).iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=*versions.last().unwrap()).collect();
            assert_eq!(versions, expected, "{backend}");
        }
    }
}
