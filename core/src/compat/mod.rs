//! Compatible APIs (issue 13): what the HashNut v3 and QieJiao (epay-style) adapters of
//! `payin-http` share in the engine. Their wire types, envelopes and errors live in the
//! adapters; here are
//! - merchant credentials ([`CompatMerchant`]): one table for both APIs, the public id the
//!   merchant sends (HashNut access key id, QieJiao pid) and the secret that verifies its
//!   requests, shown once, revocable, listed without secrets;
//! - the per-order record ([`CompatOrder`]): the merchant's order id (unique per merchant), the
//!   `accessSign`, callback and return URLs, echoed parameters, the API's own chain/coin words;
//! - request nonces seen within the replay window, in the database so replicas share them;
//! - per-order callbacks: a hidden webhook endpoint scoped to the order, of the API's
//!   [`EndpointKind`](crate::webhook::notifier::EndpointKind), so the one dispatcher sends,
//!   retries, records and resends them;
//! - [`hashnut`]: HashNut's signature, chain codes, states and callback notifier.

pub mod hashnut;
pub mod qiejiao;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::order::{CreateOrderRequest, Order};
use crate::time::{Timestamp, serde_millis};
use crate::webhook::notifier::EndpointKind;
use crate::webhook::{self, EndpointStatus, WebhookEndpoint};

/// How far a signed request's timestamp may be from the server's clock, and how long its nonce
/// is remembered.
pub const REPLAY_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// Most characters of a merchant's order id (both APIs).
pub const MAX_MERCHANT_ORDER_ID_LEN: usize = 255;

/// A compatible API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CompatApi {
    Hashnut,
    Qiejiao,
}

impl CompatApi {
    pub const ALL: [CompatApi; 2] = [CompatApi::Hashnut, CompatApi::Qiejiao];

    pub fn as_str(self) -> &'static str {
        match self {
            CompatApi::Hashnut => "hashnut",
            CompatApi::Qiejiao => "qiejiao",
        }
    }

    /// `hashnut` or `qiejiao`, as in paths (`/compat/{api}/merchants`) and the CLI.
    pub fn parse(field: &str, s: &str) -> Result<CompatApi> {
        match s.trim() {
            "hashnut" => Ok(CompatApi::Hashnut),
            "qiejiao" => Ok(CompatApi::Qiejiao),
            other => Err(Error::validation(
                field,
                format!("{field} must be 'hashnut' or 'qiejiao', not '{other}'"),
            )),
        }
    }

    /// The names the API gives its two credentials, as `payin compat … add` prints them.
    pub fn credential_names(self) -> (&'static str, &'static str) {
        match self {
            CompatApi::Hashnut => ("ACCESS_KEY_ID", "SECRET"),
            CompatApi::Qiejiao => ("PID", "KEY"),
        }
    }

    /// The notifier kind of this API's per-order callbacks; `None` while the API has none (the
    /// QieJiao notifier comes with its adapter: one `EndpointKind` variant and its `Notifier`).
    pub fn endpoint_kind(self) -> Option<EndpointKind> {
        match self {
            CompatApi::Hashnut => Some(EndpointKind::Hashnut),
            CompatApi::Qiejiao => Some(EndpointKind::Qiejiao),
        }
    }

    /// A fresh public id: HashNut access key ids are `AK` + 22 upper-case alphanumerics;
    /// QieJiao pids are numeric (8 digits, never starting with 0), as merchants' code expects.
    pub fn generate_public_id(self) -> String {
        let mut rng = rand::rng();
        match self {
            CompatApi::Hashnut => format!("AK{}", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 22)),
            CompatApi::Qiejiao => rng.random_range(10_000_000u32..100_000_000).to_string(),
        }
    }

    /// A fresh secret: 48 alphanumerics for HashNut (an HMAC key), 32 for QieJiao (epay keys).
    pub fn generate_secret(self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        match self {
            CompatApi::Hashnut => random_from(ALNUM, 48),
            CompatApi::Qiejiao => random_from(ALNUM, 32),
        }
    }
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A merchant's credentials for one compatible API, as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompatMerchant {
    /// e.g. `cpm_k3j9x2m4p7q1w8e5`
    pub id: String,
    pub api: CompatApi,
    pub name: String,
    /// What the merchant sends: the HashNut `accessKeyId` or the QieJiao `pid`.
    pub public_id: String,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
}

