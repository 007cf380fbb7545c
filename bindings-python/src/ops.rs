//! The REST operations Python can run, each a [`Gateway`] call of the Rust client.
//!
//! Arguments arrive as one JSON object in the REST API's names (`orderReference`, `chainId`):
//! the path parameters are taken out of it by name, the rest is the request body or query,
//! read into the same request types the server reads (so a wrong type is a `ValidationError`
//! naming the field before anything is sent). Answers leave as the REST API's JSON `data`; a
//! list also carries `nextPage`, the page [`next_page_query`] says to fetch next, so the
//! Python pages walk a list by the same rule as the Rust client's `list_all`.

use payin_client::{Client, Error, Gateway, PageQuery, next_page_query};
use payin_types::chain::ChainInfo;
use payin_types::deposit::{DepositListQuery, ReferenceListQuery};
use payin_types::event::EventListQuery;
use payin_types::order::OrderListQuery;
use payin_types::payment_link::PaymentLinkListQuery;
use payin_types::pool::{PoolStatus, XpubKey};
use payin_types::webhook::{DeliveryListQuery, WebhookListQuery};
use pyo3::PyResult;
use pyo3::exceptions::PyValueError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

macro_rules! ops {
    ($($variant:ident = $name:literal,)*) => {
        /// One REST operation, named `<resource>.<method>` as the Python namespaces are.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Op { $($variant,)* }

        impl Op {
            pub const ALL: &[Op] = &[$(Op::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Op::$variant => $name,)* }
            }
        }
    };
}

ops! {
    OrdersCreate = "orders.create",
    OrdersGet = "orders.get",
    OrdersGetByReference = "orders.get_by_reference",
    OrdersList = "orders.list",
    DepositsBindReference = "deposits.bind_reference",
    DepositsBindProtocol = "deposits.bind_protocol",
    DepositsGetReference = "deposits.get_reference",
    DepositsListReferences = "deposits.list_references",
    DepositsList = "deposits.list",
    DepositsUnbind = "deposits.unbind",
    ChainsList = "chains.list",
    PoolStatus = "pool.status",
    PoolImportAddresses = "pool.import_addresses",
    PoolAddXpub = "pool.add_xpub",
    PoolListXpubs = "pool.list_xpubs",
    PaymentLinksCreate = "payment_links.create",
    PaymentLinksGet = "payment_links.get",
    PaymentLinksList = "payment_links.list",
    PaymentLinksPublish = "payment_links.publish",
    PaymentLinksArchive = "payment_links.archive",
    ConfigGet = "config.get",
    ConfigSet = "config.set",
    WebhooksCreate = "webhooks.create",
    WebhooksList = "webhooks.list",
    WebhooksGet = "webhooks.get",
    WebhooksDelete = "webhooks.delete",
    WebhooksRotateSecret = "webhooks.rotate_secret",
    WebhooksDeliveries = "webhooks.deliveries",
    EventsList = "events.list",
    EventsGet = "events.get",
    EventsResend = "events.resend",
    DevSimulatePayment = "dev.simulate_payment",
    DevMineBlocks = "dev.mine_blocks",
}

impl Op {
    /// The operation called `name`; an unknown name is a bug of the Python half.
    pub fn parse(name: &str) -> PyResult<Op> {
        Op::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| PyValueError::new_err(format!("payin._native has no operation {name:?}")))
    }
}

