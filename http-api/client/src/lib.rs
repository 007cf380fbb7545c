//! A typed async client of the PayIn REST API (`/api/v1`): the [`Gateway`] over HTTP, for Rust
//! programs, the MCP server's remote mode and the Python/Node packages.
//!
//! It sends the request types of `payin-types`, reads the same types back out of the
//! `{"success", "data"}` envelope, and turns error envelopes back into the [`Error`] with the
//! same `code`, `field` and subject — so a caller cannot tell it from the in-process engine
//! except by latency and [`Error::Internal`] transport failures.
//!
//! Dependencies are the wire types and reqwest only (no database, chain or server stack).
//! TLS is rustls with the platform verifier, so the operating system's certificate store
//! (corporate CAs included) decides which servers are trusted.

use async_trait::async_trait;
use payin_types::chain::ChainInfo;
use payin_types::config::Settings;
use payin_types::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, Deposit, DepositListQuery,
    DepositReference, DepositReferenceSummary, ReferenceListQuery, Unbound,
};
use payin_types::error::ErrorEnvelope;
use payin_types::event::{Event, EventListQuery};
use payin_types::order::{CreateOrderRequest, Order, OrderListQuery};
use payin_types::page::{Page, Pagination};
use payin_types::pool::{ImportAddressesRequest, ImportResult, PoolStatus};
#[cfg(feature = "dev")]
use payin_types::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use payin_types::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, Delivery, DeliveryListQuery, ResendRequest, Resent,
    RotateSecretRequest, RotatedSecret, WebhookEndpoint, WebhookListQuery,
};
pub use payin_types::{Error, Gateway, Result};
use reqwest::{Method, RequestBuilder, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A typed client of `/api/v1`, authenticating with `Authorization: Bearer pk_…`.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: Url,
    api_key: String,
    http: reqwest::Client,
}

impl Client {
    /// `base_url` is the server root (e.g. `https://pay.example.com`), without `/api/v1`.
    /// Fails with [`Error::Invalid`] (field `baseUrl`) when it is not an absolute http(s) URL.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Client> {
        let invalid = || Error::validation("baseUrl", format!("baseUrl must be an http(s) URL, got {base_url:?}"));
        let base_url = Url::parse(base_url).map_err(|_| invalid())?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(invalid());
        }
        // reqwest's rustls verifies server certificates with rustls-platform-verifier: the
        // operating system's trust store, so a corporate CA installed there is trusted.
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client {
            base_url,
            api_key: api_key.into(),
            http,
        })
    }

    /// `/api/v1/<segments…>`, each segment percent-encoded (references are merchant strings).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("checked in Client::new: the base URL can be a base")
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http.request(method, self.url(segments)).bearer_auth(&self.api_key)
    }

    /// Sends the request and unwraps `data`, or maps the error envelope back to an [`Error`].
    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Internal(format!("PayIn API request failed: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::Internal(format!("PayIn API response unreadable: {e}")))?;
        if status.is_success() {
            let envelope: Data<T> = serde_json::from_slice(&body)
                .map_err(|e| Error::Internal(format!("PayIn API answered {status} with an unexpected body: {e}")))?;
            return Ok(envelope.data);
        }
        match serde_json::from_slice::<ErrorEnvelope>(&body) {
            Ok(err) => Err(err.into_error()),
            Err(_) => Err(Error::Internal(format!(
                "PayIn API answered {status} without an error envelope: {}",
                String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
            ))),
        }
    }

    async fn list<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Page<T>> {
        let list: ListData<T> = self.call(req).await?;
        Ok(Page {
            items: list.items,
            pagination: list.pagination,
        })
    }
}

/// The success envelope; `success` and `message` are not needed to read the result.
#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

/// `data` of a list: the items under the resource's plural name, and the pagination block.
#[derive(Deserialize)]
struct ListData<T> {
    #[serde(
        alias = "orders",
        alias = "deposits",
        alias = "references",
        alias = "events",
        alias = "webhooks",
        alias = "deliveries"
    )]
    items: Vec<T>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct ChainList {
    chains: Vec<ChainInfo>,
}

#[derive(Deserialize)]
struct PoolList {
    pools: Vec<PoolStatus>,
}

#[async_trait]
impl Gateway for Client {
    async fn create_order(&self, req: CreateOrderRequest) -> Result<Order> {
        self.call(self.request(Method::POST, &["orders"]).json(&req)).await
    }

    async fn get_order(&self, order_id: &str) -> Result<Order> {
        self.call(self.request(Method::GET, &["orders", order_id])).await
    }

    async fn get_order_by_reference(&self, order_reference: &str) -> Result<Order> {
        self.call(self.request(Method::GET, &["orders", "by-reference", order_reference]))
            .await
    }

    async fn list_orders(&self, q: &OrderListQuery) -> Result<Page<Order>> {
        self.list(self.request(Method::GET, &["orders"]).query(q)).await
    }

