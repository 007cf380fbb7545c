//! The native half of the `payin` npm package: napi-rs bindings over `payin-client`, so that
//! configuration, retries (with one `Idempotency-Key` per call), pagination and webhook
//! verification are the Rust client's, byte for byte the same as in the Python package.
//!
//! The surface is deliberately plain — request parameters in and results out as JSON text,
//! errors as JSON payloads (see [`error`]) — and the package's TypeScript layer (`ts/`) gives
//! it its JavaScript shape: resource namespaces, `PayInError` subclasses, pages that are
//! awaitable and async-iterable. JSON text is also the fastest way across: `JSON.parse` in V8
//! beats building objects through Node-API one property at a time.

mod error;
mod input;
mod webhook;

use std::borrow::Cow;
use std::time::Duration;

use napi_derive::napi;
use payin_client::{Client, ClientOptions, Gateway, PageQuery, RequestOptions, next_page_query};
use payin_types::deposit::{BindProtocolRequest, BindReferenceRequest, DepositListQuery, ReferenceListQuery};
use payin_types::event::EventListQuery;
use payin_types::order::{CreateOrderRequest, OrderListQuery};
use payin_types::page::{Page, Pagination};
use payin_types::payment_link::{CreatePaymentLinkRequest, PaymentLinkListQuery};
use payin_types::pool::{AddXpubRequest, ImportAddressesRequest};
use payin_types::simulate::{MineBlocksRequest, SimulatePaymentRequest};
use payin_types::webhook::{
    CreateWebhookRequest, DeliveryListQuery, ResendRequest, RotateSecretRequest, WebhookListQuery,
};
use serde::Serialize;
use serde_json::Value;

pub use webhook::{NativeWebhook, verify_signature};

/// How a client is configured; a missing value falls back to `PAYIN_API_KEY` /
/// `PAYIN_BASE_URL` or the default.
#[napi(object)]
pub struct NativeClientOptions {
    /// The API key (`pk_…`).
    pub api_key: Option<String>,
    /// The gateway's root URL or its `/api/v1` URL.
    pub base_url: Option<String>,
    /// Milliseconds one attempt may take (default 60000).
    pub timeout: Option<f64>,
    /// Retries of a failed call: network errors, 429 and 5xx only (default 2).
    pub max_retries: Option<f64>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Options of one call.
#[napi(object)]
pub struct NativeCallOptions {
    /// The `Idempotency-Key` of a POST (default: a fresh UUID per call, reused by its retries).
    pub idempotency_key: Option<String>,
    /// Milliseconds one attempt of this call may take.
    pub timeout: Option<f64>,
    /// Retries of this call.
    pub max_retries: Option<f64>,
}

/// A client of one gateway. Cheap to share: calls run concurrently on one connection pool.
#[napi]
pub struct NativeClient {
    client: Client,
}

/// A timeout in milliseconds: positive and finite.
fn millis(field: &str, ms: f64) -> napi::Result<Duration> {
    if !(ms.is_finite() && ms > 0.0 && ms <= 86_400_000.0) {
        return Err(error::validation(
            field,
            format!("{field} must be a number of milliseconds from 1 to 86400000, got {ms}"),
        ));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// A retry count: a whole number from 0 to 100.
fn retries(ms: f64) -> napi::Result<u32> {
    if !(ms.fract() == 0.0 && (0.0..=100.0).contains(&ms)) {
        return Err(error::validation(
            "maxRetries",
            format!("maxRetries must be a whole number from 0 to 100, got {ms}"),
        ));
    }
    Ok(ms as u32)
}

fn to_json<T: Serialize>(value: &T) -> napi::Result<String> {
    serde_json::to_string(value).map_err(|e| error::api(payin_client::Error::Internal(e.to_string())))
}

/// A page with the query of the next one (`null` after the last), which the JavaScript layer
/// passes back to walk the list: the Rust client's paging rule decides when a walk ends.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageWithNext<'a, T, Q> {
    items: &'a [T],
    pagination: &'a Pagination,
    next_query: Option<Q>,
}

fn page_json<Q: PageQuery + Serialize>(query: &Q, page: Page<Q::Item>) -> napi::Result<String>
where
    Q::Item: Serialize,
{
    // An empty page ends a walk even if the server says there is more.
    let next_query = match page.items.is_empty() {
        true => None,
        false => next_page_query(query, &page.pagination),
    };
    to_json(&PageWithNext {
        items: &page.items,
        pagination: &page.pagination,
        next_query,
    })
}

#[napi]
impl NativeClient {
    /// Fails with a `VALIDATION_ERROR` naming `apiKey`, `baseUrl`, `timeout` or `maxRetries`.
    #[napi(constructor)]
    pub fn new(options: Option<NativeClientOptions>) -> napi::Result<Self> {
        let mut config = ClientOptions::from_env();
        config.user_agent = Some(format!("payin-node/{}", env!("CARGO_PKG_VERSION")));
        if let Some(options) = options {
            if let Some(key) = options.api_key {
                config.api_key = Some(key);
            }
            if let Some(url) = options.base_url {
                config.base_url = Some(url);
            }
            if let Some(ms) = options.timeout {
                config.timeout = millis("timeout", ms)?;
            }
            if let Some(n) = options.max_retries {
                config.max_retries = retries(n)?;
            }
            if let Some(agent) = options.user_agent {
                config.user_agent = Some(agent);
            }
        }
        let client = Client::from_options(config).map_err(error::api)?;
        Ok(NativeClient { client })
    }

    /// The gateway's root URL this client calls (ending in `/`, without `api/v1`).
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.client.base_url().to_string()
    }

    /// The client, or a copy of it with this call's options.
    fn with(&self, options: Option<NativeCallOptions>) -> napi::Result<Cow<'_, Client>> {
        let Some(options) = options else {
            return Ok(Cow::Borrowed(&self.client));
        };
        let call = RequestOptions {
            idempotency_key: options.idempotency_key,
            timeout: options.timeout.map(|ms| millis("timeout", ms)).transpose()?,
            max_retries: options.max_retries.map(retries).transpose()?,
        };
        Ok(Cow::Owned(self.client.with_request_options(call)))
    }

