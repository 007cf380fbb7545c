//! Tool arguments: their JSON Schemas (what the assistant is shown) and [`Parameters`], the
//! extractor that turns bad arguments into a tool error naming the field.
//!
//! Argument names are the REST field names. Where a tool's arguments are a REST request body,
//! the body type itself is used through [`Api`], with its OpenAPI schema.

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ToolError;

/// Tool arguments, deserialized like a REST body. Named `Parameters` like rmcp's own wrapper,
/// whose name rmcp's `#[tool]` macro looks for to publish `T`'s schema as the input schema;
/// unlike rmcp's, arguments that do not fit `T` are not a JSON-RPC protocol error but an
/// `isError` result with the REST error envelope (`VALIDATION_ERROR`, `field`), so the
/// assistant sees what to correct.
pub struct Parameters<T>(pub Result<T, ToolError>);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Parameters(
            payin_http::from_json_value(Value::Object(arguments)).map_err(ToolError::from),
        ))
    }
}

/// `get_order`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetOrderArgs {
    /// The order id (ord_…). Give this or orderReference.
    pub order_id: Option<String>,
    /// Your own reference the order was created with.
    pub order_reference: Option<String>,
}

/// `list_orders`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListOrdersArgs {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// pending, completed or expired.
    pub status: Option<String>,
    /// USDT, USDC or DAI.
    pub currency: Option<String>,
    /// e.g. "ethereum", "polygon-amoy", "local".
    pub chain_id: Option<String>,
    /// Case-insensitive substring of the order reference.
    pub order_reference: Option<String>,
    /// createdAt (default), amount or expiresAt.
    pub sort_by: Option<String>,
    /// asc or desc (default).
    pub sort_order: Option<String>,
}

/// `bind_deposit_address`: one chain and currency, or a whole protocol family.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindDepositArgs {
    /// Your permanent identifier of the depositor, e.g. a user id.
    pub deposit_reference: String,
    /// Bind on this chain (with currency), e.g. "ethereum". Omit when giving protocol.
    pub chain_id: Option<String>,
    /// USDT, USDC or DAI (with chainId).
    pub currency: Option<String>,
    /// "evm": one address watched on every EVM chain, for every token. Instead of
    /// chainId + currency.
    pub protocol: Option<String>,
    /// At most 10 key/value pairs, echoed in responses and webhooks.
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// Tools that name one deposit reference.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepositReferenceArgs {
    pub deposit_reference: String,
}

/// `unbind_deposit_address`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnbindDepositArgs {
    pub deposit_reference: String,
    /// Unbind only this chain; every chain of the reference when omitted.
    pub chain_id: Option<String>,
}

/// `list_deposit_references`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListReferencesArgs {
    pub page: Option<u32>,
    pub limit: Option<u32>,
    /// Case-insensitive substring of the deposit reference.
    pub search: Option<String>,
}

/// `list_deposits`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListDepositsArgs {
    pub page: Option<u32>,
    pub limit: Option<u32>,
    pub deposit_reference: Option<String>,
    /// pending, confirmed or completed.
    pub status: Option<String>,
    pub currency: Option<String>,
    pub chain_id: Option<String>,
    /// detectedAt (default), amount or blockNumber.
    pub sort_by: Option<String>,
    /// asc or desc (default).
    pub sort_order: Option<String>,
}

/// Tools without arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `set_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetConfigArgs {
    /// A key of get_config, e.g. "payment_window_minutes".
    pub key: String,
    /// The new value, typed as get_config shows it.
    pub value: Value,
}

/// Tools that page through a list.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageArgs {
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

/// `get_webhook_endpoint`, `delete_webhook_endpoint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookIdArgs {
    /// The endpoint id (whe_…).
    pub webhook_id: String,
}

/// `rotate_webhook_secret`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecretArgs {
    /// The endpoint id (whe_…).
    pub webhook_id: String,
    /// How long the previous secret keeps signing next to the new one, 0 to 168 hours
    /// (default 24).
    pub keep_previous_hours: Option<u32>,
}

/// `get_event`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventIdArgs {
    /// The event id (evt_…).
    pub event_id: String,
}

/// `get_payment_link`, `publish_payment_link`, `archive_payment_link`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentLinkIdArgs {
    /// The payment link id (plk_…).
    pub id: String,
}

/// `list_payment_links`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListPaymentLinksArgs {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// draft, active or archived.
    pub status: Option<String>,
}

/// `list_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListEventsArgs {
    pub page: Option<u32>,
    pub limit: Option<u32>,
    /// Event type, e.g. "order.completed" (see the payin://events resource).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
}

/// `list_webhook_deliveries`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListDeliveriesArgs {
    pub page: Option<u32>,
    pub limit: Option<u32>,
    /// Deliveries of this event (evt_…).
    pub event_id: Option<String>,
    /// Deliveries to this endpoint (whe_…).
    pub endpoint_id: Option<String>,
    /// pending, succeeded or failed.
    pub status: Option<String>,
}

/// `resend_event`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResendEventArgs {
    /// The event (evt_…).
    pub event_id: String,
    /// Only to this endpoint (whe_…); by default to every active endpoint subscribed to the type.
    pub endpoint_id: Option<String>,
}

/// `verify_webhook_signature`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySignatureArgs {
    /// The raw request body exactly as received (a string; re-serialized JSON does not verify).
    /// Give this or eventId.
    pub payload: Option<String>,
    /// Instead of payload: the event (evt_…) whose stored body PayIn sent, e.g. to check a
    /// secret against the headers of a delivery attempt (list_webhook_deliveries shows them).
    pub event_id: Option<String>,
    /// The request's headers by name, at least webhook-id, webhook-timestamp and
    /// webhook-signature, or X-PayIn-Signature. Names are case-insensitive.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The endpoint's signing secret (whsec_…), as create_webhook_endpoint returned it.
    pub secret: String,
    /// How far webhook-timestamp may be from now, in seconds (default 300). 0 skips the check,
    /// e.g. to verify an old delivery from a log.
    pub tolerance_seconds: Option<u32>,
}

/// `page` / `limit` as the engine's queries take them (strings, parsed and reported there).
pub fn text(n: Option<u32>) -> Option<String> {
    n.map(|n| n.to_string())
}
