//! [`Client`]: the REST API as a [`Gateway`], for Rust programs (and the MCP server, the
//! language bindings) that talk to a remote PayIn deployment with an API key.
//!
//! It sends the same request types the engine takes, reads the same domain types back out of
//! the `{"success", "data"}` envelope, and turns error envelopes back into the
//! [`payin_core::Error`] variant with the same `code` — so a caller cannot tell it from an
//! in-process [`payin_core::Engine`] except by latency and [`Error::Internal`] transport failures.

use async_trait::async_trait;
use payin_core::chain::{ChainInfo, Protocol};
use payin_core::config::Settings;
use payin_core::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, Deposit, DepositReference,
    DepositReferenceSummary, Unbound,
};
#[cfg(feature = "dev")]
use payin_core::dev::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use payin_core::engine::{DepositListQuery, EventListQuery, OrderListQuery, ReferenceListQuery};
use payin_core::error::InvalidCode;
use payin_core::event::Event;
use payin_core::order::{CreateOrderRequest, Order};
use payin_core::page::{Page, Pagination};
use payin_core::pool::{ImportAddressesRequest, ImportResult, PoolStatus};
use payin_core::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, Delivery, DeliveryListQuery, ResendRequest, Resent,
    RotateSecretRequest, RotatedSecret, WebhookEndpoint, WebhookListQuery,
};
use payin_core::{Error, Gateway, Result};
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
        Ok(Client {
            base_url,
            api_key: api_key.into(),
            http: reqwest::Client::new(),
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

/// The error envelope, as far as it is needed to rebuild the engine's error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorEnvelope {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    existing_order_id: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    order_reference: Option<String>,
    #[serde(default)]
    deposit_reference: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
}

impl ErrorEnvelope {
    /// The inverse of the server's `Error → ApiError` mapping: the variant with the same code,
    /// its subject taken from the envelope's extra members.
    fn into_error(self) -> Error {
        let missing =
            |member: &str| Error::Internal(format!("{}: {} (no {member} in the envelope)", self.code, self.message));
        let invalid = |code| Error::Invalid {
            code,
            field: self.field.clone().unwrap_or_default(),
            message: self.message.clone(),
        };
        match self.code.as_str() {
            "VALIDATION_ERROR" => invalid(InvalidCode::Validation),
            "INVALID_AMOUNT" => invalid(InvalidCode::Amount),
            "INVALID_CHAIN" => invalid(InvalidCode::Chain),
            "INVALID_CURRENCY" => invalid(InvalidCode::Currency),
            "ORDER_NOT_FOUND" => match self.order_id.clone() {
                Some(id) => Error::OrderNotFound(id),
                None => missing("orderId"),
            },
            "DUPLICATE_ORDER_REFERENCE" => match (self.order_reference.clone(), self.existing_order_id.clone()) {
                (Some(reference), Some(existing_order_id)) => Error::DuplicateOrderReference {
                    reference,
                    existing_order_id,
                },
                _ => missing("orderReference and existingOrderId"),
            },
            "DUPLICATE_DEPOSIT_REFERENCE" => Error::DuplicateDepositReference {
                message: self.message.clone(),
            },
            "DEPOSIT_REFERENCE_NOT_FOUND" => match self.deposit_reference.clone() {
                Some(reference) => Error::DepositReferenceNotFound(reference),
                None => missing("depositReference"),
            },
            "NOT_FOUND" => Error::NotFound(self.message.clone()),
            "NO_AVAILABLE_ADDRESSES" => match self.protocol.as_deref().map(|p| Protocol::parse("protocol", p)) {
                Some(Ok(protocol)) => Error::NoAvailableAddresses(protocol),
                _ => missing("protocol"),
            },
            "UNAUTHORIZED" => Error::Unauthorized,
            "DEV_CHAIN_UNAVAILABLE" => Error::DevChainUnavailable(self.message.clone()),
            "INTERNAL_ERROR" => Error::Internal(self.message.clone()),
            // Codes of the HTTP layer itself (METHOD_NOT_ALLOWED …): a client/server mismatch.
            _ => Error::Internal(format!("{}: {}", self.code, self.message)),
        }
    }
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

    fn envelope(body: Value) -> Error {
        serde_json::from_value::<ErrorEnvelope>(body).unwrap().into_error()
    }

    #[test]
    fn error_envelopes_become_the_engine_variant_with_the_same_code() {
        let cases = [
            Error::invalid(InvalidCode::Amount, "amount", "amount has too many decimals"),
            Error::validation("orderReference", "orderReference is required"),
            Error::OrderNotFound("ord_x".into()),
            Error::DuplicateOrderReference {
                reference: "inv-1".into(),
                existing_order_id: "ord_winner".into(),
            },
            Error::DuplicateDepositReference {
                message: "already bound".into(),
            },
            Error::DepositReferenceNotFound("user-1".into()),
            Error::NotFound("Event 'evt_x' not found".into()),
            Error::NoAvailableAddresses(Protocol::Evm),
            Error::Unauthorized,
            Error::DevChainUnavailable("the local chain did not answer".into()),
        ];
        for original in cases {
            let (code, text) = (original.code(), original.to_string());
            let field = match &original {
                Error::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            };
            let back = envelope(serde_json::to_value(crate::ApiError::from(original)).unwrap());
            assert_eq!(back.code(), code);
            assert_eq!(back.to_string(), text);
            if let Some(field) = field {
                assert!(
                    matches!(&back, Error::Invalid { field: f, .. } if *f == field),
                    "{back:?}"
                );
            }
            if code == "DUPLICATE_ORDER_REFERENCE" {
                assert!(
                    matches!(&back, Error::DuplicateOrderReference { existing_order_id, .. } if existing_order_id == "ord_winner"),
                    "{back:?}"
                );
            }
        }
    }

    #[test]
    fn error_envelopes_name_their_subject_in_members_of_their_own() {
        let envelope = |e: Error| serde_json::to_value(crate::ApiError::from(e)).unwrap();
        let not_found = envelope(Error::OrderNotFound("ord_x".into()));
        assert_eq!(not_found["orderId"], "ord_x");
        let duplicate = envelope(Error::DuplicateOrderReference {
            reference: "it's/odd".into(),
            existing_order_id: "ord_w".into(),
        });
        assert_eq!(
            (&duplicate["orderReference"], &duplicate["existingOrderId"]),
            (&json!("it's/odd"), &json!("ord_w"))
        );
        assert_eq!(
            envelope(Error::DepositReferenceNotFound("u 1".into()))["depositReference"],
            "u 1"
        );
        assert_eq!(envelope(Error::NoAvailableAddresses(Protocol::Evm))["protocol"], "evm");
        // Rebuilt from the members, not the message: a message in another wording still works.
        let mut reworded = not_found.clone();
        reworded["message"] = json!("That order does not exist");
        assert!(matches!(
            serde_json::from_value::<ErrorEnvelope>(reworded).unwrap().into_error(),
            Error::OrderNotFound(id) if id == "ord_x"
        ));
    }

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
}
