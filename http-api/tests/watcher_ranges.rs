//! A node that refuses large `eth_getLogs` ranges (as public RPC providers do): the watcher
//! shrinks its range and still finds every payment. The node is real anvil behind a small
//! JSON-RPC proxy that enforces the limit — the test's stand-in for a provider's policy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use payin_core::chain::Currency;
use payin_core::chain::scanner::{ScanOptions, Scanner};
use payin_core::order::{CreateOrderRequest, OrderStatus};
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, evm_addresses, fresh_database};
use payin_core::{Engine, EngineOptions};
use serde_json::{Value, json};

const MAX_RANGE: u64 = 8;

#[derive(Default)]
struct Seen {
    refused: AtomicU64,
    widest_served: Mutex<u64>,
}

fn block_number(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Forwards JSON-RPC to `upstream`, refusing `eth_getLogs` over more than `MAX_RANGE` blocks.
async fn limited_proxy(upstream: String, seen: Arc<Seen>) -> String {
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (client, upstream, seen) = (client.clone(), upstream.clone(), seen.clone());
            async move {
                let request: Value = serde_json::from_slice(&body).unwrap_or_default();
                if request["method"] == "eth_getLogs" {
                    let filter = &request["params"][0];
                    if let (Some(from), Some(to)) = (block_number(&filter["fromBlock"]), block_number(&filter["toBlock"])) {
                        let width = to.saturating_sub(from) + 1;
                        if width > MAX_RANGE {
                            seen.refused.fetch_add(1, Ordering::Relaxed);
                            let refusal = json!({"jsonrpc": "2.0", "id": request["id"],
                                "error": {"code": -32005, "message": "block range too large"}});
                            return axum::Json(refusal);
                        }
                        let mut widest = seen.widest_served.lock().unwrap();
                        *widest = (*widest).max(width);
                    }
                }
                let answer = client.post(&upstream).body(body).header("content-type", "application/json").send().await;
                axum::Json(match answer {
                    Ok(r) => r.json::<Value>().await.unwrap_or_default(),
                    Err(e) => json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32000, "message": e.to_string()}}),
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_ranges_shrink_and_no_payment_is_missed() {
    let Some(chain) = payin_core::testing::anvil_with_tokens().await else {
        return;
    };
    let db = fresh_database(Backend::Sqlite).await.unwrap();
    let seen = Arc::new(Seen::default());
    let proxy = limited_proxy(chain.rpc_url().to_string(), seen.clone()).await;
    let mut options = EngineOptions::new(db.url.clone());
    let mut local = chain.chain_override();
    local.rpc_urls = Some(vec![proxy]);
    options.config.chains.insert("local".into(), local);
    let engine = Arc::new(Engine::open(options).await.unwrap());
    engine
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: evm_addresses(12, 2),
        })
        .await
        .unwrap();
    let order = engine
        .create_order(CreateOrderRequest {
            order_reference: "ranges".into(),
            amount: json!("3"),
            currency: "USDT".into(),
            chain_id: "local".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // The payment sits behind 40 empty blocks, beyond the first range the watcher tries.
    chain.mine(40).await.unwrap();
    let usdt = chain.token(Currency::Usdt);
    chain
        .transfer(
            usdt.address,
            order.address.parse().unwrap(),
            alloy_primitives::U256::from(3_000_000u64),
        )
        .await
        .unwrap();
    chain.mine(3).await.unwrap();

    let network = engine.chains().get("local").unwrap().clone();
    let mut watcher_options = ScanOptions::for_network(&network);
    watcher_options.start_block = Some(0);
    let mut watcher = Scanner::new(engine.clone(), network, watcher_options).unwrap().unwrap();
    for _ in 0..200 {
        if watcher.pass().await.unwrap().caught_up {
            break;
        }
    }
    assert_eq!(
        engine.get_order(&order.order_id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert!(
        seen.refused.load(Ordering::Relaxed) > 0,
        "the node refused the first, wide ranges"
    );
    assert!(*seen.widest_served.lock().unwrap() <= MAX_RANGE);
}
