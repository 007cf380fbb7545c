//! The tools: one per REST operation (same names for arguments as the REST fields), plus
//! `verify_webhook_signature` (the dev chain's tools are in `dev_tools.rs`, feature `dev`).
//! Each is parse → [`Gateway`] → render; the rules live in the engine.

use payin_core::config::Settings;
use payin_core::deposit::{
    BindProtocolRequest, BindReferenceRequest, BoundProtocol, BoundReference, DepositReference, Unbound,
};
use payin_core::engine::{DepositListQuery, EventListQuery, OrderListQuery, ReferenceListQuery};
use payin_core::event::Event;
use payin_core::order::{CreateOrderRequest, Order};
use payin_core::payment_link::{CreatePaymentLinkRequest, PaymentLink, PaymentLinkListQuery};
use payin_core::pool::{AddXpubRequest, ImportAddressesRequest, ImportResult, XpubKey};
use payin_core::webhook::signature::{self, DEFAULT_TOLERANCE_SECS};
use payin_core::webhook::{
    CreateWebhookRequest, CreatedWebhookEndpoint, DeliveryListQuery, ResendRequest, Resent, RotateSecretRequest,
    RotatedSecret, WebhookEndpoint, WebhookListQuery,
};
use payin_http::openapi::{
    ChainList, DeliveryList, DepositList, EventList, OrderList, PaymentLinkList, PoolList, ReferenceList, WebhookList,
    XpubList,
};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Json;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::Serialize;

use crate::PayinMcp;
use crate::args::*;
use crate::error::ToolError;
use crate::schema::Api;

/// A tool's result: the REST `data`, or the REST error envelope as an `isError` result.
/// (rmcp's `#[tool]` reads the output schema off each signature's written-out
/// `Result<Json<Api<T>>, ToolError>`, so the signatures use no alias.)
pub(crate) fn out<T>(value: T) -> Result<Json<Api<T>>, ToolError> {
    Ok(Json(Api(value)))
}

/// The result of `bind_deposit_address`: one chain, or a protocol family.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BoundAddress {
    Reference(BoundReference),
    Protocol(BoundProtocol),
}

/// The result of `verify_webhook_signature`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureCheck {
    /// True when every signature scheme present verified.
    pub valid: bool,
    /// The schemes that verified: "standard-webhooks" (webhook-signature) and/or "payin"
    /// (X-PayIn-Signature).
    pub schemes: Vec<String>,
    /// Why the delivery does not verify, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[tool_router(vis = "pub(crate)")]
impl PayinMcp {
    /// Every tool of this build, the dev chain's included (feature `dev`).
    #[cfg(feature = "dev")]
    pub(crate) fn tools() -> ToolRouter<Self> {
        Self::tool_router() + Self::dev_tools()
    }

