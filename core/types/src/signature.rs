//! Webhook signatures, shared by the server that signs deliveries (`payin-core`) and the
//! clients that verify them (`payin-client`, and through it the Python and Node packages).
//! Every delivery carries two schemes over the same raw body:
//!
//! - the seed scheme: `X-PayIn-Signature: hex(HMAC-SHA256(secret, body))`, keyed with the secret
//!   string exactly as shown to the merchant (`whsec_…` included), as the integration guide's
//!   verification code does;
//! - [Standard Webhooks](https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp`
//!   and `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`, keyed
//!   with the base64-decoded part of the secret after `whsec_`.
//!
//! Pure functions of their inputs (the caller passes the clock), compared in constant time
//! (`hmac`'s `verify_slice`). `tests/vectors/webhooks.json` holds vectors for both schemes,
//! checked here and by the packages.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Every endpoint secret starts with this.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes behind a generated secret.
pub const SECRET_BYTES: usize = 24;

pub const PAYIN_SIGNATURE_HEADER: &str = "X-PayIn-Signature";
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far a `webhook-timestamp` may be from the verifier's clock (the Standard Webhooks default).
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;

/// A new endpoint secret: `whsec_` + base64 of 24 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::fill(&mut key);
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

/// Why a secret cannot key the Standard Webhooks scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook secret must be 'whsec_' followed by base64")]
pub struct InvalidSecret;

