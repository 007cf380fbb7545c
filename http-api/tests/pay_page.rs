//! The hosted payment page behind every order's `paymentUrl`: public, what the payer needs and
//! nothing else, safe with any order reference, and sending the payer back once the order ends.
//! (The repository's tests/pay_page_browser.rs drives it in Chromium.)

mod common;

use chrono::Duration;
use common::TestApp;
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    the_payment_page_shows_what_to_pay_and_escapes_every_value,
    the_status_document_follows_the_order_and_hands_back_the_redirect,
);

async fn the_payment_page_shows_what_to_pay_and_escapes_every_value(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(31, 2).await;
    let reference = "INV-1</script><script>alert(1)</script>";
    let (status, created) = app
        .post(
            "/api/v1/orders",
            json!({"orderReference": reference, "amount": "10.00", "currency": "USDT", "chainId": "ethereum",
                   "metadata": {"secretNote": "not for the payer"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let order = &created["data"];
    let url = order["paymentUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/pay/{}", app.base, order["orderId"].as_str().unwrap()));

    // Public: no API key.
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'sha256-") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let page = resp.text().await.unwrap();
    assert!(page.contains("10.00 USDT"), "{page}");
    assert!(page.contains("Ethereum"));
    assert!(page.contains(order["address"].as_str().unwrap()));
    assert!(
        page.contains("0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        "USDT's contract is shown"
    );
    assert!(
        page.contains("INV-1&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        !page.contains("<script>alert(1)"),
        "the reference broke out of the markup"
    );
    assert!(
        !page.contains("secretNote"),
        "metadata is the merchant's, not the payer's"
    );
    // The page's one executable script element is the template's (the JSON data is inert).
    assert_eq!(page.matches("<script>").count(), 1);

    let missing = reqwest::get(format!("{}/pay/ord_doesnotexist", app.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Payment not found"));
}

async fn the_status_document_follows_the_order_and_hands_back_the_redirect(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(32, 2).await;
    let (_, created) = app
        .post(
            "/api/v1/orders",
            json!({"orderReference": "INV-2", "amount": "5", "currency": "USDC", "chainId": "polygon",
                   "successUrl": "https://shop.example/thanks", "cancelUrl": "https://shop.example/cart?id=7",
                   "paymentWindowMinutes": 10, "graceMinutes": 0}),
        )
        .await;
    let id = created["data"]["orderId"].as_str().unwrap();
    let status = |app: &TestApp| {
        let url = format!("{}/pay/{id}/status", app.base);
        async move {
            let resp = reqwest::get(url).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.unwrap()["data"].clone()
        }
    };
    let pending = status(&app).await;
    assert_eq!(pending["status"], "pending");
    let page = reqwest::get(format!("{}/pay/{id}", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<section id=\"pay-to\">"),
        "a pending order shows where to pay"
    );
    assert_eq!(
        (pending["amount"].as_str(), pending["amountReceived"].as_str()),
        (Some("5"), Some("0"))
    );
    assert_eq!(pending["chainName"], "Polygon PoS");
    assert_eq!(pending["redirectUrl"], Value::Null);
    assert_eq!(pending["statusUrl"], format!("/pay/{id}/status"));
    assert!(
        pending.get("metadata").is_none() && pending.get("successUrl").is_none(),
        "{pending}"
    );

    app.clock.advance(Duration::minutes(11));
    app.engine.run_maintenance().await.unwrap();
    let expired = status(&app).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(
        expired["redirectUrl"],
        "https://shop.example/cart?id=7&orderReference=INV-2&status=expired&amount=5&currency=USDC&chainId=polygon"
    );
    // The expired order's page no longer shows where to pay: its address goes back to the pool.
    let page = reqwest::get(format!("{}/pay/{id}", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<section id=\"pay-to\" hidden>"), "{page}");

    let (code, body) = app
        .send(app.client.get(format!("{}/pay/ord_nope/status", app.base)))
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ORDER_NOT_FOUND"))
    );
}
