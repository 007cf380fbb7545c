//! The raw Rust client's `get_order` against a running gateway, for the side-by-side table of
//! `scripts/bench-clients.sh` (which starts the gateway and runs this beside the Python and Node
//! packages and the plain-language clients). Prints one JSON line:
//! `{"sequential": {calls_per_s, p50_ms, p99_ms}, "concurrent": {…}}`.
//!
//!   cargo bench -p payin-client --bench get_order -- BASE_URL API_KEY ORDER_ID [CALLS] [CONCURRENCY] [WARMUP]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use payin_client::{Client, ClientOptions, Gateway};

fn summary(mut latencies: Vec<Duration>, wall: Duration) -> serde_json::Value {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = latencies.len();
    serde_json::json!({
        "calls_per_s": n as f64 / wall.as_secs_f64(),
        "p50_ms": ms(latencies[n / 2]),
        "p99_ms": ms(latencies[(n * 99 / 100).saturating_sub(1)]),
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [base, key, order_id, rest @ ..] = args.as_slice() else {
        eprintln!("usage: get_order BASE_URL API_KEY ORDER_ID [CALLS] [CONCURRENCY] [WARMUP]");
        std::process::exit(2);
    };
    let number = |i: usize, default: usize| rest.get(i).map_or(default, |s| s.parse().expect("a number"));
    let (calls, concurrency, warmup) = (number(0, 5000), number(1, 32), number(2, 200));
    let client = Client::from_options(ClientOptions {
        api_key: Some(key.clone()),
        base_url: Some(base.clone()),
        ..ClientOptions::default()
    })
    .expect("client options");

    let order_id = order_id.clone();
    let get = move |client: &Client| {
        let client = client.clone();
        let id = order_id.clone();
        async move {
            let order = client.get_order(&id).await.expect("get_order");
            assert_eq!(order.order_id, id);
        }
    };
    for _ in 0..warmup {
        get(&client).await;
    }
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        get(&client).await;
        latencies.push(t.elapsed());
    }
    let sequential = summary(latencies, started.elapsed());

    let remaining = Arc::new(AtomicUsize::new(0));
    let run = |remaining: Arc<AtomicUsize>| {
        let client = client.clone();
        let get = get.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let t = Instant::now();
                get(&client).await;
                latencies.push(t.elapsed());
            }
            latencies
        })
    };
    // Warm every connection of the pool, then measure.
    remaining.store(warmup.max(concurrency), Ordering::SeqCst);
    for task in (0..concurrency).map(|_| run(remaining.clone())).collect::<Vec<_>>() {
        task.await.expect("task");
    }
    remaining.store(calls, Ordering::SeqCst);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(calls);
    for task in (0..concurrency).map(|_| run(remaining.clone())).collect::<Vec<_>>() {
        latencies.extend(task.await.expect("task"));
    }
    let concurrent = summary(latencies, started.elapsed());
    println!(
        "{}",
        serde_json::json!({ "sequential": sequential, "concurrent": concurrent })
    );
}
