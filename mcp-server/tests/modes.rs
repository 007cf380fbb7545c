//! One server, two modes: the MCP tools over the in-process engine (embedded) and over the REST
//! API through `payin_client::Client` (remote) must answer every call identically — results and
//! errors alike, down to `existingOrderId` — on SQLite and on PostgreSQL. Both modes share one
//! database, so a record written through one is read back through both.
//!
//! The client is rmcp's own, connected over an in-memory duplex pipe.

use std::sync::Arc;

use payin_core::testing::{Backend, TestDb, evm_addresses, fresh_database};
use payin_core::{Engine, EngineOptions, Gateway};
use payin_mcp::{Mode, PayinMcp, ServerOptions};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

struct Modes {
    embedded: RunningService<RoleClient, ()>,
    remote: RunningService<RoleClient, ()>,
    _db: TestDb,
    _server: tokio::task::JoinHandle<()>,
}

async fn connect(gateway: Arc<dyn Gateway>, api_url: &str, mode: Mode) -> RunningService<RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let server = PayinMcp::new(
        gateway,
        ServerOptions {
            api_url: api_url.to_string(),
            mode,
        },
    );
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("the MCP handshake succeeds")
}

impl Modes {
    async fn start(backend: Backend) -> Option<Modes> {
        let db = fresh_database(backend).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut options = EngineOptions::new(db.url.clone());
        options.default_public_url = base.clone();
        options.config = payin_core::testing::every_chain_watched();
        // A webhook endpoint on 127.0.0.1 is registered below: the SSRF guard must allow it.
        options.config.webhooks.allow_private = payin_core::webhook::guard::loopback();
        let engine = Arc::new(Engine::open(options).await.expect("engine opens"));
        engine
            .import_addresses(payin_core::pool::ImportAddressesRequest {
                protocol: "evm".into(),
                addresses: evm_addresses(7, 20),
            })
            .await
            .unwrap();
        let (key, _) = engine.create_api_key("mcp modes").await.unwrap();
        let router = payin_http::router(engine.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let client = payin_client::Client::new(&base, key).unwrap();
        Some(Modes {
            embedded: connect(engine, &base, Mode::Embedded { workers: false }).await,
            remote: connect(Arc::new(client), &base, Mode::Remote).await,
            _db: db,
            _server: server,
        })
    }

    /// The call's outcome as `(isError, body)`: the structured result, or the error envelope
    /// the error text carries.
    async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> (bool, Value) {
        let Value::Object(arguments) = args else {
            panic!("tool arguments are an object")
        };
        let result = client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
            .await
            .unwrap_or_else(|e| panic!("{tool}: a protocol error instead of a tool result: {e}"));
        if result.is_error == Some(true) {
            let text = result.content[0].as_text().expect("an error carries text").text.clone();
            (
                true,
                serde_json::from_str(&text).expect("the error text is the JSON envelope"),
            )
        } else {
            (false, result.structured_content.expect("a structured result"))
        }
    }

    /// Calls `tool` in both modes and requires the same outcome; returns it.
    async fn both(&self, tool: &str, args: Value) -> (bool, Value) {
        let embedded = Self::call(&self.embedded, tool, args.clone()).await;
        let remote = Self::call(&self.remote, tool, args.clone()).await;
        assert_eq!(embedded, remote, "{tool} {args}: embedded and remote differ");
        embedded
    }

    /// A write through one mode (its result), then the caller reads through both.
    async fn once(&self, remote: bool, tool: &str, args: Value) -> (bool, Value) {
        Self::call(if remote { &self.remote } else { &self.embedded }, tool, args).await
    }
}

async fn embedded_and_remote_answer_alike(backend: Backend) {
    let Some(m) = Modes::start(backend).await else {
        return;
    };

    // Orders: written by one mode, read and listed by both.
    let (err, order) = m
        .once(
            false,
            "create_order",
            json!({"orderReference": "INV-1", "amount": "12.50", "currency": "USDT", "chainId": "ethereum"}),
        )
        .await;
    assert!(!err, "{order}");
    let order_id = order["orderId"].as_str().unwrap().to_string();
    assert_eq!(order["amount"], "12.50");
    assert_eq!(
        m.both("get_order", json!({"orderId": order_id})).await,
        (false, order.clone())
    );
    assert_eq!(
        m.both("get_order", json!({"orderReference": "INV-1"})).await,
        (false, order.clone())
    );
    let (_, listed) = m.both("list_orders", json!({"limit": 5, "status": "pending"})).await;
    assert_eq!(listed["orders"][0]["orderId"], order_id.as_str());

    // The same errors, envelope for envelope.
    let (err, dup) = m
        .both(
            "create_order",
            json!({"orderReference": "INV-1", "amount": "1", "currency": "USDT", "chainId": "ethereum"}),
        )
        .await;
    assert!(err);
    assert_eq!(dup["code"], "DUPLICATE_ORDER_REFERENCE");
    assert_eq!(dup["existingOrderId"], order_id.as_str());
    assert_eq!(dup["statusCode"], 409);
    let (err, bad) = m
        .both(
            "create_order",
            json!({"orderReference": "INV-2", "amount": "1.0000001", "currency": "USDT", "chainId": "ethereum"}),
        )
        .await;
    assert!(err);
    assert_eq!(
        (bad["code"].as_str(), bad["field"].as_str()),
        (Some("INVALID_AMOUNT"), Some("amount"))
    );
    let (err, missing) = m.both("get_order", json!({"orderId": "ord_missing"})).await;
    assert!(err);
    assert_eq!(missing["code"], "ORDER_NOT_FOUND");
    let (err, wrong) = m.both("list_orders", json!({"limit": "ten"})).await;
    assert!(err);
    assert_eq!(wrong["field"], "limit");

    // Deposits.
    let (err, bound) = m
        .once(
            true,
            "bind_deposit_address",
            json!({"depositReference": "user-1", "chainId": "ethereum", "currency": "USDC"}),
        )
        .await;
    assert!(!err, "{bound}");
    let (_, reference) = m
        .both("get_deposit_reference", json!({"depositReference": "user-1"}))
        .await;
    assert_eq!(reference["addresses"][0]["address"], bound["address"]);
    m.both("list_deposit_references", json!({"search": "user"})).await;
    m.both("list_deposits", json!({"depositReference": "user-1"})).await;
    let (err, again) = m
        .both(
            "bind_deposit_address",
            json!({"depositReference": "user-1", "chainId": "ethereum", "currency": "USDC"}),
        )
        .await;
    assert!(err);
    assert_eq!(again["code"], "DUPLICATE_DEPOSIT_REFERENCE");

    // Chains, pool, settings, webhooks, events.
    let (_, chains) = m.both("list_chains", json!({})).await;
    assert!(chains["chains"].as_array().unwrap().len() > 3);
    let (_, pools) = m.both("get_pool_status", json!({})).await;
    assert_eq!(pools["pools"][0]["assigned"], 2);
    let (_, config) = m
        .once(true, "set_config", json!({"key": "grace_minutes", "value": 7}))
        .await;
    assert_eq!(m.both("get_config", json!({})).await, (false, config));
    let (err, hook) = m
        .once(
            false,
            "create_webhook_endpoint",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["order.completed"]}),
        )
        .await;
    assert!(!err, "{hook}");
    let (_, hooks) = m.both("list_webhook_endpoints", json!({})).await;
    assert!(
        hooks["webhooks"][0].get("secret").is_none(),
        "secrets are shown once: {hooks}"
    );
    let (_, events) = m.both("list_events", json!({"type": "order.created"})).await;
    assert_eq!(events["events"][0]["data"]["orderId"], order_id.as_str());
    m.both("list_webhook_deliveries", json!({"limit": 10})).await;

    // The resource template reads the same order as the tool.
    for client in [&m.embedded, &m.remote] {
        let read = client
            .read_resource(ReadResourceRequestParams::new(format!("payin://orders/{order_id}")))
            .await
            .unwrap();
        let text = match &read.contents[0] {
            rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        };
        let read: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(read["orderId"], order_id.as_str());
    }

    // Completion offers live ids for the templates, and languages and frameworks for prompts.
    for client in [&m.embedded, &m.remote] {
        let ids = client
            .complete_resource_argument("payin://orders/{orderId}", "orderId", "ord_", None)
            .await
            .unwrap();
        assert!(ids.values.contains(&order_id), "{:?}", ids.values);
        let refs = client
            .complete_resource_argument(
                "payin://deposits/references/{depositReference}",
                "depositReference",
                "user",
                None,
            )
            .await
            .unwrap();
        assert_eq!(refs.values, ["user-1"]);
        let languages = client
            .complete_prompt_argument("integrate_checkout", "language", "py", None)
            .await
            .unwrap();
        assert_eq!(languages.values, ["python"]);
        let context = rmcp::model::CompletionContext::with_arguments([("language".into(), "python".into())].into());
        let frameworks = client
            .complete_prompt_argument("integrate_checkout", "framework", "", Some(context))
            .await
            .unwrap();
        assert!(
            frameworks.values.contains(&"fastapi".to_string()),
            "{:?}",
            frameworks.values
        );
    }

    // Without a dev chain, the dev tools say so in both modes.
    let (err, dev) = m.both("simulate_payment", json!({"orderId": order_id})).await;
    assert!(err);
    assert_eq!(
        dev["code"], "VALIDATION_ERROR",
        "an order on ethereum is refused first: {dev}"
    );
    let (err, dev) = m.both("mine_blocks", json!({"blocks": 1})).await;
    assert!(err);
    assert_eq!(
        (dev["code"].as_str(), dev["statusCode"].as_u64()),
        (Some("DEV_CHAIN_UNAVAILABLE"), Some(503))
    );

    // Destructive tools, then their effect seen by both.
    let hook_id = hook["id"].as_str().unwrap();
    let (err, _) = m
        .once(true, "delete_webhook_endpoint", json!({"webhookId": hook_id}))
        .await;
    assert!(!err);
    let (err, unbound) = m
        .once(false, "unbind_deposit_address", json!({"depositReference": "user-1"}))
        .await;
    assert!(!err, "{unbound}");
    let (err, gone) = m
        .both("get_deposit_reference", json!({"depositReference": "user-1"}))
        .await;
    assert!(
        err || gone["addresses"].as_array().is_some_and(|a| a.is_empty()),
        "{gone}"
    );
}

