//! The compatible APIs in storage ([`CompatStore`]): merchant credentials, the per-order
//! records, request nonces and the hidden per-order callback endpoints. Both backends run the
//! same SQL, written once in [`compat_store_impl!`].

use async_trait::async_trait;

use super::rows::DbTime;
use crate::compat::{CompatApi, CompatMerchant, CompatOrder, MerchantCredentials, ScopedEndpoint};
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// What the compatible APIs need from storage.
#[async_trait]
pub trait CompatStore: Send + Sync {
    /// Stores a merchant with its secret; false when its public id is taken (try another).
    async fn insert_compat_merchant(&self, merchant: &CompatMerchant, secret: &str) -> Result<bool>;
    /// The API's merchants, oldest first, revoked ones included.
    async fn list_compat_merchants(&self, api: CompatApi) -> Result<Vec<CompatMerchant>>;
    /// Revokes an active merchant of `api` by id or public id; `None` when none matched.
    async fn revoke_compat_merchant(&self, api: CompatApi, id: &str, now: Timestamp) -> Result<Option<CompatMerchant>>;
    /// The active merchant of `api` with this public id, and its secret.
    async fn compat_credentials(&self, api: CompatApi, public_id: &str) -> Result<Option<MerchantCredentials>>;
    /// The active merchant with this id, and its secret.
    async fn compat_credentials_by_id(&self, merchant_id: &str) -> Result<Option<MerchantCredentials>>;
    /// Records `nonce` as seen at `now` unless it already was (and not purged): true when new.
    async fn first_use_of_nonce(&self, api: CompatApi, nonce: &str, now: Timestamp) -> Result<bool>;
    /// Forgets nonces seen before `before`; returns how many.
    async fn purge_compat_nonces(&self, before: Timestamp) -> Result<u64>;
    /// Writes an order's record (reserving the merchant's order id) and its callback endpoint,
    /// together. A merchant order id the merchant used before is `DuplicateOrderReference`
    /// (reference: the merchant order id; existing order: its order).
    async fn reserve_compat_order(&self, record: &CompatOrder, endpoint: Option<&ScopedEndpoint>) -> Result<()>;
    /// Removes a reservation whose order could not be opened, with its endpoint.
    async fn release_compat_order(&self, order_id: &str) -> Result<()>;
    async fn compat_order(&self, order_id: &str) -> Result<Option<CompatOrder>>;
    async fn compat_order_by_access_sign(&self, access_sign: &str) -> Result<Option<CompatOrder>>;
    async fn compat_order_by_merchant_order_id(
        &self,
        api: CompatApi,
        merchant_id: &str,
        merchant_order_id: &str,
    ) -> Result<Option<CompatOrder>>;
    /// The id of the hidden endpoint that receives an order's callbacks.
    async fn scoped_endpoint_of(&self, order_id: &str) -> Result<Option<String>>;
}

/// A `compat_merchants` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CompatMerchantRow {
    pub id: String,
    pub api: String,
    pub name: String,
    pub public_id: String,
    pub secret: String,
    pub created_at: DbTime,
    pub revoked_at: Option<DbTime>,
}

impl CompatMerchantRow {
    pub fn into_credentials(mut self) -> Result<MerchantCredentials> {
        let secret = std::mem::take(&mut self.secret);
        Ok(MerchantCredentials {
            merchant: self.try_into()?,
            secret,
        })
    }
}

impl TryFrom<CompatMerchantRow> for CompatMerchant {
    type Error = Error;

    fn try_from(r: CompatMerchantRow) -> Result<CompatMerchant> {
        Ok(CompatMerchant {
            id: r.id,
            api: stored_api(&r.api)?,
            name: r.name,
            public_id: r.public_id,
            created_at: r.created_at.into(),
            revoked_at: r.revoked_at.map(Into::into),
        })
    }
}

/// A `compat_orders` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CompatOrderRow {
    pub order_id: String,
    pub api: String,
    pub merchant_id: String,
    pub merchant_order_id: String,
    pub access_sign: String,
    pub callback_url: Option<String>,
    pub frontend_url: Option<String>,
    pub param: Option<String>,
    pub chain_code: String,
    pub coin_code: String,
    pub extra: String,
    pub created_at: DbTime,
}

impl TryFrom<CompatOrderRow> for CompatOrder {
    type Error = Error;

