//! The engine: the one value front-ends call. It validates input once, applies the domain
//! rules and delegates persistence to the [`Store`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Duration as Minutes;
use serde::Serialize;
use serde_json::Value;

use crate::amount::Amount;
use crate::apikey::{self, ApiKey, NewApiKey};
use crate::chain::{ChainRegistry, ChainStatus, ChainStatusBoard, Currency, Network, Protocol, normalize_address};
use crate::clock::{Clock, SystemClock};
use crate::config::{AddressReuse, PoolConfig};
use crate::config::{FileConfig, Settings};
use crate::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, Deposit, DepositReference,
    DepositReferenceSummary, Unbound,
};
use crate::error::{Error, InvalidCode, Result};
use crate::event::Event;
use crate::idempotency::{self, StoredResponse};
use crate::ids;
use crate::metadata;
use crate::order::{CreateOrderRequest, FiatQuote, NewOrder, Order, OrderDraft, SharedReceive, parse_reference};
use crate::page::Page;
use crate::payment_link::{
    CreatePaymentLinkRequest, LinkOrder, LinkRefusal, NewPaymentLink, PaymentLink, PaymentLinkListQuery,
    PaymentLinkStatus,
};
use crate::pool::hd::{AccountKey, MAX_INDEX};
use crate::pool::{
    AddXpubRequest, DerivedAddress, HdKeyRecord, ImportAddressesRequest, ImportResult, MAX_IMPORT, PoolStatus, TopUp,
    XpubKey,
};
use crate::store::{self, ChainStore, NewBinding, Store};
use crate::time::Timestamp;

/// How the engine is opened.
pub struct EngineOptions {
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
    pub config: FileConfig,
    /// Base URL for `paymentUrl` when the config file names none.
    pub default_public_url: String,
    pub clock: Arc<dyn Clock>,
    /// This process's name in the chain watchers' leases and `/health` (default: host name,
    /// process id and a random suffix).
    pub replica_id: String,
}

impl EngineOptions {
    pub fn new(database_url: impl Into<String>) -> Self {
        EngineOptions {
            database_url: database_url.into(),
            config: FileConfig::default(),
            default_public_url: "http://127.0.0.1:8080".to_string(),
            clock: Arc::new(SystemClock),
            replica_id: crate::chain::lease::default_replica_id(),
        }
    }
}

pub struct Engine {
    store: Box<dyn Store>,
    /// Signalled when this process wrote events, so webhook delivery need not wait for a poll.
    events: tokio::sync::Notify,
    chain_status: ChainStatusBoard,
    chains: ChainRegistry,
    /// The config file's `[chains]`, kept to rebuild the registry after `Engine::record_chain`.
    #[cfg(feature = "dev")]
    config_chains: std::collections::BTreeMap<String, crate::chain::ChainOverride>,
    clock: Arc<dyn Clock>,
    settings: RwLock<Settings>,
    public_url: String,
    /// Where webhook endpoints may point (the config's `[webhooks] allow_private`).
    webhook_policy: Arc<crate::webhook::guard::AddressPolicy>,
    /// The config file's `[pool]`: address reuse per protocol.
    pool_config: PoolConfig,
    /// The config file's `[compat]`: the compatible APIs' chain words (issue 13).
    compat_config: crate::config::CompatConfig,
    /// One HD top-up at a time per protocol in this process: a burst of creations that found
    /// the pool empty waits for one derivation instead of queueing a database lock each.
    top_up_locks: [tokio::sync::Mutex<()>; 2],
    /// The CNY/USDT rate (`[rates]`); `None` when the config sets none.
    rates: Option<Arc<crate::rates::RateBook>>,
}

pub use payin_types::deposit::{DepositListQuery, ReferenceListQuery};
pub use payin_types::event::EventListQuery;
pub use payin_types::order::OrderListQuery;

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `healthy`; `degraded` when a watched chain is stalled (no successful pass for its
    /// `stalledAfterMs`, on whichever replica holds its lease); `unhealthy` when the database
    /// does not answer.
    #[cfg_attr(feature = "openapi", schema(example = "healthy"))]
    pub status: &'static str,
    pub version: &'static str,
    #[serde(with = "crate::time::serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub timestamp: Timestamp,
    /// The replica answering: its name in the chains' `leaseHolder`.
    pub replica_id: String,
    pub database: DatabaseHealth,
    /// Each watched chain's head, cursor, lag, last success and error, and lease holder.
    pub chains: Vec<ChainStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    pub backend: &'static str,
    /// ok or error.
    pub status: &'static str,
}

/// How long a health check waits for the database before calling it down.
const HEALTH_DB_TIMEOUT: Duration = Duration::from_secs(3);

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub expired_orders: Vec<String>,
    pub released_addresses: u64,
    pub completed_deposits: u64,
    pub pool_low: Vec<Protocol>,
    /// Addresses of `address_reuse = "never"` protocols retired after their late-payment watch.
    pub retired_addresses: u64,
    /// Addresses derived from HD keys to keep pools above their low watermark.
    pub derived_addresses: u64,
    /// Idempotency keys past their retention, deleted.
    pub purged_idempotency_keys: u64,
    /// Amount-tail locks of shared addresses whose window + grace ended, deleted.
    pub purged_amount_locks: u64,
    /// Compatible APIs' request nonces older than the replay window, forgotten.
    pub purged_compat_nonces: u64,
}

/// How a request with an `Idempotency-Key` goes on: see [`Engine::begin_idempotent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotent {
    /// Run the request, then [`Engine::finish_idempotent`].
    Proceed,
    /// Answer with the first request's stored answer.
    Replay(StoredResponse),
}

