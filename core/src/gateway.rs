//! [`Gateway`]: the operations a front-end needs, whoever performs them. [`Engine`] implements
//! it in-process; `payin_http::Client` implements it over REST, so a front-end written against
//! `&dyn Gateway` (the MCP server) works embedded or against a remote deployment alike.
//!
//! Both implementations take the same request types, return the same domain types and fail with
//! the same [`crate::Error`] variants (same `code()`, same `field`).
//!
//! The dev chain's methods (`simulate_payment`, `mine_blocks`) exist only with the `dev`
//! feature. Their default bodies answer `DEV_CHAIN_UNAVAILABLE`, so an implementation built
//! without dev support of its own (e.g. a client crate whose `dev` feature is off while another
//! crate of the build turned on payin-core's) still compiles and says what is missing.

use async_trait::async_trait;
use serde_json::Value;

use crate::Result;
use crate::chain::ChainInfo;
use crate::config::Settings;
use crate::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, Deposit, DepositReference,
    DepositReferenceSummary, Unbound,
};
#[cfg(feature = "dev")]
use crate::dev::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use crate::engine::{DepositListQuery, Engine, EventListQuery, OrderListQuery, ReferenceListQuery};
use crate::event::Event;
use crate::order::{CreateOrderRequest, Order};
use crate::page::Page;
use crate::pool::{ImportAddressesRequest, ImportResult, PoolStatus};
use crate::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, Delivery, DeliveryListQuery, ResendRequest, Resent,
    RotateSecretRequest, RotatedSecret, WebhookEndpoint, WebhookListQuery,
};

/// The operations of the REST API, as a trait. See the module documentation.
#[async_trait]
pub trait Gateway: Send + Sync {
    // ---- orders
    async fn create_order(&self, req: CreateOrderRequest) -> Result<Order>;
    async fn get_order(&self, order_id: &str) -> Result<Order>;
    async fn get_order_by_reference(&self, order_reference: &str) -> Result<Order>;
    async fn list_orders(&self, q: &OrderListQuery) -> Result<Page<Order>>;

    // ---- deposits
    async fn bind_deposit_reference(&self, req: BindReferenceRequest) -> Result<BoundReference>;
    async fn bind_deposit_protocol(&self, req: BindProtocolRequest) -> Result<BoundProtocol>;
    /// Unbinds every chain of the reference, or only `chain_id`.
    async fn unbind_deposit(&self, deposit_reference: &str, chain_id: Option<&str>) -> Result<Unbound>;
    async fn get_deposit_reference(&self, deposit_reference: &str) -> Result<DepositReference>;
    async fn list_deposit_references(&self, q: &ReferenceListQuery) -> Result<Page<DepositReferenceSummary>>;
    async fn list_deposits(&self, q: &DepositListQuery) -> Result<Page<Deposit>>;

    // ---- chains and the address pool
    async fn list_chains(&self) -> Result<Vec<ChainInfo>>;
    async fn pool_status(&self) -> Result<Vec<PoolStatus>>;
    async fn import_addresses(&self, req: ImportAddressesRequest) -> Result<ImportResult>;

    // ---- settings
    /// The effective settings, as currently stored.
    async fn get_config(&self) -> Result<Settings>;
    /// Validates and stores one setting; returns the new effective settings.
    async fn set_config(&self, key: &str, value: &Value) -> Result<Settings>;

    // ---- webhooks and events
    /// The result carries the endpoint's signing secret, available only here.
    async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint>;
    async fn list_webhook_endpoints(&self, q: &WebhookListQuery) -> Result<Page<WebhookEndpoint>>;
    async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint>;
    async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint>;
    /// The result carries the new signing secret, available only here.
    async fn rotate_webhook_secret(&self, id: &str, req: RotateSecretRequest) -> Result<RotatedSecret>;
    async fn list_events(&self, q: &EventListQuery) -> Result<Page<Event>>;
    async fn get_event(&self, id: &str) -> Result<Event>;
    async fn list_webhook_deliveries(&self, q: &DeliveryListQuery) -> Result<Page<Delivery>>;
    async fn resend_event(&self, event_id: &str, req: ResendRequest) -> Result<Resent>;

