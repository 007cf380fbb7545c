//! The hosted payment page in real Chromium (Debian's `chromium`, driven by `playwright-core`):
//! a payer opens an order's `paymentUrl`, pays it in two transfers on the local chain, sees it
//! received and is sent back to the shop with the outcome. See tests/pages/pay.mjs.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_payin");

fn ready(program: &str, probe: &[&str], what: &str) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but {what} is missing (apt-get install chromium; npm ci)");
        }
        eprintln!("SKIPPED: {what} is missing (apt-get install chromium; npm ci); the browser test did not run");
    }
    ok
}

fn anvil_ready() -> bool {
    match payin_core::devnet::find_anvil(None) {
        Ok(_) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI=true but anvil is missing: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}; the browser test did not run");
            false
        }
    }
}

#[test]
fn a_payer_pays_on_the_hosted_page_and_returns_to_the_shop() {
    if !anvil_ready()
        || !ready("sh", &["-c", "command -v chromium"], "Debian's chromium")
        || !ready("node", &["-e", "require.resolve('playwright-core')"], "playwright-core")
    {
        return;
    }
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages/pay.mjs"))
        .args(["--payin", BIN])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PAYIN_CONFIG")
        .env_remove("PAYIN_DATABASE_URL")
        .output()
        .expect("node runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "tests/pages/pay.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    println!("{stdout}");
}
