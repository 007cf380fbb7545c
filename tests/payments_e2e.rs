//! The whole gateway as a merchant runs it: `payin serve` watching a real anvil chain, a real
//! webhook receiver, and a `kill -9` in the middle of a stream of payments.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};

mod support;

use support::{BIN, Server};

/// A local HTTP server recording every webhook it receives.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let r = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let r = r.clone();
                async move {
                    r.seen.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn event_ids(&self) -> HashSet<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| {
                serde_json::from_slice::<Value>(body).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

fn start_server(db: &str, config: &str) -> Server {
    let mut command = Command::new(BIN);
    command
        .env("PAYIN_DATABASE_URL", db)
        .env("PAYIN_TICK_MS", "100")
        .env_remove("RUST_LOG");
    Server::start(command, &["--config", config])
}

async fn call(method: &str, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A gateway's files for one test: a SQLite database with an API key and a pool, and a config
/// file pointing chain `local` at `chain` with `confirmations`, allowing webhooks to the
/// receivers on 127.0.0.1 (the SSRF guard refuses loopback unless the config allows it).
struct Setup {
    dir: tempfile::TempDir,
    db: String,
    config: String,
    key: String,
}

impl Setup {
    fn new(chain: &payin_core::dev::devnet::Devnet, confirmations: u32, pool_seed: u32) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("payin.db").display());
        let usdt = chain.token(payin_core::chain::Currency::Usdt);
        let config = dir.path().join("payin.toml");
        std::fs::write(
            &config,
            format!(
                "[chains.local]\nrpc_urls = [\"{}\"]\nconfirmations = {confirmations}\n[chains.local.tokens.USDT]\ncontract = \"{}\"\n\
                 [webhooks]\nallow_private = [\"127.0.0.0/8\"]\n",
                chain.rpc_url(),
                usdt.address
            ),
        )
        .unwrap();
        let mut setup = Setup {
            config: config.display().to_string(),
            db,
            dir,
            key: String::new(),
        };
        setup.key = setup.run(&["keys", "create", "--name", "e2e"]).trim().to_string();
        let pool = setup.dir.path().join("pool.txt");
        std::fs::write(&pool, payin_core::testing::evm_addresses(pool_seed, 5).join("\n")).unwrap();
        setup.run(&["pool", "import", "--protocol", "evm", &pool.display().to_string()]);
        setup
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .env("PAYIN_DATABASE_URL", &self.db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn serve(&self) -> Server {
        start_server(&self.db, &self.config)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_stream_of_200_transfers_loses_and_duplicates_nothing() {
    let Some(chain) = payin_core::testing::anvil_with_tokens().await else {
        return;
    };
    let setup = Setup::new(&chain, 1, 9);
    let (key, usdt) = (
        setup.key.clone(),
        chain.token(payin_core::chain::Currency::Usdt).clone(),
    );
    let (receiver, hook_url) = Receiver::start().await;
    let mut server = setup.serve();
    let (status, endpoint) = call(
        "POST",
        &format!("{}/api/v1/webhooks", server.base),
        &key,
        Some(json!({"url": hook_url, "events": ["deposit.pending", "deposit.confirmed"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let (status, bound) = call(
        "POST",
        &format!("{}/api/v1/deposits/bind", server.base),
        &key,
        Some(json!({"depositReference": "stream", "protocol": "evm"})),
    )
    .await;
    assert_eq!(status, 201, "{bound}");
    let to: Address = bound["data"]["address"].as_str().unwrap().parse().unwrap();

    // 200 transfers of 1.000001 … 1.000200 USDT; the server dies by SIGKILL after the 70th.
    let mut expected = rust_decimal::Decimal::ZERO;
    for i in 1..=200u64 {
        chain
            .transfer(usdt.address, to, U256::from(1_000_000 + i))
            .await
            .unwrap();
        expected += rust_decimal::Decimal::new(1_000_000 + i as i64, 6);
        if i == 70 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            // SIGKILL: no graceful shutdown, no chance to flush anything.
            server.child.kill().unwrap();
            server.child.wait().unwrap();
        }
        if i == 140 {
            server = setup.serve();
        }
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let deposits = loop {
        let (_, body) = call(
            "GET",
            &format!("{}/api/v1/deposits?limit=100&status=completed", server.base),
            &key,
            None,
        )
        .await;
        let total = body["data"]["pagination"]["total"].as_u64().unwrap();
        let delivered = receiver.event_ids().len();
        if total == 200 && delivered >= 400 {
            break total;
        }
        assert!(
            Instant::now() < deadline,
            "{total} deposits completed, {delivered} events delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(deposits, 200);
    let mut hashes = HashSet::new();
    for page in 1..=2 {
        let (_, body) = call(
            "GET",
            &format!("{}/api/v1/deposits?limit=100&page={page}", server.base),
            &key,
            None,
        )
        .await;
        for d in body["data"]["deposits"].as_array().unwrap() {
            assert!(
                hashes.insert(d["txHash"].as_str().unwrap().to_string()),
                "recorded twice: {d}"
            );
        }
    }
    assert_eq!(hashes.len(), 200);
    let (_, reference) = call(
        "GET",
        &format!("{}/api/v1/deposits/references/stream", server.base),
        &key,
        None,
    )
    .await;
    assert_eq!(reference["data"]["totalDeposits"], 200);
    let total: rust_decimal::Decimal = reference["data"]["totalAmount"]["USDT"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, expected, "exactly the sum of the 200 transfers");

    // Every event was delivered at least once: 200 deposit.pending + 200 deposit.confirmed.
    let (_, events) = call(
        "GET",
        &format!("{}/api/v1/events?limit=100&type=deposit.confirmed", server.base),
        &key,
        None,
    )
    .await;
    assert_eq!(events["data"]["pagination"]["total"], 200);
    assert_eq!(receiver.event_ids().len(), 400);
    // /health shows the chain's head, cursor and lag.
    let (status, health) = call("GET", &format!("{}/health", server.base), &key, None).await;
    assert_eq!(status, 200);
    let local = health["data"]["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chainId"] == "local")
        .cloned()
        .unwrap();
    assert!(local["head"].as_u64().unwrap() >= 200, "{local}");
    assert!(local["lag"].as_u64().unwrap() <= 2, "{local}");
    assert_eq!(local["lastError"], Value::Null);
}

/// The seed's recipe and the `standardwebhooks` package, both in Python, on one delivery.
const VERIFY_PY: &str = r#"
import hashlib, hmac, json, sys
from standardwebhooks import Webhook
secret, headers = sys.argv[1], json.loads(sys.argv[2])
body = sys.stdin.buffer.read()
if not hmac.compare_digest(headers["x-payin-signature"], hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()):
    sys.exit("X-PayIn-Signature mismatch")
Webhook(secret).verify(body, headers)
print("verified")
"#;

fn verify_with_python(secret: &str, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    use std::io::Write;
    if !Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but standardwebhooks is missing"
        );
        let _ = std::io::stderr().write_all(b"SKIPPED: Python package standardwebhooks is missing\n");
        return None;
    }
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), Value::String(v.to_str().unwrap().to_string())))
        .collect();
    let mut child = Command::new("python3")
        .args(["-c", VERIFY_PY, secret, &Value::Object(headers).to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exact_payment_on_chain_delivers_a_signed_order_completed_webhook() {
    let Some(chain) = payin_core::testing::anvil_with_tokens().await else {
        return;
    };
    let setup = Setup::new(&chain, 2, 10);
    let (key, usdt) = (
        setup.key.clone(),
        chain.token(payin_core::chain::Currency::Usdt).clone(),
    );
    let (receiver, hook_url) = Receiver::start().await;
    let server = setup.serve();
    let (_, endpoint) = call(
        "POST",
        &format!("{}/api/v1/webhooks", server.base),
        &key,
        Some(json!({"url": hook_url, "events": ["order.completed"]})),
    )
    .await;
    let secret = endpoint["data"]["secret"].as_str().unwrap().to_string();
    let (status, order) = call(
        "POST",
        &format!("{}/api/v1/orders", server.base),
        &key,
        Some(json!({"orderReference": "ORDER-2025-001", "amount": "49.99", "currency": "USDT", "chainId": "local"})),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["data"]["orderId"].as_str().unwrap().to_string();
    let to: Address = order["data"]["address"].as_str().unwrap().parse().unwrap();
    let paid = chain
        .transfer(usdt.address, to, U256::from(49_990_000u64))
        .await
        .unwrap();
    // One confirmation is not enough on this chain: the order stays pending until a second block.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, pending) = call("GET", &format!("{}/api/v1/orders/{order_id}", server.base), &key, None).await;
    assert_eq!(pending["data"]["status"], "pending", "{pending}");
    assert_eq!(pending["data"]["amountReceived"], "49.99");
    chain.mine(1).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let (headers, body) = loop {
        if let Some(hit) = receiver.seen.lock().unwrap().first().cloned() {
            break hit;
        }
        assert!(Instant::now() < deadline, "no order.completed webhook");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "order.completed");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["data"]["orderId"], order_id.as_str());
    assert_eq!(event["data"]["status"], "completed");
    assert_eq!(event["data"]["txHash"], paid.tx_hash.to_string());
    assert_eq!(event["data"]["confirmations"], 2);
    assert_eq!(headers["webhook-id"], event["id"].as_str().unwrap());
    if let Some(verdict) = verify_with_python(&secret, &headers, &body) {
        assert_eq!(verdict, "verified");
    }
    // A tampered body fails both schemes.
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    if let Some(verdict) = verify_with_python(&secret, &headers, &tampered) {
        assert!(verdict.contains("mismatch"), "{verdict}");
    }
    let (_, deliveries) = call(
        "GET",
        &format!("{}/api/v1/webhooks/deliveries", server.base),
        &key,
        None,
    )
    .await;
    assert_eq!(
        deliveries["data"]["deliveries"][0]["status"], "succeeded",
        "{deliveries}"
    );
}

/// A Tron order and a Tron deposit through `payin serve` on chain `local-tron` (anvil behind the
/// test double of a Tron node), on `backend`: the webhooks are the EVM ones, with `T…` addresses.
async fn tron_order_and_deposit_webhooks_carry_t_addresses(backend: payin_core::testing::Backend) {
    use payin_core::chain::{Currency, evm_to_tron};
    use payin_core::dev::tron_double::{TronDevnet, TronDoubleOptions};
    let Some(db) = payin_core::testing::fresh_database(backend).await else {
        return;
    };
    if !payin_core::testing::anvil_available() {
        return;
    }
    let tron = TronDevnet::start(Default::default(), TronDoubleOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("payin.toml");
    std::fs::write(
        &config,
        format!(
            "[chains.local-tron]\nrpc_urls = [\"{}\"]\nconfirmations = 1\n[chains.local-tron.tokens.USDT]\ncontract = \"{}\"\n\
             [webhooks]\nallow_private = [\"127.0.0.0/8\"]\n",
            tron.node().url(),
            evm_to_tron(tron.token(Currency::Usdt).address)
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("PAYIN_DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let key = run(&["keys", "create", "--name", "tron"]).trim().to_string();
    let pool = dir.path().join("pool.txt");
    let addresses: Vec<String> = payin_core::testing::evm_addresses(31, 5)
        .iter()
        .map(|a| evm_to_tron(a.parse().unwrap()))
        .collect();
    std::fs::write(&pool, addresses.join("\n")).unwrap();
    run(&["pool", "import", "--protocol", "tron", &pool.display().to_string()]);

    let (receiver, hook_url) = Receiver::start().await;
    let server = start_server(&db.url, &config.display().to_string());
    let api = format!("{}/api/v1", server.base);
    let (status, endpoint) = call(
        "POST",
        &format!("{api}/webhooks"),
        &key,
        Some(json!({"url": hook_url, "events": ["order.completed", "deposit.confirmed"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let (status, order) = call(
        "POST",
        &format!("{api}/orders"),
        &key,
        Some(json!({"orderReference": "TRON-E2E", "amount": "7.25", "currency": "USDT", "chainId": "local-tron"})),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let order_address = order["data"]["address"].as_str().unwrap().to_string();
    assert!(addresses.contains(&order_address), "{order}");
    tron.pay_tron(Currency::Usdt, &order_address, U256::from(7_250_000u64))
        .await
        .unwrap();

    let (status, bound) = call(
        "POST",
        &format!("{api}/deposits/bind"),
        &key,
        Some(json!({"depositReference": "tron-user", "protocol": "tron"})),
    )
    .await;
    assert_eq!(status, 201, "{bound}");
    let deposit_address = bound["data"]["address"].as_str().unwrap().to_string();
    assert!(deposit_address.starts_with('T'), "{bound}");
    tron.pay_tron(Currency::Usdt, &deposit_address, U256::from(3_000_000u64))
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let bodies = loop {
        let bodies: Vec<Value> = receiver
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect();
        if bodies.len() >= 2 {
            break bodies;
        }
        assert!(Instant::now() < deadline, "webhooks so far: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let completed = bodies
        .iter()
        .find(|b| b["type"] == "order.completed")
        .expect("order.completed");
    assert_eq!(completed["data"]["address"], order_address.as_str(), "{completed}");
    assert_eq!(completed["data"]["chainId"], "local-tron");
    assert_eq!(completed["data"]["amountReceived"], "7.25");
    let confirmed = bodies
        .iter()
        .find(|b| b["type"] == "deposit.confirmed")
        .expect("deposit.confirmed");
    assert_eq!(confirmed["data"]["address"], deposit_address.as_str(), "{confirmed}");
    assert_eq!(confirmed["data"]["chainId"], "local-tron");
    for body in &bodies {
        let text = body.to_string();
        let evm_shaped = text
            .split('"')
            .filter(|s| s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            .count();
        assert_eq!(evm_shaped, 0, "a 0x address in a Tron webhook: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tron_order_and_deposit_webhooks_carry_t_addresses_sqlite() {
    tron_order_and_deposit_webhooks_carry_t_addresses(payin_core::testing::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tron_order_and_deposit_webhooks_carry_t_addresses_postgres() {
    tron_order_and_deposit_webhooks_carry_t_addresses(payin_core::testing::Backend::Postgres).await;
}