/// A merchant just created: its secret, shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedCompatMerchant {
    #[serde(flatten)]
    pub merchant: CompatMerchant,
    /// The HashNut secret or the QieJiao key. Not retrievable again.
    pub secret: String,
}

/// `POST /api/v1/compat/{api}/merchants`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCompatMerchantRequest {
    /// 1 to 100 characters, to tell merchants apart.
    pub name: String,
}

/// An active merchant with its secret: what an adapter verifies a request with. Never shown.
#[derive(Clone)]
pub struct MerchantCredentials {
    pub merchant: CompatMerchant,
    pub secret: String,
}

impl std::fmt::Debug for MerchantCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantCredentials")
            .field("merchant", &self.merchant)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What a compatible API stores beside one of its orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatOrder {
    pub order_id: String,
    pub api: CompatApi,
    pub merchant_id: String,
    pub merchant_order_id: String,
    /// 64 upper-case hex characters, random: HashNut's `accessSign`.
    pub access_sign: String,
    /// Where per-order callbacks go (HashNut `callBackUrl`, QieJiao `notify_url`).
    pub callback_url: Option<String>,
    /// Where the shopper returns (HashNut `frontendCallbackUrl`, QieJiao `return_url`).
    pub frontend_url: Option<String>,
    /// Merchant data echoed back (QieJiao `param`).
    pub param: Option<String>,
    /// The API's chain word as sent (`tron-trc20`; QieJiao `chain_type` `1`).
    pub chain_code: String,
    /// The API's coin word as sent (`usdt`).
    pub coin_code: String,
    /// API-specific extras (a JSON object).
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub created_at: Timestamp,
}

/// A compatible API's order to open: the engine order it stands for and the API's record.
#[derive(Debug, Clone)]
pub struct NewCompatOrder {
    pub api: CompatApi,
    pub merchant_id: String,
    pub merchant_order_id: String,
    pub callback_url: Option<String>,
    pub frontend_url: Option<String>,
    pub param: Option<String>,
    pub chain_code: String,
    pub coin_code: String,
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The order itself, as `POST /orders` takes it (`receiveAddress` for shared-address mode).
    /// Its `orderReference` is set by [`Engine::create_compat_order`]
    /// (`{api}:{publicId}:{merchantOrderId}`, hashed when long).
    pub order: CreateOrderRequest,
    /// The fiat price the amount was converted from (QieJiao's CNY orders; see
    /// [`Engine::quote_fiat`]), stored with the order.
    pub quote: Option<crate::order::FiatQuote>,
}

/// The hidden endpoint a per-order callback is delivered to.
#[derive(Debug, Clone)]
pub struct ScopedEndpoint {
    pub endpoint: WebhookEndpoint,
    pub kind: EndpointKind,
    pub order_id: String,
    /// What the kind's notifier renders besides the event (a JSON object).
    pub context: serde_json::Value,
    /// Signs the callbacks of kinds that sign (QieJiao: the merchant's key).
    pub secret: String,
}

/// A fresh `accessSign`: 256 random bits as 64 upper-case hex characters.
pub fn generate_access_sign() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode_upper(bytes)
}

/// Whether a received callback answer is the text `success` (trimmed, any case): the rule of
/// both HashNut and epay-style receivers.
pub fn answered_success(status: u16, body: &[u8]) -> bool {
    status == 200
        && std::str::from_utf8(body)
            .map(|s| s.trim().eq_ignore_ascii_case("success"))
            .unwrap_or(false)
}

