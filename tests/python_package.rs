//! The Python package `payin` (bindings-python) as merchants use it, against real gateways:
//! each test starts a `payin dev` (local chain, REST API, watcher, webhook delivery) and runs
//! a part of `bindings-python/tests` with pytest, the package's native module built by this
//! build (`support::python`). The tests start what else they need on 127.0.0.1 themselves: a
//! `payin serve` with an empty pool, a webhook receiver, a proxy that drops an answer.
//!
//! Plus the stubs (`mypy --strict`, stubtest) and the README's quickstart, installed with
//! `pip install ./bindings-python` into a fresh virtual environment and run as written.

mod support;

use std::process::Command;

use support::python::{Package, repo};
use support::{BIN, DevServer, anvil_installed, installed};

fn pytest_installed() -> bool {
    installed(
        "python3",
        &["-c", "import pytest, standardwebhooks"],
        "pytest and standardwebhooks (tests/requirements.txt)",
    )
}

/// Runs pytest on `files` of bindings-python/tests against `dev` (none: no gateway needed).
fn pytest(files: &[&str], dev: Option<&DevServer>) {
    let package = Package::assemble();
    let tests = repo().join("bindings-python/tests");
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .args(files.iter().map(|f| tests.join(f)))
        .current_dir(&tests)
        .env("PYTHONPATH", package.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PAYIN_TEST_BIN", BIN)
        // The package's own fallbacks are under test: nothing leaks in from this environment.
        .env_remove("PAYIN_API_KEY")
        .env_remove("PAYIN_BASE_URL")
        .env_remove("PAYIN_CONFIG")
        .env_remove("PAYIN_DATABASE_URL")
        .env_remove("RUST_LOG");
    if let Some(dev) = dev {
        cmd.env("PAYIN_TEST_BASE_URL", &dev.api)
            .env("PAYIN_TEST_API_KEY", &dev.key);
    }
    let out = cmd.output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "pytest {files:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(" skipped"), "no test may be skipped:\n{stdout}");
}

fn dev() -> DevServer {
    DevServer::start(payin_core::dev::devnet::find_anvil(None).expect("checked by anvil_installed"))
}

#[test]
fn the_sync_client_runs_every_rest_operation_and_walks_pages() {
    if !anvil_installed() || !pytest_installed() {
        return;
    }
    pytest(&["test_client.py", "test_pagination.py"], Some(&dev()));
}

#[test]
fn the_async_client_runs_every_namespace_concurrently() {
    if !anvil_installed() || !pytest_installed() {
        return;
    }
    pytest(&["test_async.py"], Some(&dev()));
}

#[test]
fn every_exception_kind_and_safe_retries() {
    if !anvil_installed() || !pytest_installed() {
        return;
    }
    pytest(&["test_errors.py", "test_retries.py"], Some(&dev()));
}

#[test]
fn webhooks_verify_against_the_shared_vectors_and_real_deliveries() {
    if !anvil_installed() || !pytest_installed() {
        return;
    }
    pytest(&["test_webhooks.py"], Some(&dev()));
}

#[test]
fn the_stubs_pass_mypy_strict_and_stubtest() {
    if !pytest_installed() || !installed("python3", &["-c", "import mypy"], "mypy (tests/requirements.txt)") {
        return;
    }
    pytest(&["test_types.py"], None);
}

#[test]
fn the_abi3_module_loads_in_every_cpython_from_3_9() {
    // One wheel for every CPython from 3.9 (abi3-py39): the oldest and the newest this
    // machine has, besides the python3 the other tests use.
    let pythons = ["python3.9", "python3.13"];
    // Extra interpreters are optional (pyenv may list them without enabling them): without
    // them this check is skipped, in CI too; the package's other tests run on python3.
    let runs = |p: &&str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !anvil_installed() || !pythons.iter().all(runs) {
        eprintln!("SKIPPED: {pythons:?} are not all runnable here; this test did not run");
        return;
    }
    let package = Package::assemble();
    let dev = dev();
    for python in pythons {
        let out = Command::new(python)
            .arg(repo().join("bindings-python/tests/smoke.py"))
            .env("PYTHONPATH", package.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PAYIN_TEST_BASE_URL", &dev.api)
            .env("PAYIN_TEST_API_KEY", &dev.key)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("smoke ok"),
            "{python}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fenced blocks of the README's "Python" section, with their language.
fn readme_python_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("\n## Python").expect("the README has a Python section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(lang) = line.strip_prefix("```").filter(|l| !l.is_empty()) {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            blocks.push((lang.to_string(), body.join("\n") + "\n"));
        }
    }
    blocks
}

/// What the quickstart's webhook handler is fed: a real endpoint registered before the README's
/// code runs (its secret in `PAYIN_WEBHOOK_SECRET`), and afterwards the order the README created,
/// paid on the local chain, its signed `order.completed` delivery passed to `handle_webhook`.
const QUICKSTART_PRELUDE: &str = r#"
import http.server, os, queue, threading
import payin as _payin
_deliveries = queue.Queue()
class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        _deliveries.put((self.rfile.read(int(self.headers["Content-Length"])), self.headers))
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
threading.Thread(target=_server.serve_forever, daemon=True).start()
_endpoint = _payin.Client().webhooks.create(
    url="http://127.0.0.1:%d/payin" % _server.server_address[1], events=["order.completed"])
os.environ["PAYIN_WEBHOOK_SECRET"] = _endpoint.secret
"#;

const QUICKSTART_EPILOGUE: &str = r#"
_payin.Client().dev.simulate_payment(order_id=order.order_id)
_body, _headers = _deliveries.get(timeout=60)
assert handle_webhook(_body, _headers) == 200
assert handle_webhook(_body.replace(b"completed", b"expired"), _headers) == 400
print("quickstart done")
"#;

#[test]
fn the_readme_python_quickstart_installs_with_pip_and_runs_as_written() {
    if !anvil_installed() || !installed("python3", &["-m", "venv", "--help"], "python3 -m venv") {
        return;
    }
    let blocks = readme_python_blocks();
    let shell: Vec<&str> = blocks
        .iter()
        .filter(|(l, _)| l == "sh")
        .map(|(_, b)| b.as_str())
        .collect();
    let python: Vec<&str> = blocks
        .iter()
        .filter(|(l, _)| l == "python")
        .map(|(_, b)| b.as_str())
        .collect();
    assert!(
        shell.iter().any(|b| b.contains("pip install ./bindings-python")),
        "{blocks:?}"
    );
    assert_eq!(python.len(), 2, "create an order, verify a webhook: {blocks:?}");

    let venv = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(venv.path())
        .status()
        .unwrap();
    assert!(made.success());
    let bin = venv.path().join("bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let target_dir = support::python::cargo_target_dir();

    // The install commands as written, with the venv's pip first on PATH. The build reuses
    // this build's target directory in the dev profile (maturin's PEP 517 arguments), so it
    // compiles little; build isolation still fetches the pinned maturin.
    for block in &shell {
        let out = Command::new("sh")
            .args(["-ec", block])
            .current_dir(repo())
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("MATURIN_PEP517_ARGS", "--profile dev")
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{block} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let dev = dev();
    let script = format!("{QUICKSTART_PRELUDE}\n{}\n{QUICKSTART_EPILOGUE}", python.join("\n"));
    let out = Command::new(bin.join("python"))
        .args(["-c", &script])
        .current_dir(venv.path())
        .env("PAYIN_API_KEY", &dev.key)
        .env("PAYIN_BASE_URL", format!("{}/api/v1", dev.api))
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{}/pay/ord_", dev.api)), "{stdout}");
    assert!(stdout.contains("paid: ORDER-2025-001 100.00"), "{stdout}");
    assert!(stdout.contains("quickstart done"), "{stdout}");
}
