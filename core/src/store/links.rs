//! Payment links in storage ([`LinkStore`]). The reads and status changes run the same SQL on
//! both backends (written once, in [`link_store_reads!`]); opening an order from a link is each
//! backend's own (its locking), in `sqlite::links_open` and `postgres::links_open`.

use async_trait::async_trait;
use sqlx::types::Json;

use super::rows::DbTime;
use crate::amount::Amount;
use crate::chain::Currency;
use crate::error::{Error, Result};
use crate::order::NewOrder;
use crate::page::Page;
use crate::payment_link::{LinkCurrency, LinkOrder, NewPaymentLink, PaymentLink, PaymentLinkFilter, PaymentLinkStatus};
use crate::time::Timestamp;

/// What payment links need from storage.
#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn insert_payment_link(&self, link: &NewPaymentLink) -> Result<()>;
    async fn get_payment_link(&self, id: &str) -> Result<Option<PaymentLink>>;
    async fn get_payment_link_by_slug(&self, slug: &str) -> Result<Option<PaymentLink>>;
    /// Newest first.
    async fn list_payment_links(&self, filter: &PaymentLinkFilter) -> Result<Page<PaymentLink>>;
    /// Moves the link from `from` to `to`; false when it was not in `from` (any more).
    async fn set_payment_link_status(
        &self,
        id: &str,
        from: PaymentLinkStatus,
        to: PaymentLinkStatus,
        now: Timestamp,
    ) -> Result<bool>;
    /// In one transaction: checks the link is active, unexpired at the order's `created_at`
    /// and has a unit left (its pending and completed orders below `inventoryTotal`), then
    /// opens the order (address, row, `order.created` event) carrying the link's id.
    async fn open_link_order(&self, link_id: &str, order: NewOrder) -> Result<LinkOrder>;
}

/// Columns of a [`LinkRow`], the inventory counted from the link's orders.
macro_rules! link_columns {
    () => {
        "l.id, l.slug, l.title, l.description, l.amount, l.min_amount, l.max_amount, l.currencies,
         l.status, l.inventory_total, l.expires_at, l.metadata, l.created_at, l.updated_at,
         (SELECT COUNT(*) FROM orders o WHERE o.payment_link_id = l.id AND o.status = 'pending') AS reserved,
         (SELECT COUNT(*) FROM orders o WHERE o.payment_link_id = l.id AND o.status = 'completed') AS sold"
    };
}
pub(crate) use link_columns;

/// A `payment_links` row with its inventory counts.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LinkRow {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub amount: String,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub currencies: Json<serde_json::Value>,
    pub status: String,
    pub inventory_total: Option<i64>,
    pub expires_at: Option<DbTime>,
    pub metadata: Json<serde_json::Value>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub reserved: i64,
    pub sold: i64,
}

impl TryFrom<LinkRow> for PaymentLink {
    type Error = Error;

    fn try_from(r: LinkRow) -> Result<PaymentLink> {
        let currencies: Vec<LinkCurrency> = serde_json::from_value(r.currencies.0)
            .map_err(|e| Error::Internal(format!("stored link currencies: {e}")))?;
        let total = r.inventory_total.map(|t| t.max(0) as u64);
        let (reserved, sold) = (r.reserved.max(0) as u64, r.sold.max(0) as u64);
        Ok(PaymentLink {
            amount: Amount::from_stored(&r.amount)?,
            min_amount: r.min_amount.as_deref().map(Amount::from_stored).transpose()?,
            max_amount: r.max_amount.as_deref().map(Amount::from_stored).transpose()?,
            currencies,
            status: PaymentLinkStatus::parse("status", &r.status).map_err(|e| Error::Internal(e.to_string()))?,
            inventory_total: total,
            inventory_reserved: reserved,
            inventory_sold: sold,
            inventory_remaining: total.map(|t| t.saturating_sub(reserved + sold)),
            expires_at: r.expires_at.map(Timestamp::from),
            metadata: super::metadata_from_json(r.metadata.0),
            checkout_url: String::new(),
            created_at: r.created_at.into(),
            updated_at: r.updated_at.into(),
            id: r.id,
            slug: r.slug,
            title: r.title,
            description: r.description,
        })
    }
}

/// The stored form of a link's currencies.
pub(crate) fn currencies_json(c: &[(Currency, String)]) -> serde_json::Value {
    serde_json::Value::Array(
        c.iter()
            .map(|(currency, chain_id)| serde_json::json!({"currency": currency.as_str(), "chainId": chain_id}))
            .collect(),
    )
}

