//! [`Gateway`] (defined in `payin-types`) for the in-process [`Engine`]. The engine's own
//! errors become the client-visible [`payin_types::Error`] here, at the boundary.

use async_trait::async_trait;
use serde_json::Value;

use payin_types::Result;
pub use payin_types::gateway::Gateway;

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
use crate::payment_link::{CreatePaymentLinkRequest, PaymentLink, PaymentLinkListQuery};
use crate::pool::{AddXpubRequest, ImportAddressesRequest, ImportResult, PoolStatus, XpubKey};
use crate::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, Delivery, DeliveryListQuery, ResendRequest, Resent,
    RotateSecretRequest, RotatedSecret, WebhookEndpoint, WebhookListQuery,
};

/// In-process: each method is the engine's inherent method of the same name.
#[async_trait]
impl Gateway for Engine {
    async fn create_order(&self, req: CreateOrderRequest) -> Result<Order> {
        Ok(Engine::create_order(self, req).await?)
    }

    async fn get_order(&self, order_id: &str) -> Result<Order> {
        Ok(Engine::get_order(self, order_id).await?)
    }

    async fn get_order_by_reference(&self, order_reference: &str) -> Result<Order> {
        Ok(Engine::get_order_by_reference(self, order_reference).await?)
    }

    async fn list_orders(&self, q: &OrderListQuery) -> Result<Page<Order>> {
        Ok(Engine::list_orders(self, q).await?)
    }

    async fn bind_deposit_reference(&self, req: BindReferenceRequest) -> Result<BoundReference> {
        Ok(Engine::bind_deposit_reference(self, req).await?)
    }

    // payment links
    async fn create_payment_link(&self, req: CreatePaymentLinkRequest) -> Result<PaymentLink> {
        Ok(Engine::create_payment_link(self, req).await?)
    }

    async fn get_payment_link(&self, id: &str) -> Result<PaymentLink> {
        Ok(Engine::get_payment_link(self, id).await?)
    }

    async fn list_payment_links(&self, q: &PaymentLinkListQuery) -> Result<Page<PaymentLink>> {
        Ok(Engine::list_payment_links(self, q).await?)
    }

    async fn publish_payment_link(&self, id: &str) -> Result<PaymentLink> {
        Ok(Engine::publish_payment_link(self, id).await?)
    }

    async fn archive_payment_link(&self, id: &str) -> Result<PaymentLink> {
        Ok(Engine::archive_payment_link(self, id).await?)
    }

    async fn bind_deposit_protocol(&self, req: BindProtocolRequest) -> Result<BoundProtocol> {
        Ok(Engine::bind_deposit_protocol(self, req).await?)
    }

    async fn unbind_deposit(&self, deposit_reference: &str, chain_id: Option<&str>) -> Result<Unbound> {
        Ok(Engine::unbind_deposit(self, deposit_reference, chain_id).await?)
    }

    async fn get_deposit_reference(&self, deposit_reference: &str) -> Result<DepositReference> {
        Ok(Engine::get_deposit_reference(self, deposit_reference).await?)
    }

    async fn list_deposit_references(&self, q: &ReferenceListQuery) -> Result<Page<DepositReferenceSummary>> {
        Ok(Engine::list_deposit_references(self, q).await?)
    }

    async fn list_deposits(&self, q: &DepositListQuery) -> Result<Page<Deposit>> {
        Ok(Engine::list_deposits(self, q).await?)
    }

    async fn list_chains(&self) -> Result<Vec<ChainInfo>> {
        Ok(self.chains().describe())
    }

    async fn pool_status(&self) -> Result<Vec<PoolStatus>> {
        Ok(Engine::pool_status(self).await?)
    }

    async fn import_addresses(&self, req: ImportAddressesRequest) -> Result<ImportResult> {
        Ok(Engine::import_addresses(self, req).await?)
    }

    async fn add_xpub(&self, req: AddXpubRequest) -> Result<XpubKey> {
        Ok(Engine::add_xpub(self, req).await?.0)
    }

    async fn list_xpubs(&self) -> Result<Vec<XpubKey>> {
        Ok(Engine::list_xpubs(self).await?)
    }

    async fn get_config(&self) -> Result<Settings> {
        // Reread rather than the cache: another replica may have changed a setting.
        Ok(self.reload_settings().await?)
    }

    async fn set_config(&self, key: &str, value: &Value) -> Result<Settings> {
        Ok(Engine::set_config(self, key, value).await?)
    }

    async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint> {
        Ok(Engine::create_webhook_endpoint(self, req).await?)
    }

    async fn list_webhook_endpoints(&self, q: &WebhookListQuery) -> Result<Page<WebhookEndpoint>> {
        Ok(Engine::list_webhook_endpoints(self, q).await?)
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        Ok(Engine::get_webhook_endpoint(self, id).await?)
    }

    async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        Ok(Engine::delete_webhook_endpoint(self, id).await?)
    }

    async fn rotate_webhook_secret(&self, id: &str, req: RotateSecretRequest) -> Result<RotatedSecret> {
        Ok(Engine::rotate_webhook_secret(self, id, req).await?)
    }

    async fn list_events(&self, q: &EventListQuery) -> Result<Page<Event>> {
        Ok(Engine::list_events(self, q).await?)
    }

    async fn get_event(&self, id: &str) -> Result<Event> {
        Ok(Engine::get_event(self, id).await?)
    }

    async fn list_webhook_deliveries(&self, q: &DeliveryListQuery) -> Result<Page<Delivery>> {
        Ok(Engine::list_webhook_deliveries(self, q).await?)
    }

    async fn resend_event(&self, event_id: &str, req: ResendRequest) -> Result<Resent> {
        Ok(Engine::resend_event(self, event_id, req).await?)
    }

    #[cfg(feature = "dev")]
    async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        Ok(Engine::simulate_payment(self, req).await?)
    }

    #[cfg(feature = "dev")]
    async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        Ok(Engine::mine_blocks(self, req).await?)
    }
}