    /// Every tool of this build (without the `dev` feature, no dev chain tools).
    #[cfg(not(feature = "dev"))]
    pub(crate) fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }

    // ---- orders

    /// Create a one-time payment order: PayIn assigns it its own address from the pool and
    /// watches for the payment. `amount` is a decimal string ("10.00"), never a number;
    /// `chainId` is one of list_chains ("local" is the dev chain of `payin dev`, "local-tron" its
    /// Tron-shaped one; on Tron chains the address is a base58check T… address). Returns the
    /// order with its `address`, `expiresAt` and `paymentUrl`.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn create_order(
        &self,
        Parameters(args): Parameters<Api<CreateOrderRequest>>,
    ) -> Result<Json<Api<Order>>, ToolError> {
        out(self.gateway.create_order(args?.0).await?)
    }

    /// Get one order by `orderId` (ord_…) or by your `orderReference`: its status (pending,
    /// completed, expired), amountReceived, txHash and confirmations.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_order(&self, Parameters(args): Parameters<GetOrderArgs>) -> Result<Json<Api<Order>>, ToolError> {
        let order = match args? {
            GetOrderArgs {
                order_id: Some(id),
                order_reference: None,
            } => self.gateway.get_order(&id).await?,
            GetOrderArgs {
                order_id: None,
                order_reference: Some(reference),
            } => self.gateway.get_order_by_reference(&reference).await?,
            GetOrderArgs { order_id: Some(_), .. } => {
                return Err(ToolError::validation(
                    "orderReference",
                    "give either orderId or orderReference, not both",
                ));
            }
            GetOrderArgs { .. } => {
                return Err(ToolError::validation(
                    "orderId",
                    "orderId is required (or orderReference)",
                ));
            }
        };
        out(order)
    }

    /// List orders, newest first by default, filtered by status, currency, chainId or a
    /// substring of orderReference.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_orders(
        &self,
        Parameters(args): Parameters<ListOrdersArgs>,
    ) -> Result<Json<Api<OrderList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_orders(&OrderListQuery {
                page: text(args.page),
                limit: text(args.limit),
                status: args.status,
                currency: args.currency,
                chain_id: args.chain_id,
                order_reference: args.order_reference,
                sort_by: args.sort_by,
                sort_order: args.sort_order,
            })
            .await?;
        out(OrderList {
            orders: page.items,
            pagination: page.pagination,
        })
    }

    // ---- payment links (issue 12)

    /// Create a payment link (a shareable checkout page, no code): `title`, optional
    /// `description`, `amount` as a decimal string ("0" lets the payer choose, then optional
    /// `minAmount`/`maxAmount`), `currencies` [{currency, chainId}] on watched chains, optional
    /// `inventoryTotal`, `expiresAt`, `metadata` (copied onto each order). It starts as a
    /// draft: call publish_payment_link to open its `checkoutUrl`.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn create_payment_link(
        &self,
        Parameters(args): Parameters<Api<CreatePaymentLinkRequest>>,
    ) -> Result<Json<Api<PaymentLink>>, ToolError> {
        out(self.gateway.create_payment_link(args?.0).await?)
    }

    /// Get one payment link by id (plk_…): status (draft, active, archived), checkoutUrl and
    /// inventory (total, reserved by pending orders, sold, remaining).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_payment_link(
        &self,
        Parameters(args): Parameters<PaymentLinkIdArgs>,
    ) -> Result<Json<Api<PaymentLink>>, ToolError> {
        out(self.gateway.get_payment_link(&args?.id).await?)
    }

    /// List payment links, newest first, optionally by status (draft, active, archived).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_payment_links(
        &self,
        Parameters(args): Parameters<ListPaymentLinksArgs>,
    ) -> Result<Json<Api<PaymentLinkList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_payment_links(&PaymentLinkListQuery {
                page: text(args.page),
                limit: text(args.limit),
                status: args.status,
            })
            .await?;
        out(PaymentLinkList {
            payment_links: page.items,
            pagination: page.pagination,
        })
    }

    /// Publish a draft payment link: its checkoutUrl starts taking payments. An archived link
    /// cannot be published again.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn publish_payment_link(
        &self,
        Parameters(args): Parameters<PaymentLinkIdArgs>,
    ) -> Result<Json<Api<PaymentLink>>, ToolError> {
        out(self.gateway.publish_payment_link(&args?.id).await?)
    }

    /// Archive a payment link for good: its checkoutUrl stops opening orders (orders already
    /// opened go on). It cannot be published again.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn archive_payment_link(
        &self,
        Parameters(args): Parameters<PaymentLinkIdArgs>,
    ) -> Result<Json<Api<PaymentLink>>, ToolError> {
        out(self.gateway.archive_payment_link(&args?.id).await?)
    }

    // ---- deposits

    /// Give a depositor (your `depositReference`, e.g. a user id) a permanent deposit address:
    /// on one `chainId` + `currency`, or with `protocol` "evm" one address watched on every
    /// EVM chain for every token. Every payment to it becomes a deposit.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn bind_deposit_address(
        &self,
        Parameters(args): Parameters<BindDepositArgs>,
    ) -> Result<Json<Api<BoundAddress>>, ToolError> {
        let args = args?;
        let metadata = args.metadata.map(serde_json::Value::Object);
        match (args.protocol, args.chain_id, args.currency) {
            (Some(protocol), None, None) => out(BoundAddress::Protocol(
                self.gateway
                    .bind_deposit_protocol(BindProtocolRequest {
                        deposit_reference: args.deposit_reference,
                        protocol,
                        metadata,
                    })
                    .await?,
            )),
            (Some(_), _, _) => Err(ToolError::validation(
                "protocol",
                "give either protocol or chainId + currency, not both",
            )),
            (None, Some(chain_id), Some(currency)) => out(BoundAddress::Reference(
                self.gateway
                    .bind_deposit_reference(BindReferenceRequest {
                        deposit_reference: args.deposit_reference,
                        currency,
                        chain_id,
                        metadata,
                    })
                    .await?,
            )),
            (None, Some(_), None) => Err(ToolError::validation("currency", "currency is required with chainId")),
            (None, None, _) => Err(ToolError::validation(
                "chainId",
                "chainId (with currency) is required, or protocol",
            )),
        }
    }

    /// A deposit reference's addresses and its deposit totals per currency.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_deposit_reference(
        &self,
        Parameters(args): Parameters<DepositReferenceArgs>,
    ) -> Result<Json<Api<DepositReference>>, ToolError> {
        out(self.gateway.get_deposit_reference(&args?.deposit_reference).await?)
    }

    /// List deposit references, optionally searching by a substring.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_deposit_references(
        &self,
        Parameters(args): Parameters<ListReferencesArgs>,
    ) -> Result<Json<Api<ReferenceList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_deposit_references(&ReferenceListQuery {
                page: text(args.page),
                limit: text(args.limit),
                search: args.search,
            })
            .await?;
        out(ReferenceList {
            references: page.items,
            pagination: page.pagination,
        })
    }

    /// List deposits received on deposit addresses (pending → confirmed → completed).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_deposits(
        &self,
        Parameters(args): Parameters<ListDepositsArgs>,
    ) -> Result<Json<Api<DepositList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_deposits(&DepositListQuery {
                page: text(args.page),
                limit: text(args.limit),
                deposit_reference: args.deposit_reference,
                status: args.status,
                currency: args.currency,
                chain_id: args.chain_id,
                sort_by: args.sort_by,
                sort_order: args.sort_order,
            })
            .await?;
        out(DepositList {
            deposits: page.items,
            pagination: page.pagination,
        })
    }

    /// Stop watching a deposit reference's addresses (every chain, or only `chainId`). The
    /// address cools down before it can be given to anyone else.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn unbind_deposit_address(
        &self,
        Parameters(args): Parameters<UnbindDepositArgs>,
    ) -> Result<Json<Api<Unbound>>, ToolError> {
        let args = args?;
        out(self
            .gateway
            .unbind_deposit(&args.deposit_reference, args.chain_id.as_deref())
            .await?)
    }

    // ---- chains, pool, settings

    /// The chains PayIn watches, their tokens (with decimals and whether a contract is
    /// configured) and the confirmations each requires. Tron chains (protocol "tron": tron,
    /// tron-nile, local-tron) show addresses and contracts as T…; `rpcRequirements` says what
    /// their RPC URL must serve (java-tron's JSON-RPC, e.g. https://api.trongrid.io/jsonrpc, with
    /// TronGrid's TRON-PRO-API-KEY header).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_chains(&self, Parameters(args): Parameters<NoArgs>) -> Result<Json<Api<ChainList>>, ToolError> {
        args?;
        out(ChainList {
            chains: self.gateway.list_chains().await?,
        })
    }

    /// The address pool per protocol: available, assigned and cooling-down addresses, and
    /// whether it is below its low watermark.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_pool_status(&self, Parameters(args): Parameters<NoArgs>) -> Result<Json<Api<PoolList>>, ToolError> {
        args?;
        out(PoolList {
            pools: self.gateway.pool_status().await?,
        })
    }

    /// Import watch-only addresses you control into a protocol's pool. Every address is
    /// checked first; one bad address rejects the call (naming addresses[i]) and nothing is
    /// written. Addresses already in the pool are counted as duplicates.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn import_addresses(
        &self,
        Parameters(args): Parameters<Api<ImportAddressesRequest>>,
    ) -> Result<Json<Api<ImportResult>>, ToolError> {
        out(self.gateway.import_addresses(args?.0).await?)
    }

    /// Add a watch-only HD key so the pool derives its own addresses: the ACCOUNT-level
    /// extended PUBLIC key (xpub…) of an evm (m/44'/60'/0') or tron (m/44'/195'/0') wallet
    /// account; addresses …/0/i are derived from `start` (default 0), each index once, and
    /// the pool is kept above its low watermark. Returns the key's fingerprint and its first
    /// three addresses: ask the user to compare them with their wallet. Never pass an xprv, a
    /// mnemonic or any private key: PayIn refuses them (VALIDATION_ERROR on xpub). Adding the
    /// same xpub again returns the stored key.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn add_xpub(
        &self,
        Parameters(args): Parameters<Api<AddXpubRequest>>,
    ) -> Result<Json<Api<XpubKey>>, ToolError> {
        out(self.gateway.add_xpub(args?.0).await?)
    }

    /// The pool's watch-only HD keys (xpubs), oldest first: protocol, fingerprint, path, the
    /// next index to derive and the first three addresses of each.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_xpubs(&self, Parameters(args): Parameters<NoArgs>) -> Result<Json<Api<XpubList>>, ToolError> {
        args?;
        out(XpubList {
            xpubs: self.gateway.list_xpubs().await?,
        })
    }

    /// The gateway's settings (payment window, grace period, cooldown, confirmations …).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_config(&self, Parameters(args): Parameters<NoArgs>) -> Result<Json<Api<Settings>>, ToolError> {
        args?;
        out(self.gateway.get_config().await?)
    }

    /// Change one setting of get_config; returns every setting after the change.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn set_config(&self, Parameters(args): Parameters<SetConfigArgs>) -> Result<Json<Api<Settings>>, ToolError> {
        let args = args?;
        out(self.gateway.set_config(&args.key, &args.value).await?)
    }

    // ---- webhooks and events

    /// Register a URL that receives signed webhooks (all event types, or `events`). The
    /// result carries the endpoint's signing `secret` (whsec_…): it is shown only here.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn create_webhook_endpoint(
        &self,
        Parameters(args): Parameters<Api<CreateWebhookRequest>>,
    ) -> Result<Json<Api<CreatedWebhookEndpoint>>, ToolError> {
        out(self.gateway.create_webhook_endpoint(args?.0).await?)
    }

    /// List webhook endpoints (never their secrets).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_webhook_endpoints(
        &self,
        Parameters(args): Parameters<PageArgs>,
    ) -> Result<Json<Api<WebhookList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_webhook_endpoints(&WebhookListQuery {
                page: text(args.page),
                limit: text(args.limit),
            })
            .await?;
        out(WebhookList {
            webhooks: page.items,
            pagination: page.pagination,
        })
    }

    /// One webhook endpoint: its URL, event types and status (disabled, and why).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_webhook_endpoint(
        &self,
        Parameters(args): Parameters<WebhookIdArgs>,
    ) -> Result<Json<Api<WebhookEndpoint>>, ToolError> {
        out(self.gateway.get_webhook_endpoint(&args?.webhook_id).await?)
    }

    /// Delete a webhook endpoint: nothing more is delivered to it.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn delete_webhook_endpoint(
        &self,
        Parameters(args): Parameters<WebhookIdArgs>,
    ) -> Result<Json<Api<WebhookEndpoint>>, ToolError> {
        out(self.gateway.delete_webhook_endpoint(&args?.webhook_id).await?)
    }

    /// Give an endpoint a new signing secret (returned only here). The previous secret keeps
    /// signing next to it for keepPreviousHours (default 24), so receivers switch without losing
    /// a webhook.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn rotate_webhook_secret(
        &self,
        Parameters(args): Parameters<RotateSecretArgs>,
    ) -> Result<Json<Api<RotatedSecret>>, ToolError> {
        let args = args?;
        out(self
            .gateway
            .rotate_webhook_secret(
                &args.webhook_id,
                RotateSecretRequest {
                    keep_previous_hours: args.keep_previous_hours,
                },
            )
            .await?)
    }

    /// List events (order.completed, deposit.confirmed …), newest first, optionally of one type.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_events(
        &self,
        Parameters(args): Parameters<ListEventsArgs>,
    ) -> Result<Json<Api<EventList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_events(&EventListQuery {
                page: text(args.page),
                limit: text(args.limit),
                event_type: args.event_type,
            })
            .await?;
        out(EventList {
            events: page.items,
            pagination: page.pagination,
        })
    }

    /// One event by id (evt_…): exactly the JSON body its webhooks carry.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_event(&self, Parameters(args): Parameters<EventIdArgs>) -> Result<Json<Api<Event>>, ToolError> {
        out(self.gateway.get_event(&args?.event_id).await?)
    }

    /// Webhook deliveries, newest first, each with every attempt (time, HTTP status or error,
    /// duration): why did my endpoint not get the webhook?
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_webhook_deliveries(
        &self,
        Parameters(args): Parameters<ListDeliveriesArgs>,
    ) -> Result<Json<Api<DeliveryList>>, ToolError> {
        let args = args?;
        let page = self
            .gateway
            .list_webhook_deliveries(&DeliveryListQuery {
                page: text(args.page),
                limit: text(args.limit),
                event_id: args.event_id,
                endpoint_id: args.endpoint_id,
                status: args.status,
            })
            .await?;
        out(DeliveryList {
            deliveries: page.items,
            pagination: page.pagination,
        })
    }

    /// Deliver an event again (same webhook-id, so receivers can de-duplicate).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn resend_event(
        &self,
        Parameters(args): Parameters<ResendEventArgs>,
    ) -> Result<Json<Api<Resent>>, ToolError> {
        let args = args?;
        out(self
            .gateway
            .resend_event(
                &args.event_id,
                ResendRequest {
                    endpoint_id: args.endpoint_id,
                },
            )
            .await?)
    }

    /// Check a webhook against a secret: the raw body received (or the `eventId` whose stored
    /// body was sent), its headers (as received, or an attempt's `headers` from
    /// list_webhook_deliveries) and the endpoint's secret. Says which signature schemes
    /// verified, or exactly why not (wrong secret, re-serialized body, missing header, stale
    /// timestamp …).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn verify_webhook_signature(
        &self,
        Parameters(args): Parameters<VerifySignatureArgs>,
    ) -> Result<Json<SignatureCheck>, ToolError> {
        let args = args?;
        let payload = match (args.payload, args.event_id) {
            (Some(payload), None) => payload,
            (None, Some(event_id)) => self.gateway.get_event(&event_id).await?.payload(),
            (Some(_), Some(_)) => {
                return Err(ToolError::validation(
                    "eventId",
                    "give either payload or eventId, not both",
                ));
            }
            (None, None) => {
                return Err(ToolError::validation(
                    "payload",
                    "payload is required (the raw body received), or eventId",
                ));
            }
        };
        let tolerance = match args.tolerance_seconds {
            None => DEFAULT_TOLERANCE_SECS,
            Some(0) => i64::MAX / 2,
            Some(secs) => i64::from(secs),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let check = match signature::verify(&args.secret, payload.as_bytes(), &args.headers, now, tolerance) {
            Ok(schemes) => SignatureCheck {
                valid: true,
                schemes: schemes
                    .into_iter()
                    .map(|s| match s {
                        signature::Scheme::PayIn => "payin".to_string(),
                        signature::Scheme::StandardWebhooks => "standard-webhooks".to_string(),
                    })
                    .collect(),
                reason: None,
            },
            Err(e) => SignatureCheck {
                valid: false,
                schemes: Vec::new(),
                reason: Some(e.to_string()),
            },
        };
        Ok(Json(check))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The tool names of design §5, the two reads it leaves out (`get_event`,
    /// `get_webhook_endpoint`) and `rotate_webhook_secret`: every REST operation has its tool.
    const DESIGN_TOOLS: [&str; 32] = [
        "create_order",
        "get_order",
        "list_orders",
        "bind_deposit_address",
        "get_deposit_reference",
        "list_deposit_references",
        "list_deposits",
        "unbind_deposit_address",
        "list_chains",
        "get_pool_status",
        "import_addresses",
        "add_xpub",
        "list_xpubs",
        "get_config",
        "set_config",
        "create_webhook_endpoint",
        "list_webhook_endpoints",
        "get_webhook_endpoint",
        "rotate_webhook_secret",
        "delete_webhook_endpoint",
        "list_events",
        "get_event",
        "list_webhook_deliveries",
        "resend_event",
        "verify_webhook_signature",
        "simulate_payment",
        "mine_blocks",
        "create_payment_link",
        "get_payment_link",
        "list_payment_links",
        "publish_payment_link",
        "archive_payment_link",
    ];

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => out.push(r),
                _ => refs(v, out),
            }),
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    fn assert_self_contained(tool: &str, which: &str, schema: &Value) {
        assert_eq!(schema["type"], "object", "{tool} {which}: {schema:#}");
        let mut found = Vec::new();
        refs(schema, &mut found);
        for r in found {
            let name = r
                .strip_prefix("#/$defs/")
                .unwrap_or_else(|| panic!("{tool} {which}: non-local reference {r}"));
            assert!(
                schema["$defs"][name].is_object(),
                "{tool} {which}: {r} does not resolve"
            );
        }
    }

    #[test]
    fn every_tool_of_the_design_is_served_with_object_schemas_that_resolve() {
        let tools = PayinMcp::tools().list_all();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        names.sort_unstable();
        let mut expected = DESIGN_TOOLS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        for tool in &tools {
            assert!(
                tool.description.as_deref().is_some_and(|d| d.len() > 40),
                "{}",
                tool.name
            );
            let input = Value::Object((*tool.input_schema).clone());
            assert_self_contained(&tool.name, "input", &input);
            let output = tool
                .output_schema
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no output schema", tool.name));
            assert_self_contained(&tool.name, "output", &Value::Object((**output).clone()));
            let annotations = tool.annotations.as_ref().expect("every tool is annotated");
            let reads = annotations.read_only_hint == Some(true);
            assert_eq!(
                reads,
                tool.name.starts_with("get_")
                    || tool.name.starts_with("list_")
                    || tool.name == "verify_webhook_signature",
                "{} read-only hint",
                tool.name
            );
        }
    }

    #[test]
    fn amounts_are_strings_in_the_schemas_the_assistant_sees() {
        let tools = PayinMcp::tools().list_all();
        let create = tools.iter().find(|t| t.name == "create_order").unwrap();
        assert_eq!(create.input_schema["properties"]["amount"]["type"], "string");
        let required = create.input_schema["required"].as_array().unwrap();
        for field in ["orderReference", "amount", "currency", "chainId"] {
            assert!(required.iter().any(|r| r == field), "{field} required");
        }
        let output = Value::Object((**create.output_schema.as_ref().unwrap()).clone());
        assert_eq!(output["properties"]["amountReceived"]["type"], "string", "{output:#}");
    }

    #[test]
    fn destructive_tools_say_so() {
        let tools = PayinMcp::tools().list_all();
        for name in [
            "delete_webhook_endpoint",
            "unbind_deposit_address",
            "archive_payment_link",
        ] {
            let tool = tools.iter().find(|t| t.name == name).unwrap();
            assert_eq!(
                tool.annotations.as_ref().unwrap().destructive_hint,
                Some(true),
                "{name}"
            );
        }
    }
}
