//! The runnable integrations of examples/ against a real gateway (`payin dev`): each shop takes
//! a checkout, the customer pays on the local chain, and the shop learns it from the signed
//! webhook alone. A forged webhook changes nothing. The Python package's shop runs on the package
//! built by this build (`support::python`).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{DevServer, anvil_installed, installed};

/// A shop process, killed when dropped.
struct Shop {
    child: Child,
    url: String,
}

impl Shop {
    fn start(program: &str, script: &str, dev: &DevServer, env: &[(&str, &Path)]) -> Shop {
        let mut child = Command::new(program)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
            .envs(env.iter().copied())
            .env("PAYIN_API_URL", &dev.api)
            .env("PAYIN_API_KEY", &dev.key)
            .env("PORT", "0")
            .env_remove("SHOP_PUBLIC_URL")
            .env_remove("PAYIN_CHAIN_ID")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} {script}: {e}"));
        let line = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .next()
            .expect("the shop prints where it listens")
            .unwrap();
        let url = line
            .strip_prefix("shop listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Shop { child, url }
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn checkout_paid_on_chain_is_seen_through_the_webhook(program: &str, script: &str, env: &[(&str, &Path)]) {
    if !anvil_installed() || !installed(program, &["--version"], program) {
        return;
    }
    let dev = DevServer::start(payin_core::dev::devnet::find_anvil(None).unwrap());
    let shop = Shop::start(program, script, &dev, env);
    let http = reqwest::Client::new();

    let resp = http
        .post(format!("{}/checkout", shop.url))
        .json(&json!({"amount": "12.50", "currency": "USDT"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let order: Value = resp.json().await.unwrap();
    let reference = order["orderReference"].as_str().unwrap().to_string();
    assert!(
        order["paymentUrl"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/pay/ord_", dev.api)),
        "{order}"
    );
    let status = |reference: String| {
        let (http, url) = (http.clone(), format!("{}/orders/{reference}", shop.url));
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // A webhook PayIn did not sign is refused and changes nothing.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = http
        .post(format!("{}/webhooks/payin", shop.url))
        .header("webhook-id", "evt_forged")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", "v1,bm90IGEgc2lnbmF0dXJl")
        .json(&json!({"id": "evt_forged", "type": "order.completed",
                      "data": {"orderReference": reference, "amountReceived": "12.50", "txHash": "0x0"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(status(reference.clone()).await["status"], "awaiting payment");

    // The customer pays on the local chain; PayIn's signed order.completed reaches the shop.
    let paid = http
        .post(format!("{}/api/v1/dev/simulate-payment", dev.api))
        .bearer_auth(&dev.key)
        .json(&json!({"orderId": order["orderId"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 201);
    let paid: Value = paid.json().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = status(reference.clone()).await;
        if seen["status"] == "paid" || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(seen["status"], "paid", "{seen}");
    assert_eq!(seen["amountReceived"], "12.50");
    assert_eq!(seen["txHash"], paid["data"]["txHash"]);
}

#[tokio::test]
async fn the_python_shop_example_is_paid_through_payin() {
    checkout_paid_on_chain_is_seen_through_the_webhook("python3", "examples/python-shop/shop.py", &[]).await;
}

#[tokio::test]
async fn the_python_package_shop_example_is_paid_through_payin() {
    let package = support::python::Package::assemble();
    let env = [("PYTHONPATH", package.path())];
    checkout_paid_on_chain_is_seen_through_the_webhook("python3", "examples/python-package-shop/shop.py", &env).await;
}

#[tokio::test]
async fn the_node_shop_example_is_paid_through_payin() {
    checkout_paid_on_chain_is_seen_through_the_webhook("node", "examples/node-shop/shop.mjs", &[]).await;
}

/// The shop on the `payin` npm package: its `npm ci` links bindings-node/, which must be built
/// (`scripts/test.sh` does both).
#[tokio::test]
async fn the_node_package_shop_example_is_paid_through_payin() {
    if !installed(
        "node",
        &["-e", "require('./examples/node-package-shop/node_modules/payin')"],
        "the payin package for examples/node-package-shop (npm ci there; npm run build:debug in bindings-node)",
    ) {
        return;
    }
    checkout_paid_on_chain_is_seen_through_the_webhook("node", "examples/node-package-shop/shop.mjs", &[]).await;
}