    #[napi]
    pub async fn create_order(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: CreateOrderRequest = input::body(&body)?;
        let order = self.with(options)?.create_order(req).await.map_err(error::api)?;
        to_json(&order)
    }

    #[napi]
    pub async fn get_order(&self, order_id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let order = self.with(options)?.get_order(&order_id).await.map_err(error::api)?;
        to_json(&order)
    }

    #[napi]
    pub async fn get_order_by_reference(
        &self,
        order_reference: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let order = self
            .with(options)?
            .get_order_by_reference(&order_reference)
            .await
            .map_err(error::api)?;
        to_json(&order)
    }

    #[napi]
    pub async fn list_orders(&self, query: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let q: OrderListQuery = input::query(&query)?;
        let page = self.with(options)?.list_orders(&q).await.map_err(error::api)?;
        page_json(&q, page)
    }

    /// `POST /deposits/bind` when the parameters name a `protocol`, else
    /// `POST /deposits/references` (a currency on one chain).
    #[napi]
    pub async fn bind_deposit(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let client = self.with(options)?;
        let by_protocol = serde_json::from_str::<Value>(&body)
            .ok()
            .is_some_and(|v| v.get("protocol").is_some());
        if by_protocol {
            let req: BindProtocolRequest = input::body(&body)?;
            to_json(&client.bind_deposit_protocol(req).await.map_err(error::api)?)
        } else {
            let req: BindReferenceRequest = input::body(&body)?;
            to_json(&client.bind_deposit_reference(req).await.map_err(error::api)?)
        }
    }

    #[napi]
    pub async fn get_deposit_reference(
        &self,
        deposit_reference: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let reference = self
            .with(options)?
            .get_deposit_reference(&deposit_reference)
            .await
            .map_err(error::api)?;
        to_json(&reference)
    }

    #[napi]
    pub async fn list_deposit_references(
        &self,
        query: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let q: ReferenceListQuery = input::query(&query)?;
        let page = self
            .with(options)?
            .list_deposit_references(&q)
            .await
            .map_err(error::api)?;
        page_json(&q, page)
    }

    #[napi]
    pub async fn list_deposits(&self, query: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let q: DepositListQuery = input::query(&query)?;
        let page = self.with(options)?.list_deposits(&q).await.map_err(error::api)?;
        page_json(&q, page)
    }

