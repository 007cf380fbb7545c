//! Idempotency keys: a client sends `Idempotency-Key` with a POST, and a retry of that request
//! (same key, same request) gets the first answer instead of running again.
//!
//! The first request with a key, per API key (the *scope*), reserves it; its answer is stored
//! when it ends and replayed to every retry for [`RETENTION`]. A request with the same key but
//! a different method, path or body is refused ([`Error::IdempotencyKeyReused`]). While the first
//! request runs, a concurrent one waits for its answer. Answers that a retry may change are not
//! stored: the reservation is released (server errors, 429), so the retry runs again.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// How long an answer is kept for replay.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);
/// How long a reservation holds before another request may take it over (its holder died or
/// hangs). Longer than any request the API serves.
pub const RESERVATION: chrono::Duration = chrono::Duration::seconds(60);
/// How long a concurrent request with the same key waits for the first one's answer before it
/// is refused with [`Error::IdempotencyKeyInProgress`].
pub const WAIT: Duration = Duration::from_secs(30);
/// Longest key accepted (Stripe and the IETF draft use 255).
pub const MAX_KEY_LEN: usize = 255;
/// The header, named in errors about it.
pub const HEADER: &str = "Idempotency-Key";

/// Checks a key as sent: 1–255 visible ASCII characters.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation(
            HEADER,
            format!("{HEADER} must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good choice)"),
        ));
    }
    Ok(())
}

/// What identifies "the same request": method, path with query, and the exact body bytes.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What the store found when a request tried to reserve its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// This request holds the key: run it, then complete or release.
    Reserved,
    /// The first request's answer, to replay.
    Completed(StoredResponse),
    /// Another request with this key and this request runs now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Whether an answer with this status is stored for replay. Successes and refusals of the
/// request itself are final; server errors and rate limiting are not (a retry may succeed).
pub fn is_final(status: u16) -> bool {
    (200..500).contains(&status) && status != 408 && status != 429
}

/// The row a key reserves or replays, as the store keeps it.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub request_hash: String,
    pub response: Option<StoredResponse>,
    pub locked_until: Timestamp,
}

/// Decides what a request meets, given the row its key has (or had before this request
/// inserted its own). `inserted`: this request's insert created the row.
pub fn on_reserve(inserted: bool, record: &KeyRecord, request_hash: &str, now: Timestamp) -> Decision {
    if inserted {
        return Decision::Reserved;
    }
    if record.request_hash != request_hash {
        return Decision::Mismatch;
    }
    match &record.response {
        Some(r) => Decision::Completed(r.clone()),
        None if record.locked_until <= now => Decision::TakeOver,
        None => Decision::InProgress,
    }
}

/// [`on_reserve`]'s answer: a [`Reservation`], or take over a reservation whose holder is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Reserved,
    Completed(StoredResponse),
    InProgress,
    Mismatch,
    /// The reservation expired unanswered: renew it for this request.
    TakeOver,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn record(hash: &str, response: Option<StoredResponse>, locked_until: Timestamp) -> KeyRecord {
        KeyRecord {
            request_hash: hash.into(),
            response,
            locked_until,
        }
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        for ok in ["a", "550e8400-e29b-41d4-a716-446655440000", &"k".repeat(255), "a:b/c=d"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "a b", "ключ", "a\u{0}", "tab\t", &"k".repeat(256)] {
            let e = validate_key(bad).unwrap_err();
            assert!(e.to_string().contains(HEADER), "{bad:?}");
            assert!(
                matches!(e, Error::Invalid { ref field, .. } if field == HEADER),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_same_request_hashes_alike_and_any_difference_does_not() {
        let base = request_hash("POST", "/api/v1/orders", br#"{"amount":"1"}"#);
        assert_eq!(base, request_hash("POST", "/api/v1/orders", br#"{"amount":"1"}"#));
        assert_ne!(base, request_hash("POST", "/api/v1/orders", br#"{"amount":"2"}"#));
        assert_ne!(base, request_hash("POST", "/api/v1/webhooks", br#"{"amount":"1"}"#));
        assert_ne!(base, request_hash("PUT", "/api/v1/orders", br#"{"amount":"1"}"#));
        // The separator keeps path and body apart.
        assert_ne!(request_hash("POST", "/a", b"b"), request_hash("POST", "/a\nb", b""));
    }

    #[test]
    fn server_errors_and_rate_limits_are_not_final() {
        for s in [200, 201, 204, 400, 401, 404, 409, 422] {
            assert!(is_final(s), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(!is_final(s), "{s}");
        }
    }

    #[test]
    fn a_reservation_is_replayed_refused_waited_for_or_taken_over() {
        let now = t(0);
        let done = StoredResponse {
            status: 201,
            body: "{}".into(),
        };
        assert_eq!(
            on_reserve(true, &record("h", None, t(60)), "h", now),
            Decision::Reserved
        );
        assert_eq!(
            on_reserve(false, &record("h", Some(done.clone()), t(60)), "h", now),
            Decision::Completed(done.clone())
        );
        assert_eq!(
            on_reserve(false, &record("other", Some(done), t(60)), "h", now),
            Decision::Mismatch
        );
        assert_eq!(
            on_reserve(false, &record("other", None, t(60)), "h", now),
            Decision::Mismatch
        );
        assert_eq!(
            on_reserve(false, &record("h", None, t(60)), "h", now),
            Decision::InProgress
        );
        assert_eq!(
            on_reserve(false, &record("h", None, t(0)), "h", now),
            Decision::TakeOver
        );
    }
}