/// The statements of [`LinkStore`] both backends run alike, for a store type with `reader()`
/// and `writer()` pools; `open_link_order` delegates to `$open`.
macro_rules! link_store_impl {
    ($store:ty, $open:path) => {
        #[async_trait::async_trait]
        impl $crate::store::links::LinkStore for $store {
            async fn insert_payment_link(&self, l: &$crate::payment_link::NewPaymentLink) -> $crate::error::Result<()> {
                use $crate::store::shared::Pools;
                sqlx::query(
                    "INSERT INTO payment_links (id, slug, title, description, amount, min_amount, max_amount,
                         currencies, status, inventory_total, expires_at, metadata, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $12, $12)",
                )
                .bind(&l.id)
                .bind(&l.slug)
                .bind(&l.title)
                .bind(&l.description)
                .bind(l.amount.to_string())
                .bind(l.min_amount.map(|a| a.to_string()))
                .bind(l.max_amount.map(|a| a.to_string()))
                .bind(sqlx::types::Json($crate::store::links::currencies_json(
                    &l.currencies,
                )))
                .bind(l.inventory_total.map(|t| t as i64))
                .bind(l.expires_at.map($crate::store::rows::DbTime))
                .bind(sqlx::types::Json(&l.metadata))
                .bind($crate::store::rows::DbTime(l.created_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn get_payment_link(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::payment_link::PaymentLink>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::links::LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::store::links::link_columns!(),
                    " FROM payment_links l WHERE l.id = $1"
                ))
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn get_payment_link_by_slug(
                &self,
                slug: &str,
            ) -> $crate::error::Result<Option<$crate::payment_link::PaymentLink>> {
                use $crate::store::shared::Pools;
                let row: Option<$crate::store::links::LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::store::links::link_columns!(),
                    " FROM payment_links l WHERE l.slug = $1"
                ))
                .bind(slug)
                .fetch_optional(self.reader())
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_payment_links(
                &self,
                f: &$crate::payment_link::PaymentLinkFilter,
            ) -> $crate::error::Result<$crate::page::Page<$crate::payment_link::PaymentLink>> {
                use $crate::store::shared::Pools;
                let status = f.status.map(|s| s.as_str());
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM payment_links l WHERE (CAST($1 AS TEXT) IS NULL OR l.status = $1)",
                )
                .bind(status)
                .fetch_one(self.reader())
                .await?;
                let rows: Vec<$crate::store::links::LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::store::links::link_columns!(),
                    " FROM payment_links l WHERE (CAST($1 AS TEXT) IS NULL OR l.status = $1)
                      ORDER BY l.created_at DESC, l.id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(status)
                .bind(i64::from(f.page.limit))
                .bind(f.page.offset())
                .fetch_all(self.reader())
                .await?;
                let items = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<$crate::error::Result<Vec<_>>>()?;
                Ok($crate::page::Page {
                    items,
                    pagination: $crate::page::Pagination::new(f.page, total.max(0) as u64),
                })
            }

            async fn set_payment_link_status(
                &self,
                id: &str,
                from: $crate::payment_link::PaymentLinkStatus,
                to: $crate::payment_link::PaymentLinkStatus,
                now: $crate::time::Timestamp,
            ) -> $crate::error::Result<bool> {
                use $crate::store::shared::Pools;
                let done =
                    sqlx::query("UPDATE payment_links SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2")
                        .bind(id)
                        .bind(from.as_str())
                        .bind(to.as_str())
                        .bind($crate::store::rows::DbTime(now))
                        .execute(self.writer())
                        .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn open_link_order(
                &self,
                link_id: &str,
                order: $crate::order::NewOrder,
            ) -> $crate::error::Result<$crate::payment_link::LinkOrder> {
                $open(self, link_id, order).await
            }
        }
    };
}
pub(crate) use link_store_impl;

/// The link's state as read under the lock of `open_link_order`: whether it may sell at `now`.
pub(crate) fn check_sellable(
    status: &str,
    inventory_total: Option<i64>,
    expires_at: Option<Timestamp>,
    taken: i64,
    now: Timestamp,
) -> Option<crate::payment_link::LinkRefusal> {
    use crate::payment_link::LinkRefusal;
    match status {
        "active" => {}
        "archived" => return Some(LinkRefusal::Archived),
        _ => return Some(LinkRefusal::NotFound),
    }
    if expires_at.is_some_and(|t| t <= now) {
        return Some(LinkRefusal::Expired);
    }
    if inventory_total.is_some_and(|t| taken >= t) {
        return Some(LinkRefusal::SoldOut);
    }
    None
}
