//! A payment link's checkout page in real Chromium (Debian's `chromium`, driven by
//! `playwright-core`): a shopper opens the link, picks a currency, lands on the new order's
//! payment page and pays; the link (inventory 1) then shows sold out. See
//! tests/pages/checkout.mjs.

mod support;

use support::{anvil_installed, installed, run_test_program};

#[test]
fn a_shopper_buys_through_a_link_which_then_shows_sold_out() {
    if !anvil_installed()
        || !installed("sh", &["-c", "command -v chromium"], "Debian's chromium")
        || !installed("node", &["-e", "require.resolve('playwright-core')"], "playwright-core")
    {
        return;
    }
    // The 360 px screenshots are kept as the test's artifacts.
    let artifacts = support::artifacts_dir("pages");
    run_test_program(
        "node",
        "tests/pages/checkout.mjs",
        &["--screenshot", artifacts.to_str().expect("a UTF-8 path")],
    );
}