/// Runs `op` with `args` (a JSON object) and returns the answer's JSON.
pub async fn run(client: Client, op: Op, args: String) -> Result<String, Error> {
    let mut args = Args::parse(&args)?;
    let c = &client;
    match op {
        Op::OrdersCreate => answer(c.create_order(args.body()?).await?),
        Op::OrdersGet => answer(c.get_order(&args.path("orderId")?).await?),
        Op::OrdersGetByReference => answer(c.get_order_by_reference(&args.path("orderReference")?).await?),
        Op::OrdersList => page(c, args.body::<OrderListQuery>()?, "orders").await,
        Op::DepositsBindReference => answer(c.bind_deposit_reference(args.body()?).await?),
        Op::DepositsBindProtocol => answer(c.bind_deposit_protocol(args.body()?).await?),
        Op::DepositsGetReference => answer(c.get_deposit_reference(&args.path("depositReference")?).await?),
        Op::DepositsListReferences => page(c, args.body::<ReferenceListQuery>()?, "references").await,
        Op::DepositsList => page(c, args.body::<DepositListQuery>()?, "deposits").await,
        Op::DepositsUnbind => {
            let reference = args.path("depositReference")?;
            let chain_id = args.optional("chainId")?;
            answer(c.unbind_deposit(&reference, chain_id.as_deref()).await?)
        }
        Op::ChainsList => answer(Chains {
            chains: c.list_chains().await?,
        }),
        Op::PoolStatus => answer(Pools {
            pools: c.pool_status().await?,
        }),
        Op::PoolImportAddresses => answer(c.import_addresses(args.body()?).await?),
        Op::PoolAddXpub => answer(c.add_xpub(args.body()?).await?),
        Op::PaymentLinksCreate => answer(c.create_payment_link(args.body()?).await?),
        Op::PaymentLinksGet => answer(c.get_payment_link(&args.path("id")?).await?),
        Op::PaymentLinksList => page(c, args.body::<PaymentLinkListQuery>()?, "paymentLinks").await,
        Op::PaymentLinksPublish => answer(c.publish_payment_link(&args.path("id")?).await?),
        Op::PaymentLinksArchive => answer(c.archive_payment_link(&args.path("id")?).await?),
        Op::PoolListXpubs => answer(Xpubs {
            xpubs: c.list_xpubs().await?,
        }),
        Op::ConfigGet => answer(c.get_config().await?),
        Op::ConfigSet => {
            let key = args.path("key")?;
            let value = args.take("value");
            answer(c.set_config(&key, &value).await?)
        }
        Op::WebhooksCreate => answer(c.create_webhook_endpoint(args.body()?).await?),
        Op::WebhooksList => page(c, args.body::<WebhookListQuery>()?, "webhooks").await,
        Op::WebhooksGet => answer(c.get_webhook_endpoint(&args.path("webhookId")?).await?),
        Op::WebhooksDelete => answer(c.delete_webhook_endpoint(&args.path("webhookId")?).await?),
        Op::WebhooksRotateSecret => {
            let id = args.path("webhookId")?;
            answer(c.rotate_webhook_secret(&id, args.body()?).await?)
        }
        Op::WebhooksDeliveries => page(c, args.body::<DeliveryListQuery>()?, "deliveries").await,
        Op::EventsList => page(c, args.body::<EventListQuery>()?, "events").await,
        Op::EventsGet => answer(c.get_event(&args.path("eventId")?).await?),
        Op::EventsResend => {
            let id = args.path("eventId")?;
            answer(c.resend_event(&id, args.body()?).await?)
        }
        Op::DevSimulatePayment => answer(c.simulate_payment(args.body()?).await?),
        Op::DevMineBlocks => answer(c.mine_blocks(args.body()?).await?),
    }
}

/// One page as the REST API lists it (`{"<plural>": [...], "pagination": {...}}`), plus
/// `nextPage`: the page number to ask for next, or null after the last.
async fn page<Q>(client: &Client, query: Q, plural: &str) -> Result<String, Error>
where
    Q: PageQuery,
    Q::Item: Serialize,
{
    let page = query.fetch(client).await?;
    // An empty page ends a walk whatever the server says (as `list_all` does).
    let next = match page.items.is_empty() {
        true => None,
        false => next_page_query(&query, &page.pagination).map(|q| q.page_number()),
    };
    // Written out by hand to keep the items' member order (a `json!` map would sort it).
    let items = answer(&page.items)?;
    let pagination = answer(&page.pagination)?;
    let next = next.map_or("null".to_string(), |n| n.to_string());
    Ok(format!(
        r#"{{"{plural}":{items},"pagination":{pagination},"nextPage":{next}}}"#
    ))
}

/// `data` of `GET /chains`.
#[derive(Serialize)]
struct Chains {
    chains: Vec<ChainInfo>,
}

/// `data` of `GET /addresses/pool`.
#[derive(Serialize)]
struct Pools {
    pools: Vec<PoolStatus>,
}

/// `data` of `GET /addresses/xpubs`.
#[derive(Serialize)]
struct Xpubs {
    xpubs: Vec<XpubKey>,
}

fn answer(value: impl Serialize) -> Result<String, Error> {
    serde_json::to_string(&value).map_err(|e| Error::Internal(format!("answer not serializable: {e}")))
}

/// The arguments of one call: a JSON object in the REST API's names.
struct Args(Map<String, Value>);

impl Args {
    fn parse(text: &str) -> Result<Args, Error> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Args(map)),
            _ => Err(Error::Internal(format!(
                "payin._native: arguments are not a JSON object: {text}"
            ))),
        }
    }

    /// Takes the member `name`, null when absent.
    fn take(&mut self, name: &str) -> Value {
        self.0.remove(name).unwrap_or(Value::Null)
    }

    /// Takes the path parameter `name`: a non-empty string.
    fn path(&mut self, name: &str) -> Result<String, Error> {
        match self.take(name) {
            Value::String(s) if !s.is_empty() => Ok(s),
            _ => Err(Error::validation(name, format!("{name} must be a non-empty string"))),
        }
    }

    /// Takes the optional string `name`.
    fn optional(&mut self, name: &str) -> Result<Option<String>, Error> {
        match self.take(name) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(Error::validation(name, format!("{name} must be a string"))),
        }
    }

    /// The members left, read as `T` (a request body or list query). A member of the wrong
    /// type is reported with its name.
    fn body<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let members = Value::Object(std::mem::take(&mut self.0));
        serde_path_to_error::deserialize(members).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { "body".to_string() } else { field };
            Error::validation(field.clone(), format!("{field}: {}", e.into_inner()))
        })
    }
}
