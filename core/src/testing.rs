//! Test support shared by every crate's tests (feature `testing`): a fresh database per test
//! on either backend.
//!
//! PostgreSQL comes from `PAYIN_TEST_POSTGRES_URL`; each test gets its own database, dropped
//! afterwards. Without that variable Postgres tests are skipped loudly, except under `CI=true`
//! where its absence fails the test.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Declares each scenario as two `#[tokio::test]`s, `sqlite::<name>` and `postgres::<name>`.
///
/// - `on_both_backends!(a, b)`: each scenario is an `async fn name(Backend)`;
/// - `on_both_backends!(via run: a, b)`: each scenario is passed to
///   `async fn run(Backend, scenario)`, which sets up what they share.
#[macro_export]
macro_rules! on_both_backends {
    (via $runner:ident: $($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@backend sqlite Sqlite [$runner] $($name),+);
        $crate::on_both_backends!(@backend postgres Postgres [$runner] $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@backend sqlite Sqlite [] $($name),+);
        $crate::on_both_backends!(@backend postgres Postgres [] $($name),+);
    };
    (@backend $module:ident $backend:ident [] $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::testing::Backend::$backend).await
                }
            )+
        }
    };
    (@backend $module:ident $backend:ident [$runner:ident] $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$runner($crate::testing::Backend::$backend, super::$name).await
                }
            )+
        }
    };
}

/// A config in which every built-in EVM chain but `local` has an RPC URL, so that orders and
/// deposit addresses on them are accepted (see `Network::check_watched`). The URL is the
/// discard port: tests that use it start no watcher.
pub fn every_chain_watched() -> crate::config::FileConfig {
    let defaults = crate::chain::ChainRegistry::with_overrides(&Default::default()).expect("the built-in chains");
    let chains = defaults
        .networks()
        .iter()
        .filter(|n| n.protocol == crate::chain::Protocol::Evm && n.id != crate::dev::devnet::DEV_CHAIN_ID)
        .map(|n| {
            let rpc = crate::chain::ChainOverride {
                rpc_urls: Some(vec!["http://127.0.0.1:9".to_string()]),
                ..Default::default()
            };
            (n.id.clone(), rpc)
        })
        .collect();
    crate::config::FileConfig {
        chains,
        ..Default::default()
    }
}

/// A database that lives as long as the value.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

/// A brand-new empty database, or `None` when Postgres is not configured outside CI.
pub async fn fresh_database(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("payin.db").display());
            Some(TestDb {
                url,
                backend,
                _dir: Some(dir),
                postgres: None,
            })
        }
        Backend::Postgres => {
            let Some(admin) = postgres_admin_url() else {
                // Straight to stderr: the test harness captures `eprintln!`, and a skip must be seen.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"SKIPPED: PAYIN_TEST_POSTGRES_URL is not set; this PostgreSQL test did not run\n",
                );
                return None;
            };
            let name = format!("payin_t_{}", crate::ids::random_lower_alnum(12));
            let mut conn = PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("connecting to PAYIN_TEST_POSTGRES_URL: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
            let mut url = url::Url::parse(&admin).expect("PAYIN_TEST_POSTGRES_URL is a URL");
            url.set_path(&format!("/{name}"));
            Some(TestDb {
                url: url.to_string(),
                backend,
                _dir: None,
                postgres: Some((admin, name)),
            })
        }
    }
}

fn postgres_admin_url() -> Option<String> {
    match std::env::var("PAYIN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but PAYIN_TEST_POSTGRES_URL is not set: the PostgreSQL suite must run in CI")
        }
        _ => None,
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee; use a private one on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}

/// `n` distinct valid EVM addresses, deterministic per `seed`.
pub fn evm_addresses(seed: u32, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("0x{:08x}{:032x}", seed, u64::from(i) + 1))
        .collect()
}

// ---- the dev chain -------------------------------------------------------------------

/// A running local chain (anvil) with test USDT (6 decimals), USDC (6) and DAI (18) deployed
/// and the payer funded; anvil stops when the value is dropped. `None`, after a loud skip
/// notice, when anvil is not installed (`npm ci` installs it); under `CI=true` that panics.
pub async fn anvil_with_tokens() -> Option<crate::dev::devnet::Devnet> {
    anvil_with(crate::dev::devnet::DevnetOptions::default()).await
}

/// [`anvil_with_tokens`] with options, e.g. a block time instead of one block per transaction.
pub async fn anvil_with(options: crate::dev::devnet::DevnetOptions) -> Option<crate::dev::devnet::Devnet> {
    if options.anvil.is_none() && !anvil_available() {
        return None;
    }
    Some(
        crate::dev::devnet::Devnet::start(options)
            .await
            .unwrap_or_else(|e| panic!("starting the dev chain: {e}")),
    )
}

/// True when anvil can be found. When it cannot: under `CI=true` this panics, elsewhere it
/// prints a SKIPPED notice and returns false, so the calling test can return early.
pub fn anvil_available() -> bool {
    match crate::dev::devnet::find_anvil(None) {
        Ok(_) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but the dev chain cannot run: {e}")
        }
        Err(e) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("SKIPPED: {e}; this dev chain test did not run\n").as_bytes(),
            );
            false
        }
    }
}

/// A config file whose chain `local` points at `devnet` (RPC URL and token contracts): open an
/// [`Engine`](crate::Engine) with it to create orders on, and watch, that chain.
pub fn local_chain_config(devnet: &crate::dev::devnet::Devnet) -> crate::config::FileConfig {
    let mut config = crate::config::FileConfig::default();
    config
        .chains
        .insert(crate::dev::devnet::DEV_CHAIN_ID.to_string(), devnet.chain_override());
    config
}