    async fn bind_deposit_reference(&self, req: BindReferenceRequest) -> Result<BoundReference> {
        self.call(self.request(Method::POST, &["deposits", "references"]).json(&req))
            .await
    }

    async fn bind_deposit_protocol(&self, req: BindProtocolRequest) -> Result<BoundProtocol> {
        self.call(self.request(Method::POST, &["deposits", "bind"]).json(&req))
            .await
    }

    async fn unbind_deposit(&self, deposit_reference: &str, chain_id: Option<&str>) -> Result<Unbound> {
        let body = json!({"depositReference": deposit_reference, "chainId": chain_id});
        self.call(self.request(Method::POST, &["deposits", "unbind"]).json(&body))
            .await
    }

    async fn get_deposit_reference(&self, deposit_reference: &str) -> Result<DepositReference> {
        self.call(self.request(Method::GET, &["deposits", "references", deposit_reference]))
            .await
    }

    async fn list_deposit_references(&self, q: &ReferenceListQuery) -> Result<Page<DepositReferenceSummary>> {
        self.list(self.request(Method::GET, &["deposits", "references"]).query(q))
            .await
    }

    async fn list_deposits(&self, q: &DepositListQuery) -> Result<Page<Deposit>> {
        self.list(self.request(Method::GET, &["deposits"]).query(q)).await
    }

    async fn list_chains(&self) -> Result<Vec<ChainInfo>> {
        let list: ChainList = self.call(self.request(Method::GET, &["chains"])).await?;
        Ok(list.chains)
    }

    async fn pool_status(&self) -> Result<Vec<PoolStatus>> {
        let list: PoolList = self.call(self.request(Method::GET, &["addresses", "pool"])).await?;
        Ok(list.pools)
    }

    async fn import_addresses(&self, req: ImportAddressesRequest) -> Result<ImportResult> {
        self.call(self.request(Method::POST, &["addresses", "import"]).json(&req))
            .await
    }

    async fn get_config(&self) -> Result<Settings> {
        self.call(self.request(Method::GET, &["config"])).await
    }

    async fn set_config(&self, key: &str, value: &Value) -> Result<Settings> {
        self.call(
            self.request(Method::PUT, &["config", key])
                .json(&json!({ "value": value })),
        )
        .await
    }

    async fn create_webhook_endpoint(&self, req: CreateWebhookRequest) -> Result<CreatedWebhookEndpoint> {
        self.call(self.request(Method::POST, &["webhooks"]).json(&req)).await
    }

    async fn list_webhook_endpoints(&self, q: &WebhookListQuery) -> Result<Page<WebhookEndpoint>> {
        self.list(self.request(Method::GET, &["webhooks"]).query(q)).await
    }

    async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        self.call(self.request(Method::GET, &["webhooks", id])).await
    }

    async fn delete_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        self.call(self.request(Method::DELETE, &["webhooks", id])).await
    }

    async fn rotate_webhook_secret(&self, id: &str, req: RotateSecretRequest) -> Result<RotatedSecret> {
        self.call(
            self.request(Method::POST, &["webhooks", id, "rotate-secret"])
                .json(&req),
        )
        .await
    }

    async fn list_events(&self, q: &EventListQuery) -> Result<Page<Event>> {
        self.list(self.request(Method::GET, &["events"]).query(q)).await
    }

    async fn get_event(&self, id: &str) -> Result<Event> {
        self.call(self.request(Method::GET, &["events", id])).await
    }

    async fn list_webhook_deliveries(&self, q: &DeliveryListQuery) -> Result<Page<Delivery>> {
        self.list(self.request(Method::GET, &["webhooks", "deliveries"]).query(q))
            .await
    }

    async fn resend_event(&self, event_id: &str, req: ResendRequest) -> Result<Resent> {
        self.call(self.request(Method::POST, &["events", event_id, "resend"]).json(&req))
            .await
    }

    #[cfg(feature = "dev")]
    async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        self.call(self.request(Method::POST, &["dev", "simulate-payment"]).json(&req))
            .await
    }

    #[cfg(feature = "dev")]
    async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        self.call(self.request(Method::POST, &["dev", "mine-blocks"]).json(&req))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_with_slashes_stays_one_path_segment() {
        let c = Client::new("http://localhost:8080/", "pk_x").unwrap();
        let url = c.url(&["orders", "by-reference", "a/b c"]);
        assert_eq!(
            url.as_str(),
            "http://localhost:8080/api/v1/orders/by-reference/a%2Fb%20c"
        );
    }

    #[test]
    fn a_base_url_that_is_not_http_is_refused_naming_the_field() {
        let err = Client::new("ftp://x", "pk_x").unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "baseUrl"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_internal_error_not_a_panic() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let c = Client::new("http://127.0.0.1:9", "pk_x").unwrap();
        let err = c.get_order("ord_x").await.unwrap_err();
        assert!(err.is_internal(), "{err:?}");
        assert!(err.to_string().contains("PayIn API request failed"), "{err}");
    }
}
