//! The hosted payment page in real Chromium (Debian's `chromium`, driven by `playwright-core`):
//! a payer opens an order's `paymentUrl`, pays it in two transfers on the local chain, sees it
//! received and is sent back to the shop with the outcome (tests/pages/pay.mjs); an unpaid order
//! counts down, expires and sends the payer to the cancelUrl (tests/pages/expiry.mjs).

mod support;

use support::{anvil_installed, installed, run_test_program};

#[test]
fn a_payer_pays_on_the_hosted_page_and_returns_to_the_shop() {
    if !anvil_installed()
        || !installed("sh", &["-c", "command -v chromium"], "Debian's chromium")
        || !installed("node", &["-e", "require.resolve('playwright-core')"], "playwright-core")
    {
        return;
    }
    // The screenshots (pending, completed, Chinese at 360 px) are kept as the test's artifacts.
    let artifacts = support::artifacts_dir("pages");
    run_test_program(
        "node",
        "tests/pages/pay.mjs",
        &["--screenshot", artifacts.to_str().expect("a UTF-8 path")],
    );
}

#[test]
fn an_unpaid_order_counts_down_expires_and_sends_the_payer_back_to_the_cancel_url() {
    if !anvil_installed()
        || !installed("sh", &["-c", "command -v chromium"], "Debian's chromium")
        || !installed("node", &["-e", "require.resolve('playwright-core')"], "playwright-core")
    {
        return;
    }
    let artifacts = support::artifacts_dir("pages");
    run_test_program(
        "node",
        "tests/pages/expiry.mjs",
        &["--screenshot", artifacts.to_str().expect("a UTF-8 path")],
    );
}
