//! Watch-only HD keys over REST: `POST /addresses/xpubs` (+ list), through `payin-client` too,
//! and the refusals of private material and malformed keys.

mod common;

use common::{TestApp, assert_error};
use payin_client::Client;
use payin_core::pool::AddXpubRequest;
use payin_core::testing::Backend;
use payin_types::Gateway;
use reqwest::StatusCode;
use serde_json::json;

payin_core::on_both_backends!(
    adding_an_account_xpub_returns_its_fingerprint_and_first_addresses_and_lists_it,
    private_keys_mnemonics_and_malformed_xpubs_are_refused_naming_the_field,
);

const EVM_ACCOUNT: &str =
    "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
const TRON_ACCOUNT: &str =
    "xpub6BuRy7ZmkGfP2RWhoor1kWB1w9DvrtmJbFBvnC1bQ4SB5NbCHTyQYCJSXZtxDbFyHTmC7wkU2he3nYYdpZ3Vf6qUAkXSnL6RPif4BDtDEKr";

async fn adding_an_account_xpub_returns_its_fingerprint_and_first_addresses_and_lists_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.put("/api/v1/config/pool_low_watermark", json!({"value": 10})).await;
    let (status, body) = app
        .post(
            "/api/v1/addresses/xpubs",
            json!({"protocol": "evm", "xpub": EVM_ACCOUNT}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = &body["data"];
    assert_eq!(key["protocol"], "evm");
    assert_eq!(key["path"], "m/44'/60'/0'");
    let fingerprint = key["fingerprint"].as_str().unwrap();
    assert!(
        fingerprint.len() == 8 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains(fingerprint), "{body}");
    assert_eq!(
        key["firstAddresses"],
        json!([
            {"index": 0, "path": "m/44'/60'/0'/0/0", "address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
            {"index": 1, "path": "m/44'/60'/0'/0/1", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
            {"index": 2, "path": "m/44'/60'/0'/0/2", "address": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"},
        ])
    );
    // Added, the pool is topped up at once to twice the watermark (10 → 20).
    assert_eq!(key["startIndex"], 0);
    assert_eq!(key["nextIndex"], 20, "{body}");
    let pool = app.evm_pool().await;
    assert_eq!(
        (pool["available"].as_u64(), pool["total"].as_u64()),
        (Some(20), Some(20))
    );
    let (status, order) = app.create_order("hd-1", "5").await;
    assert_eq!(status, StatusCode::CREATED, "{order}");

    // The same xpub again: 200 with the stored key, nothing derived.
    let (status, again) = app
        .post(
            "/api/v1/addresses/xpubs",
            json!({"protocol": "evm", "xpub": format!(" {EVM_ACCOUNT}\n")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["data"]["id"], key["id"]);
    assert_eq!(again["data"]["nextIndex"], 20);

    // Tron, from index 1, a minute later, through the typed client.
    app.clock.advance(chrono::Duration::minutes(1));
    let client = Client::new(&app.base, app.key.clone()).unwrap();
    let tron = client
        .add_xpub(AddXpubRequest {
            protocol: "tron".into(),
            xpub: TRON_ACCOUNT.into(),
            start: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(tron.path, "m/44'/195'/0'");
    let firsts: Vec<_> = tron
        .first_addresses
        .iter()
        .map(|a| (a.index, a.address.as_str()))
        .collect();
    assert_eq!(
        firsts[..2],
        [
            (1, "TPjjvMwjPoDC32V2dGDYTkLH4E5LAtBZ6C"),
            (2, "TB7mhtkvfhsRBRhe5FuRa4tFXSEyGDe4eA")
        ]
    );
    assert_eq!((tron.start_index, tron.next_index), (1, 21));

    let (status, list) = app.get("/api/v1/addresses/xpubs").await;
    assert_eq!(status, StatusCode::OK);
    let listed = list["data"]["xpubs"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], key["id"]);
    assert_eq!(listed[1]["protocol"], "tron");
    assert_eq!(
        client.list_xpubs().await.unwrap(),
        app.engine.list_xpubs().await.unwrap()
    );
    let (_, pools) = app.get("/api/v1/addresses/pool").await;
    let tron_pool = pools["data"]["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["protocol"] == "tron")
        .unwrap()
        .clone();
    assert_eq!(tron_pool["available"], 20, "{pools}");
}

async fn private_keys_mnemonics_and_malformed_xpubs_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let tprv = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCEj4SVmyxw7Ez8ipr8UWbkvKxJJGnzYxA1LuuNy9k3yDhb6FgeagYxVSe";
    let mnemonic = "test test test test test test test test test test test junk";
    for secret in [xprv, tprv, mnemonic] {
        let (status, body) = app
            .post("/api/v1/addresses/xpubs", json!({"protocol": "evm", "xpub": secret}))
            .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some("xpub"));
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("PayIn never takes private keys"), "{body}");
        assert!(!body.to_string().contains(&secret[..12]), "the input is echoed: {body}");
    }
    // A typo breaks the checksum; other version bytes (a zpub) and a master key (depth 0).
    let mut typo = EVM_ACCOUNT.to_string();
    typo.replace_range(30..31, if &EVM_ACCOUNT[30..31] == "a" { "b" } else { "a" });
    let mut bytes = bs58::decode(EVM_ACCOUNT).with_check(None).into_vec().unwrap();
    bytes[..4].copy_from_slice(&0x04b2_4746u32.to_be_bytes());
    let zpub = bs58::encode(bytes).with_check().into_string();
    let master = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
    for (input, says) in [
        (typo.as_str(), "checksum"),
        (zpub.as_str(), "version bytes"),
        (master, "ACCOUNT-level"),
    ] {
        let (status, body) = app
            .post("/api/v1/addresses/xpubs", json!({"protocol": "evm", "xpub": input}))
            .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some("xpub"));
        assert!(body["message"].as_str().unwrap().contains(says), "{body}");
    }
    let (status, body) = app
        .post(
            "/api/v1/addresses/xpubs",
            json!({"protocol": "solana", "xpub": EVM_ACCOUNT}),
        )
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert_eq!(body["field"], "protocol", "{body}");
    let (status, body) = app
        .post(
            "/api/v1/addresses/xpubs",
            json!({"protocol": "evm", "xpub": EVM_ACCOUNT, "start": 2147483647u32}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("start"));
    let (status, body) = app
        .post(
            "/api/v1/addresses/xpubs",
            json!({"protocol": "evm", "mnemonic": mnemonic}),
        )
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert!(!body.to_string().contains("junk"), "{body}");
    let (_, list) = app.get("/api/v1/addresses/xpubs").await;
    assert_eq!(list["data"]["xpubs"], json!([]), "nothing was stored");
}
