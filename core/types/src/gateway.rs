//! [`Gateway`]: the operations a front-end needs, whoever performs them. `payin_core::Engine`
//! implements it in-process; `payin_client::Client` implements it over REST, so a front-end
//! written against `&dyn Gateway` (the MCP server, the language bindings) works embedded or
//! against a remote deployment alike.
//!
//! Both implementations take the same request types, return the same types and fail with the
//! same [`crate::Error`] variants (same `code()`, same `field`).

use async_trait::async_trait;
use serde_json::Value;

use crate::Result;
use crate::chain::ChainInfo;
use crate::config::Settings;
use crate::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, Deposit, DepositListQuery,
    DepositReference, DepositReferenceSummary, ReferenceListQuery, Unbound,
};
use crate::event::{Event, EventListQuery};
use crate::order::{CreateOrderRequest, Order, OrderListQuery};
use crate::page::Page;
use crate::payment_link::{CreatePaymentLinkRequest, PaymentLink, PaymentLinkListQuery};
use crate::pool::{AddXpubRequest, ImportAddressesRequest, ImportResult, PoolStatus, XpubKey};
#[cfg(feature = "dev")]
use crate::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
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
    /// Adds a watch-only account xpub the pool derives addresses from (adding the same one
    /// again returns it unchanged). Refuses private keys and mnemonics.
    async fn add_xpub(&self, req: AddXpubRequest) -> Result<XpubKey>;
    async fn list_xpubs(&self) -> Result<Vec<XpubKey>>;

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

    // ---- payment links (issue 12)
    /// A new link, in `draft`; its `checkoutUrl` answers once published.
    async fn create_payment_link(&self, req: CreatePaymentLinkRequest) -> Result<PaymentLink>;
    async fn get_payment_link(&self, id: &str) -> Result<PaymentLink>;
    async fn list_payment_links(&self, q: &PaymentLinkListQuery) -> Result<Page<PaymentLink>>;
    /// `draft → active` (again: no change; archived: `VALIDATION_ERROR` on `status`).
    async fn publish_payment_link(&self, id: &str) -> Result<PaymentLink>;
    /// `draft | active → archived` (again: no change).
    async fn archive_payment_link(&self, id: &str) -> Result<PaymentLink>;

    // ---- the dev chain of `payin dev` (feature `dev`)
    /// A real payment on the dev chain ([`crate::simulate`]).
    #[cfg(feature = "dev")]
    async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        let _ = req;
        Err(crate::simulate::not_built())
    }
    /// Empty blocks on the dev chain.
    #[cfg(feature = "dev")]
    async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        let _ = req;
        Err(crate::simulate::not_built())
    }
}
