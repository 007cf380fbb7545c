//! Prompts: integration guides an assistant follows step by step, written against this
//! server's real endpoints, field names and signature headers.

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptMessage, Role};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{ErrorData, prompt, prompt_router};
use serde::Deserialize;

use crate::PayinMcp;
use crate::package_code::package_step;
use crate::package_guides::{self, Guide};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckoutArgs {
    /// The merchant backend's language, e.g. "python", "typescript", "go".
    pub language: String,
    /// Its web framework, e.g. "fastapi", "express", "django".
    pub framework: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LanguageArgs {
    /// The merchant backend's language, e.g. "python", "typescript", "rust".
    pub language: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoPromptArgs {}

/// `text` followed by the code with PayIn's package for the language (Python or
/// TypeScript/JavaScript), when there is one.
fn with_package(mut text: String, language: &str, framework: Option<&str>, guide: Guide, api: &str) -> String {
    let package =
        package_step(language, framework, guide).or_else(|| package_guides::for_language(language, guide, api));
    if let Some(section) = package {
        text.push_str("\n\n");
        text.push_str(&section);
    }
    text
}

/// Steps every guide shares: the sandbox and the API key.
fn sandbox_steps(api: &str) -> String {
    format!(
        "Sandbox: `npm ci && cargo run --release -- dev` in the PayIn repository starts a local chain (chainId \
         \"local\", test USDT/USDC/DAI), the gateway at {api} and prints an API key (pk_…). Every REST call sends \
         `Authorization: Bearer pk_…` (or `X-API-Key: pk_…`). Responses are `{{\"success\": true, \"data\": …}}`; \
         errors are `{{\"success\": false, \"error\", \"code\", \"message\", \"statusCode\", \"field\"?}}` — branch on \
         `code`, show `message`. Amounts are decimal strings (\"10.00\"), never floats."
    )
}

fn webhook_steps(api: &str, language: &str) -> String {
    format!(
        "Webhooks: register the endpoint once with POST {api}/api/v1/webhooks {{\"url\": \"https://…/webhooks/payin\", \
         \"events\": [\"order.completed\", \"order.expired\", \"deposit.confirmed\"]}} (MCP: create_webhook_endpoint) \
         and store the returned `secret` (whsec_…) as a secret; it is shown once. In {language}, the handler must: \
         (1) read the RAW request body bytes, before any JSON parsing; (2) verify the Standard Webhooks signature: \
         key = base64-decode(secret without the \"whsec_\" prefix), signed content = \
         `${{webhook-id}}.${{webhook-timestamp}}.${{raw body}}`, HMAC-SHA256, base64, compare in constant time with \
         each `v1,<sig>` entry of the `webhook-signature` header, and reject a `webhook-timestamp` more than 300 s \
         from now (or use the `standardwebhooks` library) — the `X-PayIn-Signature` header (hex HMAC-SHA256 of the \
         raw body keyed with the whole secret string) is the alternative scheme; (3) de-duplicate on \
         `webhook-id` (= the event id; retries and resends reuse it); (4) answer 2xx within 15 s and do slow work \
         afterwards — non-2xx or timeouts are retried with backoff, and 410 disables the endpoint. Test it: \
         verify_webhook_signature checks a captured body + headers + secret and says exactly what is wrong; \
         list_webhook_deliveries shows every attempt's status code or error."
    )
}

#[prompt_router(vis = "pub(crate)")]
impl PayinMcp {
    pub(crate) fn prompts() -> PromptRouter<Self> {
        Self::prompt_router()
    }

    fn api(&self) -> String {
        self.options.api_url.trim_end_matches('/').to_string()
    }

    /// Add a stablecoin checkout to a merchant backend: create orders, send the payer to the
    /// order's address, fulfil on the signed order.completed webhook.
    #[prompt(name = "integrate_checkout")]
    async fn integrate_checkout(
        &self,
        Parameters(args): Parameters<CheckoutArgs>,
    ) -> Result<GetPromptResult, ErrorData> {
        let api = self.api();
        let stack = match &args.framework {
            Some(f) => format!("{} with {f}", args.language),
            None => args.language.clone(),
        };
        let text = format!(
            "Integrate PayIn stablecoin checkout into my {stack} backend. Use the PayIn MCP tools to try each \
             step before writing code.\n\n\
             1. {sandbox}\n\
             2. Pick the network: list_chains (REST GET {api}/api/v1/chains) shows chainId values, tokens and \
             decimals. Use \"local\" while developing.\n\
             3. At checkout, create an order: POST {api}/api/v1/orders with {{\"orderReference\": <your unique \
             order id>, \"amount\": \"49.90\", \"currency\": \"USDT\", \"chainId\": \"local\", \"metadata\": \
             {{\"cartId\": \"…\"}}, \"successUrl\"?: …, \"cancelUrl\"?: …}} → 201 with data.orderId, data.address, \
             data.amount, data.expiresAt, data.paymentUrl. orderReference is idempotent: a retry answers 409 \
             DUPLICATE_ORDER_REFERENCE with `existingOrderId` — fetch that order instead of failing. 503 \
             NO_AVAILABLE_ADDRESSES means the address pool is empty (import_addresses, or add_xpub so the pool derives its own).\n\
             4. Show the payer the exact amount, token, network and address (or redirect to paymentUrl), and the \
             expiry time.\n\
             5. Fulfil on the webhook, not on the redirect: on `order.completed` (data.status \"completed\", \
             data.amountReceived, data.txHash) mark the order paid; on `order.expired` release the cart; \
             `order.payment_detected` with a partial amount means the payer must send the rest; \
             `order.late_payment` arrives after expiry and needs a manual decision.\n\
             6. {webhooks}\n\
             7. As a fallback poll GET {api}/api/v1/orders/{{orderId}} (get_order) or \
             GET {api}/api/v1/orders/by-reference/{{orderReference}}.\n\
             8. Try every path on the dev chain before going live: create_order on chainId \"local\", then \
             simulate_payment with scenario exact, partial, over and late, and check get_order, list_events and \
             list_webhook_deliveries after each.\n\
             Write the code for {stack} with these exact paths and field names, an HTTP client with a timeout, \
             and the API key read from the environment (PAYIN_API_KEY).",
            sandbox = sandbox_steps(&api),
            webhooks = webhook_steps(&api, &args.language),
        );
        let text = with_package(text, &args.language, args.framework.as_deref(), Guide::Checkout, &api);
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("Stablecoin checkout with PayIn for {stack}")))
    }

    /// Give every user a permanent deposit address (wallet top-ups) and credit their balance
    /// on deposit.confirmed.
    #[prompt(name = "add_deposit_wallet")]
    async fn add_deposit_wallet(
        &self,
        Parameters(args): Parameters<LanguageArgs>,
    ) -> Result<GetPromptResult, ErrorData> {
        let api = self.api();
        let language = &args.language;
        let text = format!(
            "Add stablecoin deposits (wallet top-ups) to my {language} backend with PayIn permanent deposit \
             addresses. Try each step with the PayIn MCP tools first.\n\n\
             1. {sandbox}\n\
             2. When a user opens their deposit page, bind an address once per user: POST \
             {api}/api/v1/deposits/bind {{\"depositReference\": <user id>, \"protocol\": \"evm\"}} (one address \
             watched on every EVM chain for USDT, USDC and DAI; MCP: bind_deposit_address with protocol) or POST \
             {api}/api/v1/deposits/references {{\"depositReference\", \"chainId\", \"currency\"}} for one chain. \
             Store data.address with the user; a second bind answers 409 DUPLICATE_DEPOSIT_REFERENCE — read the \
             existing one with GET {api}/api/v1/deposits/references/{{depositReference}} \
             (get_deposit_reference).\n\
             3. Credit on webhooks: `deposit.pending` (seen on chain, not yet final: show it as incoming) and \
             `deposit.confirmed` (enough confirmations: credit data.amount of data.currency to the user found by \
             data.depositReference). Credit exactly once per data.depositId — store it with a unique constraint. \
             `payment.reversed` means a reorg removed a transfer: undo what it credited.\n\
             4. {webhooks}\n\
             5. Reconcile daily with GET {api}/api/v1/deposits?depositReference=…&status=confirmed (list_deposits) \
             and the totals of get_deposit_reference.\n\
             6. When a user closes their account: POST {api}/api/v1/deposits/unbind {{\"depositReference\"}} \
             (unbind_deposit_address); the address cools down before reuse.\n\
             7. Try it on the dev chain: bind_deposit_address, then simulate_payment with `address` = the deposit \
             address and an `amount`, then mine_blocks until list_deposits shows status confirmed.\n\
             Write the {language} code with these exact paths and field names, amounts kept as decimal strings or \
             a decimal type (never floats).",
            sandbox = sandbox_steps(&api),
            webhooks = webhook_steps(&api, language),
        );
        let text = with_package(text, language, None, Guide::DepositWallet, &api);
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("Permanent deposit addresses with PayIn for {language}")))
    }

    /// Receive, verify and process PayIn webhooks correctly (raw body, signatures, retries,
    /// idempotency).
    #[prompt(name = "handle_webhooks")]
    async fn handle_webhooks(&self, Parameters(args): Parameters<LanguageArgs>) -> Result<GetPromptResult, ErrorData> {
        let api = self.api();
        let language = &args.language;
        let text = format!(
            "Write a PayIn webhook receiver in {language}.\n\n\
             1. {webhooks}\n\
             2. Event types and their data are in the resource payin://events (order.created, \
             order.payment_detected, order.completed, order.expired, order.late_payment, deposit.address_bound, \
             deposit.address_unbound, deposit.pending, deposit.confirmed, payment.reversed, payment.unmatched, \
             pool.low). The body \
             is {{\"id\": \"evt_…\", \"type\", \"createdAt\", \"data\"}}. Ignore unknown types (answer 2xx).\n\
             3. Test against the sandbox: create_webhook_endpoint with a URL the gateway can reach (plain http is \
             allowed only for localhost), trigger events (create_order + simulate_payment), inspect \
             list_webhook_deliveries, resend one with resend_event and check the receiver treats the repeat \
             (same webhook-id) as a no-op. Feed a captured delivery to verify_webhook_signature, then change one \
             byte of the body and see it fail.\n\
             4. Full reference: payin://docs/webhook-guide; REST: {api}/api/v1.",
            webhooks = webhook_steps(&api, language),
        );
        let text = with_package(text, language, None, Guide::Webhooks, &api);
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("PayIn webhook receiver in {language}")))
    }

    /// Move a prototype built through these MCP tools to production code on the REST API.
    #[prompt(name = "migrate_to_rest_api")]
    async fn migrate_to_rest_api(&self, Parameters(_): Parameters<NoPromptArgs>) -> Result<GetPromptResult, ErrorData> {
        let api = self.api();
        let text = format!(
            "I prototyped payments with the PayIn MCP tools; turn that into production code on the REST API. \
             Every tool is one REST call with the same field names and the same JSON result (the tool's \
             structured output is the REST response's `data`; a tool error is the REST error envelope):\n\
             - create_order → POST {api}/api/v1/orders\n\
             - get_order → GET {api}/api/v1/orders/{{orderId}} or GET {api}/api/v1/orders/by-reference/{{orderReference}}\n\
             - list_orders → GET {api}/api/v1/orders?status=&currency=&chainId=&orderReference=&page=&limit=\n\
             - bind_deposit_address → POST {api}/api/v1/deposits/references (chainId + currency) or POST {api}/api/v1/deposits/bind (protocol)\n\
             - get_deposit_reference → GET {api}/api/v1/deposits/references/{{depositReference}}\n\
             - list_deposit_references → GET {api}/api/v1/deposits/references\n\
             - list_deposits → GET {api}/api/v1/deposits\n\
             - unbind_deposit_address → POST {api}/api/v1/deposits/unbind or DELETE {api}/api/v1/deposits/references/{{depositReference}}\n\
             - list_chains → GET {api}/api/v1/chains; get_pool_status → GET {api}/api/v1/addresses/pool; \
             import_addresses → POST {api}/api/v1/addresses/import; add_xpub / list_xpubs → \
             POST / GET {api}/api/v1/addresses/xpubs\n\
             - get_config → GET {api}/api/v1/config; set_config → PUT {api}/api/v1/config/{{key}} {{\"value\": …}}\n\
             - create_webhook_endpoint / list_webhook_endpoints / get_webhook_endpoint / delete_webhook_endpoint → \
             POST / GET {api}/api/v1/webhooks, GET / DELETE {api}/api/v1/webhooks/{{webhookId}}; \
             rotate_webhook_secret → POST {api}/api/v1/webhooks/{{webhookId}}/rotate-secret\n\
             - list_events → GET {api}/api/v1/events; get_event → GET {api}/api/v1/events/{{eventId}}; \
             list_webhook_deliveries → GET {api}/api/v1/webhooks/deliveries; \
             resend_event → POST {api}/api/v1/events/{{eventId}}/resend\n\
             - create_payment_link / list_payment_links → POST / GET {api}/api/v1/payment-links; \
             get_payment_link → GET {api}/api/v1/payment-links/{{id}}; publish_payment_link / archive_payment_link → \
             POST {api}/api/v1/payment-links/{{id}}/publish and /archive\n\
             - simulate_payment / mine_blocks → POST {api}/api/v1/dev/simulate-payment and /dev/mine-blocks \
             (dev chain only: replace them with real payers in production)\n\
             - verify_webhook_signature → your receiver's own verification (payin://docs/webhook-guide)\n\
             For production: switch chainId from \"local\" to the real network (list_chains), import the addresses \
             you control (payin pool import), create a production API key (`payin keys create --name prod`) and \
             read it from the environment, put the webhook URL on https, and handle 409 \
             DUPLICATE_ORDER_REFERENCE (use existingOrderId) and 503 NO_AVAILABLE_ADDRESSES. The OpenAPI document \
             (payin://openapi.json, or GET {api}/api/v1/openapi.json) generates a typed client; Rust programs can \
             use payin_client::Client."
        );
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description("From MCP prototype to the PayIn REST API"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Mode, ServerOptions};

    const API: &str = "https://pay.shop.example";

    fn server() -> PayinMcp {
        // The prompts make no call: a client of an address nothing listens on will do.
        let gateway = payin_client::Client::new("http://127.0.0.1:9", "pk_unused").unwrap();
        PayinMcp::new(
            Arc::new(gateway),
            ServerOptions {
                api_url: format!("{API}/"),
                mode: Mode::Remote,
            },
        )
    }

    fn text(result: GetPromptResult) -> String {
        serde_json::to_value(&result.messages).unwrap().to_string()
    }

    #[tokio::test]
    async fn guides_use_this_servers_endpoints_and_signature_headers() {
        let s = server();
        let checkout = text(
            s.integrate_checkout(Parameters(CheckoutArgs {
                language: "python".into(),
                framework: Some("fastapi".into()),
            }))
            .await
            .unwrap(),
        );
        let wallet = text(
            s.add_deposit_wallet(Parameters(LanguageArgs { language: "go".into() }))
                .await
                .unwrap(),
        );
        let hooks = text(
            s.handle_webhooks(Parameters(LanguageArgs {
                language: "typescript".into(),
            }))
            .await
            .unwrap(),
        );
        for (name, guide, needles) in [
            (
                "integrate_checkout",
                &checkout,
                &[
                    "/api/v1/orders",
                    "orderReference",
                    "existingOrderId",
                    "python with fastapi",
                ][..],
            ),
            (
                "add_deposit_wallet",
                &wallet,
                &[
                    "/api/v1/deposits/bind",
                    "depositReference",
                    "deposit.confirmed",
                    "my go backend",
                ][..],
            ),
            (
                "handle_webhooks",
                &hooks,
                &[
                    "payin://events",
                    "webhook-id",
                    "in typescript",
                    "from 'payin'",
                    "webhook.verify(",
                ][..],
            ),
        ] {
            assert!(
                guide.contains(&format!("{API}/api/v1")),
                "{name} names the server's API: {guide}"
            );
            assert!(!guide.contains("//api"), "{name}: no doubled slash");
            for header in ["webhook-signature", "webhook-timestamp", "X-PayIn-Signature", "whsec_"] {
                assert!(guide.contains(header), "{name} lacks {header}");
            }
            for needle in needles {
                assert!(guide.contains(needle), "{name} lacks {needle}");
            }
        }
        // Go has no PayIn package: its guide is the REST steps alone.
        assert!(!wallet.contains("from 'payin'"), "{wallet}");
    }

    #[tokio::test]
    async fn python_guides_show_the_payin_package_and_other_languages_do_not() {
        let s = server();
        let python = |framework: Option<&str>| {
            s.integrate_checkout(Parameters(CheckoutArgs {
                language: "Python".into(),
                framework: framework.map(str::to_string),
            }))
        };
        let checkout = text(python(Some("fastapi")).await.unwrap());
        let wallet = text(
            s.add_deposit_wallet(Parameters(LanguageArgs {
                language: "python3".into(),
            }))
            .await
            .unwrap(),
        );
        let hooks = text(
            s.handle_webhooks(Parameters(LanguageArgs { language: "py".into() }))
                .await
                .unwrap(),
        );
        for (guide, needles) in [
            (
                &checkout,
                &["client.orders.create(", "existing_order_id", "payin.AsyncClient()"][..],
            ),
            (
                &wallet,
                &["client.deposits.bind(", "deposit.confirmed", "list_all("][..],
            ),
            (&hooks, &["webhook.verify(raw_body", "WebhookVerificationError"][..]),
        ] {
            for needle in [
                "pip install ./bindings-python",
                "```python",
                "import payin",
                "payin.Webhook(",
            ]
            .iter()
            .chain(needles)
            {
                assert!(guide.contains(needle), "lacks {needle}: {guide}");
            }
        }
        let sync_checkout = text(python(Some("django")).await.unwrap());
        assert!(!sync_checkout.contains("AsyncClient()"), "django is not async");
        let go = text(
            s.handle_webhooks(Parameters(LanguageArgs { language: "go".into() }))
                .await
                .unwrap(),
        );
        assert!(!go.contains("bindings-python") && !go.contains("```python"));
    }

    #[tokio::test]
    async fn the_migration_guide_maps_every_tool_to_its_rest_call() {
        let guide = text(server().migrate_to_rest_api(Parameters(NoPromptArgs {})).await.unwrap());
        for tool in PayinMcp::tools().list_all() {
            assert!(
                guide.contains(tool.name.as_ref()),
                "migrate_to_rest_api does not map {}",
                tool.name
            );
        }
    }

    #[test]
    fn the_four_prompts_are_served() {
        let mut names: Vec<String> = PayinMcp::prompts().list_all().into_iter().map(|p| p.name).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "add_deposit_wallet",
                "handle_webhooks",
                "integrate_checkout",
                "migrate_to_rest_api"
            ]
        );
    }
}
