//! `payin webhooks add|list|remove`, and `payin serve` delivering signed webhooks to a real
//! receiver with the wall clock.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use payin_core::webhook::signature::{self, Scheme};

mod support;

use support::{Sandbox, Server};

/// The sandbox's binary with `ethereum` watched: orders on it need its RPC URL configured.
/// Nothing answers on the discard port, and these tests need no payment detected. The
/// receiver listens on 127.0.0.1, which the SSRF guard refuses unless the config allows it.
fn cmd(sb: &Sandbox) -> std::process::Command {
    let config = sb.write(
        "payin.toml",
        "[chains.ethereum]\nrpc_urls = [\"http://127.0.0.1:9\"]\n[webhooks]\nallow_private = [\"127.0.0.0/8\"]\n",
    );
    let mut c = sb.cmd();
    c.env("PAYIN_CONFIG", config);
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A request as the receiver saw it: lowercase header names and the raw body.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A one-thread HTTP/1.1 receiver on 127.0.0.1 answering 200 to everything.
fn start_receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/payin", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((k, v)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            let _ = tx.send(Received { headers, body });
        }
    });
    (url, rx)
}

fn create_order(base: &str, key: &str) -> serde_json::Value {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let resp = reqwest::Client::new()
                .post(format!("{base}/api/v1/orders"))
                .bearer_auth(key)
                .json(&serde_json::json!({"orderReference": "cli-wh-1", "amount": "5", "currency": "USDT", "chainId": "ethereum"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 201);
            resp.json().await.unwrap()
        })
}

#[test]
fn webhooks_add_list_remove_and_serve_delivers_signed_events() {
    let sb = Sandbox::new();
    let key = text(&run(&sb, &["keys", "create", "--name", "t"]).stdout)
        .trim()
        .to_string();
    let pool = sb.dir.path().join("pool.txt");
    std::fs::write(&pool, "0x00000000000000000000000000000000000000dd\n").unwrap();
    assert!(
        run(&sb, &["pool", "import", "--protocol", "evm", pool.to_str().unwrap()])
            .status
            .success()
    );
    let (url, received) = start_receiver();

    let out = run(
        &sb,
        &[
            "webhooks",
            "add",
            &url,
            "--events",
            "order.created,order.expired",
            "--description",
            "cli",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let field = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .to_string()
    };
    let id = field("id:");
    let secret = field("secret:");
    assert!(id.starts_with("whe_") && secret.starts_with("whsec_"), "{stdout}");
    assert!(text(&out.stderr).contains("not shown again"));

    let list = text(&run(&sb, &["webhooks", "list"]).stdout);
    let row = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("active") && row.contains("order.created,order.expired") && row.contains(&url),
        "{row}"
    );
    assert!(!list.contains(&secret), "the secret is never listed: {list}");

    let mut serve = cmd(&sb);
    serve.env("PAYIN_TICK_MS", "50");
    let server = Server::start(serve, &[]);
    let base = server.base.clone();
    let order = create_order(&base, &key);
    let got = received
        .recv_timeout(Duration::from_secs(20))
        .expect("serve delivers the order.created webhook");
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"]["orderId"], order["data"]["orderId"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        signature::verify(&secret, &got.body, got.headers.clone(), now, 300),
        Ok(vec![Scheme::StandardWebhooks, Scheme::PayIn])
    );
    let exit = server.stop();
    assert!(exit.success(), "{exit:?}");

    // A rotation prints only the new secret on stdout, and says how long the old one signs.
    let out = run(&sb, &["webhooks", "rotate", &id, "--keep-previous-hours", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rotated = text(&out.stdout);
    let new_secret = rotated.trim().strip_prefix("secret: ").unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret, "{rotated}");
    assert!(
        text(&out.stderr).contains("previous secret signs deliveries too until"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&sb, &["webhooks", "rotate", &id, "--keep-previous-hours", "500"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("keepPreviousHours"), "{}", text(&out.stderr));

    let out = run(&sb, &["webhooks", "remove", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&run(&sb, &["webhooks", "list"]).stdout).contains(&id));
    let out = run(&sb, &["webhooks", "remove", &id]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains(&id), "{}", text(&out.stderr));

    let out = run(&sb, &["webhooks", "add", "http://shop.example/hook"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("https"), "{}", text(&out.stderr));
    let out = run(&sb, &["webhooks", "add", &url, "--events", "order.paid"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("events[0]"), "{}", text(&out.stderr));
}

fn run(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    cmd(sb).args(args).output().unwrap()
}
