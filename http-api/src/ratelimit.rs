//! Request rate limits: per API key on the authenticated API (`/api/v1`, `/mcp`), per client IP
//! on the public pages and endpoints (`/pay/…`, `/health`, the OpenAPI document).
//!
//! Each limit is a GCRA (governor): a key may spend its whole quota of `requests` at once, then
//! gets one back every `window_seconds / requests`. Beyond it the answer is 429 `RATE_LIMITED`
//! in the error envelope with `Retry-After`. Every limited route's response carries the IETF
//! fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "api-key";q=6000;w=60`
//! and `RateLimit: "api-key";r=<remaining>;t=<seconds until the quota is whole again>`.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use payin_core::apikey::ApiKey;
use payin_core::config::{RateLimitConfig, RateQuota};
use serde_json::{Map, Value};

use crate::AppState;
use crate::error::ApiError;

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Checks between two sweeps of keys whose quota is whole again (their state is dropped).
const SWEEP_EVERY: u64 = 4096;

/// The limits of one server: shared by every route (REST and MCP count against one quota).
pub struct RateLimits {
    api_key: Option<Limiter<String>>,
    client_ip: Option<Limiter<IpAddr>>,
    exempt_loopback: bool,
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl RateLimits {
    /// No limits at all.
    pub fn none() -> RateLimits {
        RateLimits {
            api_key: None,
            client_ip: None,
            exempt_loopback: false,
            trusted_proxies: Vec::new(),
        }
    }

    /// The limits `config` describes (none when it is disabled). The config is validated.
    pub fn new(config: &RateLimitConfig) -> Result<RateLimits, payin_core::Error> {
        config.validate()?;
        if !config.enabled {
            return Ok(RateLimits::none());
        }
        Ok(RateLimits {
            api_key: Some(Limiter::new("api-key", "API key", config.api_key)),
            client_ip: Some(Limiter::new("client-ip", "client IP", config.client_ip)),
            exempt_loopback: config.exempt_loopback,
            trusted_proxies: config.trusted_proxies.clone(),
        })
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy. `None` when the server did
    /// not record the peer (a router served without [`crate::server::serve`]).
    fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip().to_canonical();
        if !self.is_trusted_proxy(peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .map(|a| a.to_canonical())
            .collect::<Vec<_>>();
        Some(
            forwarded
                .iter()
                .rev()
                .find(|a| !self.is_trusted_proxy(**a))
                .or(forwarded.first())
                .copied()
                .unwrap_or(peer),
        )
    }

    fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    fn exempt(&self, client: Option<IpAddr>) -> bool {
        self.exempt_loopback && client.is_some_and(|ip| ip.is_loopback())
    }
}

/// Authenticated routes: one quota per API key. Runs after [`crate::auth::require_api_key`].
pub async fn per_api_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.limits;
    let (Some(limiter), Some(key)) = (&limits.api_key, req.extensions().get::<ApiKey>()) else {
        return next.run(req).await;
    };
    if limits.exempt(limits.client_ip(&req)) {
        return next.run(req).await;
    }
    let key_id = key.id.clone();
    limiter.admit(&key_id, req, next).await
}

/// Public routes: one quota per client IP.
pub async fn per_client_ip(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.limits;
    let client = limits.client_ip(&req);
    let (Some(limiter), Some(ip)) = (&limits.client_ip, client) else {
        return next.run(req).await;
    };
    if limits.exempt(client) {
        return next.run(req).await;
    }
    // The public HTML pages (issue 12) answer their 429 as a page, with the same headers.
    let html = crate::transport::is_html_route(req.uri().path());
    // The compatible APIs answer their 429 in their own envelope.
    let path = req.uri().path().to_string();
    let lang = crate::routes::pay::Lang::negotiate(None, req.headers());
    let resp = limiter.admit(&ip, req, next).await;
    if resp.status() == axum::http::StatusCode::TOO_MANY_REQUESTS
        && let Some(own) = crate::compat::too_many_requests(&path, &resp)
    {
        return own;
    }
    if html && resp.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        let status = resp.status();
        let mut page =
            crate::routes::checkout::message_page(status, lang, crate::routes::checkout::refused_request(status, lang));
        for (name, value) in resp.headers() {
            if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                page.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return page;
    }
    resp
}

struct Limiter<K: Hash + Eq + Clone> {
    /// The policy's name in the `RateLimit` fields.
    name: &'static str,
    /// What is limited, for messages.
    per: &'static str,
    quota: RateQuota,
    /// One request comes back every this long.
    replenish: Duration,
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>,
    policy: HeaderValue,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(name: &'static str, per: &'static str, quota: RateQuota) -> Limiter<K> {
        let burst = NonZeroU32::new(quota.requests).unwrap_or(NonZeroU32::MIN);
        let replenish = Duration::from_secs(quota.window_seconds.into()) / burst.get();
        let gcra = Quota::with_period(replenish.max(Duration::from_nanos(1)))
            .expect("a positive period")
            .allow_burst(burst);
        let policy = format!("\"{name}\";q={};w={}", quota.requests, quota.window_seconds);
        Limiter {
            name,
            per,
            quota,
            replenish,
            limiter: RateLimiter::keyed(gcra).with_middleware::<StateInformationMiddleware>(),
            policy: HeaderValue::from_str(&policy).expect("the policy is ASCII"),
            checks: AtomicU64::new(0),
        }
    }

