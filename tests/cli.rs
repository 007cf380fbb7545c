//! The `payin` binary as an operator uses it: keys, pool import, serve with graceful shutdown.

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

mod support;

use support::{Sandbox, Server, stderr, stdout};

#[test]
fn keys_create_prints_only_the_key_and_revoke_disables_it() {
    let sb = Sandbox::new();
    let out = sb.run(&["keys", "create", "--name", "prod server"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let key = text.strip_suffix('\n').unwrap();
    assert!(
        key.starts_with("pk_") && key.len() == 43 && !key.contains(char::is_whitespace),
        "{text:?}"
    );

    let list = stdout(&sb.run(&["keys", "list"]));
    assert!(list.contains("prod server"), "{list}");
    assert!(list.contains(&key[..10]), "the prefix is listed: {list}");
    assert!(!list.contains(key), "the secret is never listed: {list}");

    let out = sb.run(&["keys", "revoke", &key[..10]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&sb.run(&["keys", "list"]));
    let row = list.lines().find(|l| l.contains("prod server")).unwrap();
    assert!(!row.contains("  -  "), "revoked time shown: {row}");
    let out = sb.run(&["keys", "revoke", "key_nope"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("key_nope"), "{}", stderr(&out));
}

#[test]
fn compat_add_prints_sourceable_credentials_once_and_list_and_revoke_never_show_them() {
    let sb = Sandbox::new();
    for (api, public, secret_name, secret_len) in [
        ("hashnut", "ACCESS_KEY_ID", "SECRET", 48),
        ("qiejiao", "PID", "KEY", 32),
    ] {
        let out = sb
            .cmd()
            .args(["compat", api, "add", "--name", "shop"])
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text:?}");
        let id = lines[0]
            .strip_prefix(&format!("{public}="))
            .unwrap_or_else(|| panic!("{text}"));
        let secret = lines[1]
            .strip_prefix(&format!("{secret_name}="))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{text}"
        );
        if api == "qiejiao" {
            assert!(id.bytes().all(|b| b.is_ascii_digit()), "numeric pid: {id}");
        }
        assert_eq!(secret.len(), secret_len, "{text}");
        assert!(
            secret.bytes().all(|b| b.is_ascii_alphanumeric()),
            "shell-safe: {secret}"
        );
        // Never logged, even at trace level.
        assert!(!stderr(&out).contains(secret), "{}", stderr(&out));

        let list = stdout(&sb.run(&["compat", api, "list"]));
        assert!(list.contains(id) && list.contains("shop"), "{list}");
        assert!(!list.contains(secret), "{list}");

        let out = sb.run(&["compat", api, "revoke", id]);
        assert!(out.status.success(), "{}", stderr(&out));
        let list = stdout(&sb.run(&["compat", api, "list"]));
        let row = list.lines().find(|l| l.contains(id)).unwrap();
        assert!(!row.contains("  -  "), "revoked time shown: {row}");
        let out = sb.run(&["compat", api, "revoke", id]);
        assert!(!out.status.success(), "a revoked merchant is not revoked twice");
    }
}

#[test]
fn pool_import_validates_every_line_before_writing() {
    let sb = Sandbox::new();
    let bad = sb.write(
        "bad.txt",
        "# my addresses\n0x742d35cc6634c0532925a3b844bc9e7595f0beb0\n\n0xnot-an-address\n",
    );
    let out = sb.run(&["pool", "import", "--protocol", "evm", &bad]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(":4:"), "names the line: {}", stderr(&out));
    let status = stdout(&sb.run(&["pool", "status"]));
    let evm = status.lines().find(|l| l.starts_with("evm")).unwrap();
    assert_eq!(evm.split_whitespace().nth(4), Some("0"), "nothing imported: {status}");

    let good = sb.write(
        "good.txt",
        "# my addresses\n0x742d35cc6634c0532925a3b844bc9e7595f0beb0\n0x742D35CC6634c0532925A3b844BC9E7595F0BEb0\n0x00000000000000000000000000000000000000aa\n",
    );
    let out = sb.run(&["pool", "import", "--protocol", "evm", &good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 new evm addresses (1 already in the pool)"),
        "{}",
        stdout(&out)
    );

    let mut child = sb
        .cmd()
        .args(["pool", "import", "--protocol", "evm", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"0x00000000000000000000000000000000000000bb\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(stdout(&out).contains("imported 1 new"), "{}", stdout(&out));
    let status = stdout(&sb.run(&["pool", "status"]));
    let evm = status.lines().find(|l| l.starts_with("evm")).unwrap();
    assert_eq!(
        evm.split_whitespace().collect::<Vec<_>>()[1..5],
        ["3", "0", "0", "3"],
        "{status}"
    );

    let out = sb.run(&["pool", "import", "--protocol", "btc", &good]);
    assert!(!out.status.success());
}

#[test]
fn pool_xpub_add_prints_the_fingerprint_and_first_addresses_and_refuses_private_keys_unlogged() {
    let sb = Sandbox::new();
    let xpub = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
    let out = sb.run(&["pool", "xpub", "add", "--protocol", "evm", xpub]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let fingerprint = text
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .unwrap_or_else(|| panic!("no fingerprint: {text}"))
        .trim();
    assert!(fingerprint.len() == 8, "{text}");
    for line in [
        "m/44'/60'/0'/0/0  0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "m/44'/60'/0'/0/1  0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "m/44'/60'/0'/0/2  0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ] {
        assert!(text.contains(line), "{text}");
    }
    let list = stdout(&sb.run(&["pool", "xpub", "list"]));
    assert!(
        list.contains(fingerprint) && list.contains("next index:  200 (from 0)"),
        "{list}"
    );
    // Topped up at once to twice the default watermark (100).
    let status = stdout(&sb.run(&["pool", "status"]));
    let evm = status.lines().find(|l| l.starts_with("evm")).unwrap();
    assert_eq!(evm.split_whitespace().nth(1), Some("200"), "{status}");

    // Private material is refused, and neither printed nor logged, even at trace level; an
    // unquoted mnemonic arrives as twelve arguments and is refused as one.
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let mut mnemonic = vec!["pool", "xpub", "add", "--protocol", "tron"];
    mnemonic.extend(["test"; 11]);
    mnemonic.push("junk");
    for args in [vec!["pool", "xpub", "add", "--protocol", "evm", xprv], mnemonic] {
        let out = sb.cmd().args(&args).env("RUST_LOG", "trace").output().unwrap();
        assert!(!out.status.success());
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(e.contains("PayIn never takes private keys"), "{e}");
        for secret in [&xprv[..16], "junk"] {
            assert!(!o.contains(secret) && !e.contains(secret), "echoed: {o}{e}");
        }
    }
    let list = stdout(&sb.run(&["pool", "xpub", "list"]));
    assert_eq!(list.matches("fingerprint:").count(), 1, "{list}");
}

fn request(method: &str, url: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    })
}

#[test]
fn serve_migrates_answers_and_stops_gracefully_on_sigterm() {
    let sb = Sandbox::new();
    let key = stdout(&sb.run(&["keys", "create", "--name", "t"])).trim().to_string();
    let list = sb.write("a.txt", "0x00000000000000000000000000000000000000cc\n");
    assert!(sb.run(&["pool", "import", "--protocol", "evm", &list]).status.success());
    let config = sb.write(
        "payin.toml",
        "public_url = \"https://pay.shop.example\"\n\n[chains.ethereum-sepolia]\nrpc_urls = [\"http://127.0.0.1:9\"]\n\n[chains.ethereum-sepolia.tokens.USDT]\ncontract = \"0x7169d38820dfd117c3fa1f22a697dba58d90ba06\"\n",
    );
    let server = Server::start(sb.cmd(), &["--config", &config]);
    let (status, health) = request("GET", &format!("{}/health", server.base), None, None);
    assert_eq!((status, health["status"].as_str()), (200, Some("healthy")));
    let (status, order) = request(
        "POST",
        &format!("{}/api/v1/orders", server.base),
        Some(&key),
        Some(json!({"orderReference": "cli-1", "amount": "12.5", "currency": "USDT", "chainId": "ethereum-sepolia"})),
    );
    assert_eq!(
        status, 201,
        "the config file configured Sepolia's RPC and USDT: {order}"
    );
    let id = order["data"]["orderId"].as_str().unwrap();
    assert_eq!(
        order["data"]["paymentUrl"],
        format!("https://pay.shop.example/pay/{id}")
    );
    let exit = server.stop();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");

    // A restart on the same database sees the order.
    let server = Server::start(sb.cmd(), &["--config", &config]);
    let (status, again) = request("GET", &format!("{}/api/v1/orders/{id}", server.base), Some(&key), None);
    assert_eq!((status, again["data"]["amount"].as_str()), (200, Some("12.5")));
    assert!(server.stop().success());
}

/// The body of a GET as text, with its status.
fn get_text(url: &str, key: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn metrics_need_the_key_on_the_api_listener_and_none_on_their_own() {
    let sb = Sandbox::new();
    let key = stdout(&sb.run(&["keys", "create", "--name", "t"])).trim().to_string();
    let list = sb.write("a.txt", "0x00000000000000000000000000000000000000cc\n");
    assert!(sb.run(&["pool", "import", "--protocol", "evm", &list]).status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let server = Server::start(sb.cmd(), &["--metrics-listen", &format!("127.0.0.1:{port}")]);

    let (status, body) = get_text(&format!("{}/metrics", server.base), None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = get_text(&format!("{}/metrics", server.base), Some(&key));
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("payin_pool_addresses{protocol=\"evm\",state=\"available\"} 1"),
        "{body}"
    );

    // Its own listener needs no key, and serves nothing else.
    let (status, body) = get_text(&metrics_url, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("# TYPE payin_orders gauge"), "{body}");
    assert!(
        body.contains("payin_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 1"),
        "the API listener's requests are counted: {body}"
    );
    let (status, _) = get_text(&format!("http://127.0.0.1:{port}/api/v1/orders"), Some(&key));
    assert_eq!(status, 404);
    assert!(server.stop().success());
}

#[test]
fn serve_applies_the_http_and_rate_limit_tables_of_the_config_file() {
    use std::io::Read;
    let sb = Sandbox::new();
    let key = stdout(&sb.run(&["keys", "create", "--name", "t"])).trim().to_string();
    let config = sb.write(
        "payin.toml",
        "[http]\nheader_read_timeout_seconds = 1\n\n[rate_limit]\napi_key = { requests = 2, window_seconds = 60 }\n",
    );
    let server = Server::start(sb.cmd(), &["--config", &config]);
    let orders = format!("{}/api/v1/orders", server.base);
    assert_eq!(request("GET", &orders, Some(&key), None).0, 200);
    assert_eq!(request("GET", &orders, Some(&key), None).0, 200);
    let (status, refused) = request("GET", &orders, Some(&key), None);
    assert_eq!(
        (status, refused["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{refused}"
    );
    // A connection that sends nothing is closed after the configured second.
    let mut idle = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let closed = idle.read(&mut [0u8; 16]);
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(server.stop().success());

    let bad = sb.write("bad.toml", "[http]\nmax_connections = 0\n");
    let out = sb.run(&["--config", &bad, "serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("http.max_connections"), "{}", stderr(&out));
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let sb = Sandbox::new();
    let config = sb.write("bad.toml", "[chains.ethereum]\nconfirmatons = 3\n");
    let out = sb.run(&["--config", &config, "pool", "status"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("confirmatons"), "{}", stderr(&out));
    let config = sb.write("bad-net.toml", "[webhooks]\nallow_private = [\"10.0.0.0/33\"]\n");
    let out = sb.run(&["--config", &config, "pool", "status"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("allow_private") && err.contains("10.0.0.0/33"), "{err}");
    let out = sb
        .cmd()
        .args(["pool", "status"])
        .env("PAYIN_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sqlite://"), "{}", stderr(&out));
}

#[test]
fn mcp_against_a_remote_deployment_needs_its_api_key() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env_remove("PAYIN_API_KEY")
        .args(["mcp", "--api-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("PAYIN_API_KEY"), "{}", stderr(&out));

    let out = sb
        .cmd()
        .env("PAYIN_API_KEY", "pk_x")
        .args(["mcp", "--api-url", "ftp://nowhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("baseUrl"), "{}", stderr(&out));
}