    // ---- the dev chain of `payin dev` (feature `dev`)
    /// A real payment on the dev chain ([`crate::dev::simulate`]).
    #[cfg(feature = "dev")]
    async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        let _ = req;
        Err(crate::dev::simulate::not_built())
    }
    /// Empty blocks on the dev chain.
    #[cfg(feature = "dev")]
    async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        let _ = req;
        Err(crate::dev::simulate::not_built())
    }
}

/// In-process: each method is the engine's inherent method of the same name.
#[async_trait]
impl Gateway for Engine {
    async fn create_order(&self, req: CreateOrderRequest) -> Result<Order> {
        Engine::create_order(self, req).await
    }

    async fn get_order(&self, order_id: &str) -> Result<Order> {
        Engine::get_order(self, order_id).await
    }

    async fn get_order_by_reference(&self, order_reference: &str) -> Result<Order> {
        Engine::get_order_by_reference(self, order_reference).await
    }

    async fn list_orders(&self, q: &OrderListQuery) -> Result<Page<Order>> {
        Engine::list_orders(self, q).await
    }

    async fn bind_deposit_reference(&self, req: BindReferenceRequest) -> Result<BoundReference> {
        Engine::bind_deposit_reference(self, req).await
    }

    async fn bind_deposit_protocol(&self, req: BindProtocolRequest) -> Result<BoundProtocol> {
        Engine::bind_deposit_protocol(self, req).await
    }

    async fn unbind_deposit(&self, deposit_reference: &str, chain_id: Option<&str>) -> Result<Unbound> {
        Engine::unbind_deposit(self, deposit_reference, chain_id).await
    }

    async fn get_deposit_reference(&self, deposit_reference: &str) -> Result<DepositReference> {
        Engine::get_deposit_reference(self, deposit_reference).await
    }

    async fn list_deposit_references(&self, q: &ReferenceListQuery) -> Result<Page<DepositReferenceSummary>> {
        Engine::list_deposit_references(self, q).await
    }

    async fn list_deposits(&self, q: &DepositListQuery) -> Result<Page<Deposit>> {
        Engine::list_deposits(self, q).await
    }

    async fn list_chains(&self) -> Result<Vec<ChainInfo>> {
        Ok(self.chains().describe())
    }

    async fn pool_status(&self) -> Result<Vec<PoolStatus>> {
        Engine::pool_status(self).await
    }

    async fn import_addresses(&self, req: ImportAddressesRequest) -> Result<ImportResult> {
        Engine::import_addresses(self, req).await
    }

    async fn get_config(&self) -> Result<Settings> {
        // Reread rather than the cache: another replica may have changed a setting.
        self.reload_settings().await
    }

    async fn set_config(&self, key: &str, value: &Value) -> Result<Settings> {
        Engine::set_config(self, key, value).await
    }

    async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint> {
        Engine::create_webhook_endpoint(self, req).await
    }

    async fn list_webhook_endpoints(&self, q: &WebhookListQuery) -> Result<Page<WebhookEndpoint>> {
        Engine::list_webhook_endpoints(self, q).await
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        Engine::get_webhook_endpoint(self, id).await
    }

    async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        Engine::delete_webhook_endpoint(self, id).await
    }

    async fn rotate_webhook_secret(&self, id: &str, req: RotateSecretRequest) -> Result<RotatedSecret> {
        Engine::rotate_webhook_secret(self, id, req).await
    }

    async fn list_events(&self, q: &EventListQuery) -> Result<Page<Event>> {
        Engine::list_events(self, q).await
    }

    async fn get_event(&self, id: &str) -> Result<Event> {
        Engine::get_event(self, id).await
    }

    async fn list_webhook_deliveries(&self, q: &DeliveryListQuery) -> Result<Page<Delivery>> {
        Engine::list_webhook_deliveries(self, q).await
    }

    async fn resend_event(&self, event_id: &str, req: ResendRequest) -> Result<Resent> {
        Engine::resend_event(self, event_id, req).await
    }

    #[cfg(feature = "dev")]
    async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        Engine::simulate_payment(self, req).await
    }

    #[cfg(feature = "dev")]
    async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        Engine::mine_blocks(self, req).await
    }
}