    async fn admit(&self, key: &K, req: Request, next: Next) -> Response {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let mut response = next.run(req).await;
                let until_whole = self.replenish * self.quota.requests.saturating_sub(remaining);
                self.set_headers(response.headers_mut(), remaining, until_whole);
                response
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                self.refusal(wait)
            }
        }
    }

    fn set_headers(&self, headers: &mut HeaderMap, remaining: u32, reset: Duration) {
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        let current = format!("\"{}\";r={remaining};t={}", self.name, whole_seconds(reset));
        headers.insert(RATELIMIT, HeaderValue::from_str(&current).expect("ASCII"));
    }

    fn refusal(&self, wait: Duration) -> Response {
        let retry_after = whole_seconds(wait).max(1);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "RATE_LIMITED",
            format!(
                "Rate limit of {} requests per {} s per {} exceeded; retry in {retry_after} s",
                self.quota.requests, self.quota.window_seconds, self.per
            ),
        );
        error.extra = Some(Box::new(Map::from_iter([(
            "retryAfterSeconds".to_string(),
            Value::from(retry_after),
        )])));
        let mut response = error.into_response();
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        self.set_headers(headers, 0, Duration::from_secs(retry_after));
        response
    }
}

/// Whole seconds, rounded up (a client waiting that long is never early).
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut req = Request::builder().uri("/pay/x");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(axum::body::Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let config = RateLimitConfig {
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        };
        let limits = RateLimits::new(&config).unwrap();
        let client = |peer, forwarded| limits.client_ip(&request(peer, forwarded)).unwrap().to_string();
        assert_eq!(
            client("203.0.113.9:5000", Some("198.51.100.1")),
            "203.0.113.9",
            "untrusted peer"
        );
        assert_eq!(client("127.0.0.1:5000", Some("198.51.100.1")), "198.51.100.1");
        // A client cannot choose its address by prepending to the header.
        assert_eq!(
            client("127.0.0.1:5000", Some("1.1.1.1, 198.51.100.1, 10.0.0.2")),
            "198.51.100.1"
        );
        assert_eq!(client("127.0.0.1:5000", None), "127.0.0.1");
        assert_eq!(client("[::ffff:127.0.0.1]:5000", Some("198.51.100.7")), "198.51.100.7");
    }

    #[test]
    fn a_quota_is_spent_then_refused_with_the_wait() {
        let limiter: Limiter<u8> = Limiter::new(
            "client-ip",
            "client IP",
            RateQuota {
                requests: 3,
                window_seconds: 60,
            },
        );
        for remaining in [2, 1, 0] {
            let state = limiter.limiter.check_key(&1).unwrap();
            assert_eq!(state.remaining_burst_capacity(), remaining);
        }
        let wait = limiter
            .limiter
            .check_key(&1)
            .unwrap_err()
            .wait_time_from(limiter.limiter.clock().now());
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.limiter.check_key(&2).is_ok(), "keys are separate");
        let refused = limiter.refusal(wait);
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let h = refused.headers();
        assert_eq!(h[header::RETRY_AFTER], "20");
        assert_eq!(h[RATELIMIT_POLICY], "\"client-ip\";q=3;w=60");
        assert_eq!(h[RATELIMIT], "\"client-ip\";r=0;t=20");
    }
}
