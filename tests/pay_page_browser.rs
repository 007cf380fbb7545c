//! The hosted payment page in real Chromium (Debian's `chromium`, driven by `playwright-core`):
//! a payer opens an order's `paymentUrl`, pays it in two transfers on the local chain, sees it
//! received and is sent back to the shop with the outcome. See tests/pages/pay.mjs.

use std::path::Path;
use std::process::Command;

mod support;

use support::{BIN, anvil_installed, installed};

#[test]
fn a_payer_pays_on_the_hosted_page_and_returns_to_the_shop() {
    if !anvil_installed()
        || !installed("sh", &["-c", "command -v chromium"], "Debian's chromium")
        || !installed("node", &["-e", "require.resolve('playwright-core')"], "playwright-core")
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
