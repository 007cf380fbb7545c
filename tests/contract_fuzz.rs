//! Contract fuzzing: schemathesis (PyPI, pinned in tests/requirements.txt) generates requests
//! from `/api/v1/openapi.json` — valid and invalid data for every operation, then sequences
//! that follow the document's links — against a `payin dev` gateway: a real anvil chain that
//! is watched, on PostgreSQL when it is configured (SQLite otherwise). Any 5xx, any answer not
//! matching the document (status, content type, body schema, headers), invalid data accepted,
//! or an operation reachable without the API key fails the test.
//!
//! Bounded in time for CI: `PAYIN_FUZZ_SECONDS` (default 120) for the whole run and
//! `PAYIN_FUZZ_EXAMPLES` (default 25) per operation and phase. The run's seed is printed;
//! `PAYIN_FUZZ_SEED` replays it.

mod support;

use std::process::Command;

use payin_core::testing::{Backend, fresh_database};
use support::{DevServer, anvil_installed, installed};

#[tokio::test(flavor = "multi_thread")]
async fn the_api_keeps_its_openapi_contract_under_generated_requests() {
    if !anvil_installed()
        || !installed(
            "python3",
            &["-c", "import schemathesis"],
            "schemathesis (pip install -r tests/requirements.txt)",
        )
    {
        return;
    }
    let anvil = payin_core::dev::devnet::find_anvil(None).unwrap();
    // PostgreSQL when configured: the backend that refuses what SQLite lets through (NUL).
    let postgres = fresh_database(Backend::Postgres).await;
    // Traffic stays on this machine: HTTP clients of the gateway (webhook deliveries) go
    // through a proxy address where nothing listens, except to loopback (the chain's RPC).
    let local_only = [
        ("HTTP_PROXY", "http://127.0.0.1:9"),
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("ALL_PROXY", "http://127.0.0.1:9"),
        ("NO_PROXY", "127.0.0.1,localhost"),
    ];
    let dev = DevServer::start_on(anvil, postgres.as_ref().map(|db| db.url.as_str()), &local_only);
    let seconds = std::env::var("PAYIN_FUZZ_SECONDS").unwrap_or_else(|_| "120".into());
    let examples = std::env::var("PAYIN_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let workdir = tempfile::tempdir().unwrap();
    let mut st = Command::new("python3");
    st.args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{}/api/v1/openapi.json", dev.api))
        .args(["--url", &dev.api])
        .args(["--header", &format!("Authorization: Bearer {}", dev.key)])
        // Every check but one: "schema-valid data is accepted" cannot hold for business rules
        // no schema states (an amount with more decimals than the token has, a chain without
        // an RPC URL, an empty address pool); invalid data must still be refused.
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        // Generated webhook URLs name arbitrary hosts, which the dispatcher would then try to
        // reach (and resolve); webhook endpoints are covered by http-api/tests/webhooks.rs.
        .args(["--exclude-operation-id", "webhooks_create"])
        .args(["--max-examples", &examples, "--max-time", &seconds])
        .args(["--workers", "2", "--request-timeout", "30", "--no-color"])
        .current_dir(workdir.path());
    if let Ok(seed) = std::env::var("PAYIN_FUZZ_SEED") {
        st.args(["--seed", &seed]);
    }
    let out = st.output().expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found contract violations ({}); backend {}:\n{stdout}\n{stderr}",
        out.status,
        if postgres.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    assert!(
        stdout.contains("API Operations"),
        "schemathesis did not run:\n{stdout}\n{stderr}"
    );
}