/// Many assistants at once, through both modes: one reference makes one order (the others learn
/// the winner's id), and a pool of 20 addresses gives 20 orders and not one more.
async fn concurrent_tool_calls_keep_the_gateways_invariants(backend: Backend) {
    let Some(m) = Modes::start(backend).await else {
        return;
    };
    let m = Arc::new(m);
    let same_reference = (0..30).map(|i| {
        let m = m.clone();
        tokio::spawn(async move {
            let args = json!({"orderReference": "ONE-REF", "amount": "3", "currency": "USDT", "chainId": "ethereum"});
            Modes::call(if i % 2 == 0 { &m.embedded } else { &m.remote }, "create_order", args).await
        })
    });
    let outcomes: Vec<(bool, Value)> = futures_join(same_reference).await;
    let winners: Vec<&Value> = outcomes.iter().filter(|(err, _)| !err).map(|(_, v)| v).collect();
    assert_eq!(winners.len(), 1, "one order per reference");
    let winner = winners[0]["orderId"].as_str().unwrap();
    for (err, body) in outcomes.iter().filter(|(err, _)| *err) {
        assert!(err);
        assert_eq!(body["code"], "DUPLICATE_ORDER_REFERENCE", "{body}");
        assert_eq!(body["existingOrderId"], winner, "{body}");
    }

    // 19 addresses are left in the pool of 20; 30 orders compete for them.
    let distinct = (0..30).map(|i| {
        let m = m.clone();
        tokio::spawn(async move {
            let args = json!({"orderReference": format!("MANY-{i}"), "amount": "1", "currency": "USDT", "chainId": "ethereum"});
            Modes::call(if i % 2 == 0 { &m.remote } else { &m.embedded }, "create_order", args).await
        })
    });
    let outcomes = futures_join(distinct).await;
    let created: Vec<&Value> = outcomes.iter().filter(|(err, _)| !err).map(|(_, v)| v).collect();
    assert_eq!(created.len(), 19);
    let mut addresses: Vec<&str> = created.iter().map(|o| o["address"].as_str().unwrap()).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), 19, "no address is given to two live orders");
    assert!(addresses.iter().all(|a| *a != winners[0]["address"].as_str().unwrap()));
    for (_, body) in outcomes.iter().filter(|(err, _)| *err) {
        assert_eq!(
            (body["code"].as_str(), body["statusCode"].as_u64()),
            (Some("NO_AVAILABLE_ADDRESSES"), Some(503))
        );
    }
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<(bool, Value)>>) -> Vec<(bool, Value)> {
    let mut out = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        out.push(task.await.unwrap());
    }
    out
}

payin_core::on_both_backends!(
    embedded_and_remote_answer_alike,
    concurrent_tool_calls_keep_the_gateways_invariants
);
