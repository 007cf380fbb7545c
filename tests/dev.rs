//! `payin dev` as a developer uses it: the sandbox prints what to paste, the printed order
//! creation works on chain `local`, `payin dev pay` moves real tokens on the local chain, and
//! stopping the sandbox (SIGTERM, or even SIGKILL) stops its chain too.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use payin_core::dev::devnet::{DevChain, find_anvil};
use serde_json::{Value, json};

mod support;

use support::{Sandbox, anvil_installed};

/// The anvil to run, or `None` after a loud skip notice (a failure under `CI=true`).
fn anvil() -> Option<PathBuf> {
    anvil_installed().then(|| find_anvil(None).expect("found just now"))
}

/// What `payin dev` printed, by label.
struct Printed {
    lines: Vec<String>,
}

impl Printed {
    fn get(&self, label: &str) -> &str {
        let line = self
            .lines
            .iter()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {:#?}", self.lines));
        line[label.len()..].split_whitespace().next().unwrap()
    }

    fn curl(&self) -> &str {
        self.lines
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("curl "))
            .unwrap_or_else(|| panic!("no curl line in {:#?}", self.lines))
    }
}

struct DevProcess {
    child: Child,
    printed: Printed,
}

impl DevProcess {
    fn start(sb: &Sandbox, anvil: &std::path::Path) -> DevProcess {
        let mut child = sb
            .cmd()
            .args(["dev", "--listen", "127.0.0.1:0", "--anvil"])
            .arg(anvil)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Keep draining stderr so the process never blocks on a full pipe.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || stderr.lines().for_each(drop));
        let (tx, rx) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with("Ctrl-C");
                    lines.push(line);
                    if done {
                        break;
                    }
                }
                Err(e) => panic!("payin dev did not print its banner ({e}); got {lines:#?}"),
            }
        }
        DevProcess {
            child,
            printed: Printed { lines },
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "payin dev did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn request(method: &str, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// True while some process runs anvil on `rpc_url`'s port.
fn anvil_process_on(rpc_url: &str) -> bool {
    let port = rpc_url.rsplit(':').next().unwrap();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.first().is_some_and(|a| a.ends_with(b"anvil"))
            && args.windows(2).any(|w| w[0] == b"--port" && w[1] == port.as_bytes())
    })
}

