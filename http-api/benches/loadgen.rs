//! Load generator for `scripts/bench.sh`: drives a running `payin serve` from a separate
//! process and prints throughput and latency percentiles.
//!
//! ```text
//! loadgen create-max  URL KEY CONCURRENCY SECONDS   # closed loop, as fast as the server goes
//! loadgen create-rate URL KEY RATE SECONDS          # open loop at a fixed request rate
//! loadgen get-max     URL KEY CONCURRENCY SECONDS ORDER_ID
//! loadgen idle        URL -   CONNECTIONS SECONDS       # open connections that send nothing
//! loadgen viewers     URL -   VIEWERS SECONDS ORDER_ID  # payers on the order's page
//! loadgen link-viewers URL -  VIEWERS SECONDS SLUG      # shoppers on a payment link's page
//! loadgen hashnut-max URL AK:SECRET CONCURRENCY SECONDS  # HashNut v3 creates, signed per request
//! loadgen qiejiao-max URL PID:KEY CONCURRENCY SECONDS    # QieJiao creates, signed per request
//! ```
//! `viewers` opens the payment page (`/pay/ORDER_ID`) once per viewer, then polls its status
//! every 2 s as the page does, viewers spread evenly over the first 2 s; it reports the page
//! renders and the status polls apart. `link-viewers` does the same on `/checkout/SLUG`, a page
//! without a status document: each shopper reloads it every 2 s.
//! `idle` holds its connections for SECONDS (or until the server closes them) and reports how
//! many the server closed, and when.
//! Latency in fixed-rate mode is measured from each request's scheduled start, so a stalled
//! server cannot hide queueing delay (no coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

struct Outcome {
    latency: Duration,
    status: u16,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let usage = "usage: loadgen create-max|create-rate|get-max|idle URL KEY N SECONDS [ORDER_ID]";
    let mode = args.first().expect(usage).clone();
    let url = args.get(1).expect(usage).trim_end_matches('/').to_string();
    let key = args.get(2).expect(usage).clone();
    let n: u64 = args.get(3).expect(usage).parse().expect(usage);
    let seconds: u64 = args.get(4).expect(usage).parse().expect(usage);
    let order_id = args.get(5).cloned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if mode == "idle" {
        rt.block_on(idle(url, n, Duration::from_secs(seconds)));
        return;
    }
    if mode == "viewers" {
        let order_id = order_id.expect(usage);
        let (page, poll) = (format!("/pay/{order_id}"), format!("/pay/{order_id}/status"));
        let (pages, polls, elapsed) = rt.block_on(viewers(url, n, Duration::from_secs(seconds), page, poll));
        report("viewers: page renders", n, &pages, elapsed);
        report("viewers: status polls", n, &polls, elapsed);
        return;
    }
    if mode == "link-viewers" {
        let page = format!("/checkout/{}", order_id.expect(usage));
        let (first, reloads, elapsed) = rt.block_on(viewers(url, n, Duration::from_secs(seconds), page.clone(), page));
        report("link viewers: first renders", n, &first, elapsed);
        report("link viewers: reloads every 2 s", n, &reloads, elapsed);
        return;
    }
    let (outcomes, elapsed) = rt.block_on(run(mode.clone(), url, key, n, Duration::from_secs(seconds), order_id));
    report(&mode, n, &outcomes, elapsed);
}

async fn run(
    mode: String,
    url: String,
    key: String,
    n: u64,
    duration: Duration,
    order_id: Option<String>,
) -> (Vec<Outcome>, Duration) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap();
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let get = mode == "get-max";
    let kind = mode.clone();
    let send = Arc::new(move |i: u64| {
        let req = match (kind.as_str(), &order_id, get) {
            ("hashnut-max", _, _) => hashnut_create(&client, &url, &key, &format!("bench-{run_id}-{i}"), i),
            ("qiejiao-max", _, _) => qiejiao_create(&client, &url, &key, &format!("bench-{run_id}-{i}")),
            (_, Some(id), true) => client.get(format!("{url}/api/v1/orders/{id}")).bearer_auth(&key),
            _ => client
                .post(format!("{url}/api/v1/orders"))
                .json(&json!({
                    "orderReference": format!("bench-{run_id}-{i}"),
                    "amount": "25.00",
                    "currency": "USDT",
                    "chainId": "ethereum",
                }))
                .bearer_auth(&key),
        };
        async move {
            match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            }
        }
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    if mode == "create-rate" {
        // Open loop: request i starts at i / rate seconds whatever the server does.
        let interval = Duration::from_secs_f64(1.0 / n as f64);
        for i in 0..n * duration.as_secs() {
            let scheduled = started + interval.mul_f64(i as f64);
            tokio::time::sleep_until(scheduled.into()).await;
            let send = send.clone();
            tasks.push(tokio::spawn(async move {
                let status = send(i).await;
                vec![Outcome {
                    latency: scheduled.elapsed(),
                    status,
                }]
            }));
        }
    } else {
        // Closed loop: `n` workers, each sending its next request when the last one answered.
        let counter = Arc::new(AtomicU64::new(0));
        for _ in 0..n {
            let (send, counter) = (send.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                while started.elapsed() < duration {
                    let t = Instant::now();
                    let status = send(counter.fetch_add(1, Ordering::Relaxed)).await;
                    out.push(Outcome {
                        latency: t.elapsed(),
                        status,
                    });
                }
                out
            }));
        }
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    (outcomes, started.elapsed())
}