    fn try_from(r: CompatOrderRow) -> Result<CompatOrder> {
        Ok(CompatOrder {
            order_id: r.order_id,
            api: stored_api(&r.api)?,
            merchant_id: r.merchant_id,
            merchant_order_id: r.merchant_order_id,
            access_sign: r.access_sign,
            callback_url: r.callback_url,
            frontend_url: r.frontend_url,
            param: r.param,
            chain_code: r.chain_code,
            coin_code: r.coin_code,
            extra: serde_json::from_str(&r.extra).unwrap_or_default(),
            created_at: r.created_at.into(),
        })
    }
}

fn stored_api(s: &str) -> Result<CompatApi> {
    CompatApi::parse("api", s).map_err(|_| Error::Internal(format!("stored compat api '{s}'")))
}

/// The statements of [`CompatStore`], the same on both backends, for a store type with
/// `reader()` and `writer()` pools.
macro_rules! compat_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::compat::CompatStore for $store {
            async fn insert_compat_merchant(
                &self,
                m: &$crate::compat::CompatMerchant,
                secret: &str,
            ) -> $crate::error::Result<bool> {
                use $crate::store::shared::Pools;
                let done = sqlx::query(
                    "INSERT INTO compat_merchants (id, api, name, public_id, secret, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&m.id)
                .bind(m.api.as_str())
                .bind(&m.name)
                .bind(&m.public_id)
                .bind(secret)
                .bind($crate::store::rows::DbTime(m.created_at))
                .execute(self.writer())
                .await;
                match done {
                    Ok(_) => Ok(true),
                    Err(e) if $crate::store::is_unique_violation(&e, "public_id") => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }

            async fn list_compat_merchants(
                &self,
                api: $crate::compat::CompatApi,
            ) -> $crate::error::Result<Vec<$crate::compat::CompatMerchant>> {
                use $crate::store::shared::Pools;
                let rows: Vec<$crate::store::compat::CompatMerchantRow> =
                    sqlx::query_as("SELECT * FROM compat_merchants WHERE api = $1 ORDER BY created_at, id")
                        .bind(api.as_str())
                        .fetch_all(self.reader())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn revoke_compat_merchant(
                &self,
                api: $crate::compat::CompatApi,
                id: &str,
                now: $crate::time::Timestamp,
            ) -> $crate::error::Result<Option<$crate::compat::CompatMerchant>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatMerchantRow> = sqlx::query_as(
                    "UPDATE compat_merchants SET revoked_at = $3
                     WHERE api = $1 AND (id = $2 OR public_id = $2) AND revoked_at IS NULL
                     RETURNING *",
                )
                .bind(api.as_str())
                .bind(id)
                .bind($crate::store::rows::DbTime(now))
                .fetch_optional(self.writer())
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn compat_credentials(
                &self,
                api: $crate::compat::CompatApi,
                public_id: &str,
            ) -> $crate::error::Result<Option<$crate::compat::MerchantCredentials>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatMerchantRow> = sqlx::query_as(
                    "SELECT * FROM compat_merchants WHERE api = $1 AND public_id = $2 AND revoked_at IS NULL",
                )
                .bind(api.as_str())
                .bind(public_id)
                .fetch_optional(self.reader())
                .await?;
                row.map(|r| r.into_credentials()).transpose()
            }

            async fn compat_credentials_by_id(
                &self,
                merchant_id: &str,
            ) -> $crate::error::Result<Option<$crate::compat::MerchantCredentials>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatMerchantRow> =
                    sqlx::query_as("SELECT * FROM compat_merchants WHERE id = $1 AND revoked_at IS NULL")
                        .bind(merchant_id)
                        .fetch_optional(self.reader())
                        .await?;
                row.map(|r| r.into_credentials()).transpose()
            }

            async fn first_use_of_nonce(
                &self,
                api: $crate::compat::CompatApi,
                nonce: &str,
                now: $crate::time::Timestamp,
            ) -> $crate::error::Result<bool> {
                use $crate::store::shared::Pools;
                let done = sqlx::query(
                    "INSERT INTO compat_nonces (api, nonce, seen_at) VALUES ($1, $2, $3)
                     ON CONFLICT (api, nonce) DO NOTHING",
                )
                .bind(api.as_str())
                .bind(nonce)
                .bind($crate::store::rows::DbTime(now))
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn purge_compat_nonces(&self, before: $crate::time::Timestamp) -> $crate::error::Result<u64> {
                use $crate::store::shared::Pools;
                let done = sqlx::query("DELETE FROM compat_nonces WHERE seen_at < $1")
                    .bind($crate::store::rows::DbTime(before))
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn reserve_compat_order(
                &self,
                r: &$crate::compat::CompatOrder,
                endpoint: Option<&$crate::compat::ScopedEndpoint>,
            ) -> $crate::error::Result<()> {
                use $crate::store::shared::Pools;
                let mut tx = self.writer().begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO compat_orders (order_id, api, merchant_id, merchant_order_id, access_sign,
                         callback_url, frontend_url, param, chain_code, coin_code, extra, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&r.order_id)
                .bind(r.api.as_str())
                .bind(&r.merchant_id)
                .bind(&r.merchant_order_id)
                .bind(&r.access_sign)
                .bind(&r.callback_url)
                .bind(&r.frontend_url)
                .bind(&r.param)
                .bind(&r.chain_code)
                .bind(&r.coin_code)
                .bind(serde_json::Value::Object(r.extra.clone()).to_string())
                .bind($crate::store::rows::DbTime(r.created_at))
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if $crate::store::is_unique_violation(&e, "merchant_order_id") => {
                        tx.rollback().await?;
                        let existing: Option<String> = sqlx::query_scalar(
                            "SELECT order_id FROM compat_orders
                             WHERE api = $1 AND merchant_id = $2 AND merchant_order_id = $3",
                        )
                        .bind(r.api.as_str())
                        .bind(&r.merchant_id)
                        .bind(&r.merchant_order_id)
                        .fetch_optional(self.writer())
                        .await?;
                        return Err($crate::error::Error::DuplicateOrderReference {
                            reference: r.merchant_order_id.clone(),
                            existing_order_id: existing.unwrap_or_default(),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
                if let Some(s) = endpoint {
                    let events: Vec<String> = s.endpoint.events.iter().map(|t| t.as_str().to_string()).collect();
                    sqlx::query(
                        "INSERT INTO webhook_endpoints (id, url, description, events, secret, status, created_at,
                             kind, order_id, context)
                         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9)",
                    )
                    .bind(&s.endpoint.id)
                    .bind(&s.endpoint.url)
                    .bind(&s.endpoint.description)
                    .bind(sqlx::types::Json(events))
                    .bind(&s.secret)
                    .bind($crate::store::rows::DbTime(s.endpoint.created_at))
                    .bind(s.kind.as_str())
                    .bind(&s.order_id)
                    .bind(s.context.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn release_compat_order(&self, order_id: &str) -> $crate::error::Result<()> {
                use $crate::store::shared::Pools;
                let mut tx = self.writer().begin().await?;
                sqlx::query("DELETE FROM compat_orders WHERE order_id = $1")
                    .bind(order_id)
                    .execute(&mut *tx)
                    .await?;
                // No event of an order never opened can have been delivered to it.
                sqlx::query(
                    "DELETE FROM webhook_endpoints WHERE order_id = $1
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = webhook_endpoints.id)",
                )
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn compat_order(
                &self,
                order_id: &str,
            ) -> $crate::error::Result<Option<$crate::compat::CompatOrder>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatOrderRow> =
                    sqlx::query_as("SELECT * FROM compat_orders WHERE order_id = $1")
                        .bind(order_id)
                        .fetch_optional(self.reader())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn compat_order_by_access_sign(
                &self,
                access_sign: &str,
            ) -> $crate::error::Result<Option<$crate::compat::CompatOrder>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatOrderRow> =
                    sqlx::query_as("SELECT * FROM compat_orders WHERE access_sign = $1")
                        .bind(access_sign)
                        .fetch_optional(self.reader())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn compat_order_by_merchant_order_id(
                &self,
                api: $crate::compat::CompatApi,
                merchant_id: &str,
                merchant_order_id: &str,
            ) -> $crate::error::Result<Option<$crate::compat::CompatOrder>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::compat::CompatOrderRow> = sqlx::query_as(
                    "SELECT * FROM compat_orders WHERE api = $1 AND merchant_id = $2 AND merchant_order_id = $3",
                )
                .bind(api.as_str())
                .bind(merchant_id)
                .bind(merchant_order_id)
                .fetch_optional(self.reader())
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn scoped_endpoint_of(&self, order_id: &str) -> $crate::error::Result<Option<String>> {
                use $crate::store::shared::Pools;
                Ok(sqlx::query_scalar(
                    "SELECT id FROM webhook_endpoints WHERE order_id = $1 ORDER BY created_at, id LIMIT 1",
                )
                .bind(order_id)
                .fetch_optional(self.reader())
                .await?)
            }
        }
    };
}
pub(crate) use compat_store_impl;
