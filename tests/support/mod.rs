//! What the binary's end-to-end tests share: a sandbox directory with its own database, the
//! `payin` binary run in it, `payin serve` on a free port, and the checks that an external tool
//! a test needs is installed (missing: a failure under `CI=true`, a loud skip elsewhere).

// Each test binary uses its own part of this module.
#![allow(dead_code)]

pub mod python;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_payin");

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A temporary directory holding a SQLite database, for one test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("payin.db").display())
    }

    /// The binary on this sandbox's database, with no setting inherited from the environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("PAYIN_DATABASE_URL", self.db_url())
            .env_remove("PAYIN_CONFIG")
            .env_remove("PAYIN_LISTEN")
            .env_remove("PAYIN_API_URL")
            .env_remove("RUST_LOG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Writes a file into the sandbox; returns its path.
    pub fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// `payin serve` on a free port of 127.0.0.1. Dropping it kills the process, so a failing test
/// leaves no server behind.
pub struct Server {
    pub child: Child,
    /// e.g. `http://127.0.0.1:41234`
    pub base: String,
    /// Every line the server wrote to stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Runs `payin serve --listen 127.0.0.1:0 <extra>` with `command`'s environment and waits
    /// for the address it logs.
    pub fn start(mut command: Command, extra: &[&str]) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().expect("server exited early").unwrap();
            if let Some(i) = line.find("listening on http://") {
                break line[i + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
        Server { child, base, log }
    }

    /// The server's stderr so far, one string.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGTERM, then the exit status of the graceful shutdown (within 10 s).
    pub fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no graceful exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `payin dev` (a local chain, REST and MCP, watcher, delivery) on a fresh database.
pub struct DevServer {
    child: Child,
    /// The server root, e.g. `http://127.0.0.1:41234` (REST under `/api/v1`).
    pub api: String,
    pub key: String,
    _sandbox: Sandbox,
}

impl DevServer {
    pub fn start(anvil: PathBuf) -> DevServer {
        Self::start_on(anvil, None, &[])
    }

    /// On `database_url` instead of the sandbox's SQLite database, with `env` set.
    pub fn start_on(anvil: PathBuf, database_url: Option<&str>, env: &[(&str, &str)]) -> DevServer {
        let sandbox = Sandbox::new();
        let mut command = sandbox.cmd();
        if let Some(url) = database_url {
            command.env("PAYIN_DATABASE_URL", url);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .args(["dev", "--listen", "127.0.0.1:0"])
            .env("PAYIN_ANVIL", anvil)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut api, mut key) = (None, None);
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(v) = line.strip_prefix("API URL:") {
                api = Some(v.trim().trim_end_matches("/api/v1").to_string());
            }
            if let Some(v) = line.strip_prefix("API key:") {
                key = Some(v.trim().to_string());
            }
            if api.is_some() && key.is_some() {
                break;
            }
        }
        DevServer {
            child,
            api: api.expect("payin dev printed its API URL"),
            key: key.expect("payin dev printed its API key"),
            _sandbox: sandbox,
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        // A server that does not stop within 20 s of SIGTERM must not hang the test run.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                eprintln!("payin dev did not stop within 20 s of SIGTERM; killing it");
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

/// Runs a test program of the repository (`program script --payin BIN extra…`, e.g. a client
/// SDK's script) to completion and fails with its output unless it exits 0.
pub fn run_test_program(program: &str, script: &str, extra: &[&str]) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .arg(repo.join(script))
        .args(["--payin", BIN])
        .args(extra)
        .current_dir(repo)
        .env_remove("PAYIN_CONFIG")
        .env_remove("PAYIN_LISTEN")
        .env_remove("PAYIN_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("running {program} {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {extra:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    println!("{stdout}");
}

/// Whether `program probe…` succeeds, i.e. `what` is installed.
pub fn installed(program: &str, probe: &[&str], what: &str) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!in_ci(), "CI=true but {what} is missing (.ci/run installs it)");
        eprintln!("SKIPPED: {what} is missing (.ci/run installs it); this test did not run");
    }
    ok
}

/// Whether anvil (the local chain) can be started.
pub fn anvil_installed() -> bool {
    match payin_core::dev::devnet::find_anvil(None) {
        Ok(_) => true,
        Err(e) => {
            assert!(!in_ci(), "CI=true but anvil is missing: {e}");
            eprintln!("SKIPPED: {e}; this test did not run");
            false
        }
    }
}

/// A counting HTTP proxy on 127.0.0.1 in front of a JSON-RPC node: forwards every request to
/// `upstream` and counts it, so a test can measure the RPC traffic of the servers behind it.
/// Switched off, it answers 503 to everything (a node that errors).
pub struct RpcProxy {
    /// e.g. `http://127.0.0.1:41235`
    pub url: String,
    requests: Arc<AtomicU64>,
    off: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RpcProxy {
    /// A proxy on a free port.
    pub async fn start(upstream: &str) -> RpcProxy {
        RpcProxy::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), upstream)
    }

    /// A proxy on `listener`.
    pub fn start_on(listener: tokio::net::TcpListener, upstream: &str) -> RpcProxy {
        let requests = Arc::new(AtomicU64::new(0));
        let off = Arc::new(AtomicBool::new(false));
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (upstream, counted, switched) = (upstream.to_string(), requests.clone(), off.clone());
        let client = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let (upstream, counted, switched, client) =
                (upstream.clone(), counted.clone(), switched.clone(), client.clone());
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                if switched.load(Ordering::Relaxed) {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, Vec::new());
                }
                match client
                    .post(&upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) => {
                        let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap();
                        (status, r.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
                    }
                    Err(_) => (axum::http::StatusCode::BAD_GATEWAY, Vec::new()),
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RpcProxy {
            url,
            requests,
            off,
            task,
        }
    }

    /// Requests received since the last reset.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
    }

    /// Answers 503 to everything while `off`.
    pub fn set_off(&self, off: bool) {
        self.off.store(off, Ordering::Relaxed);
    }
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where a test keeps what it produced for people to look at (the pages' screenshots):
/// `PAYIN_SCREENSHOTS` when set, else `<target dir>/test-artifacts/<name>`; created.
#[allow(dead_code)]
pub fn artifacts_dir(name: &str) -> std::path::PathBuf {
    let dir = match std::env::var_os("PAYIN_SCREENSHOTS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::Path::new(BIN)
            .parent()
            .and_then(|debug| debug.parent())
            .expect("the payin binary is inside the target directory")
            .join("test-artifacts")
            .join(name),
    };
    std::fs::create_dir_all(&dir).expect("the artifacts directory can be created");
    dir
}
