//! A typed async client of the PayIn REST API (`/api/v1`): the [`Gateway`] over HTTP, for Rust
//! programs, the MCP server's remote mode and the Python/Node packages, which wrap this crate
//! so that configuration, retries, pagination and webhook verification behave the same in
//! every language.
//!
//! It sends the request types of `payin-types`, reads the same types back out of the
//! `{"success", "data"}` envelope, and turns error envelopes back into the [`Error`] with the
//! same `code`, `field` and subject — so a caller cannot tell it from the in-process engine
//! except by latency and the client's own errors ([`Error::Connection`], [`Error::Timeout`]).
//!
//! - **Configuration** ([`ClientOptions`]): API key and base URL, falling back to
//!   `PAYIN_API_KEY` / `PAYIN_BASE_URL`; the base URL may be the gateway's root or its `/api/v1`
//!   URL.
//! - **Retries** ([`retry`]): network errors, 429 (honouring `Retry-After`) and 5xx, with
//!   exponential backoff and full jitter; never another 4xx. Every POST carries an
//!   `Idempotency-Key`, one per call and the same on each of its retries, so a retried create
//!   returns the first order instead of making a second ([`RequestOptions`] sets your own).
//! - **Pagination** ([`pagination`]): [`Client::list_all`] streams every item of a list.
//! - **Webhooks** ([`webhook`]): [`Webhook::verify`] and [`verify_signature`].
//!
//! ```no_run
//! # use std::collections::HashMap;
//! use futures_util::TryStreamExt;
//! use payin_client::{Client, ClientOptions, Gateway, RequestOptions, Webhook};
//! use payin_types::order::{CreateOrderRequest, OrderListQuery};
//! # async fn run(raw_body: Vec<u8>, headers: HashMap<String, String>, secret: &str)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_options(ClientOptions { max_retries: 3, ..ClientOptions::from_env() })?;
//! let request = CreateOrderRequest {
//!     order_reference: "order-42".into(),
//!     amount: serde_json::json!("10.00"),
//!     currency: "USDT".into(),
//!     chain_id: "ethereum".into(),
//!     ..Default::default()
//! };
//! let order = client.create_order(request.clone()).await?; // a fresh Idempotency-Key
//! let same = client
//!     .with_request_options(RequestOptions { idempotency_key: Some("order-42".into()), ..Default::default() })
//!     .create_order(request)
//!     .await?; // your own key
//! let pending: Vec<_> = client
//!     .list_all(OrderListQuery { status: Some("pending".into()), ..Default::default() })
//!     .try_collect()
//!     .await?;
//! let event = Webhook::new(secret)?.verify(&raw_body, &headers)?;
//! # let _ = (order, same, pending, event);
//! # Ok(())
//! # }
//! ```
//!
//! Dependencies are the wire types and reqwest only (no database, chain or server stack).
//! TLS is rustls with the platform verifier, so the operating system's certificate store
//! (corporate CAs included) decides which servers are trusted.

pub mod options;
pub mod pagination;
pub mod retry;
pub mod webhook;

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::Stream;
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
use payin_types::payment_link::{CreatePaymentLinkRequest, PaymentLink, PaymentLinkListQuery};
use payin_types::pool::{AddXpubRequest, ImportAddressesRequest, ImportResult, PoolStatus, XpubKey};
#[cfg(feature = "dev")]
use payin_types::simulate::{MineBlocksRequest, MinedBlocks, SimulatePaymentRequest, SimulatedPayment};
use payin_types::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, Delivery, DeliveryListQuery, ResendRequest, Resent,
    RotateSecretRequest, RotatedSecret, WebhookEndpoint, WebhookListQuery,
};
pub use payin_types::{Error, Gateway, Result};
use reqwest::header::{HeaderValue, USER_AGENT};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use options::{
    API_KEY_ENV, BASE_URL_ENV, Backoff, ClientOptions, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
    RequestOptions, normalize_base_url,
};
pub use pagination::{PageQuery, next_page_query};
pub use retry::IDEMPOTENCY_KEY_HEADER;
pub use webhook::{Webhook, WebhookError, verify_signature};