/// A callback URL given per order: absolute http(s), no credentials. Plain http to public
/// hosts is accepted (merchants of these APIs use it); the SSRF guard applies at creation and
/// at every delivery.
pub fn parse_callback_url(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.len() > webhook::MAX_URL_LEN {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {} characters", webhook::MAX_URL_LEN),
        ));
    }
    let url = url::Url::parse(s).map_err(|_| Error::validation(field, format!("{field} must be an absolute URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::validation(
            field,
            format!("{field} must be an absolute http(s) URL"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::validation(
            field,
            format!("{field} must not contain credentials"),
        ));
    }
    Ok(url.to_string())
}

fn merchant_not_found(api: CompatApi, id: &str) -> Error {
    Error::NotFound(format!("No active {} merchant '{id}'", api.as_str()))
}

/// The order reference of a compatible API's order: readable when it fits, hashed when the
/// merchant's order id is long.
fn order_reference(api: CompatApi, public_id: &str, merchant_order_id: &str) -> String {
    let readable = format!("{}:{public_id}:{merchant_order_id}", api.as_str());
    if readable.chars().count() <= 255 && !merchant_order_id.chars().any(char::is_control) {
        return readable;
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(merchant_order_id.as_bytes()));
    format!("{}:{public_id}:sha256:{digest}", api.as_str())
}

impl Engine {
    /// Creates credentials for `api`; the returned secret is never retrievable again.
    pub async fn create_compat_merchant(
        &self,
        api: CompatApi,
        req: CreateCompatMerchantRequest,
    ) -> Result<CreatedCompatMerchant> {
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation("name", "name must be 1 to 100 characters"));
        }
        let secret = api.generate_secret();
        // A numeric pid has ~90 million values: retry the rare collision.
        for _ in 0..8 {
            let merchant = CompatMerchant {
                id: format!("cpm_{}", ids::random_lower_alnum(16)),
                api,
                name: name.to_string(),
                public_id: api.generate_public_id(),
                created_at: self.now(),
                revoked_at: None,
            };
            if self.store().insert_compat_merchant(&merchant, &secret).await? {
                return Ok(CreatedCompatMerchant { merchant, secret });
            }
        }
        Err(Error::Internal("could not find a free merchant id".into()))
    }

    /// The API's merchants, oldest first, revoked ones included (never their secrets).
    pub async fn list_compat_merchants(&self, api: CompatApi) -> Result<Vec<CompatMerchant>> {
        self.store().list_compat_merchants(api).await
    }

    /// Revokes a merchant by id (`cpm_…`) or public id: its requests are refused from now on.
    pub async fn revoke_compat_merchant(&self, api: CompatApi, id: &str) -> Result<CompatMerchant> {
        self.store()
            .revoke_compat_merchant(api, id.trim(), self.now())
            .await?
            .ok_or_else(|| merchant_not_found(api, id))
    }

    /// The active merchant with this public id, with its secret (for verifying a request).
    pub async fn compat_credentials(&self, api: CompatApi, public_id: &str) -> Result<Option<MerchantCredentials>> {
        self.store().compat_credentials(api, public_id).await
    }

    /// The active merchant with this `cpm_` id, with its secret.
    pub async fn compat_credentials_by_id(&self, merchant_id: &str) -> Result<Option<MerchantCredentials>> {
        self.store().compat_credentials_by_id(merchant_id).await
    }

    /// Records a request nonce of `api` seen now; false when it was seen within the replay
    /// window (a replay).
    pub async fn first_use_of_nonce(&self, api: CompatApi, nonce: &str) -> Result<bool> {
        self.store().first_use_of_nonce(api, nonce, self.now()).await
    }

    /// Opens a compatible API's order: reserves the merchant's order id with the API's record
    /// (and the per-order callback endpoint, when the order has a callback URL), then opens the
    /// engine order. A merchant order id used before is `DuplicateOrderReference` naming the
    /// existing order; a failed opening releases the reservation.
    pub async fn create_compat_order(
        &self,
        merchant: &CompatMerchant,
        new: NewCompatOrder,
    ) -> Result<(CompatOrder, Order)> {
        if new.merchant_order_id.is_empty() || new.merchant_order_id.chars().count() > MAX_MERCHANT_ORDER_ID_LEN {
            return Err(Error::validation(
                "merchantOrderId",
                format!("merchantOrderId must be 1 to {MAX_MERCHANT_ORDER_ID_LEN} characters"),
            ));
        }
        let callback_url = match &new.callback_url {
            Some(url) => {
                let field = match new.api {
                    CompatApi::Hashnut => "callBackUrl",
                    CompatApi::Qiejiao => "notify_url",
                };
                let url = parse_callback_url(field, url)?;
                self.webhook_policy().check_registration(field, &url).await?;
                Some(url)
            }
            None => None,
        };
        let mut request = new.order.clone();
        request.order_reference = order_reference(new.api, &merchant.public_id, &new.merchant_order_id);
        let mut order = self.prepare_order(request, new.quote.clone()).await?;
        if new.frontend_url.as_ref().is_some_and(|u| u.len() > 1536) {
            let field = match new.api {
                CompatApi::Hashnut => "frontendCallbackUrl",
                CompatApi::Qiejiao => "return_url",
            };
            return Err(Error::validation(
                field,
                format!("{field} must be at most 1536 characters"),
            ));
        }
        if let (CompatApi::Hashnut, Some(frontend)) = (new.api, &new.frontend_url) {
            order.success_url = Some(
                hashnut::return_url(frontend, &order.order_id, &new.merchant_order_id).ok_or_else(|| {
                    Error::validation(
                        "frontendCallbackUrl",
                        "frontendCallbackUrl must be an absolute http(s) URL",
                    )
                })?,
            );
        }
        let record = CompatOrder {
            order_id: order.order_id.clone(),
            api: new.api,
            merchant_id: merchant.id.clone(),
            merchant_order_id: new.merchant_order_id.clone(),
            access_sign: generate_access_sign(),
            callback_url: callback_url.clone(),
            frontend_url: new.frontend_url.clone(),
            param: new.param.clone(),
            chain_code: new.chain_code.clone(),
            coin_code: new.coin_code.clone(),
            extra: new.extra.clone(),
            created_at: order.created_at,
        };
        let endpoint = match &callback_url {
            Some(url) => Some(self.scoped_endpoint(merchant, &record, url).await?),
            None => None,
        };
        self.store().reserve_compat_order(&record, endpoint.as_ref()).await?;
        match self.open_prepared_order(order).await {
            Ok(order) => Ok((record, order)),
            Err(e) => {
                if let Err(release) = self.store().release_compat_order(&record.order_id).await {
                    tracing::warn!(order_id = %record.order_id, error = %release, "could not release a compat order reservation");
                }
                Err(e)
            }
        }
    }

    /// The hidden endpoint of an order's callbacks: the API's kind, subscribed to the events
    /// its callbacks report, scoped to the order.
    async fn scoped_endpoint(
        &self,
        merchant: &CompatMerchant,
        record: &CompatOrder,
        url: &str,
    ) -> Result<ScopedEndpoint> {
        let kind = record
            .api
            .endpoint_kind()
            .ok_or_else(|| Error::Internal(format!("{} callbacks have no notifier yet", record.api.as_str())))?;
        let (events, context, secret) = match record.api {
            CompatApi::Hashnut => (
                hashnut::CALLBACK_EVENTS.to_vec(),
                serde_json::json!({
                    "payOrderId": record.order_id,
                    "merchantOrderId": record.merchant_order_id,
                    "accessSign": record.access_sign,
                }),
                // HashNut callbacks are unsigned; the column wants a value.
                webhook::signature::generate_secret(),
            ),
            CompatApi::Qiejiao => {
                let credentials = self
                    .compat_credentials_by_id(&merchant.id)
                    .await?
                    .ok_or_else(|| merchant_not_found(record.api, &merchant.id))?;
                (
                    // epay-style gateways notify once, on payment.
                    qiejiao::CALLBACK_EVENTS.to_vec(),
                    serde_json::json!({
                        "pid": merchant.public_id,
                        "orderNo": record.merchant_order_id,
                        "platOrderNo": record.order_id,
                        "param": record.param,
                        "extra": record.extra,
                    }),
                    credentials.secret,
                )
            }
        };
        Ok(ScopedEndpoint {
            endpoint: WebhookEndpoint {
                id: format!("whe_{}", ids::random_lower_alnum(16)),
                url: url.to_string(),
                description: Some(format!("{} callback of {}", record.api.as_str(), record.order_id)),
                events,
                status: EndpointStatus::Active,
                created_at: record.created_at,
                disabled_at: None,
                disabled_reason: None,
            },
            kind,
            order_id: record.order_id.clone(),
            context,
            secret,
        })
    }

    pub async fn compat_order(&self, order_id: &str) -> Result<Option<CompatOrder>> {
        self.store().compat_order(order_id).await
    }

    pub async fn compat_order_by_access_sign(&self, access_sign: &str) -> Result<Option<CompatOrder>> {
        self.store().compat_order_by_access_sign(access_sign).await
    }

    /// A merchant's order by the merchant's own order id.
    pub async fn compat_order_by_merchant_order_id(
        &self,
        api: CompatApi,
        merchant_id: &str,
        merchant_order_id: &str,
    ) -> Result<Option<CompatOrder>> {
        self.store()
            .compat_order_by_merchant_order_id(api, merchant_id, merchant_order_id)
            .await
    }

    /// The id of the hidden endpoint an order's callbacks are delivered to (filter
    /// `GET /webhooks/deliveries?endpointId=` with it, or resend an event to it).
    pub async fn compat_callback_endpoint(&self, order_id: &str) -> Result<Option<String>> {
        self.store().scoped_endpoint_of(order_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_have_each_apis_shape() {
        let ak = CompatApi::Hashnut.generate_public_id();
        assert!(ak.starts_with("AK") && ak.len() == 24, "{ak}");
        assert!(ak.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{ak}");
        let pid = CompatApi::Qiejiao.generate_public_id();
        assert_eq!(pid.len(), 8, "{pid}");
        assert!(
            pid.bytes().all(|b| b.is_ascii_digit()) && !pid.starts_with('0'),
            "{pid}"
        );
        assert_eq!(CompatApi::Hashnut.generate_secret().len(), 48);
        assert_eq!(CompatApi::Qiejiao.generate_secret().len(), 32);
        assert_ne!(
            CompatApi::Hashnut.generate_secret(),
            CompatApi::Hashnut.generate_secret()
        );
    }

    #[test]
    fn access_signs_are_64_uppercase_hex_and_random() {
        let a = generate_access_sign();
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{a}"
        );
        assert_ne!(a, generate_access_sign());
    }

    #[test]
    fn success_is_200_with_the_text_success_trimmed_in_any_case() {
        for body in [&b"success"[..], b"SUCCESS", b" Success\r\n", b"\tsuccess "] {
            assert!(answered_success(200, body), "{body:?}");
        }
        for (status, body) in [
            (200, &b""[..]),
            (200, b"ok"),
            (200, b"successful"),
            (200, b"{\"success\":true}"),
            (201, b"success"),
            (500, b"success"),
        ] {
            assert!(!answered_success(status, body), "{status} {body:?}");
        }
    }

    #[test]
    fn long_merchant_order_ids_give_a_hashed_reference() {
        assert_eq!(order_reference(CompatApi::Hashnut, "AK1", "ORD-1"), "hashnut:AK1:ORD-1");
        let long = "x".repeat(255);
        let r = order_reference(CompatApi::Hashnut, "AK1", &long);
        assert!(r.starts_with("hashnut:AK1:sha256:") && r.len() <= 255, "{r}");
    }

    #[test]
    fn callback_urls_are_http_or_https_without_credentials() {
        assert!(parse_callback_url("callBackUrl", "http://shop.example/notify").is_ok());
        assert!(parse_callback_url("callBackUrl", "https://shop.example/notify?a=1").is_ok());
        for bad in ["", "shop.example", "ftp://shop.example/x", "https://u:p@shop.example/"] {
            assert!(parse_callback_url("callBackUrl", bad).is_err(), "{bad}");
        }
    }
}