async fn wait_until_chain_is_gone(rpc_url: &str) {
    let client = DevChain::connect(rpc_url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.block_number().await.is_ok() || anvil_process_on(rpc_url) {
        assert!(Instant::now() < deadline, "anvil on {rpc_url} outlived payin dev");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dev_sandbox_prints_what_to_paste_and_pays_orders_on_its_chain() {
    let Some(anvil) = anvil() else { return };
    let sb = Sandbox::new();
    let mut dev = DevProcess::start(&sb, &anvil);
    let api = dev.printed.get("API URL:").to_string();
    let key = dev.printed.get("API key:").to_string();
    let rpc_url = dev.printed.get("RPC URL:").to_string();
    assert!(
        api.starts_with("http://127.0.0.1:") && api.ends_with("/api/v1"),
        "{api}"
    );
    assert!(key.starts_with("pk_"), "{key}");
    assert_eq!(dev.printed.get("Chain id:"), "local");
    assert!(rpc_url.starts_with("http://127.0.0.1:"), "{rpc_url}");
    let contract = |symbol: &str| -> Address { dev.printed.get(&format!("{symbol}:")).parse().unwrap() };

    // GET /chains shows chain local with the sandbox's token contracts.
    let (status, body) = request("GET", &format!("{api}/chains"), &key, None).await;
    assert_eq!(status, 200, "{body}");
    let chains = body["data"]["chains"].as_array().unwrap();
    let local = chains.iter().find(|c| c["chainId"] == "local").unwrap();
    assert_eq!(local["rpcConfigured"], true, "{local}");
    for symbol in ["USDT", "USDC", "DAI"] {
        let token = local["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["currency"] == symbol)
            .unwrap();
        assert_eq!(token["configured"], true, "{token}");
        assert_eq!(token["contract"], contract(symbol).to_checksum(None), "{token}");
    }

    // The printed curl, sent as printed.
    let curl = dev.printed.curl();
    let url = curl.split_whitespace().find(|w| w.starts_with("http://")).unwrap();
    assert!(curl.contains(&format!("Authorization: Bearer {key}")), "{curl}");
    let body_json = curl.split("-d '").nth(1).unwrap().strip_suffix('\'').unwrap();
    let order_body: Value = serde_json::from_str(body_json).unwrap();
    assert_eq!(order_body["chainId"], "local");
    let (status, created) = request("POST", url, &key, Some(order_body)).await;
    assert_eq!(status, 201, "{created}");
    let order = &created["data"];
    let order_id = order["orderId"].as_str().unwrap();
    let order_address: Address = order["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(order["amount"], "10.00");

    // `payin dev pay ORDER_ID` sends exactly the order's amount of its token.
    let chain = DevChain::connect(&rpc_url).unwrap();
    let usdt = contract("USDT");
    assert_eq!(chain.balance_of(usdt, order_address).await.unwrap(), U256::ZERO);
    let out = sb.run(&["dev", "pay", order_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(order_id), "{text}");
    let tx_line = text.lines().find(|l| l.starts_with("tx:")).unwrap();
    assert_eq!(tx_line.split_whitespace().nth(1).unwrap().len(), 66, "{text}");
    let block: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("block:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(block > 0 && block <= chain.block_number().await.unwrap());
    assert_eq!(
        chain.balance_of(usdt, order_address).await.unwrap(),
        U256::from(10_000_000u64),
        "10.00 USDT at 6 decimals"
    );

    // Another amount, another token (18 decimals).
    let out = sb.run(&["dev", "pay", order_id, "--amount", "0.5", "--token", "DAI"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        chain.balance_of(contract("DAI"), order_address).await.unwrap(),
        U256::from(500_000_000_000_000_000u64)
    );

    // More decimals than the token has is refused, and nothing moves.
    let out = sb.run(&["dev", "pay", order_id, "--amount", "0.0000001"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("amount"), "{}", stderr(&out));
    assert_eq!(
        chain.balance_of(usdt, order_address).await.unwrap(),
        U256::from(10_000_000u64)
    );

    // A deposit address is paid with --to.
    let (status, bound) = request(
        "POST",
        &format!("{api}/deposits/references"),
        &key,
        Some(json!({"depositReference": "user-42", "currency": "USDC", "chainId": "local"})),
    )
    .await;
    assert_eq!(status, 201, "{bound}");
    let deposit_address = bound["data"]["address"].as_str().unwrap();
    let out = sb.run(&[
        "dev",
        "pay",
        "--to",
        deposit_address,
        "--amount",
        "1.25",
        "--token",
        "usdc",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        chain
            .balance_of(contract("USDC"), deposit_address.parse().unwrap())
            .await
            .unwrap(),
        U256::from(1_250_000u64)
    );

    // SIGTERM stops the server and the chain with it, and the database forgets the chain.
    dev.signal("-TERM");
    let status = dev.wait(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    wait_until_chain_is_gone(&rpc_url).await;
    let out = sb.run(&["dev", "pay", order_id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("start `payin dev`"), "{}", stderr(&out));
}

#[tokio::test]
async fn sigkill_of_payin_dev_takes_its_chain_down() {
    let Some(anvil) = anvil() else { return };
    let sb = Sandbox::new();
    let mut dev = DevProcess::start(&sb, &anvil);
    let rpc_url = dev.printed.get("RPC URL:").to_string();
    assert!(anvil_process_on(&rpc_url));
    dev.signal("-KILL");
    dev.wait(Duration::from_secs(10));
    wait_until_chain_is_gone(&rpc_url).await;
}

#[test]
fn dev_pay_without_a_recorded_chain_says_to_start_payin_dev() {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "dev",
        "pay",
        "--to",
        "0x00000000000000000000000000000000000000aa",
        "--amount",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("start `payin dev`"), "{}", stderr(&out));

    let out = sb.run(&["dev", "pay", "ord_doesnotexist"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ord_doesnotexist"), "{}", stderr(&out));

    let out = sb.run(&["dev", "pay"]);
    assert!(!out.status.success(), "an order id or --to is required");
}

/// `payin dev pay` in many processes at once, next to the server's own simulated payments
/// (`POST /dev/simulate-payment`, what the MCP `simulate_payment` tool calls): every one pays
/// from the same dev account, so they contend for its nonce. All succeed, and the watcher
/// records every payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dev_payments_from_processes_and_the_api_all_succeed() {
    const PROCESSES: usize = 8;
    const API_CALLS: usize = 8;
    let Some(anvil) = anvil() else { return };
    let sb = Sandbox::new();
    let dev = DevProcess::start(&sb, &anvil);
    let api = dev.printed.get("API URL:").to_string();
    let key = dev.printed.get("API key:").to_string();

    let mut orders = Vec::new();
    for i in 0..PROCESSES + API_CALLS {
        let (status, created) = request(
            "POST",
            &format!("{api}/orders"),
            &key,
            Some(
                json!({"orderReference": format!("concurrent-{i}"), "amount": format!("1.{i:02}"),
                        "currency": "USDT", "chainId": "local"}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        orders.push(created["data"]["orderId"].as_str().unwrap().to_string());
    }

    let (by_process, by_api) = orders.split_at(PROCESSES);
    let children: Vec<Child> = by_process
        .iter()
        .map(|id| {
            sb.cmd()
                .args(["dev", "pay", id])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut calls = tokio::task::JoinSet::new();
    for id in by_api {
        let (api, key, id) = (api.clone(), key.clone(), id.clone());
        calls.spawn(async move {
            let body = json!({"orderId": id});
            request("POST", &format!("{api}/dev/simulate-payment"), &key, Some(body)).await
        });
    }
    while let Some(done) = calls.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "payin dev pay failed: {}", stderr(&out));
        assert!(stdout(&out).starts_with("paid "), "{}", stdout(&out));
    }

    // Every payment is on the chain and seen: each order completes with its own amount.
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &orders {
        loop {
            let (status, order) = request("GET", &format!("{api}/orders/{id}"), &key, None).await;
            assert_eq!(status, 200, "{order}");
            if order["data"]["status"] == "completed" {
                assert_eq!(order["data"]["amountReceived"], order["data"]["amount"], "{order}");
                break;
            }
            assert!(Instant::now() < deadline, "order {id} was not completed: {order}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn payin_dev_does_not_rate_limit_its_own_machine() {
    let Some(anvil) = anvil() else { return };
    // Quotas of one request, which `payin serve` would enforce from the second request on.
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("payin.toml");
    std::fs::write(
        &config,
        "[rate_limit]\napi_key = { requests = 1, window_seconds = 60 }\nclient_ip = { requests = 1, window_seconds = 60 }\n",
    )
    .unwrap();
    let dev = support::DevServer::start_on(anvil, None, &[("PAYIN_CONFIG", config.to_str().unwrap())]);
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let resp = client
            .get(format!("{}/api/v1/orders", dev.api))
            .bearer_auth(&dev.key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.headers().get("ratelimit").is_none(), "loopback is not limited");
        let health = client.get(format!("{}/health", dev.api)).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);
    }
}

/// Chain `local-tron` of the sandbox: anvil behind the test double of a Tron node. The banner
/// and `GET /chains` show its tokens as `T…`; a Tron order gets a `T…` address, `payin dev pay`
/// pays it and the watcher completes it; `POST /dev/simulate-payment` pays a Tron deposit
/// address; the hosted page shows the `T…` address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_sandbox_runs_local_tron_and_pays_tron_orders_with_t_addresses() {
    let Some(anvil) = anvil() else { return };
    let sb = Sandbox::new();
    let dev = DevProcess::start(&sb, &anvil);
    let api = dev.printed.get("API URL:").to_string();
    let key = dev.printed.get("API key:").to_string();
    assert!(
        dev.printed
            .lines
            .iter()
            .any(|l| l.starts_with("Chain id:  local-tron") && l.contains("test double")),
        "{:#?}",
        dev.printed.lines
    );
    let tron_rpc = dev
        .printed
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("RPC URL:"))
        .map(str::trim)
        .find(|u| u.ends_with("/jsonrpc"))
        .expect("the Tron node double's URL is printed")
        .to_string();

    let (status, body) = request("GET", &format!("{api}/chains"), &key, None).await;
    assert_eq!(status, 200, "{body}");
    let chains = body["data"]["chains"].as_array().unwrap();
    let tron = chains.iter().find(|c| c["chainId"] == "local-tron").unwrap();
    assert_eq!(tron["protocol"], "tron", "{tron}");
    assert_eq!(tron["rpcConfigured"], true, "{tron}");
    let usdt = tron["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "USDT")
        .unwrap();
    let usdt_contract = usdt["contract"].as_str().unwrap();
    assert!(usdt_contract.starts_with('T'), "{usdt}");
    assert!(
        dev.printed.lines.iter().any(|l| l.contains(usdt_contract)),
        "the banner shows {usdt_contract}"
    );

    let (status, created) = request(
        "POST",
        &format!("{api}/orders"),
        &key,
        Some(json!({"orderReference": "TRON-1", "amount": "12.50", "currency": "USDT", "chainId": "local-tron"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let order_id = created["data"]["orderId"].as_str().unwrap().to_string();
    let address = created["data"]["address"].as_str().unwrap().to_string();
    assert!(address.starts_with('T'), "{created}");

    // The hosted page shows the T… address.
    let base = api.trim_end_matches("/api/v1");
    let page = reqwest::get(format!("{base}/pay/{order_id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&address), "the payment page shows {address}");

    let out = sb.run(&["dev", "pay", &order_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&address) && text.contains("local-tron"), "{text}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, order) = request("GET", &format!("{api}/orders/{order_id}"), &key, None).await;
        if order["data"]["status"] == "completed" {
            assert_eq!(order["data"]["amountReceived"], "12.50", "{order}");
            break;
        }
        assert!(Instant::now() < deadline, "the Tron order never completed: {order}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A Tron deposit address, paid through the REST dev route (what MCP simulate_payment calls).
    let (status, bound) = request(
        "POST",
        &format!("{api}/deposits/references"),
        &key,
        Some(json!({"depositReference": "tron-user", "currency": "USDT", "chainId": "local-tron"})),
    )
    .await;
    assert_eq!(status, 201, "{bound}");
    let deposit_address = bound["data"]["address"].as_str().unwrap().to_string();
    assert!(deposit_address.starts_with('T'), "{bound}");
    let (status, paid) = request(
        "POST",
        &format!("{api}/dev/simulate-payment"),
        &key,
        Some(json!({"address": deposit_address, "amount": "3"})),
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["data"]["chainId"], "local-tron", "{paid}");
    assert!(paid["data"]["from"].as_str().unwrap().starts_with('T'), "{paid}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, deposits) = request("GET", &format!("{api}/deposits?chainId=local-tron"), &key, None).await;
        let list = deposits["data"]["deposits"].as_array().cloned().unwrap_or_default();
        if let Some(d) = list.iter().find(|d| d["address"] == deposit_address.as_str()) {
            assert_eq!(d["amount"], "3", "{d}");
            break;
        }
        assert!(Instant::now() < deadline, "the Tron deposit was never seen: {deposits}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The node double answers like java-tron: a 41… filter address is refused.
    let answer: Value = reqwest::Client::new()
        .post(&tron_rpc)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                      "params": [{"address": "0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
}

/// HashNut's chain codes name the sandbox's chains (issue 13): a HashNut merchant's code pays
/// on `local` (`erc20`, `bsc-erc20`, `polygon-erc20`) and `local-tron` (`tron-trc20`).
#[tokio::test]
async fn payin_dev_maps_hashnut_chain_codes_to_its_chains() {
    let Some(anvil) = anvil() else { return };
    let dev = support::DevServer::start(anvil);
    let (status, created) = request(
        "POST",
        &format!("{}/api/v1/compat/hashnut/merchants", dev.api),
        &dev.key,
        Some(json!({"name": "shop"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let access_key_id = created["data"]["publicId"].as_str().unwrap();
    let secret = created["data"]["secret"].as_str().unwrap();
    let client = reqwest::Client::new();
    for (i, (code, chain)) in [
        ("erc20", "local"),
        ("polygon-erc20", "local"),
        ("tron-trc20", "local-tron"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"accessKeyId": access_key_id, "merchantOrderId": format!("DEV-{i}"),
            "chainCode": code, "coinCode": "usdt", "amount": 1.5})
        .to_string();
        let (uuid, ts) = (
            format!("dev-{i}"),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                .to_string(),
        );
        let answer: Value = client
            .post(format!(
                "{}/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey",
                dev.api
            ))
            .header("hashnut-request-uuid", &uuid)
            .header("hashnut-request-timestamp", &ts)
            .header(
                "hashnut-request-sign",
                payin_core::compat::hashnut::sign(secret, &uuid, &ts, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["code"], 0, "{code}: {answer}");
        let id = answer["data"]["payOrderId"].as_str().unwrap();
        let (_, order) = request("GET", &format!("{}/api/v1/orders/{id}", dev.api), &dev.key, None).await;
        assert_eq!(order["data"]["chainId"], chain, "{code}: {order}");
    }
}
