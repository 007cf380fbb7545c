//! Payment links (issue 12): the REST API, the public checkout page `/checkout/{slug}`, the
//! inventory (pending orders reserve, completed orders are sold, expiry releases) and the last
//! unit under 50 concurrent buyers — on both backends.

mod common;

use chrono::Duration;
use common::{TestApp, assert_error};
use payin_core::Amount;
use payin_core::amount::AmountUnits;
use payin_core::chain::Currency;
use payin_core::settle::{Confirmation, ObservedTransfer, Scan};
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

payin_core::on_both_backends!(
    links_are_created_listed_published_and_archived,
    bad_link_requests_name_the_field,
    a_checkout_opens_an_order_carrying_the_link,
    open_amounts_are_bounded_and_bad_input_gets_a_friendly_page,
    pending_orders_reserve_expiry_releases_completion_sells,
    fifty_buyers_of_the_last_unit_open_exactly_one_order,
);

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn create_link(app: &TestApp, body: Value) -> Value {
    let (status, created) = app.post("/api/v1/payment-links", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"].clone()
}

async fn published(app: &TestApp, body: Value) -> Value {
    let link = create_link(app, body).await;
    let (status, published) = app
        .post(
            &format!("/api/v1/payment-links/{}/publish", link["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    published["data"].clone()
}

async fn checkout(app: &TestApp, slug: &str, form: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let resp = browser()
        .post(app.url(&format!("/checkout/{slug}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let resp = browser().get(app.url(path)).send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

fn assert_html(headers: &reqwest::header::HeaderMap, body: &str) {
    assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{body}");
    assert!(body.starts_with("<!doctype html>"), "{body}");
    assert!(
        !body.contains("\"success\""),
        "no JSON envelope on an HTML route: {body}"
    );
}

async fn links_are_created_listed_published_and_archived(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let link = create_link(
        &app,
        json!({"title": "Web Design Services - Invoice #2025-001", "description": "Logo design + 5 landing pages",
               "amount": "2500.00", "currencies": [{"currency": "USDT", "chainId": "ethereum"},
                                                    {"currency": "USDC", "chainId": "polygon"}],
               "metadata": {"invoiceNumber": "INV-2025-001"}}),
    )
    .await;
    let id = link["id"].as_str().unwrap();
    assert!(id.starts_with("plk_"), "{link}");
    let slug = link["slug"].as_str().unwrap();
    assert_eq!(link["status"], "draft");
    assert_eq!(link["amount"], "2500.00", "the scale as sent");
    assert_eq!(link["checkoutUrl"], format!("{}/checkout/{slug}", app.base));
    assert_eq!(link["currencies"][1], json!({"currency": "USDC", "chainId": "polygon"}));
    assert_eq!(
        (
            &link["inventoryTotal"],
            &link["inventoryReserved"],
            &link["inventorySold"],
            &link["inventoryRemaining"]
        ),
        (&Value::Null, &json!(0), &json!(0), &Value::Null)
    );
    assert_eq!(link["metadata"]["invoiceNumber"], "INV-2025-001");
    assert!(link["createdAt"].as_str().unwrap().ends_with(".000Z"));

    let (status, got) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!((status, &got["data"]), (StatusCode::OK, &link));
    let (status, missing) = app.get("/api/v1/payment-links/plk_nothere").await;
    assert_error(status, &missing, 404, "NOT_FOUND", None);

    app.clock.advance(Duration::seconds(1));
    let second = create_link(
        &app,
        json!({"title": "Tip jar", "amount": "0", "currencies": [{"currency": "DAI", "chainId": "ethereum"}]}),
    )
    .await;
    let (status, published) = app
        .post(&format!("/api/v1/payment-links/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["data"]["status"], "active");
    let (status, again) = app
        .post(&format!("/api/v1/payment-links/{id}/publish"), json!({}))
        .await;
    assert_eq!(
        (status, &again["data"]["status"]),
        (StatusCode::OK, &json!("active")),
        "publishing twice is a no-op"
    );

    let (_, list) = app.get("/api/v1/payment-links?status=active").await;
    assert_eq!(list["data"]["pagination"]["total"], 1, "{list}");
    assert_eq!(list["data"]["paymentLinks"][0]["id"], id);
    let (_, list) = app.get("/api/v1/payment-links?limit=1&page=2").await;
    assert_eq!(list["data"]["pagination"]["total"], 2);
    assert_eq!(list["data"]["pagination"]["hasMore"], false);
    assert_eq!(
        list["data"]["paymentLinks"][0]["id"], id,
        "newest first: the first link is on page 2"
    );
    let (status, bad) = app.get("/api/v1/payment-links?status=sold").await;
    assert_error(status, &bad, 400, "VALIDATION_ERROR", Some("status"));

    let (status, archived) = app
        .post(&format!("/api/v1/payment-links/{id}/archive"), json!({}))
        .await;
    assert_eq!(
        (status, &archived["data"]["status"]),
        (StatusCode::OK, &json!("archived"))
    );
    let (status, refused) = app
        .post(&format!("/api/v1/payment-links/{id}/publish"), json!({}))
        .await;
    assert_error(status, &refused, 400, "VALIDATION_ERROR", Some("status"));
    // A draft can be archived directly.
    let (status, archived) = app
        .post(
            &format!("/api/v1/payment-links/{}/archive", second["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &archived["data"]["status"]),
        (StatusCode::OK, &json!("archived"))
    );
    let (status, missing) = app.post("/api/v1/payment-links/plk_nothere/publish", json!({})).await;
    assert_error(status, &missing, 404, "NOT_FOUND", None);

    // The typed client sees the same.
    use payin_client::Gateway;
    let client = payin_client::Client::new(&app.base, app.key.clone()).unwrap();
    let seen = client.get_payment_link(id).await.unwrap();
    assert_eq!(seen.status, payin_core::payment_link::PaymentLinkStatus::Archived);
    let page = client
        .list_payment_links(&payin_core::payment_link::PaymentLinkListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
}

async fn bad_link_requests_name_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let base = json!({"title": "T", "amount": "10", "currencies": [{"currency": "USDT", "chainId": "ethereum"}]});
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, code, field) in [
        (with(json!({"title": ""})), "VALIDATION_ERROR", "title"),
        (with(json!({"title": "a\u{0}b"})), "VALIDATION_ERROR", "title"),
        (with(json!({"amount": 10})), "INVALID_AMOUNT", "amount"),
        (with(json!({"amount": "-1"})), "INVALID_AMOUNT", "amount"),
        (with(json!({"amount": "abc"})), "INVALID_AMOUNT", "amount"),
        (with(json!({"amount": "1.1234567"})), "INVALID_AMOUNT", "amount"),
        (with(json!({"minAmount": "1"})), "VALIDATION_ERROR", "minAmount"),
        (
            with(json!({"amount": "0", "minAmount": "9", "maxAmount": "1"})),
            "INVALID_AMOUNT",
            "maxAmount",
        ),
        (with(json!({"currencies": []})), "VALIDATION_ERROR", "currencies"),
        (
            with(json!({"currencies": [{"currency": "EUR", "chainId": "ethereum"}]})),
            "INVALID_CURRENCY",
            "currencies[0].currency",
        ),
        (
            with(json!({"currencies": [{"currency": "USDT", "chainId": "mars"}]})),
            "INVALID_CHAIN",
            "currencies[0].chainId",
        ),
        (
            with(json!({"currencies": [{"currency": "USDT", "chainId": "local"}]})),
            "INVALID_CURRENCY",
            "currencies[0].currency",
        ),
        (with(json!({"inventoryTotal": 0})), "VALIDATION_ERROR", "inventoryTotal"),
        (
            with(json!({"expiresAt": "2020-01-01T00:00:00Z"})),
            "VALIDATION_ERROR",
            "expiresAt",
        ),
        (with(json!({"expiresAt": "tomorrow"})), "VALIDATION_ERROR", "expiresAt"),
        (with(json!({"metadata": [1]})), "VALIDATION_ERROR", "metadata"),
    ] {
        let (status, error) = app.post("/api/v1/payment-links", body.clone()).await;
        assert_eq!(error["field"], field, "{body}: {error}");
        assert_error(status, &error, 400, code, Some(field));
    }
    let (_, list) = app.get("/api/v1/payment-links").await;
    assert_eq!(list["data"]["pagination"]["total"], 0, "no partial write");
}

async fn a_checkout_opens_an_order_carrying_the_link(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(41, 3).await;
    let link = create_link(
        &app,
        json!({"title": "Mug <b>&</b> {{BODY}}", "description": "Ceramic\nhandmade", "amount": "12.50",
               "currencies": [{"currency": "USDT", "chainId": "ethereum"}, {"currency": "USDC", "chainId": "polygon"}],
               "metadata": {"sku": "MUG-1"}}),
    )
    .await;
    let (id, slug) = (link["id"].as_str().unwrap(), link["slug"].as_str().unwrap());
    // A draft is not public.
    let (status, headers, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_html(&headers, &body);
    let (status, _, _) = checkout(&app, slug, "option=0").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft opens no order");

    app.post(&format!("/api/v1/payment-links/{id}/publish"), json!({}))
        .await;
    let (status, headers, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_html(&headers, &body);
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'none'") && policy.contains("form-action 'self'"),
        "{policy}"
    );
    assert!(
        body.contains("Mug &lt;b&gt;&amp;&lt;/b&gt; {{BODY}}"),
        "escaped, placeholders literal: {body}"
    );
    assert!(body.contains("12.50"));
    assert!(body.contains("Ethereum") && body.contains("Polygon"), "{body}");
    assert!(!body.contains("MUG-1"), "metadata is the merchant's");
    // Chinese by Accept-Language, English by the switch.
    let zh = browser()
        .get(app.url(&format!("/checkout/{slug}")))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("前往付款") && zh.contains("lang=\"zh-CN\""), "{zh}");
    let (_, _, en) = page(&app, &format!("/checkout/{slug}?lang=en")).await;
    assert!(en.contains("Continue to payment"));

    // The payer picks USDC on Polygon.
    let (status, headers, _) = checkout(&app, slug, "option=1").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/pay/ord_", app.base)), "{location}");
    let order_id = location.rsplit('/').next().unwrap();
    let (_, order) = app.get(&format!("/api/v1/orders/{order_id}")).await;
    let order = &order["data"];
    assert_eq!(order["paymentLinkId"], id, "{order}");
    assert_eq!(
        (
            order["amount"].as_str(),
            order["currency"].as_str(),
            order["chainId"].as_str()
        ),
        (Some("12.50"), Some("USDC"), Some("polygon"))
    );
    assert_eq!(
        order["metadata"]["sku"], "MUG-1",
        "the link's metadata is copied onto the order"
    );
    assert_eq!(order["paymentUrl"], location);
    // Orders created through the API carry no link.
    let (_, plain) = app.create_order("plain-1", "1").await;
    assert_eq!(plain["data"]["paymentLinkId"], Value::Null);
    // The order.created event (what webhooks carry) names the link.
    let (_, events) = app.get("/api/v1/events?type=order.created").await;
    assert!(
        events.to_string().contains(&format!("\"paymentLinkId\":\"{id}\"")),
        "{events}"
    );
    let (_, link) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!(link["data"]["inventoryReserved"], 1);

    // A cross-site post is refused and opens nothing.
    let resp = browser()
        .post(app.url(&format!("/checkout/{slug}")))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("option=0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = browser()
        .post(app.url(&format!("/checkout/{slug}")))
        .header("sec-fetch-site", "cross-site")
        .body("option=0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // The same origin is fine.
    let resp = browser()
        .post(app.url(&format!("/checkout/{slug}")))
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .body("option=0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // Archived: 410, and no order.
    app.post(&format!("/api/v1/payment-links/{id}/archive"), json!({}))
        .await;
    let (status, headers, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_html(&headers, &body);
    assert!(body.contains("closed"), "{body}");
    let (status, _, _) = checkout(&app, slug, "option=0").await;
    assert_eq!(status, StatusCode::GONE);
    let (_, orders) = app.get("/api/v1/orders").await;
    assert_eq!(
        orders["data"]["pagination"]["total"], 3,
        "two checkouts and one plain order"
    );

    // Expired: 410 once expiresAt passed.
    let expiring = published(
        &app,
        json!({"title": "Flash sale", "amount": "1", "currencies": [{"currency": "USDT", "chainId": "ethereum"}],
               "expiresAt": "2025-01-20T11:00:00.000Z"}),
    )
    .await;
    let slug = expiring["slug"].as_str().unwrap();
    assert_eq!(page(&app, &format!("/checkout/{slug}")).await.0, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    let (status, _, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(body.contains("expired"), "{body}");
    assert_eq!(checkout(&app, slug, "option=0").await.0, StatusCode::GONE);
}

async fn open_amounts_are_bounded_and_bad_input_gets_a_friendly_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(42, 3).await;
    let link = published(
        &app,
        json!({"title": "Donation", "amount": "0", "minAmount": "5", "maxAmount": "500",
               "currencies": [{"currency": "USDT", "chainId": "ethereum"}]}),
    )
    .await;
    let slug = link["slug"].as_str().unwrap();
    let (_, _, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert!(
        body.contains("name=\"amount\"") && body.contains("Between 5 and 500"),
        "{body}"
    );
    for (form, want) in [
        ("option=0&amount=4.99", "at least 5"),
        ("option=0&amount=500.01", "at most 500"),
        ("option=0&amount=abc", "such as 25"),
        ("option=0&amount=", "such as 25"),
        ("option=0&amount=-5", "such as 25"),
        ("option=0&amount=1e3", "such as 25"),
        ("option=0&amount=10.1234567", "such as 25"),
        ("option=0&amount=99999999999999999999999999999999", "such as 25"),
        ("option=7&amount=10", "choose one of"),
        ("option=x&amount=10", "choose one of"),
        ("amount=10", "choose one of"),
    ] {
        let (status, headers, body) = checkout(&app, slug, form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form}: {body}");
        assert_html(&headers, &body);
        assert!(body.contains(want), "{form}: {body}");
        assert!(body.contains("<form"), "the form again, to correct: {form}");
    }
    // NUL bytes in the form, in the slug; tampered slugs.
    let (status, headers, body) = checkout(&app, slug, "option=0&amount=1%00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_html(&headers, &body);
    for path in [
        "/checkout/doesnotexist1".to_string(),
        format!("/checkout/{}X", slug),
        format!("/checkout/{slug}%00"),
        "/checkout/%3Cscript%3E".to_string(),
        format!("/checkout/{}", "a".repeat(500)),
        "/checkout/%FF".to_string(),
    ] {
        let (status, headers, body) = page(&app, &path).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{path}: {status}"
        );
        assert_html(&headers, &body);
    }
    let (status, _, _) = checkout(&app, "doesnotexist1", "option=0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, orders) = app.get("/api/v1/orders").await;
    assert_eq!(orders["data"]["pagination"]["total"], 0, "no bad input opened an order");

    let (status, headers, _) = checkout(&app, slug, "option=0&amount=25.5").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let order_id = headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (_, order) = app.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(order["data"]["amount"], "25.5");
}

async fn pending_orders_reserve_expiry_releases_completion_sells(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(43, 4).await;
    let link = published(
        &app,
        json!({"title": "Last one", "amount": "3", "inventoryTotal": 1,
               "currencies": [{"currency": "USDT", "chainId": "ethereum"}]}),
    )
    .await;
    let (id, slug) = (link["id"].as_str().unwrap(), link["slug"].as_str().unwrap());
    assert_eq!(link["inventoryRemaining"], 1);
    let (status, headers, _) = checkout(&app, slug, "option=0").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let first = headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (_, l) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!(
        (&l["data"]["inventoryReserved"], &l["data"]["inventoryRemaining"]),
        (&json!(1), &json!(0))
    );

    // Sold out while the pending order holds the unit.
    let (status, headers, body) = page(&app, &format!("/checkout/{slug}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_html(&headers, &body);
    assert!(body.contains("Sold out"), "{body}");
    assert_eq!(checkout(&app, slug, "option=0").await.0, StatusCode::CONFLICT);

    // Expiry releases it.
    app.clock.advance(Duration::minutes(60));
    app.engine.run_maintenance().await.unwrap();
    let (_, order) = app.get(&format!("/api/v1/orders/{first}")).await;
    assert_eq!(order["data"]["status"], "expired");
    let (_, l) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!(
        (&l["data"]["inventoryReserved"], &l["data"]["inventoryRemaining"]),
        (&json!(0), &json!(1))
    );
    let (status, headers, _) = checkout(&app, slug, "option=0").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let second = headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    // Completion sells it: the order is paid and its payment confirmed through settlement.
    pay_and_confirm(&app, &second).await;
    let (_, order) = app.get(&format!("/api/v1/orders/{second}")).await;
    assert_eq!(order["data"]["paymentLinkId"], json!(id));
    let (_, l) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!(
        (
            &l["data"]["inventoryReserved"],
            &l["data"]["inventorySold"],
            &l["data"]["inventoryRemaining"]
        ),
        (&json!(0), &json!(1), &json!(0))
    );
    assert_eq!(page(&app, &format!("/checkout/{slug}")).await.0, StatusCode::CONFLICT);
    app.clock.advance(Duration::minutes(60));
    app.engine.run_maintenance().await.unwrap();
    assert_eq!(
        page(&app, &format!("/checkout/{slug}")).await.0,
        StatusCode::CONFLICT,
        "a sold unit stays sold"
    );
}

/// Pays an order in full and confirms the payment through settlement, as the watcher does: the
/// transfer is recorded by `apply_scan` and confirmed by `apply_confirmations`.
async fn pay_and_confirm(app: &TestApp, order_id: &str) {
    let (_, order) = app.get(&format!("/api/v1/orders/{order_id}")).await;
    let order = &order["data"];
    let now = app.engine.now();
    let units = Amount::parse_positive("amount", order["amount"].as_str().unwrap())
        .unwrap()
        .to_base_units(6)
        .unwrap();
    let transfer = ObservedTransfer {
        chain_id: "ethereum".into(),
        tx_hash: format!("0x{:064x}", 0xabc),
        log_index: 0,
        block_number: 101,
        block_hash: format!("0x{:064x}", 101),
        block_time: now,
        token: "0xdAC17F958D2ee523a2206206994597C13D831ec7".into(),
        currency: Currency::Usdt,
        from: format!("0x{:040x}", 0xf0),
        to: order["address"].as_str().unwrap().into(),
        amount: ObservedTransfer::amount_from_units(units, 6).unwrap(),
    };
    let store = app.engine.chain_store();
    store
        .apply_scan(&Scan {
            chain_id: "ethereum".into(),
            from: 100,
            to: 101,
            to_hash: transfer.block_hash.clone(),
            to_time: now,
            transfers: vec![transfer.clone()],
            now,
        })
        .await
        .unwrap();
    let confirmed = Confirmation::Confirmed {
        chain_id: "ethereum".into(),
        tx_hash: transfer.tx_hash.clone(),
        log_index: 0,
        confirmations: 64,
    };
    store
        .apply_confirmations(&[confirmed], now, now + Duration::minutes(30))
        .await
        .unwrap();
    let (_, order) = app.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(order["data"]["status"], "completed", "{order}");
}

async fn fifty_buyers_of_the_last_unit_open_exactly_one_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(44, 60).await;
    let link = published(
        &app,
        json!({"title": "Limited", "amount": "9.99", "inventoryTotal": 3,
               "currencies": [{"currency": "USDT", "chainId": "ethereum"}]}),
    )
    .await;
    let (id, slug) = (
        link["id"].as_str().unwrap().to_string(),
        link["slug"].as_str().unwrap().to_string(),
    );
    // Two units go first; 50 buyers race for the last.
    for _ in 0..2 {
        assert_eq!(checkout(&app, &slug, "option=0").await.0, StatusCode::SEE_OTHER);
    }
    let client = browser();
    let url = app.url(&format!("/checkout/{slug}"));
    let buyers: Vec<_> = (0..50)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("option=0")
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for b in buyers {
        statuses.push(b.await.unwrap());
    }
    let sold = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((sold, refused), (1, 49), "{statuses:?}");
    let (_, l) = app.get(&format!("/api/v1/payment-links/{id}")).await;
    assert_eq!(
        (&l["data"]["inventoryReserved"], &l["data"]["inventoryRemaining"]),
        (&json!(3), &json!(0))
    );
    let (_, orders) = app.get("/api/v1/orders?limit=100").await;
    let of_link = orders["data"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["paymentLinkId"] == id.as_str())
        .count();
    assert_eq!(of_link, 3, "exactly one order for the last unit");
}
