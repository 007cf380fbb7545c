//! Walking every page of a list. Each REST list query is a [`PageQuery`]: it knows its items,
//! how to ask for another page and which [`Gateway`] call fetches it. [`next_page_query`] is
//! the whole rule (ask for the next page while `hasMore`); [`pages`] and [`list_all`] are
//! streams over it, for any gateway (the client, or the engine in-process).
//!
//! Pages are offset-based: items created while a walk runs may shift an item across a page
//! boundary (seen twice, or with `sortOrder=asc` not at all). Sort ascending by creation to
//! collect everything that existed when the walk began.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, TryStreamExt};
use payin_types::deposit::{Deposit, DepositListQuery, DepositReferenceSummary, ReferenceListQuery};
use payin_types::event::{Event, EventListQuery};
use payin_types::order::{Order, OrderListQuery};
use payin_types::page::{Page, Pagination};
use payin_types::payment_link::{PaymentLink, PaymentLinkListQuery};
use payin_types::webhook::{Delivery, DeliveryListQuery, WebhookEndpoint, WebhookListQuery};
use payin_types::{Gateway, Result};

/// A list query whose page can be chosen: every `*ListQuery` of the REST API.
pub trait PageQuery: Clone + Send + Sync + 'static {
    /// What one page lists.
    type Item: Send + 'static;

    /// The page this query asks for (`page`, 1 when absent or unreadable).
    fn page_number(&self) -> u32;

    /// The same query for page `page`.
    fn with_page(&self, page: u32) -> Self;

    /// Fetches the page this query asks for.
    fn fetch<'a>(&'a self, gateway: &'a dyn Gateway) -> BoxFuture<'a, Result<Page<Self::Item>>>;
}

macro_rules! page_query {
    ($query:ty, $item:ty, $method:ident) => {
        impl PageQuery for $query {
            type Item = $item;

            fn page_number(&self) -> u32 {
                self.page
                    .as_deref()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(1)
            }

            fn with_page(&self, page: u32) -> Self {
                Self {
                    page: Some(page.to_string()),
                    ..self.clone()
                }
            }

            fn fetch<'a>(&'a self, gateway: &'a dyn Gateway) -> BoxFuture<'a, Result<Page<Self::Item>>> {
                gateway.$method(self)
            }
        }
    };
}

page_query!(OrderListQuery, Order, list_orders);
page_query!(DepositListQuery, Deposit, list_deposits);
page_query!(ReferenceListQuery, DepositReferenceSummary, list_deposit_references);
page_query!(EventListQuery, Event, list_events);
page_query!(WebhookListQuery, WebhookEndpoint, list_webhook_endpoints);
page_query!(DeliveryListQuery, Delivery, list_webhook_deliveries);
page_query!(PaymentLinkListQuery, PaymentLink, list_payment_links);

/// The query of the page after the one `query` fetched (whose pagination block is
/// `pagination`), or `None` when that was the last page.
pub fn next_page_query<Q: PageQuery>(query: &Q, pagination: &Pagination) -> Option<Q> {
    // Never back to a page already fetched, whatever the server echoes.
    let current = pagination.page.max(query.page_number());
    (pagination.has_more && current < u32::MAX).then(|| query.with_page(current + 1))
}

/// Every page of `query`, from the page it asks for to the last, fetched one at a time as the
/// stream is polled. An error ends the stream after it is yielded.
pub fn pages<G, Q>(gateway: G, query: Q) -> impl Stream<Item = Result<Page<Q::Item>>> + Send + 'static
where
    G: Gateway + 'static,
    Q: PageQuery,
{
    stream::try_unfold((gateway, Some(query)), |(gateway, next)| async move {
        let Some(query) = next else {
            return Ok(None);
        };
        let page = query.fetch(&gateway).await?;
        // An empty page ends the walk even if the server says there is more.
        let next = match page.items.is_empty() {
            true => None,
            false => next_page_query(&query, &page.pagination),
        };
        Ok(Some((page, (gateway, next))))
    })
}

/// Every item of every page of `query`, in order; see [`pages`].
pub fn list_all<G, Q>(gateway: G, query: Q) -> impl Stream<Item = Result<Q::Item>> + Send + 'static
where
    G: Gateway + 'static,
    Q: PageQuery,
{
    pages(gateway, query)
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pagination(page: u32, limit: u32, total: u64) -> Pagination {
        Pagination::new(payin_types::page::PageRequest { page, limit }, total)
    }

    #[test]
    fn the_next_page_keeps_every_filter_and_stops_after_the_last() {
        let q = OrderListQuery {
            status: Some("pending".into()),
            limit: Some("2".into()),
            ..OrderListQuery::default()
        };
        assert_eq!(q.page_number(), 1);
        let next = next_page_query(&q, &pagination(1, 2, 5)).unwrap();
        assert_eq!(
            (next.page.as_deref(), next.status.as_deref(), next.limit.as_deref()),
            (Some("2"), Some("pending"), Some("2"))
        );
        let last = next_page_query(&next, &pagination(2, 2, 5)).unwrap();
        assert_eq!(last.page.as_deref(), Some("3"));
        assert!(next_page_query(&last, &pagination(3, 2, 5)).is_none());
        assert!(next_page_query(&q, &pagination(1, 20, 0)).is_none());
    }

    #[test]
    fn a_server_echoing_an_old_page_cannot_send_the_walk_back() {
        let q = EventListQuery {
            page: Some("4".into()),
            ..EventListQuery::default()
        };
        let stale = Pagination {
            page: 1,
            limit: 20,
            total: 1000,
            total_pages: 50,
            has_more: true,
        };
        assert_eq!(next_page_query(&q, &stale).unwrap().page.as_deref(), Some("5"));
    }
}