/// A typed client of `/api/v1`, authenticating with `Authorization: Bearer pk_…`. Cheap to
/// clone (clones share one connection pool).
#[derive(Clone)]
pub struct Client {
    base_url: Url,
    auth: HeaderValue,
    http: reqwest::Client,
    timeout: Duration,
    max_retries: u32,
    backoff: Backoff,
    /// Set by [`Client::with_request_options`] for the calls made through that copy.
    call: RequestOptions,
}

/// The key stays out of logs and panic messages.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the gateway at `base_url` (its root, e.g. `https://pay.example.com`, or its
    /// `/api/v1` URL) with the default timeout and retries. Fails with [`Error::Invalid`]
    /// (field `baseUrl`) when it is not an absolute http(s) URL, or (field `apiKey`) when the
    /// key is empty.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Client> {
        Client::from_options(ClientOptions {
            api_key: Some(api_key.into()),
            base_url: Some(base_url.to_string()),
            ..ClientOptions::default()
        })
    }

    /// A client configured by `PAYIN_API_KEY` and `PAYIN_BASE_URL` alone.
    pub fn from_env() -> Result<Client> {
        Client::from_options(ClientOptions::from_env())
    }

    /// A client as `options` say (see [`ClientOptions::from_env`] for environment fallbacks).
    pub fn from_options(options: ClientOptions) -> Result<Client> {
        let api_key = options.require_api_key()?;
        let base_url = normalize_base_url(options.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
            Error::validation(
                "apiKey",
                "the API key holds characters an HTTP header cannot carry (line breaks, control characters)",
            )
        })?;
        auth.set_sensitive(true);
        let user_agent = options
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("payin-rust/{}", env!("CARGO_PKG_VERSION")));
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::validation("userAgent", "the user agent must be visible ASCII"))?;
        // reqwest's rustls verifies server certificates with rustls-platform-verifier: the
        // operating system's trust store, so a corporate CA installed there is trusted.
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .default_headers([(USER_AGENT, user_agent)].into_iter().collect())
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client {
            base_url,
            auth,
            http,
            timeout: options.timeout,
            max_retries: options.max_retries,
            backoff: options.backoff,
            call: RequestOptions::default(),
        })
    }

    /// The gateway's root this client calls (`…/` without `api/v1`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A copy of this client whose calls use `options` (for one call, typically:
    /// `client.with_request_options(RequestOptions { idempotency_key: Some(key), ..Default::default() }).create_order(req)`).
    /// A key given here is sent by every POST of the copy: a second, different POST with it is
    /// answered 409 `IDEMPOTENCY_KEY_REUSED`.
    pub fn with_request_options(&self, options: RequestOptions) -> Client {
        Client {
            call: options,
            ..self.clone()
        }
    }

    /// Every item of the list `query` asks for, page after page (see [`pagination`]):
    /// `client.list_all(OrderListQuery::default())` streams orders.
    pub fn list_all<Q: PageQuery>(&self, query: Q) -> impl Stream<Item = Result<Q::Item>> + Send + 'static {
        pagination::list_all(self.clone(), query)
    }

    /// Every page of the list `query` asks for, from its `page` on.
    pub fn pages<Q: PageQuery>(&self, query: Q) -> impl Stream<Item = Result<Page<Q::Item>>> + Send + 'static {
        pagination::pages(self.clone(), query)
    }

    /// `/api/v1/<segments…>`, each segment percent-encoded (references are merchant strings).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("checked in Client::from_options: the base URL can be a base")
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> Call {
        let builder = self
            .http
            .request(method.clone(), self.url(segments))
            .header(reqwest::header::AUTHORIZATION, self.auth.clone());
        Call { method, builder }
    }

    /// Sends the call, retrying as [`retry`] says, and unwraps `data`, or maps the error
    /// envelope back to an [`Error`].
    async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let Call { method, mut builder } = call;
        let max_retries = self.call.max_retries.unwrap_or(self.max_retries);
        let timeout = self.call.timeout.unwrap_or(self.timeout);
        if let Some(timeout) = self.call.timeout {
            builder = builder.timeout(timeout);
        }
        if method == Method::POST {
            let key = match &self.call.idempotency_key {
                Some(key) => {
                    options::check_idempotency_key(key)?;
                    key.clone()
                }
                None => retry::new_idempotency_key(),
            };
            builder = builder.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        let mut retries = 0;
        loop {
            let attempt = builder
                .try_clone()
                .ok_or_else(|| Error::Internal("request body cannot be resent".into()))?;
            match attempt_once(attempt, timeout).await {
                Attempt::Done(result) => return result,
                Attempt::Failed { error, retry_after } => {
                    if retries >= max_retries {
                        return Err(error);
                    }
                    tokio::time::sleep(self.backoff.delay(retries, retry_after)).await;
                    retries += 1;
                }
            }
        }
    }

    async fn list<T: DeserializeOwned>(&self, call: Call) -> Result<Page<T>> {
        let list: ListData<T> = self.call(call).await?;
        Ok(Page {
            items: list.items,
            pagination: list.pagination,
        })
    }
}

