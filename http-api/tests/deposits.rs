//! Deposit addresses over HTTP: both bind forms, reference lookups, both unbind forms.

mod common;

use common::{TestApp, assert_error};
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

payin_core::on_both_backends!(
    bind_by_chain_then_protocol_reuses_one_address_per_protocol,
    unbind_forms_and_cooldown_after_the_last_binding,
    references_list_with_search_and_deposit_totals,
    bind_without_free_address_is_503_and_writes_nothing,
);

async fn bind_by_chain_then_protocol_reuses_one_address_per_protocol(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(20, 3).await;
    let (status, first) = app
        .post(
            "/api/v1/deposits/references",
            json!({"depositReference": "user_alice_123", "currency": "USDT", "chainId": "ethereum",
                   "metadata": {"userId": "alice_123"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let address = first["data"]["address"].as_str().unwrap().to_string();
    assert_eq!(first["data"]["protocol"], "evm");
    assert_eq!(first["data"]["metadata"], json!({"userId": "alice_123"}));
    assert_eq!(first["data"]["createdAt"], "2025-01-20T10:30:00.000Z");

    let (status, again) = app
        .post(
            "/api/v1/deposits/references",
            json!({"depositReference": "user_alice_123", "currency": "USDC", "chainId": "ethereum"}),
        )
        .await;
    assert_error(status, &again, 409, "DUPLICATE_DEPOSIT_REFERENCE", None);
    assert!(again["message"].as_str().unwrap().contains("'ethereum'"), "{again}");

    let (status, second) = app
        .post(
            "/api/v1/deposits/references",
            json!({"depositReference": "user_alice_123", "currency": "USDC", "chainId": "polygon"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        second["data"]["address"],
        address.as_str(),
        "one address per protocol family"
    );
    assert_eq!(
        second["data"]["metadata"],
        json!({"userId": "alice_123"}),
        "metadata kept when not sent"
    );

    let (status, body) = app.get("/api/v1/deposits/references/user_alice_123").await;
    assert_eq!(status, StatusCode::OK);
    let d = &body["data"];
    assert_eq!(d["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(d["addresses"][0]["chainId"], "ethereum");
    assert_eq!(d["addresses"][0]["currency"], "USDT");
    assert_eq!(d["addresses"][1]["chainId"], "polygon");
    assert_eq!(d["totalDeposits"], 0);
    assert_eq!(d["totalAmount"], json!({}));

    let (status, bound) = app
        .post(
            "/api/v1/deposits/bind",
            json!({"depositReference": "player_7", "protocol": "evm"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bound}");
    assert_ne!(
        bound["data"]["address"],
        address.as_str(),
        "another reference, another address"
    );
    let monitored: Vec<&str> = bound["data"]["monitoredChains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for chain in [
        "ethereum",
        "ethereum-sepolia",
        "polygon",
        "polygon-amoy",
        "base",
        "base-sepolia",
        "bsc",
        "arbitrum",
    ] {
        assert!(monitored.contains(&chain), "{chain} missing from {monitored:?}");
    }
    // Only watched chains: not Tron (no RPC URL configured here), not `local` (no dev chain recorded).
    assert!(
        !monitored.contains(&"tron") && !monitored.contains(&"local"),
        "{monitored:?}"
    );
    let (status, body) = app
        .post(
            "/api/v1/deposits/bind",
            json!({"depositReference": "player_7", "protocol": "evm"}),
        )
        .await;
    assert_error(status, &body, 409, "DUPLICATE_DEPOSIT_REFERENCE", None);
    assert_eq!(app.evm_pool().await["assigned"], 2);
}

async fn unbind_forms_and_cooldown_after_the_last_binding(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(21, 1).await;
    for chain in ["ethereum", "polygon", "base"] {
        let (status, body) = app
            .post(
                "/api/v1/deposits/references",
                json!({"depositReference": "u1", "currency": "USDC", "chainId": chain}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app.delete("/api/v1/deposits/references/u1?chainId=polygon").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"depositReference": "u1", "unboundAddresses": 1}));
    assert_eq!(body["message"], "Deposit reference unbound");
    assert_eq!(app.evm_pool().await["assigned"], 1, "address still bound on two chains");
    let (status, body) = app.delete("/api/v1/deposits/references/u1?chainId=polygon").await;
    assert_error(status, &body, 404, "NOT_FOUND", None);

    let (status, body) = app
        .post("/api/v1/deposits/unbind", json!({"depositReference": "u1"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["unboundAddresses"], 2);
    let pool = app.evm_pool().await;
    assert_eq!(
        (pool["assigned"].as_u64(), pool["cooldown"].as_u64()),
        (Some(0), Some(1))
    );
    let (_, reference) = app.get("/api/v1/deposits/references/u1").await;
    assert_eq!(
        reference["data"]["addresses"],
        json!([]),
        "history stays, bindings are gone"
    );

    let (status, body) = app
        .post(
            "/api/v1/deposits/bind",
            json!({"depositReference": "u2", "protocol": "evm"}),
        )
        .await;
    assert_error(status, &body, 503, "NO_AVAILABLE_ADDRESSES", None);
    app.clock.advance(chrono::Duration::minutes(30));
    app.engine.run_maintenance().await.unwrap();
    let (status, body) = app
        .post(
            "/api/v1/deposits/bind",
            json!({"depositReference": "u2", "protocol": "evm"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "after the 30-minute cooldown: {body}");
    let (_, events) = app.get("/api/v1/events?type=deposit.address_unbound").await;
    assert_eq!(events["data"]["pagination"]["total"], 2);
}

async fn references_list_with_search_and_deposit_totals(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.import_evm(22, 3).await;
    for reference in ["user_alice", "user_bob", "merchant_carol"] {
        let (s, b) = app
            .post(
                "/api/v1/deposits/bind",
                json!({"depositReference": reference, "protocol": "evm"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let (_, alice) = app.get("/api/v1/deposits/references/user_alice").await;
    let address = alice["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let deposit = |tx: &str, amount: &str, status| payin_core::deposit::NewDeposit {
        chain_id: "ethereum".into(),
        address: address.clone(),
        currency: payin_core::chain::Currency::Usdt,
        amount: payin_core::Amount::parse_positive("amount", amount).unwrap(),
        tx_hash: tx.into(),
        log_index: 0,
        block_number: 100,
        confirmations: 12,
        status,
        detected_at: app.engine.now(),
    };
    use payin_core::deposit::DepositStatus::{Confirmed, Pending};
    assert!(
        app.engine
            .record_deposit(deposit("0xaa", "100.50", Confirmed))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.engine
            .record_deposit(deposit("0xbb", "0.45", Confirmed))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.engine
            .record_deposit(deposit("0xcc", "7", Pending))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.engine
            .record_deposit(deposit("0xaa", "100.50", Confirmed))
            .await
            .unwrap()
            .is_none(),
        "recorded once"
    );

    let (_, alice) = app.get("/api/v1/deposits/references/user_alice").await;
    assert_eq!(alice["data"]["totalDeposits"], 2);
    assert_eq!(alice["data"]["totalAmount"], json!({"USDT": "100.95"}));

    let (_, list) = app.get("/api/v1/deposits/references?search=USER_").await;
    let names: Vec<&str> = list["data"]["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["depositReference"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user_bob", "user_alice"]);
    let alice_row = &list["data"]["references"][1];
    assert_eq!(alice_row["protocols"], json!(["evm"]));
    assert_eq!(alice_row["totalAmount"], json!({"USDT": "100.95"}));
    assert!(alice_row["lastDepositAt"].is_string());
    assert_eq!(list["data"]["pagination"]["total"], 2);

    let (_, deposits) = app
        .get("/api/v1/deposits?depositReference=user_alice&status=confirmed&sortBy=amount&sortOrder=asc")
        .await;
    let amounts: Vec<&str> = deposits["data"]["deposits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["0.45", "100.50"]);
    let (_, pending) = app.get("/api/v1/deposits?status=pending").await;
    assert_eq!(pending["data"]["deposits"][0]["txHash"], "0xcc");
    assert!(
        pending["data"]["deposits"][0]["depositId"]
            .as_str()
            .unwrap()
            .starts_with("dep_")
    );
    let (_, none) = app.get("/api/v1/deposits?chainId=polygon").await;
    assert_eq!(none["data"]["pagination"]["total"], 0);
    let (_, events) = app.get("/api/v1/events?type=deposit.confirmed").await;
    assert_eq!(events["data"]["pagination"]["total"], 2);
}

async fn bind_without_free_address_is_503_and_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/v1/deposits/references",
            json!({"depositReference": "nobody", "currency": "USDT", "chainId": "ethereum"}),
        )
        .await;
    assert_error(status, &body, 503, "NO_AVAILABLE_ADDRESSES", None);
    let (status, body) = app.get("/api/v1/deposits/references/nobody").await;
    assert_error(status, &body, 404, "DEPOSIT_REFERENCE_NOT_FOUND", None);
}