    /// Unbinds the reference on `chainId`, or on every chain when it is absent.
    #[napi]
    pub async fn unbind_deposit(
        &self,
        deposit_reference: String,
        chain_id: Option<String>,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let unbound = self
            .with(options)?
            .unbind_deposit(&deposit_reference, chain_id.as_deref())
            .await
            .map_err(error::api)?;
        to_json(&unbound)
    }

    #[napi]
    pub async fn list_chains(&self, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.list_chains().await.map_err(error::api)?)
    }

    #[napi]
    pub async fn pool_status(&self, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.pool_status().await.map_err(error::api)?)
    }

    #[napi]
    pub async fn import_addresses(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: ImportAddressesRequest = input::body(&body)?;
        to_json(&self.with(options)?.import_addresses(req).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn add_xpub(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: AddXpubRequest = input::body(&body)?;
        to_json(&self.with(options)?.add_xpub(req).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn list_xpubs(&self, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.list_xpubs().await.map_err(error::api)?)
    }

    #[napi]
    pub async fn create_payment_link(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: CreatePaymentLinkRequest = input::body(&body)?;
        to_json(&self.with(options)?.create_payment_link(req).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn get_payment_link(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.get_payment_link(&id).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn list_payment_links(&self, query: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let q: PaymentLinkListQuery = input::query(&query)?;
        let page = self.with(options)?.list_payment_links(&q).await.map_err(error::api)?;
        page_json(&q, page)
    }

    #[napi]
    pub async fn publish_payment_link(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(
            &self
                .with(options)?
                .publish_payment_link(&id)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn archive_payment_link(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(
            &self
                .with(options)?
                .archive_payment_link(&id)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn get_config(&self, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.get_config().await.map_err(error::api)?)
    }

    /// Sets one setting; `value` is JSON text (a number, a string or null).
    #[napi]
    pub async fn set_config(
        &self,
        key: String,
        value: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let value: Value =
            serde_json::from_str(&value).map_err(|e| error::validation("value", format!("value is not JSON: {e}")))?;
        to_json(&self.with(options)?.set_config(&key, &value).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn create_webhook(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: CreateWebhookRequest = input::body(&body)?;
        to_json(
            &self
                .with(options)?
                .create_webhook_endpoint(req)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn list_webhooks(&self, query: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let q: WebhookListQuery = input::query(&query)?;
        let page = self
            .with(options)?
            .list_webhook_endpoints(&q)
            .await
            .map_err(error::api)?;
        page_json(&q, page)
    }

    #[napi]
    pub async fn get_webhook(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(
            &self
                .with(options)?
                .get_webhook_endpoint(&id)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn delete_webhook(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(
            &self
                .with(options)?
                .delete_webhook_endpoint(&id)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn rotate_webhook_secret(
        &self,
        id: String,
        body: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let req: RotateSecretRequest = input::body(&body)?;
        to_json(
            &self
                .with(options)?
                .rotate_webhook_secret(&id, req)
                .await
                .map_err(error::api)?,
        )
    }

    #[napi]
    pub async fn list_webhook_deliveries(
        &self,
        query: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let q: DeliveryListQuery = input::query(&query)?;
        let page = self
            .with(options)?
            .list_webhook_deliveries(&q)
            .await
            .map_err(error::api)?;
        page_json(&q, page)
    }

    #[napi]
    pub async fn list_events(&self, query: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let q: EventListQuery = input::query(&query)?;
        let page = self.with(options)?.list_events(&q).await.map_err(error::api)?;
        page_json(&q, page)
    }

    #[napi]
    pub async fn get_event(&self, id: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        to_json(&self.with(options)?.get_event(&id).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn resend_event(
        &self,
        id: String,
        body: String,
        options: Option<NativeCallOptions>,
    ) -> napi::Result<String> {
        let req: ResendRequest = input::body(&body)?;
        to_json(&self.with(options)?.resend_event(&id, req).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn simulate_payment(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: SimulatePaymentRequest = input::body(&body)?;
        to_json(&self.with(options)?.simulate_payment(req).await.map_err(error::api)?)
    }

    #[napi]
    pub async fn mine_blocks(&self, body: String, options: Option<NativeCallOptions>) -> napi::Result<String> {
        let req: MineBlocksRequest = input::body(&body)?;
        to_json(&self.with(options)?.mine_blocks(req).await.map_err(error::api)?)
    }
}
