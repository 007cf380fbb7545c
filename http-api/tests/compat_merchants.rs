//! Merchant credentials of the compatible APIs over REST (issue 13):
//! `POST|GET /api/v1/compat/{api}/merchants`, `DELETE …/{id}`.

mod common;

use common::{TestApp, assert_error};
use payin_core::compat::CompatApi;
use payin_core::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

payin_core::on_both_backends!(
    credentials_are_shown_once_listed_without_secrets_and_revocable,
    unknown_apis_and_bad_names_are_refused_naming_the_field,
    nonces_are_remembered_for_the_replay_window_and_purged_by_maintenance,
);

async fn nonces_are_remembered_for_the_replay_window_and_purged_by_maintenance(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let e = &app.engine;
    assert!(e.first_use_of_nonce(CompatApi::Hashnut, "n-1").await.unwrap());
    assert!(!e.first_use_of_nonce(CompatApi::Hashnut, "n-1").await.unwrap());
    // Nonces are per API.
    assert!(e.first_use_of_nonce(CompatApi::Qiejiao, "n-1").await.unwrap());
    app.clock.advance(chrono::Duration::minutes(4));
    assert!(e.first_use_of_nonce(CompatApi::Hashnut, "n-2").await.unwrap());
    let report = e.run_maintenance().await.unwrap();
    assert_eq!(report.purged_compat_nonces, 0, "still within the window");
    app.clock.advance(chrono::Duration::minutes(2));
    let report = e.run_maintenance().await.unwrap();
    assert_eq!(report.purged_compat_nonces, 2, "n-1 of both APIs, older than 5 minutes");
    assert!(!e.first_use_of_nonce(CompatApi::Hashnut, "n-2").await.unwrap());
    assert!(e.first_use_of_nonce(CompatApi::Hashnut, "n-1").await.unwrap());
}

async fn credentials_are_shown_once_listed_without_secrets_and_revocable(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post("/api/v1/compat/hashnut/merchants", json!({"name": "shop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hashnut = body["data"].clone();
    let access_key_id = hashnut["publicId"].as_str().unwrap().to_string();
    let secret = hashnut["secret"].as_str().unwrap().to_string();
    assert!(
        access_key_id.starts_with("AK") && access_key_id.len() == 24,
        "{hashnut}"
    );
    assert_eq!(secret.len(), 48, "{hashnut}");
    assert_eq!(hashnut["api"], "hashnut");
    assert_eq!(hashnut["name"], "shop");
    assert!(hashnut["id"].as_str().unwrap().starts_with("cpm_"));

    let (status, body) = app
        .post("/api/v1/compat/qiejiao/merchants", json!({"name": "shop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pid = body["data"]["publicId"].as_str().unwrap().to_string();
    assert!(pid.len() == 8 && pid.bytes().all(|b| b.is_ascii_digit()), "{body}");
    assert_eq!(body["data"]["secret"].as_str().unwrap().len(), 32);

    // Each API lists its own merchants, never a secret.
    let (status, body) = app.get("/api/v1/compat/hashnut/merchants").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let merchants = body["data"]["merchants"].as_array().unwrap();
    assert_eq!(merchants.len(), 1, "{body}");
    assert_eq!(merchants[0]["publicId"], access_key_id.as_str());
    assert!(merchants[0].get("secret").is_none(), "{body}");
    assert!(!body.to_string().contains(&secret), "{body}");
    assert!(merchants[0]["revokedAt"].is_null());

    // The engine finds the active merchant's secret by its public id (what adapters verify with).
    let found = app
        .engine
        .compat_credentials(CompatApi::Hashnut, &access_key_id)
        .await
        .unwrap()
        .expect("active merchant");
    assert_eq!(found.secret, secret);
    assert!(!format!("{found:?}").contains(&secret), "Debug hides the secret");
    assert!(
        app.engine
            .compat_credentials(CompatApi::Qiejiao, &access_key_id)
            .await
            .unwrap()
            .is_none(),
        "credentials belong to one API"
    );

    // Revoke by id; a second revoke is 404; the merchant is listed as revoked and no longer found.
    let id = hashnut["id"].as_str().unwrap();
    let (status, body) = app.delete(&format!("/api/v1/compat/hashnut/merchants/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["revokedAt"].is_string(), "{body}");
    let (status, body) = app.delete(&format!("/api/v1/compat/hashnut/merchants/{id}")).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
    // Not through the other API's path either.
    let (status, body) = app.delete(&format!("/api/v1/compat/qiejiao/merchants/{id}")).await;
    assert_error(status, &body, 404, "NOT_FOUND", None);
    let (_, body) = app.get("/api/v1/compat/hashnut/merchants").await;
    assert!(body["data"]["merchants"][0]["revokedAt"].is_string(), "{body}");
    assert!(
        app.engine
            .compat_credentials(CompatApi::Hashnut, &access_key_id)
            .await
            .unwrap()
            .is_none()
    );
    // Revoking by public id works too.
    let (status, body) = app.delete(&format!("/api/v1/compat/qiejiao/merchants/{pid}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Behind the API key like the rest of /api/v1.
    let resp = app
        .client
        .get(app.url("/api/v1/compat/hashnut/merchants"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn unknown_apis_and_bad_names_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post("/api/v1/compat/stripe/merchants", json!({"name": "shop"}))
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("api"));
    for name in [json!(""), json!("x".repeat(101))] {
        let (status, body) = app
            .post("/api/v1/compat/hashnut/merchants", json!({"name": name}))
            .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR", Some("name"));
    }
    let (status, body) = app.post("/api/v1/compat/hashnut/merchants", json!({})).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR", Some("name"));
}
