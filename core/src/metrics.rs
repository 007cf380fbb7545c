//! What PayIn reports to Prometheus, through the `metrics` facade: counters and histograms
//! are recorded where things happen (webhook attempts in [`crate::webhook::dispatch`], HTTP
//! requests in `payin-http`, RPC calls in the chain code); state (orders by status, the
//! webhook queue, the address pool, chain progress) is read when `/metrics` is scraped, by
//! [`observe_state`], so it is right on every replica whichever one wrote it.
//!
//! The exporter belongs to the front end that serves `/metrics` (`payin-http`); without an
//! installed recorder everything here does nothing.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};

use crate::engine::Engine;
use crate::error::Result;

pub const HTTP_REQUESTS: &str = "payin_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "payin_http_request_duration_seconds";
pub const ORDERS: &str = "payin_orders";
pub const WEBHOOK_QUEUE_DEPTH: &str = "payin_webhook_queue_depth";
pub const WEBHOOK_ATTEMPTS: &str = "payin_webhook_attempts_total";
pub const WEBHOOK_FAILED_DELIVERIES: &str = "payin_webhook_failed_deliveries_total";
pub const POOL_ADDRESSES: &str = "payin_pool_addresses";
pub const CHAIN_HEAD: &str = "payin_chain_head_block";
pub const CHAIN_LAG: &str = "payin_chain_lag_blocks";
pub const CHAIN_ERROR: &str = "payin_chain_error";
pub const CHAIN_LAST_SUCCESS_AGE: &str = "payin_chain_last_success_age_seconds";
pub const CHAIN_STALLED: &str = "payin_chain_stalled";

/// Order statuses always reported, at 0 when no order has them.
const ORDER_STATUSES: [&str; 3] = ["pending", "completed", "expired"];

/// Registers every metric's help text with the installed recorder.
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request latency, by method, route template and status"
    );
    describe_gauge!(ORDERS, "Orders by status");
    describe_gauge!(
        WEBHOOK_QUEUE_DEPTH,
        "Webhook deliveries waiting to be sent (due now or waiting for a retry)"
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Webhook delivery attempts by result: succeeded, failed (no answer or not accepted) or \
         refused (the SSRF guard refused the endpoint's address)"
    );
    describe_counter!(
        WEBHOOK_FAILED_DELIVERIES,
        "Webhook deliveries failed for good: attempts exhausted or the endpoint answered 410 Gone"
    );
    describe_gauge!(POOL_ADDRESSES, "Pool addresses by protocol and state");
    describe_gauge!(CHAIN_HEAD, "Latest block of each watched chain as last seen");
    describe_gauge!(
        CHAIN_LAG,
        "Blocks between each watched chain's head and its last scanned block"
    );
    describe_gauge!(
        CHAIN_ERROR,
        "1 while a watched chain's last poll failed (see /health for the error), else 0"
    );
    describe_gauge!(
        CHAIN_LAST_SUCCESS_AGE,
        "Seconds since the last successful pass over each watched chain (by the lease holder)"
    );
    describe_gauge!(
        CHAIN_STALLED,
        "1 while a watched chain has had no successful pass for its stalledAfterMs (health degraded), else 0"
    );
}

/// Sets the state gauges from the database and the watchers' progress; call it just before
/// rendering. Counts are read on each scrape (one `GROUP BY` over orders, one count of pending
/// deliveries, the pool's counts).
pub async fn observe_state(engine: &Engine) -> Result<()> {
    let counts = engine.store().state_counts().await?;
    for status in ORDER_STATUSES {
        let n = counts.orders_by_status.get(status).copied().unwrap_or(0);
        gauge!(ORDERS, "status" => status).set(n as f64);
    }
    for (status, n) in counts
        .orders_by_status
        .iter()
        .filter(|(s, _)| !ORDER_STATUSES.contains(&s.as_str()))
    {
        gauge!(ORDERS, "status" => status.clone()).set(*n as f64);
    }
    gauge!(WEBHOOK_QUEUE_DEPTH).set(counts.pending_deliveries as f64);

    for pool in engine.pool_status().await? {
        let protocol = pool.protocol.as_str();
        for (state, n) in [
            ("available", pool.available),
            ("assigned", pool.assigned),
            ("cooldown", pool.cooldown),
            ("retired", pool.retired),
        ] {
            gauge!(POOL_ADDRESSES, "protocol" => protocol, "state" => state).set(n as f64);
        }
    }

    // The watchers stamp their passes with the wall clock.
    let now = chrono::Utc::now();
    for chain in engine.chain_report(true).await {
        let id = chain.chain_id;
        if let Some(at) = chain.last_success_at {
            let age = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
            gauge!(CHAIN_LAST_SUCCESS_AGE, "chain" => id.clone()).set(age);
        }
        gauge!(CHAIN_STALLED, "chain" => id.clone()).set(if chain.stalled { 1.0 } else { 0.0 });
        if let Some(head) = chain.head {
            gauge!(CHAIN_HEAD, "chain" => id.clone()).set(head as f64);
        }
        if let Some(lag) = chain.lag {
            gauge!(CHAIN_LAG, "chain" => id.clone()).set(lag as f64);
        }
        gauge!(CHAIN_ERROR, "chain" => id).set(if chain.last_error.is_some() { 1.0 } else { 0.0 });
    }
    Ok(())
}