/// Tries of a creation or binding that found its pool empty while the protocol has an HD key;
/// each try first derives more (or waits for the top-up another request started).
const HD_CREATE_ATTEMPTS: u32 = 32;

/// Fewest addresses an HD top-up brings a pool to (above twice the low watermark otherwise).
const HD_MIN_TARGET: u64 = 20;

/// Orders expired per transaction in a maintenance pass.
const EXPIRY_BATCH: u32 = 500;

impl Engine {
    /// Connects, migrates and loads settings.
    pub async fn open(options: EngineOptions) -> Result<Engine> {
        let store = store::connect_with(&options.database_url, &options.config.database).await?;
        store.migrate().await?;
        // With the dev chain support, chain `local` as `payin dev` recorded it in the database.
        #[cfg(feature = "dev")]
        let chains = crate::dev::recorded::registry(store.as_ref(), &options.config.chains).await?;
        #[cfg(not(feature = "dev"))]
        let chains = ChainRegistry::with_overrides(&options.config.chains)?;
        let public_url = options
            .config
            .public_url
            .clone()
            .unwrap_or(options.default_public_url)
            .trim_end_matches('/')
            .to_string();
        let webhook_policy = Arc::new(crate::webhook::guard::AddressPolicy::new(
            options.config.webhooks.allow_private.clone(),
        ));
        let rates = match options.config.rates.source()? {
            Some(source) => Some(Arc::new(crate::rates::RateBook::new(source)?)),
            None => None,
        };
        let engine = Engine {
            rates,
            store,
            events: tokio::sync::Notify::new(),
            chain_status: ChainStatusBoard::new(options.replica_id),
            chains,
            #[cfg(feature = "dev")]
            config_chains: options.config.chains,
            clock: options.clock,
            settings: RwLock::new(Settings::default()),
            public_url,
            webhook_policy,
            pool_config: options.config.pool.clone(),
            compat_config: options.config.compat.clone(),
            top_up_locks: Default::default(),
        };
        engine.reload_settings().await?;
        Ok(engine)
    }

    pub fn chains(&self) -> &ChainRegistry {
        &self.chains
    }

    /// The config file's `[chains]`, under which recorded chains are layered.
    #[cfg(feature = "dev")]
    pub(crate) fn config_chains(&self) -> &std::collections::BTreeMap<String, crate::chain::ChainOverride> {
        &self.config_chains
    }

    /// Replaces the registry (after `payin dev` recorded its chain).
    #[cfg(feature = "dev")]
    pub(crate) fn set_chains(&mut self, chains: ChainRegistry) {
        self.chains = chains;
    }

    /// The clock the engine reads (the workers read it too).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The SSRF guard's policy: which addresses webhook endpoints may reach.
    /// The config file's `[compat]` table (the compatible APIs' chain codes).
    pub fn compat_config(&self) -> &crate::config::CompatConfig {
        &self.compat_config
    }