/// A request being prepared: its method decides whether it carries an `Idempotency-Key`.
struct Call {
    method: Method,
    builder: RequestBuilder,
}

impl Call {
    fn json(self, body: &impl Serialize) -> Call {
        Call {
            builder: self.builder.json(body),
            ..self
        }
    }

    fn query(self, query: &impl Serialize) -> Call {
        Call {
            builder: self.builder.query(query),
            ..self
        }
    }
}

/// What one attempt of a call came to.
enum Attempt<T> {
    /// An answer to return (success, or an error that retrying cannot fix).
    Done(Result<T>),
    /// A failure worth another attempt (no answer, 429, 5xx).
    Failed {
        error: Error,
        retry_after: Option<Duration>,
    },
}

async fn attempt_once<T: DeserializeOwned>(req: RequestBuilder, timeout: Duration) -> Attempt<T> {
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => return transport_failure(e, timeout),
    };
    let status = resp.status();
    let retry_after = retry::retry_after(resp.headers(), SystemTime::now());
    let body = match resp.bytes().await {
        Ok(body) => body,
        Err(e) => return transport_failure(e, timeout),
    };
    if status.is_success() {
        return Attempt::Done(
            serde_json::from_slice::<Data<T>>(&body)
                .map(|d| d.data)
                .map_err(|e| Error::Internal(format!("PayIn API answered {status} with an unexpected body: {e}"))),
        );
    }
    let error = error_of(status, &body);
    if retry::is_retryable_status(status) {
        Attempt::Failed { error, retry_after }
    } else {
        Attempt::Done(Err(error))
    }
}

/// A request that got no answer: a timeout or a connection failure, both retried; a request
/// that could not even be built is not.
fn transport_failure<T>(e: reqwest::Error, timeout: Duration) -> Attempt<T> {
    let mut detail = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    let error = if e.is_timeout() {
        Error::Timeout(format!(
            "PayIn API request timed out (no answer within {timeout:?}): {detail}"
        ))
    } else if e.is_builder() {
        return Attempt::Done(Err(Error::Internal(format!("PayIn API request not sent: {detail}"))));
    } else {
        Error::Connection(format!("PayIn API request failed: {detail}"))
    };
    Attempt::Failed {
        error,
        retry_after: None,
    }
}