/// The Standard Webhooks key: the base64-decoded part after `whsec_` (padding optional).
pub fn standard_key(secret: &str) -> Result<Vec<u8>, InvalidSecret> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let unpadded = encoded.trim_end_matches('=');
    let key = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(unpadded)
        .map_err(|_| InvalidSecret)?;
    if key.is_empty() {
        return Err(InvalidSecret);
    }
    Ok(key)
}

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn standard_mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut m = mac(key);
    m.update(msg_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// `X-PayIn-Signature`: lowercase hex HMAC-SHA256 of the body keyed with the secret's UTF-8 bytes.
pub fn payin_signature(secret: &str, body: &[u8]) -> String {
    let mut m = mac(secret.as_bytes());
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`.
pub fn standard_signature(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, InvalidSecret> {
    let key = standard_key(secret)?;
    let tag = standard_mac(&key, msg_id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", BASE64.encode(tag)))
}

/// The four headers that sign one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub payin_signature: String,
    /// The event id: the same on every attempt, so receivers can deduplicate.
    pub webhook_id: String,
    /// Unix seconds of the attempt.
    pub webhook_timestamp: String,
    pub webhook_signature: String,
}

impl SignatureHeaders {
    /// Signs `body` for an attempt at `timestamp` (Unix seconds).
    pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<Self, InvalidSecret> {
        Ok(SignatureHeaders {
            payin_signature: payin_signature(secret, body),
            webhook_id: msg_id.to_string(),
            webhook_timestamp: timestamp.to_string(),
            webhook_signature: standard_signature(secret, msg_id, timestamp, body)?,
        })
    }

    /// Signs with the current secret and, during a rotation, also with the previous one: a
    /// second space-separated `webhook-signature` entry (Standard Webhooks verifiers accept any
    /// one that matches). `X-PayIn-Signature` holds one value, the current secret's.
    pub fn sign_rotating(
        secret: &str,
        previous: Option<&str>,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Self, InvalidSecret> {
        let mut headers = Self::sign(secret, msg_id, timestamp, body)?;
        if let Some(previous) = previous {
            let old = standard_signature(previous, msg_id, timestamp, body)?;
            headers.webhook_signature = format!("{} {old}", headers.webhook_signature);
        }
        Ok(headers)
    }

    /// (name, value) pairs, ready to put on a request.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (PAYIN_SIGNATURE_HEADER, &self.payin_signature),
            (ID_HEADER, &self.webhook_id),
            (TIMESTAMP_HEADER, &self.webhook_timestamp),
            (SIGNATURE_HEADER, &self.webhook_signature),
        ]
    }
}

/// A signature scheme a delivery can be verified with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Scheme {
    /// `X-PayIn-Signature`.
    #[serde(rename = "payin")]
    PayIn,
    /// `webhook-id` / `webhook-timestamp` / `webhook-signature`.
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
}

/// Why a delivery did not verify. The message says exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header: {0}")]
    MissingHeader(&'static str),
    #[error("no signature header: expected webhook-signature or X-PayIn-Signature")]
    NoSignature,
    #[error(transparent)]
    InvalidSecret(#[from] InvalidSecret),
    #[error("webhook-timestamp '{0}' is not a whole number of Unix seconds")]
    InvalidTimestamp(String),
    #[error("webhook-timestamp {timestamp} is {age} s older than now ({now}); the tolerance is {tolerance} s")]
    TimestampTooOld {
        timestamp: i64,
        now: i64,
        age: i64,
        tolerance: i64,
    },
    #[error("webhook-timestamp {timestamp} is {ahead} s ahead of now ({now}); the tolerance is {tolerance} s")]
    TimestampTooNew {
        timestamp: i64,
        now: i64,
        ahead: i64,
        tolerance: i64,
    },
    #[error(
        "signature mismatch ({header}): the body, secret or signed headers differ from what was signed; \
         pass the raw request body exactly as received (bytes or text), not JSON that was parsed and \
         re-serialized"
    )]
    SignatureMismatch { header: &'static str },
}

/// The first header called `name` (compared case-insensitively), trimmed.
fn header<'h, K: AsRef<str>, V: AsRef<str>>(headers: &'h [(K, V)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.as_ref().trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref().trim())
}

/// Verifies the Standard Webhooks scheme alone: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` must be present in `headers` (names compared case-insensitively), the
/// timestamp within `tolerance_secs` of `now` (Unix seconds) in either direction, and one of the
/// space-separated `v1,` signatures must match `body`, the exact raw bytes received (during a
/// secret rotation the sender signs with both secrets; either verifies).
pub fn verify_standard<K: AsRef<str>, V: AsRef<str>>(
    secret: &str,
    body: &[u8],
    headers: &[(K, V)],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let signatures = header(headers, SIGNATURE_HEADER).ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
    let msg_id = header(headers, ID_HEADER).ok_or(VerifyError::MissingHeader(ID_HEADER))?;
    let raw_timestamp = header(headers, TIMESTAMP_HEADER).ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
    let timestamp: i64 = raw_timestamp
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp(raw_timestamp.to_string()))?;
    if now.saturating_sub(timestamp) > tolerance_secs {
        return Err(VerifyError::TimestampTooOld {
            timestamp,
            now,
            age: now.saturating_sub(timestamp),
            tolerance: tolerance_secs,
        });
    }
    if timestamp.saturating_sub(now) > tolerance_secs {
        return Err(VerifyError::TimestampTooNew {
            timestamp,
            now,
            ahead: timestamp.saturating_sub(now),
            tolerance: tolerance_secs,
        });
    }
    let key = standard_key(secret)?;
    let expected = standard_mac(&key, msg_id, timestamp, body);
    // Several space-separated signatures may be sent (key rotation); one match suffices.
    let matched = signatures.split(' ').any(|candidate| {
        let Some(("v1", encoded)) = candidate.split_once(',') else {
            return false;
        };
        BASE64
            .decode(encoded)
            .is_ok_and(|tag| expected.clone().verify_slice(&tag).is_ok())
    });
    if !matched {
        return Err(VerifyError::SignatureMismatch {
            header: SIGNATURE_HEADER,
        });
    }
    Ok(())
}

/// True when `signature` (the `X-PayIn-Signature` value, hex in either case) is the HMAC-SHA256
/// of `body` keyed with the secret's UTF-8 bytes; compared in constant time.
pub fn verify_payin_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    let mut expected = mac(secret.as_bytes());
    expected.update(body);
    hex::decode(signature.trim()).is_ok_and(|tag| expected.verify_slice(&tag).is_ok())
}