    pub fn webhook_policy(&self) -> &Arc<crate::webhook::guard::AddressPolicy> {
        &self.webhook_policy
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// This process's name in the chain watchers' leases and `/health`.
    pub fn replica_id(&self) -> &str {
        self.chain_status.replica_id()
    }

    /// The store, for engine operations defined beside their concept (e.g. [`crate::webhook`]).
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Wakes whoever waits in [`Engine::events_written`] (the webhook dispatcher).
    pub fn notify_events_written(&self) {
        self.events.notify_waiters();
    }

    /// Resolves at the next [`Engine::notify_events_written`].
    pub async fn events_written(&self) {
        self.events.notified().await
    }

    /// The storage the chain watcher works on.
    pub fn chain_store(&self) -> &dyn ChainStore {
        &*self.store
    }

    /// Each watched chain's progress, written by its scanner, shown by `/health`.
    pub fn chain_status(&self) -> &ChainStatusBoard {
        &self.chain_status
    }

    // ---- settings --------------------------------------------------------------------

    /// The effective settings (cached; refreshed by every maintenance pass).
    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rereads settings from the database, picking up changes made by other replicas.
    pub async fn reload_settings(&self) -> Result<Settings> {
        let s = Settings::from_rows(&self.store.load_settings().await?);
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = s.clone();
        Ok(s)
    }

    /// Validates and stores one setting; returns the new effective settings.
    pub async fn set_config(&self, key: &str, value: &Value) -> Result<Settings> {
        let stored = Settings::validate(key, value)?;
        self.store.save_setting(key, stored.as_deref(), self.now()).await?;
        self.reload_settings().await
    }

    // ---- API keys --------------------------------------------------------------------

    /// Creates a key; the returned secret is never retrievable again.
    pub async fn create_api_key(&self, name: &str) -> Result<(String, ApiKey)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation("name", "name must be 1 to 100 characters"));
        }
        let key = NewApiKey::generate(name, self.now());
        self.store.insert_api_key(&key.record, &key.hash).await?;
        Ok((key.secret, key.record))
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.store.list_api_keys().await
    }

    /// Revokes a key by id (`key_…`) or display prefix.
    pub async fn revoke_api_key(&self, id_or_prefix: &str) -> Result<()> {
        if self.store.revoke_api_key(id_or_prefix, self.now()).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!("No active API key '{id_or_prefix}'")))
        }
    }

    /// The active key matching `secret`, or `Unauthorized`.
    pub async fn authenticate(&self, secret: &str) -> Result<ApiKey> {
        if !apikey::looks_like_key(secret) {
            return Err(Error::Unauthorized);
        }
        self.store
            .api_key_by_hash(&apikey::hash(secret))
            .await?
            .ok_or(Error::Unauthorized)
    }

    // ---- orders ----------------------------------------------------------------------

    /// `POST /orders`. With `receiveAddress` the order is a shared-address order: paid to
    /// that address by its exact `payAmount` (amount + a tail unique among the live orders on
    /// the same chain, token and address).
    pub async fn create_order(&self, req: CreateOrderRequest) -> Result<Order> {
        self.create_quoted_order(req, None).await
    }

    /// [`Engine::create_order`] for an amount converted from a fiat price (see
    /// [`Engine::quote_fiat`]): the quote is stored with the order and shown on it
    /// (`fiatCurrency`, `fiatAmount`, `rate`).
    pub async fn create_quoted_order(&self, req: CreateOrderRequest, quote: Option<FiatQuote>) -> Result<Order> {
        let order = self.prepare_order(req, quote).await?;
        self.open_prepared_order(order).await
    }

    /// Validates an order request into the order the store would write (its id, times,
    /// defaults, shared address and quote decided), without writing it: what the compatible
    /// APIs reserve their record under before [`Engine::open_prepared_order`].
    pub(crate) async fn prepare_order(&self, req: CreateOrderRequest, quote: Option<FiatQuote>) -> Result<NewOrder> {
        let draft = req.parse(|chain_id, currency, amount| {
            let network = self.chains.parse("chainId", chain_id)?;
            let token = network.configured_token(currency)?;
            network.check_watched("chainId")?;
            amount.check_precision("amount", token.decimals, currency.as_str())?;
            Ok::<_, Error>(network)
        })?;
        let shared = match &draft.receive_address {
            Some(raw) => Some(self.shared_receive(draft.chain, draft.currency, raw).await?),
            None => None,
        };
        let mut order = self.new_order(draft);
        order.shared = shared;
        order.quote = quote;
        Ok(order)
    }

    /// Writes a prepared order (address claim or amount tail, row, `order.created` event).
    pub(crate) async fn open_prepared_order(&self, order: NewOrder) -> Result<Order> {
        let order = self.topped_up(|| self.store.create_order(order.clone())).await?;
        self.notify_events_written();
        Ok(order)
    }

    /// The rate book of `[rates]`, if configured (its poller runs with the other workers).
    pub fn rates(&self) -> Option<&Arc<crate::rates::RateBook>> {
        self.rates.as_ref()
    }

    /// Converts a CNY price into USDT at the current rate (`[rates]`), rounded up to `places`
    /// decimals (2 for the epay-style APIs): the token amount to put in the order, and the
    /// quote to store with it ([`Engine::create_quoted_order`]). `RATE_UNAVAILABLE` (503) when
    /// no rate is configured or the provider's last good rate is stale.
    pub fn quote_cny(&self, cny: Amount, places: u32) -> Result<(Amount, FiatQuote)> {
        let Some(book) = &self.rates else {
            return Err(Error::RateUnavailable(
                "no CNY/USDT rate is configured: set [rates] cny_usdt or provider in the config file".into(),
            ));
        };
        let rate = book.current(self.now())?.rate;
        let amount = crate::rates::fiat_to_token(cny, rate, places)?;
        Ok((
            amount,
            FiatQuote {
                currency: "CNY".into(),
                amount: cny,
                rate: Amount::from_decimal(rate),
            },
        ))
    }

    /// Validates a merchant's `receiveAddress` for `network`: the protocol's address format
    /// (normalized to its canonical spelling) and not an address of the pool, whose orders and
    /// deposits are matched by address alone.
    async fn shared_receive(&self, network: &Network, currency: Currency, raw: &str) -> Result<SharedReceive> {
        let address = normalize_address(network.protocol, raw).map_err(|why| {
            Error::validation(
                "receiveAddress",
                format!(
                    "receiveAddress is not a valid {} address for chain '{}': {why}",
                    network.protocol, network.id
                ),
            )
        })?;
        if self.store.is_pool_address(network.protocol, &address).await? {
            return Err(Error::validation(
                "receiveAddress",
                format!(
                    "receiveAddress {address} is an address of the {} pool; give your own address",
                    network.protocol
                ),
            ));
        }
        let decimals = network.configured_token(currency)?.decimals;
        Ok(SharedReceive {
            address,
            step: crate::order::tail_step(decimals),
        })
    }

    /// A parsed order with the configured defaults filled in, ready for the store.
    fn new_order(&self, draft: OrderDraft<&Network>) -> NewOrder {
        let settings = self.settings();
        let OrderDraft {
            order_reference,
            amount,
            currency,
            chain: network,
            metadata,
            success_url,
            cancel_url,
            payment_window_minutes,
            grace_minutes,
            receive_address: _,
        } = draft;
        let success_url = success_url.or_else(|| settings.default_order_success_url.clone());
        let cancel_url = cancel_url.or_else(|| settings.default_order_cancel_url.clone());
        let payment_window_minutes = payment_window_minutes.unwrap_or(settings.payment_window_minutes);
        let grace_minutes = grace_minutes.unwrap_or(settings.grace_minutes);
        let now = self.now();
        let order_id = ids::order_id();
        NewOrder {
            payment_url: format!("{}/pay/{order_id}", self.public_url),
            order_id,
            order_reference,
            amount,
            currency,
            chain_id: network.id.clone(),
            protocol: network.protocol,
            metadata,
            success_url,
            cancel_url,
            payment_window_minutes,
            grace_minutes,
            created_at: now,
            expires_at: now + Minutes::minutes(i64::from(payment_window_minutes)),
            payment_link_id: None,
            shared: None,
            quote: None,
        }
    }

    pub async fn get_order(&self, order_id: &str) -> Result<Order> {
        self.store
            .get_order(order_id)
            .await?
            .ok_or_else(|| Error::OrderNotFound(order_id.to_string()))
    }

    /// A pending order's payments that were seen on chain but are not yet confirmed: their sum,
    /// and the confirmations of the newest one (counted to the newest block the watcher has
    /// scanned, which every replica reads from the database). `None` when there are none.
    pub async fn detected_payment(&self, order: &Order) -> Result<Option<DetectedPayment>> {
        if order.status != crate::order::OrderStatus::Pending {
            return Ok(None);
        }
        let payments = self.store.unconfirmed_payments(&order.order_id).await?;
        let Some(&(newest, _)) = payments.last() else {
            return Ok(None);
        };
        let amount = payments
            .into_iter()
            .fold(Amount::zero_with_scale(order.amount.scale()), |sum, (_, a)| sum + a);
        let scanned = self.store.recent_blocks(&order.chain_id, 1).await?;
        let head = scanned.first().map_or(newest, |(n, _)| (*n).max(newest));
        Ok(Some(DetectedPayment {
            amount,
            confirmations: head - newest + 1,
            confirmations_required: self.chains().get(&order.chain_id).map_or(1, |n| n.confirmations),
        }))
    }

    pub async fn get_order_by_reference(&self, reference: &str) -> Result<Order> {
        self.store
            .get_order_by_reference(reference)
            .await?
            .ok_or_else(|| Error::OrderNotFound(reference.to_string()))
    }

    pub async fn list_orders(&self, q: &OrderListQuery) -> Result<Page<Order>> {
        let filter = q.parse(|c| self.parse_chain_filter(c))?;
        self.store.list_orders(&filter).await
    }

    /// A chain id of a list filter: a known chain, or `INVALID_CHAIN` naming `chainId`.
    fn parse_chain_filter(&self, chain_id: &str) -> Result<String> {
        Ok(self.chains.parse("chainId", chain_id)?.id.clone())
    }

    // ---- payment links ---------------------------------------------------------------

    fn checkout_url(&self, mut link: PaymentLink) -> PaymentLink {
        link.checkout_url = format!("{}/checkout/{}", self.public_url, link.slug);
        link
    }

    /// `POST /payment-links`: a new link, in `draft`.
    pub async fn create_payment_link(&self, req: CreatePaymentLinkRequest) -> Result<PaymentLink> {
        let now = self.now();
        let draft = req.parse(now, |chain_id, i, currency| {
            let field = format!("currencies[{i}].chainId");
            let check = || -> Result<(String, u8)> {
                let network = self.chains.parse(&field, chain_id)?;
                let token = network.configured_token(currency).map_err(|e| match e {
                    Error::Invalid { code, message, .. } => {
                        let message = match message.strip_prefix("currency") {
                            Some(rest) => format!("currencies[{i}].currency{rest}"),
                            None => format!("currencies[{i}].currency: {message}"),
                        };
                        Error::invalid(code, format!("currencies[{i}].currency"), message)
                    }
                    other => other,
                })?;
                network.check_watched(&field)?;
                Ok((network.id.clone(), token.decimals))
            };
            check().map_err(payin_types::Error::from)
        })?;
        let amount = draft
            .amount
            .unwrap_or_else(|| crate::amount::Amount::zero_with_scale(0));
        let new = NewPaymentLink {
            id: ids::payment_link_id(),
            slug: ids::payment_link_slug(),
            title: draft.title,
            description: draft.description,
            amount,
            min_amount: draft.min_amount,
            max_amount: draft.max_amount,
            currencies: draft.currencies,
            inventory_total: draft.inventory_total,
            expires_at: draft.expires_at,
            metadata: draft.metadata,
            created_at: now,
        };
        self.store.insert_payment_link(&new).await?;
        self.get_payment_link(&new.id).await
    }

    pub async fn get_payment_link(&self, id: &str) -> Result<PaymentLink> {
        self.store
            .get_payment_link(id)
            .await?
            .map(|l| self.checkout_url(l))
            .ok_or_else(|| Error::NotFound(format!("Payment link '{id}' not found")))
    }

    /// The link a checkout slug names, whatever its state (`None`: no such slug).
    pub async fn payment_link_by_slug(&self, slug: &str) -> Result<Option<PaymentLink>> {
        Ok(self
            .store
            .get_payment_link_by_slug(slug)
            .await?
            .map(|l| self.checkout_url(l)))
    }

    pub async fn list_payment_links(&self, q: &PaymentLinkListQuery) -> Result<Page<PaymentLink>> {
        let filter = q.parse()?;
        let page = self.store.list_payment_links(&filter).await?;
        Ok(Page {
            items: page.items.into_iter().map(|l| self.checkout_url(l)).collect(),
            pagination: page.pagination,
        })
    }

    /// `draft → active`. Publishing an active link again is a no-op; an archived one is refused.
    pub async fn publish_payment_link(&self, id: &str) -> Result<PaymentLink> {
        self.move_payment_link(id, PaymentLinkStatus::Draft, PaymentLinkStatus::Active)
            .await
    }

    /// `draft | active → archived`. Archiving again is a no-op.
    pub async fn archive_payment_link(&self, id: &str) -> Result<PaymentLink> {
        for from in [PaymentLinkStatus::Active, PaymentLinkStatus::Draft] {
            if self
                .store
                .set_payment_link_status(id, from, PaymentLinkStatus::Archived, self.now())
                .await?
            {
                break;
            }
        }
        self.get_payment_link(id).await
    }

    async fn move_payment_link(&self, id: &str, from: PaymentLinkStatus, to: PaymentLinkStatus) -> Result<PaymentLink> {
        let link = self.get_payment_link(id).await?;
        if link.status == to {
            return Ok(link);
        }
        if link.status != from || !self.store.set_payment_link_status(id, from, to, self.now()).await? {
            let now = self.get_payment_link(id).await?.status;
            return Err(Error::validation(
                "status",
                format!(
                    "Payment link '{id}' has status {}; only a link with status {} can become {}",
                    now.as_str(),
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        self.get_payment_link(id).await
    }

    /// The checkout of a link: the payer's choice of `currency` on `chain_id` (and `amount`
    /// when the link leaves it open) opens a new order carrying the link's id, unless the link
    /// is not public, archived, expired or sold out. Bad choices are errors naming the field
    /// (`currency`, `amount`).
    pub async fn checkout_payment_link(
        &self,
        slug: &str,
        currency: &str,
        chain_id: &str,
        amount: Option<&str>,
    ) -> Result<LinkOrder> {
        let Some(link) = self.payment_link_by_slug(slug).await? else {
            return Ok(LinkOrder::Refused(LinkRefusal::NotFound));
        };
        if let Some(refusal) = crate::payment_link::refusal(&link, self.now()) {
            return Ok(LinkOrder::Refused(refusal));
        }
        if !link
            .currencies
            .iter()
            .any(|c| c.currency == currency && c.chain_id == chain_id)
        {
            return Err(Error::validation(
                "currency",
                "choose one of the currencies and networks this link offers",
            ));
        }
        let currency = Currency::parse("currency", currency)?;
        let network = self.chains.parse("currency", chain_id)?;
        let token = network.configured_token(currency)?;
        let amount = if link.is_open_amount() {
            let raw = amount.map(str::trim).unwrap_or_default();
            let amount = crate::amount::Amount::parse_positive("amount", raw)?;
            if let Some(min) = link.min_amount
                && amount < min
            {
                return Err(Error::invalid(
                    InvalidCode::Amount,
                    "amount",
                    format!("amount must be at least {min}"),
                ));
            }
            if let Some(max) = link.max_amount
                && amount > max
            {
                return Err(Error::invalid(
                    InvalidCode::Amount,
                    "amount",
                    format!("amount must be at most {max}"),
                ));
            }
            amount
        } else {
            link.amount
        };
        amount.check_precision("amount", token.decimals, currency.as_str())?;
        let new = self.new_order(OrderDraft {
            order_reference: format!("{}-{}", link.id, crate::ids::random_lower_alnum(12)),
            amount,
            currency,
            chain: network,
            metadata: link.metadata.clone(),
            success_url: None,
            cancel_url: None,
            payment_window_minutes: None,
            grace_minutes: None,
            receive_address: None,
        });
        let outcome = self
            .topped_up(|| self.store.open_link_order(&link.id, new.clone()))
            .await?;
        if matches!(outcome, LinkOrder::Opened(_)) {
            self.notify_events_written();
        }
        Ok(outcome)
    }

    // ---- deposits --------------------------------------------------------------------

    /// `POST /deposits/references`: the reference's address of the chain's protocol, bound on
    /// that chain for that currency.
    pub async fn bind_deposit_reference(&self, req: BindReferenceRequest) -> Result<BoundReference> {
        let reference = parse_reference("depositReference", &req.deposit_reference)?;
        let currency = Currency::parse("currency", &req.currency)?;
        let network = self.chains.parse("chainId", &req.chain_id)?;
        network.configured_token(currency)?;
        network.check_watched("chainId")?;
        let metadata = req
            .metadata
            .as_ref()
            .map(|m| metadata::parse("metadata", Some(m)))
            .transpose()?;
        let bound = self
            .bind_deposit_topped_up(NewBinding {
                deposit_reference: reference.clone(),
                protocol: network.protocol,
                chains: vec![(network.id.clone(), Some(currency))],
                metadata,
                now: self.now(),
            })
            .await?;
        Ok(BoundReference {
            deposit_reference: reference,
            currency,
            chain_id: network.id.clone(),
            protocol: network.protocol,
            address: bound.address,
            metadata: bound.metadata,
            created_at: bound.created_at,
        })
    }

    /// Binds through the store; an empty pool with an HD key derives more and tries again.
    async fn bind_deposit_topped_up(&self, binding: NewBinding) -> Result<crate::store::Bound> {
        self.topped_up(|| self.store.bind_deposit(binding.clone())).await
    }

    /// Runs a store call that claims a pool address; when the pool is empty and the protocol
    /// has an HD key, derives more at once and tries again (up to `HD_CREATE_ATTEMPTS` times),
    /// so a burst of creations is served while derivation is possible.
    async fn topped_up<T, F, Fut>(&self, mut claim: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempts = 0;
        loop {
            match claim().await {
                Err(Error::NoAvailableAddresses(protocol)) if attempts < HD_CREATE_ATTEMPTS => {
                    attempts += 1;
                    if !self.top_up_now(protocol).await?.has_key {
                        return Err(Error::NoAvailableAddresses(protocol));
                    }
                }
                other => return other,
            }
        }
    }

    /// `POST /deposits/bind`: one address watched on every chain of the protocol.
    pub async fn bind_deposit_protocol(&self, req: BindProtocolRequest) -> Result<BoundProtocol> {
        let reference = parse_reference("depositReference", &req.deposit_reference)?;
        let protocol = Protocol::parse("protocol", &req.protocol)?;
        let metadata = req
            .metadata
            .as_ref()
            .map(|m| metadata::parse("metadata", Some(m)))
            .transpose()?;
        // Only chains whose payments are detected: listing another would promise what the
        // watcher cannot keep.
        let monitored_chains: Vec<String> = self
            .chains
            .of_protocol(protocol)
            .filter(|n| n.check_watched("protocol").is_ok())
            .map(|n| n.id.clone())
            .collect();
        if monitored_chains.is_empty() {
            return Err(Error::invalid(
                InvalidCode::Chain,
                "protocol",
                format!(
                    "protocol: no {protocol} chain is watched (none has an RPC URL, or PayIn does not watch \
                     {protocol} yet); set `rpc_urls` under [chains.<id>] in the config file"
                ),
            ));
        }
        let bound = self
            .bind_deposit_topped_up(NewBinding {
                deposit_reference: reference.clone(),
                protocol,
                chains: monitored_chains.iter().map(|c| (c.clone(), None)).collect(),
                metadata,
                now: self.now(),
            })
            .await?;
        Ok(BoundProtocol {
            deposit_reference: reference,
            protocol,
            address: bound.address,
            monitored_chains,
            metadata: bound.metadata,
            created_at: bound.created_at,
        })
    }

    /// Both unbind forms; `chain_id` limits it to one chain.
    pub async fn unbind_deposit(&self, reference: &str, chain_id: Option<&str>) -> Result<Unbound> {
        let reference = parse_reference("depositReference", reference)?;
        let chain_id = chain_id
            .filter(|c| !c.is_empty())
            .map(|c| self.parse_chain_filter(c))
            .transpose()?;
        let now = self.now();
        let cooldown_until = now + Minutes::minutes(i64::from(self.settings().address_cooldown_minutes));
        let unbound_addresses = self
            .store
            .unbind_deposit(&reference, chain_id.as_deref(), now, cooldown_until)
            .await?;
        Ok(Unbound {
            deposit_reference: reference,
            unbound_addresses,
        })
    }

    pub async fn get_deposit_reference(&self, reference: &str) -> Result<DepositReference> {
        self.store
            .get_deposit_reference(reference)
            .await?
            .ok_or_else(|| Error::DepositReferenceNotFound(reference.to_string()))
    }

    pub async fn list_deposit_references(&self, q: &ReferenceListQuery) -> Result<Page<DepositReferenceSummary>> {
        self.store.list_deposit_references(&q.parse()?).await
    }

    pub async fn list_deposits(&self, q: &DepositListQuery) -> Result<Page<Deposit>> {
        let filter = q.parse(|c| self.parse_chain_filter(c))?;
        self.store.list_deposits(&filter).await
    }

    /// Records a transfer to a deposit address (used by settlement).
    pub async fn record_deposit(&self, deposit: crate::deposit::NewDeposit) -> Result<Option<Deposit>> {
        self.store.record_deposit(deposit).await
    }

    // ---- address pool ----------------------------------------------------------------

    /// Validates every address first: one bad address rejects the whole request, naming it.
    pub async fn import_addresses(&self, req: ImportAddressesRequest) -> Result<ImportResult> {
        let protocol = Protocol::parse("protocol", &req.protocol)?;
        if req.addresses.is_empty() {
            return Err(Error::validation("addresses", "addresses must not be empty"));
        }
        if req.addresses.len() > MAX_IMPORT {
            return Err(Error::validation(
                "addresses",
                format!("at most {MAX_IMPORT} addresses per request; split the list"),
            ));
        }
        let mut canonical = Vec::with_capacity(req.addresses.len());
        let mut seen = std::collections::HashSet::with_capacity(req.addresses.len());
        for (i, raw) in req.addresses.iter().enumerate() {
            let a = normalize_address(protocol, raw.trim())
                .map_err(|e| Error::validation(format!("addresses[{i}]"), format!("addresses[{i}]: {e}")))?;
            if seen.insert(a.clone()) {
                canonical.push(a);
            }
        }
        // An address orders are paid to by exact amount (shared-address mode) would serve two
        // live orders at once if the pool handed it out too.
        if let Some(shared) = self.store.shared_receive_addresses(&canonical).await?.first() {
            let i = req
                .addresses
                .iter()
                .position(|raw| normalize_address(protocol, raw.trim()).is_ok_and(|a| &a == shared))
                .unwrap_or(0);
            return Err(Error::validation(
                format!("addresses[{i}]"),
                format!(
                    "addresses[{i}]: {shared} receives shared-address orders (receiveAddress); a pool address must serve one order at a time"
                ),
            ));
        }
        let imported = self.store.import_addresses(protocol, &canonical, self.now()).await?;
        let received = req.addresses.len() as u64;
        Ok(ImportResult {
            protocol,
            received,
            imported,
            duplicates: received - imported,
        })
    }

    pub async fn pool_status(&self) -> Result<Vec<PoolStatus>> {
        let watermark = self.settings().pool_low_watermark;
        let mut out = Vec::new();
        for protocol in Protocol::ALL {
            let c = self.store.pool_counts(protocol).await?;
            let total = c.available + c.assigned + c.cooldown;
            out.push(PoolStatus {
                protocol,
                available: c.available,
                assigned: c.assigned,
                cooldown: c.cooldown,
                retired: c.retired,
                total,
                low_watermark: watermark,
                // Same rule as the `pool.low` event: an unused protocol's empty pool is not "low".
                low: total > 0 && c.available < u64::from(watermark),
            });
        }
        Ok(out)
    }

    // ---- watch-only HD keys ------------------------------------------------------------

    /// `POST /addresses/xpubs`: validates the account xpub (refusing any private material
    /// without repeating it), stores it and tops the pool up from it at once. Adding the same
    /// xpub again returns the stored key; the bool says whether it is new.
    pub async fn add_xpub(&self, req: AddXpubRequest) -> Result<(XpubKey, bool)> {
        let protocol = Protocol::parse("protocol", &req.protocol)?;
        let key = AccountKey::parse(protocol, "xpub", &req.xpub)?;
        let start = req.start.unwrap_or(0);
        if start >= MAX_INDEX - 3 {
            return Err(Error::validation(
                "start",
                format!("start must be below {} (non-hardened indices)", MAX_INDEX - 3),
            ));
        }
        let record = HdKeyRecord {
            id: ids::hd_key_id(),
            protocol,
            xpub: key.xpub().to_string(),
            fingerprint: key.fingerprint(),
            account: key.account(),
            start_index: start,
            next_index: start,
            created_at: self.now(),
        };
        let (stored, new) = self.store.insert_hd_key(&record).await?;
        if new {
            self.top_up(protocol, self.hd_target()).await?;
        }
        // Reread so `nextIndex` includes the first top-up.
        let stored = self
            .store
            .hd_keys()
            .await?
            .into_iter()
            .find(|k| k.id == stored.id)
            .unwrap_or(stored);
        Ok((describe_key(&stored)?, new))
    }

    /// `GET /addresses/xpubs`: every HD key, oldest first.
    pub async fn list_xpubs(&self) -> Result<Vec<XpubKey>> {
        self.store.hd_keys().await?.iter().map(describe_key).collect()
    }

    /// What HD top-ups bring a pool to: twice the low watermark, at least [`HD_MIN_TARGET`].
    fn hd_target(&self) -> u64 {
        (2 * u64::from(self.settings().pool_low_watermark)).max(HD_MIN_TARGET)
    }

    /// Tops `protocol`'s pool up to `target` available addresses from its newest HD key.
    pub async fn top_up(&self, protocol: Protocol, target: u64) -> Result<TopUp> {
        let _one_at_a_time = self.top_up_locks[protocol_slot(protocol)].lock().await;
        let derive = move |xpub: &str, range: std::ops::Range<u32>| -> Result<Vec<(u32, String)>> {
            let key = AccountKey::parse(protocol, "xpub", xpub)
                .map_err(|e| Error::Internal(format!("a stored {protocol} xpub no longer parses: {e}")))?;
            let mut out = Vec::with_capacity(range.len());
            for index in range {
                if let Some(address) = key.derive(index)? {
                    out.push((index, address));
                }
            }
            Ok(out)
        };
        let top_up = self.store.top_up_hd(protocol, target, &derive, self.now()).await?;
        if top_up.added > 0 {
            tracing::info!(%protocol, added = top_up.added, derived = top_up.derived, "pool topped up from its HD key");
        }
        Ok(top_up)
    }

    /// The top-up a creation that found the pool empty runs before trying again.
    async fn top_up_now(&self, protocol: Protocol) -> Result<TopUp> {
        self.top_up(protocol, self.hd_target()).await
    }

    // ---- events ----------------------------------------------------------------------

    pub async fn list_events(&self, q: &EventListQuery) -> Result<Page<Event>> {
        self.store.list_events(&q.parse()?).await
    }

    pub async fn get_event(&self, id: &str) -> Result<Event> {
        self.store
            .get_event(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Event '{id}' not found")))
    }

    // ---- idempotency keys --------------------------------------------------------------

    /// Starts a request that carries an `Idempotency-Key` in `scope` (the API key's id):
    /// [`Idempotent::Proceed`] when this request holds the key (then call
    /// [`Engine::finish_idempotent`] with its answer), [`Idempotent::Replay`] with the first
    /// request's answer. Waits up to [`idempotency::WAIT`] while a concurrent request with the
    /// same key runs. Errors: a malformed key, the key used for a different request, or still
    /// running after the wait.
    pub async fn begin_idempotent(&self, scope: &str, key: &str, request_hash: &str) -> Result<Idempotent> {
        use idempotency::Decision;
        idempotency::validate_key(key)?;
        let deadline = tokio::time::Instant::now() + idempotency::WAIT;
        let mut pause = std::time::Duration::from_millis(10);
        loop {
            let now = self.now();
            let locked_until = now + idempotency::RESERVATION;
            let (inserted, record) = self
                .store
                .reserve_idempotency_key(scope, key, request_hash, now, locked_until)
                .await?;
            // Without a row the reservation was released between the two statements: try again.
            if let Some(record) = record {
                match idempotency::on_reserve(inserted, &record, request_hash, now) {
                    Decision::Reserved => return Ok(Idempotent::Proceed),
                    Decision::Completed(response) => return Ok(Idempotent::Replay(response)),
                    Decision::Mismatch => return Err(Error::IdempotencyKeyReused(key.to_string())),
                    Decision::TakeOver => {
                        if self
                            .store
                            .take_over_idempotency_key(scope, key, now, locked_until)
                            .await?
                        {
                            return Ok(Idempotent::Proceed);
                        }
                    }
                    Decision::InProgress => {}
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::IdempotencyKeyInProgress(key.to_string()));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(200));
        }
    }

    /// Ends a request that [`Engine::begin_idempotent`] let proceed: a final answer (see
    /// [`idempotency::is_final`]) is stored for replay, any other releases the key so a retry
    /// runs again.
    pub async fn finish_idempotent(&self, scope: &str, key: &str, response: Option<StoredResponse>) -> Result<()> {
        match response {
            Some(r) if idempotency::is_final(r.status) => self.store.complete_idempotency_key(scope, key, &r).await,
            _ => self.store.release_idempotency_key(scope, key).await,
        }
    }

    // ---- health and maintenance ------------------------------------------------------

    /// `/health`: the database, and every chain this process watches, as the replica holding
    /// its lease reports it.
    pub async fn health(&self) -> Health {
        let database = self.database_health().await;
        let up = database.status == "ok";
        let chains = self.chain_report(up).await;
        Health {
            status: match (up, chains.iter().any(|c| c.stalled)) {
                (false, _) => "unhealthy",
                (true, true) => "degraded",
                (true, false) => "healthy",
            },
            version: env!("CARGO_PKG_VERSION"),
            timestamp: self.now(),
            replica_id: self.replica_id().to_string(),
            database,
            chains,
        }
    }

    /// Every chain this process watches, as the replica holding its lease reports it (what this
    /// process knows alone when the database is down).
    pub async fn chain_report(&self, database_up: bool) -> Vec<ChainStatus> {
        let shared = if database_up {
            match tokio::time::timeout(HEALTH_DB_TIMEOUT, self.store.watcher_leases()).await {
                Ok(Ok(records)) => Some(records),
                _ => None,
            }
        } else {
            None
        };
        self.chain_status.report(shared.as_deref())
    }

    /// Whether the database answers a round trip within a few seconds (readiness).
    pub async fn database_health(&self) -> DatabaseHealth {
        let ok = matches!(
            tokio::time::timeout(HEALTH_DB_TIMEOUT, self.store.ping()).await,
            Ok(Ok(()))
        );
        DatabaseHealth {
            backend: self.store.backend(),
            status: if ok { "ok" } else { "error" },
        }
    }

    /// One pass of the time-driven rules: expire orders whose grace ended, return cooled-down
    /// addresses to the pool, fire `pool.low` on crossing the watermark.
    pub async fn run_maintenance(&self) -> Result<MaintenanceReport> {
        let settings = self.reload_settings().await?;
        let now = self.now();
        let cooldown_until = now + Minutes::minutes(i64::from(settings.address_cooldown_minutes));
        let mut report = MaintenanceReport::default();
        loop {
            let expired = self.store.expire_orders(now, cooldown_until, EXPIRY_BATCH).await?;
            let done = expired.len() < EXPIRY_BATCH as usize;
            report.expired_orders.extend(expired.into_iter().map(|o| o.order_id));
            if done {
                break;
            }
        }
        if !report.expired_orders.is_empty() {
            self.notify_events_written();
        }
        let never_reuse: Vec<Protocol> = Protocol::ALL
            .into_iter()
            .filter(|p| self.pool_config.protocol(*p).address_reuse == AddressReuse::Never)
            .collect();
        report.released_addresses = self.store.release_cooled_addresses(now, &never_reuse).await?;
        // A nonce older than the window is refused by its timestamp already.
        report.purged_compat_nonces = self
            .store
            .purge_compat_nonces(now - crate::compat::REPLAY_WINDOW)
            .await?;
        for &protocol in &never_reuse {
            // Watched for late payments until `late_watch_days` after the order or binding
            // ended (its cooldown started then), and at least through the cooldown.
            let late_watch = Minutes::days(i64::from(self.pool_config.protocol(protocol).late_watch_days));
            let cooldown = Minutes::minutes(i64::from(settings.address_cooldown_minutes));
            let beyond_cooldown = (late_watch - cooldown).max(Minutes::zero());
            report.retired_addresses += self
                .store
                .retire_cooled_addresses(protocol, now - beyond_cooldown)
                .await?;
        }
        let target = (2 * u64::from(settings.pool_low_watermark)).max(HD_MIN_TARGET);
        let keyed: std::collections::BTreeSet<Protocol> =
            self.store.hd_keys().await?.into_iter().map(|k| k.protocol).collect();
        for protocol in keyed {
            report.derived_addresses += self.top_up(protocol, target).await?.added;
        }
        report.completed_deposits = self.store.complete_acknowledged_deposits(now).await?;
        report.purged_idempotency_keys = self.store.purge_idempotency_keys(now - idempotency::RETENTION).await?;
        report.purged_amount_locks = self.store.purge_amount_locks(now).await?;
        for protocol in Protocol::ALL {
            if self
                .store
                .check_pool_low(protocol, settings.pool_low_watermark, now)
                .await?
                .is_some()
            {
                report.pool_low.push(protocol);
            }
        }
        Ok(report)
    }

    /// Runs [`Engine::run_maintenance`] every `every` until `shutdown` flips to true. Errors
    /// are logged and retried on the next tick; they never stop the loop.
    pub async fn maintain(self: Arc<Self>, every: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    match self.run_maintenance().await {
                        Ok(r) if !r.expired_orders.is_empty() || r.released_addresses > 0 => tracing::info!(
                            expired = r.expired_orders.len(),
                            released = r.released_addresses,
                            "maintenance pass"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "maintenance pass failed; retrying next tick"),
                    }
                }
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
    }
}

/// Payments to an order seen on chain and still confirming (see [`Engine::detected_payment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedPayment {
    pub amount: Amount,
    /// Confirmations of the newest of them so far.
    pub confirmations: u64,
    /// What the chain needs before a payment counts.
    pub confirmations_required: u32,
}

fn protocol_slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Evm => 0,
        Protocol::Tron => 1,
    }
}

/// A stored HD key as clients see it, with its first three addresses.
fn describe_key(k: &HdKeyRecord) -> Result<XpubKey> {
    let key = AccountKey::parse(k.protocol, "xpub", &k.xpub)
        .map_err(|e| Error::Internal(format!("a stored {} xpub no longer parses: {e}", k.protocol)))?;
    let mut first_addresses = Vec::with_capacity(3);
    let mut index = k.start_index;
    while first_addresses.len() < 3 && index < MAX_INDEX {
        if let Some(address) = key.derive(index)? {
            first_addresses.push(DerivedAddress {
                index,
                path: key.address_path(index),
                address,
            });
        }
        index += 1;
    }
    Ok(XpubKey {
        id: k.id.clone(),
        protocol: k.protocol,
        xpub: k.xpub.clone(),
        fingerprint: k.fingerprint.clone(),
        path: key.path(),
        start_index: k.start_index,
        next_index: k.next_index,
        first_addresses,
        created_at: k.created_at,
    })
}