/// The error an answer with a non-2xx `status` carries: its envelope's, or when there is none
/// (a proxy's page), one that says what came back.
fn error_of(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(mut err) => {
            // The answer's own status wins over what the envelope repeats.
            err.status_code = Some(status.as_u16());
            err.into_error()
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body).chars().take(200).collect::<String>();
            let message = format!("PayIn API answered {status} without an error envelope: {text}");
            match status {
                StatusCode::TOO_MANY_REQUESTS => Error::RateLimited(message),
                _ => Error::Unrecognized {
                    status: status.as_u16(),
                    code: None,
                    message,
                },
            }
        }
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
        alias = "deliveries",
        alias = "paymentLinks"
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

#[derive(Deserialize)]
struct XpubList {
    xpubs: Vec<XpubKey>,
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

    // payment links
    async fn create_payment_link(&self, req: CreatePaymentLinkRequest) -> Result<PaymentLink> {
        self.call(self.request(Method::POST, &["payment-links"]).json(&req))
            .await
    }

    async fn get_payment_link(&self, id: &str) -> Result<PaymentLink> {
        self.call(self.request(Method::GET, &["payment-links", id])).await
    }

    async fn list_payment_links(&self, q: &PaymentLinkListQuery) -> Result<Page<PaymentLink>> {
        self.list(self.request(Method::GET, &["payment-links"]).query(q)).await
    }

    async fn publish_payment_link(&self, id: &str) -> Result<PaymentLink> {
        self.call(self.request(Method::POST, &["payment-links", id, "publish"]))
            .await
    }

    async fn archive_payment_link(&self, id: &str) -> Result<PaymentLink> {
        self.call(self.request(Method::POST, &["payment-links", id, "archive"]))
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

    async fn add_xpub(&self, req: AddXpubRequest) -> Result<XpubKey> {
        self.call(self.request(Method::POST, &["addresses", "xpubs"]).json(&req))
            .await
    }

    async fn list_xpubs(&self) -> Result<Vec<XpubKey>> {
        let list: XpubList = self.call(self.request(Method::GET, &["addresses", "xpubs"])).await?;
        Ok(list.xpubs)
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
    fn the_api_v1_url_form_calls_the_same_paths() {
        for base in ["http://localhost:8080/api/v1", "http://localhost:8080/api/v1/"] {
            let c = Client::new(base, "pk_x").unwrap();
            assert_eq!(c.url(&["orders"]).as_str(), "http://localhost:8080/api/v1/orders");
        }
    }

    #[test]
    fn a_base_url_that_is_not_http_is_refused_naming_the_field() {
        let err = Client::new("ftp://x", "pk_x").unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "baseUrl"),
            "{err}"
        );
    }

    #[test]
    fn an_api_key_is_required_and_must_fit_a_header() {
        assert_eq!(Client::new("http://h", "").unwrap_err().field(), Some("apiKey"));
        assert_eq!(Client::new("http://h", "pk_a\nb").unwrap_err().field(), Some("apiKey"));
        let err = Client::from_options(ClientOptions::default()).unwrap_err();
        assert!(err.to_string().contains("PAYIN_API_KEY"), "{err}");
        assert!(!format!("{:?}", Client::new("http://h", "pk_secret").unwrap()).contains("pk_secret"));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connection_error_not_a_panic() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let c = Client::from_options(ClientOptions {
            api_key: Some("pk_x".into()),
            base_url: Some("http://127.0.0.1:9".into()),
            max_retries: 0,
            ..ClientOptions::default()
        })
        .unwrap();
        let err = c.get_order("ord_x").await.unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
        assert_eq!((err.code(), err.status_code()), ("CONNECTION_ERROR", None));
        assert!(err.to_string().contains("PayIn API request failed"), "{err}");
    }

    #[test]
    fn an_answer_without_an_envelope_says_what_came_back() {
        let e = error_of(StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
        assert!(e.is_internal());
        assert!(
            e.to_string().contains("502 Bad Gateway") && e.to_string().contains("<html>"),
            "{e}"
        );
        let limited = error_of(StatusCode::TOO_MANY_REQUESTS, b"slow down");
        assert_eq!(limited.code(), "RATE_LIMITED");
    }
}
