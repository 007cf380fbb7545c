//! When a call is tried again, and how long the client waits first. Pure functions, so the
//! rules are tested without a server; `Client::call` applies them.
//!
//! Retried: answers that never came (connection refused, reset, closed early, timed out), 429
//! and 5xx. Never any other 4xx: the same request would fail the same way. POSTs are safe to
//! retry because every attempt of one call carries the same `Idempotency-Key`.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::options::Backoff;

/// The header that makes a POST safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// True for the statuses a call is retried on: 429 and every 5xx.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A fresh `Idempotency-Key`: a random UUID v4.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The wait a `Retry-After` header asks for: whole seconds, or an HTTP date (a past date is
/// no wait). `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// [`retry_after`] of one header value.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // HTTP dates are IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), which RFC 2822 parsing reads.
    let at: SystemTime = chrono::DateTime::parse_from_rfc2822(value).ok()?.to_utc().into();
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first retry): the server's
    /// `Retry-After` when it gave one (capped at `max_retry_after`), else a random time up to
    /// `min(max, initial × 2^retry)` (full jitter, so many clients do not retry in step).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with(retry, retry_after, rand::random::<f64>())
    }

    /// [`Backoff::delay`] with the random draw given (`jitter` in `[0, 1)`).
    pub fn delay_with(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let ceiling = self
            .initial
            .checked_mul(2u32.saturating_pow(retry.min(31)))
            .unwrap_or(self.max)
            .min(self.max);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_429_and_5xx_are_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422] {
            assert!(!is_retryable_status(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past is no wait"
        );
        for bad in ["", "soon", "-1", "1.5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_with_full_jitter() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(700),
            max_retry_after: Duration::from_secs(5),
        };
        // The top of the draw doubles each retry until `max`.
        let top: Vec<u128> = (0..5).map(|r| b.delay_with(r, None, 1.0).as_millis()).collect();
        assert_eq!(top, [100, 200, 400, 700, 700]);
        assert_eq!(b.delay_with(3, None, 0.0), Duration::ZERO, "full jitter starts at zero");
        assert_eq!(b.delay_with(1, None, 0.5), Duration::from_millis(100));
        assert_eq!(b.delay_with(u32::MAX, None, 1.0), Duration::from_millis(700));
        for _ in 0..100 {
            assert!(b.delay(2, None) <= Duration::from_millis(400));
        }
    }

    #[test]
    fn retry_after_wins_over_backoff_but_is_capped() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(700),
            max_retry_after: Duration::from_secs(5),
        };
        assert_eq!(
            b.delay_with(0, Some(Duration::from_secs(2)), 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            b.delay_with(0, Some(Duration::from_secs(3600)), 0.0),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn idempotency_keys_are_fresh_uuids() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }
}
