//! The Node package (`bindings-node/`, npm `payin`) against a live gateway: this test starts
//! `payin dev` (a real local chain, the REST API, the webhook dispatcher) and runs the package's
//! own suite with Node's test runner (`node --test bindings-node/test/`), passing the gateway
//! through the environment: `PAYIN_BASE_URL`, `PAYIN_API_KEY`, and `PAYIN_BIN` (this build's
//! `payin`). The suite covers every method, every error kind, pagination across pages, a
//! retried create behind a proxy that drops the first answer, a 503 that heals, webhooks
//! received by a local receiver and verified with the package, the shared signature vectors,
//! the README's Node quickstart as written, and `tsc --strict` over a typed usage file.
//!
//! The package must be built first (`scripts/test.sh` does it): `cd bindings-node && npm ci &&
//! npm run build:debug`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{BIN, Sandbox, anvil_installed, installed};

/// `payin dev` on a fresh database, with the workers ticking every 100 ms so webhooks and
/// confirmations come quickly. Killed when dropped.
struct Gateway {
    child: Child,
    root: String,
    key: String,
    _sandbox: Sandbox,
}

impl Gateway {
    fn start() -> Gateway {
        let sandbox = Sandbox::new();
        let anvil = payin_core::dev::devnet::find_anvil(None).expect("checked by anvil_installed");
        let mut child = sandbox
            .cmd()
            .args(["dev", "--listen", "127.0.0.1:0"])
            .env("PAYIN_ANVIL", anvil)
            .env("PAYIN_TICK_MS", "100")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut root, mut key) = (None, None);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while root.is_none() || key.is_none() {
            let line = lines.next().expect("payin dev printed its banner").unwrap();
            if let Some(v) = line.strip_prefix("API URL:") {
                root = Some(v.trim().trim_end_matches("/api/v1").to_string());
            }
            if let Some(v) = line.strip_prefix("API key:") {
                key = Some(v.trim().to_string());
            }
        }
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Gateway {
            child,
            root: root.unwrap(),
            key: key.unwrap(),
            _sandbox: sandbox,
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_node_package_passes_its_suite_against_payin_dev() {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings-node");
    if !anvil_installed()
        || !installed(
            "node",
            &[
                "-e",
                "require('./bindings-node'); require('./bindings-node/node_modules/typescript')",
            ],
            "the Node package, built (cd bindings-node && npm ci && npm run build:debug)",
        )
    {
        return;
    }
    let mut suite: Vec<String> = std::fs::read_dir(package.join("test"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("test/{name}"))
        .collect();
    suite.sort();
    let gateway = Gateway::start();
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&suite)
        .current_dir(&package)
        .env("PAYIN_BASE_URL", &gateway.root)
        .env("PAYIN_API_KEY", &gateway.key)
        .env("PAYIN_BIN", BIN)
        .env_remove("PAYIN_WEBHOOK_SECRET")
        .env_remove("PAYIN_CONFIG")
        .env_remove("PAYIN_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node --test failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // A suite that ran nothing must not pass for one that ran everything.
    let passed = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("ℹ pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed >= 30, "only {passed} Node tests passed:\n{stdout}");
    println!("{stdout}");
}