/// `n` viewers of one page: each loads `page`, then fetches `poll` every 2 s (the order page's
/// status document, or the link page itself).
async fn viewers(
    url: String,
    n: u64,
    duration: Duration,
    page: String,
    poll: String,
) -> (Vec<Outcome>, Vec<Outcome>, Duration) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap();
    let started = Instant::now();
    let get = move |path: String| {
        let req = client.get(format!("{url}{path}"));
        async move {
            let t = Instant::now();
            let status = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            Outcome {
                latency: t.elapsed(),
                status,
            }
        }
    };
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (get, page, poll) = (get.clone(), page.clone(), poll.clone());
            tokio::spawn(async move {
                let offset = Duration::from_secs(2).mul_f64(i as f64 / n as f64);
                tokio::time::sleep(offset).await;
                let page = get(page).await;
                let mut polls = Vec::new();
                let mut next = Instant::now() + Duration::from_secs(2);
                while next < started + duration {
                    tokio::time::sleep_until(next.into()).await;
                    polls.push(get(poll.clone()).await);
                    next += Duration::from_secs(2);
                }
                (page, polls)
            })
        })
        .collect();
    let (mut pages, mut polls) = (Vec::new(), Vec::new());
    for t in tasks {
        let (page, p) = t.await.unwrap();
        pages.push(page);
        polls.extend(p);
    }
    (pages, polls, started.elapsed())
}

/// A HashNut v3 create as a merchant's SDK sends it: the body signed with the uuid and the
/// millisecond timestamp (`credentials` is `ACCESS_KEY_ID:SECRET`).
fn hashnut_create(
    client: &reqwest::Client,
    url: &str,
    credentials: &str,
    order: &str,
    i: u64,
) -> reqwest::RequestBuilder {
    let (access_key_id, secret) = credentials.split_once(':').expect("AK:SECRET");
    let body = json!({
        "accessKeyId": access_key_id,
        "merchantOrderId": order,
        "chainCode": "erc20",
        "coinCode": "usdt",
        "amount": 25,
    })
    .to_string();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (nanos >> 32) as u32,
        (nanos >> 16) as u16,
        (i >> 12) as u16 & 0xfff,
        i as u16 & 0xfff,
        (nanos as u64 ^ i) & 0xffff_ffff_ffff
    );
    let timestamp = (nanos / 1_000_000).to_string();
    let sign = payin_core::compat::hashnut::sign(secret, &uuid, &timestamp, body.as_bytes());
    client
        .post(format!("{url}/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey"))
        .header("content-type", "application/json")
        .header("hashnut-request-uuid", uuid)
        .header("hashnut-request-timestamp", timestamp)
        .header("hashnut-request-sign", sign)
        .body(body)
}

/// A QieJiao create as a merchant sends it: JSON parameters with their MD5 `signature`
/// (`credentials` is `PID:KEY`).
fn qiejiao_create(client: &reqwest::Client, url: &str, credentials: &str, order: &str) -> reqwest::RequestBuilder {
    let (pid, key) = credentials.split_once(':').expect("PID:KEY");
    let params = [
        ("pid", pid),
        ("chain_type", "2"),
        ("order_no", order),
        ("amount", "25.00"),
        ("currency", "USDT"),
        ("scanpay", "1"),
    ];
    let signature = payin_core::compat::qiejiao::sign(params, key);
    let mut body: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    body.insert("signature".into(), json!(signature));
    client.post(format!("{url}/api/pay/create")).json(&body)
}

/// Opens `n` connections that never send a byte and waits for the server to close them.
async fn idle(url: String, n: u64, hold: Duration) {
    use tokio::io::AsyncReadExt;
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let started = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..n {
        match tokio::net::TcpStream::connect(&addr).await {
            Ok(s) => streams.push(s),
            Err(e) => {
                eprintln!("connect failed after {} connections: {e}", streams.len());
                break;
            }
        }
    }
    let connected = started.elapsed();
    let opened = streams.len();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let closed = tokio::time::timeout_at((started + hold).into(), async {
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                })
                .await;
                closed.ok().map(|_| started.elapsed())
            })
        })
        .collect();
    let mut closed = Vec::new();
    for t in tasks {
        if let Some(at) = t.await.unwrap() {
            closed.push(at);
        }
    }
    closed.sort();
    let at = |p: f64| {
        closed
            .get(((closed.len() as f64 * p) as usize).min(closed.len().saturating_sub(1)))
            .map_or("-".to_string(), |d| format!("{:.1}s", d.as_secs_f64()))
    };
    println!(
        "idle n={n}: {opened} connected in {:.1}s; the server closed {} of them within {}s (p50 {}, max {})",
        connected.as_secs_f64(),
        closed.len(),
        hold.as_secs(),
        at(0.5),
        at(1.0)
    );
}

fn report(mode: &str, n: u64, outcomes: &[Outcome], elapsed: Duration) {
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for o in outcomes {
        *by_status.entry(o.status).or_default() += 1;
    }
    let mut ok: Vec<Duration> = outcomes
        .iter()
        .filter(|o| (200..300).contains(&o.status))
        .map(|o| o.latency)
        .collect();
    ok.sort();
    let pct = |p: f64| -> String {
        if ok.is_empty() {
            return "-".into();
        }
        let idx = ((ok.len() as f64 * p).ceil() as usize).clamp(1, ok.len()) - 1;
        format!("{:.2}ms", ok[idx].as_secs_f64() * 1000.0)
    };
    let secs = elapsed.as_secs_f64();
    println!(
        "{mode} n={n}: {} requests in {secs:.1}s, {:.0} ok/s, statuses {by_status:?}, p50 {} p90 {} p99 {} max {}",
        outcomes.len(),
        ok.len() as f64 / secs,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0),
    );
}