/// Verifies a received delivery: every signature scheme present in `headers` (names compared
/// case-insensitively) must match `body`, the exact raw bytes received. A Standard Webhooks
/// timestamp must lie within `tolerance_secs` of `now` (Unix seconds). Returns the schemes checked.
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    secret: &str,
    body: &[u8],
    headers: impl IntoIterator<Item = (K, V)>,
    now: i64,
    tolerance_secs: i64,
) -> Result<Vec<Scheme>, VerifyError> {
    let headers: Vec<(K, V)> = headers.into_iter().collect();
    let mut verified = Vec::new();
    if header(&headers, SIGNATURE_HEADER).is_some() {
        verify_standard(secret, body, &headers, now, tolerance_secs)?;
        verified.push(Scheme::StandardWebhooks);
    }
    if let Some(signature) = header(&headers, PAYIN_SIGNATURE_HEADER) {
        if !verify_payin_signature(secret, body, signature) {
            return Err(VerifyError::SignatureMismatch {
                header: PAYIN_SIGNATURE_HEADER,
            });
        }
        verified.push(Scheme::PayIn);
    }
    if verified.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn during_a_rotation_either_secret_verifies_the_standard_scheme() {
        let (new, old) = (generate_secret(), generate_secret());
        let body = br#"{"id":"evt_1"}"#;
        let h = SignatureHeaders::sign_rotating(&new, Some(&old), "evt_1", 1_700_000_000, body).unwrap();
        assert_eq!(h.webhook_signature.split(' ').count(), 2);
        let standard = |secret: &str| {
            let pairs = [
                (ID_HEADER, h.webhook_id.as_str()),
                (TIMESTAMP_HEADER, h.webhook_timestamp.as_str()),
                (SIGNATURE_HEADER, h.webhook_signature.as_str()),
            ];
            verify(secret, body, pairs, 1_700_000_000, 300)
        };
        assert_eq!(standard(&new), Ok(vec![Scheme::StandardWebhooks]));
        assert_eq!(standard(&old), Ok(vec![Scheme::StandardWebhooks]));
        assert!(standard(&generate_secret()).is_err());
        // The seed scheme carries one signature: the new secret's.
        assert_eq!(h.payin_signature, payin_signature(&new, body));
        let unrotated = SignatureHeaders::sign_rotating(&new, None, "evt_1", 1_700_000_000, body).unwrap();
        assert_eq!(
            unrotated,
            SignatureHeaders::sign(&new, "evt_1", 1_700_000_000, body).unwrap()
        );
    }

    // The test vector of the Standard Webhooks reference libraries (python/go/js `sign` tests);
    // checked against the `standardwebhooks` Python package 1.1.0.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const PAYLOAD: &str = r#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(h: &SignatureHeaders) -> Vec<(String, String)> {
        h.pairs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn standard_signature_matches_the_published_test_vector() {
        assert_eq!(
            standard_signature(SECRET, MSG_ID, TIMESTAMP, PAYLOAD.as_bytes()).unwrap(),
            EXPECTED
        );
        // The key is the decoded secret, with or without the prefix.
        assert_eq!(
            standard_signature(&SECRET[6..], MSG_ID, TIMESTAMP, PAYLOAD.as_bytes()).unwrap(),
            EXPECTED
        );
    }

    #[test]
    fn payin_signature_is_hex_hmac_keyed_with_the_whole_secret_string() {
        // Python: hmac.new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"test": 2432232314}', sha256).hexdigest()
        assert_eq!(
            payin_signature(SECRET, PAYLOAD.as_bytes()),
            "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"
        );
    }

    #[test]
    fn verify_accepts_the_test_vector_within_tolerance() {
        let signed = SignatureHeaders::sign(SECRET, MSG_ID, TIMESTAMP, PAYLOAD.as_bytes()).unwrap();
        assert_eq!(signed.webhook_signature, EXPECTED);
        let schemes = verify(
            SECRET,
            PAYLOAD.as_bytes(),
            headers(&signed),
            TIMESTAMP + 60,
            DEFAULT_TOLERANCE_SECS,
        )
        .unwrap();
        assert_eq!(schemes, [Scheme::StandardWebhooks, Scheme::PayIn]);
    }

    #[test]
    fn verify_accepts_any_of_several_signatures_and_header_case() {
        let h = [
            ("Webhook-Id", MSG_ID.to_string()),
            ("WEBHOOK-TIMESTAMP", TIMESTAMP.to_string()),
            ("webhook-signature", format!("v1,Zm9v v2,abc {EXPECTED}")),
        ];
        assert_eq!(
            verify(SECRET, PAYLOAD.as_bytes(), h, TIMESTAMP, 300).unwrap(),
            [Scheme::StandardWebhooks]
        );
    }

    #[test]
    fn verify_reports_the_exact_reason() {
        let body = PAYLOAD.as_bytes();
        let signed = SignatureHeaders::sign(SECRET, MSG_ID, TIMESTAMP, body).unwrap();
        let all = headers(&signed);
        let without =
            |name: &str| -> Vec<(String, String)> { all.iter().filter(|(k, _)| k != name).cloned().collect() };
        let replaced = |name: &str, value: &str| -> Vec<(String, String)> {
            all.iter()
                .map(|(k, v)| (k.clone(), if k == name { value.to_string() } else { v.clone() }))
                .collect()
        };
        let check = |h: Vec<(String, String)>, now: i64| verify(SECRET, body, h, now, 300).unwrap_err();

        assert_eq!(
            check(without(ID_HEADER), TIMESTAMP),
            VerifyError::MissingHeader("webhook-id")
        );
        assert_eq!(
            check(without(TIMESTAMP_HEADER), TIMESTAMP),
            VerifyError::MissingHeader("webhook-timestamp")
        );
        assert_eq!(check(Vec::new(), TIMESTAMP), VerifyError::NoSignature);
        assert_eq!(
            check(replaced(TIMESTAMP_HEADER, "soon"), TIMESTAMP),
            VerifyError::InvalidTimestamp("soon".into())
        );
        assert!(matches!(
            check(all.clone(), TIMESTAMP + 301),
            VerifyError::TimestampTooOld { age: 301, .. }
        ));
        assert!(matches!(
            check(all.clone(), TIMESTAMP - 301),
            VerifyError::TimestampTooNew { ahead: 301, .. }
        ));
        assert_eq!(
            verify(SECRET, br#"{"test": 2432232315}"#, all.clone(), TIMESTAMP, 300).unwrap_err(),
            VerifyError::SignatureMismatch {
                header: SIGNATURE_HEADER
            }
        );
        // A signed timestamp cannot be swapped: it is part of the signed content.
        assert_eq!(
            check(replaced(TIMESTAMP_HEADER, &(TIMESTAMP + 1).to_string()), TIMESTAMP),
            VerifyError::SignatureMismatch {
                header: SIGNATURE_HEADER
            }
        );
        assert_eq!(
            check(replaced(PAYIN_SIGNATURE_HEADER, "00ff"), TIMESTAMP),
            VerifyError::SignatureMismatch {
                header: PAYIN_SIGNATURE_HEADER
            }
        );
        let other = generate_secret();
        assert_eq!(
            verify(&other, body, without(SIGNATURE_HEADER), TIMESTAMP, 300).unwrap_err(),
            VerifyError::SignatureMismatch {
                header: PAYIN_SIGNATURE_HEADER
            }
        );
        assert_eq!(
            verify("whsec_!!", body, all.clone(), TIMESTAMP, 300).unwrap_err(),
            VerifyError::InvalidSecret(InvalidSecret)
        );
    }

    #[test]
    fn generated_secrets_are_whsec_and_24_random_bytes() {
        let s = generate_secret();
        assert!(s.starts_with("whsec_"), "{s}");
        assert_eq!(standard_key(&s).unwrap().len(), SECRET_BYTES);
        assert_ne!(generate_secret(), s);
    }
}
