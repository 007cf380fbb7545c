//! The shared webhook vectors (`tests/vectors/webhooks.json`, made by the independent
//! `standardwebhooks` package and Python's hmac) against the client's verification and the
//! server's signing code — the same file the Python and Node packages' tests read.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use payin_client::webhook::{VerifyError, payin_signature};
use payin_client::{Webhook, WebhookError, verify_signature};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    standard_webhooks: Vec<StandardCase>,
    payin_signature: Vec<PayinCase>,
}

#[derive(Deserialize)]
struct StandardCase {
    name: String,
    secret: String,
    body: String,
    headers: Vec<(String, String)>,
    now: i64,
    tolerance: u64,
    expect: String,
    signature: Option<String>,
}

#[derive(Deserialize)]
struct PayinCase {
    name: String,
    secret: String,
    body: String,
    signature: String,
    valid: bool,
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(vectors_dir().join("webhooks.json")).expect("tests/vectors/webhooks.json");
    // `headers` is an object in the file; read it as ordered pairs.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in value["standardWebhooks"].as_array_mut().unwrap() {
        let pairs: Vec<(String, String)> = case["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        case["headers"] = serde_json::to_value(pairs).unwrap();
    }
    serde_json::from_value(value).unwrap()
}

/// The vector's name for a verification outcome.
fn outcome(result: &Result<serde_json::Value, WebhookError>) -> &'static str {
    match result {
        Ok(_) => "valid",
        Err(WebhookError::Signature(VerifyError::SignatureMismatch { .. })) => "mismatch",
        Err(WebhookError::Signature(VerifyError::TimestampTooOld { .. })) => "too_old",
        Err(WebhookError::Signature(VerifyError::TimestampTooNew { .. })) => "too_new",
        Err(WebhookError::Signature(VerifyError::MissingHeader(_))) => "missing_header",
        Err(_) => "other",
    }
}

#[test]
fn standard_webhooks_vectors_verify_as_the_reference_library_decided() {
    let cases = vectors().standard_webhooks;
    assert!(cases.len() >= 15, "{} cases", cases.len());
    for expect in ["valid", "mismatch", "too_old", "too_new", "missing_header"] {
        assert!(cases.iter().any(|c| c.expect == expect), "no {expect} case");
    }
    for c in &cases {
        let webhook = Webhook::new(&c.secret)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name))
            .with_tolerance(Duration::from_secs(c.tolerance));
        let headers = c.headers.iter().map(|(k, v)| (k, v));
        let result = webhook.verify_at(c.body.as_bytes(), headers, c.now);
        assert_eq!(outcome(&result), c.expect, "{}: {result:?}", c.name);
        if let Ok(event) = &result {
            assert!(event.is_object(), "{}", c.name);
        }
        if c.name.contains("re-serialized") {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("raw request body"), "{}: {message}", c.name);
        }
    }
}

#[test]
fn signing_makes_the_signatures_the_reference_library_made() {
    let mut checked = 0;
    for c in vectors().standard_webhooks {
        let Some(expected) = &c.signature else { continue };
        let header = |name: &str| c.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let (id, timestamp) = (header("webhook-id").unwrap(), header("webhook-timestamp").unwrap());
        let signed = Webhook::new(&c.secret)
            .unwrap()
            .sign(id, timestamp.parse().unwrap(), c.body.as_bytes());
        assert_eq!(&signed.webhook_signature, expected, "{}", c.name);
        assert_eq!(signed.webhook_id, id);
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn payin_signature_vectors_verify_as_python_hmac_decided() {
    let cases = vectors().payin_signature;
    assert!(cases.iter().any(|c| c.valid) && cases.iter().any(|c| !c.valid));
    for c in &cases {
        assert_eq!(
            verify_signature(c.body.as_bytes(), &c.signature, &c.secret),
            c.valid,
            "{}",
            c.name
        );
        if c.valid && c.signature == c.signature.to_lowercase() {
            assert_eq!(payin_signature(&c.secret, c.body.as_bytes()), c.signature, "{}", c.name);
        }
    }
}

/// The committed file is what the generator writes today (skipped, loudly, where Python or the
/// `standardwebhooks` package is missing outside CI).
#[test]
fn the_vectors_file_is_what_the_generator_writes() {
    let has_package = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_package {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install tests/requirements.txt (standardwebhooks)"
        );
        eprintln!("SKIP: python3 with standardwebhooks is not installed (pip install -r tests/requirements.txt)");
        return;
    }
    let out = Command::new("python3")
        .arg(vectors_dir().join("generate.py"))
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
