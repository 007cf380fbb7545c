//! Connection hygiene of the server loop (`payin_http::serve`, as `payin serve` runs it), over
//! real sockets: slow-header and idle clients are cut off, requests being handled are not, and
//! connections beyond the cap wait for a free slot.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use payin_core::config::RateLimitConfig;
use payin_core::testing::Backend;
use payin_http::ServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER: Duration = Duration::from_secs(1);
const KEEP_ALIVE: Duration = Duration::from_secs(3);

async fn app(max_connections: usize) -> TestApp {
    let options = ServerOptions {
        header_read_timeout: HEADER,
        keep_alive_timeout: KEEP_ALIVE,
        max_connections,
    };
    TestApp::spawn_with(Backend::Sqlite, options, RateLimitConfig::disabled())
        .await
        .unwrap()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Waits until the server closes `stream` (EOF or reset), discarding what it sends; the time
/// it took, or `None` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// Reads one response with a `content-length` body; its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return head[9..12].parse().unwrap();
            }
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-response: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&buf[..n]);
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let app = app(16).await;
    let mut stream = connect(&app).await;
    let closed = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("closed");
    assert!(closed >= HEADER - Duration::from_millis(100), "{closed:?}");
    assert!(closed < HEADER * 3, "{closed:?}");
}

#[tokio::test]
async fn a_slow_header_client_is_cut_off_though_it_keeps_sending() {
    let app = app(16).await;
    let mut stream = connect(&app).await;
    let start = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    // One header byte every 100 ms: never idle, never done.
    let mut cut = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if stream.write_all(b"x").await.is_err() {
            cut = Some(start.elapsed());
            break;
        }
        let mut probe = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
            cut = Some(start.elapsed());
            break;
        }
    }
    let cut = cut.expect("the slow client was never cut off");
    assert!(
        cut >= HEADER - Duration::from_millis(100) && cut < HEADER * 3,
        "{cut:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_may_idle_longer_than_a_head_takes_then_is_closed() {
    let app = app(16).await;
    let mut stream = connect(&app).await;
    stream.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 200);
    // Idle past the header timeout, within the keep-alive timeout: still served.
    tokio::time::sleep(HEADER * 2).await;
    stream.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 200);
    // Then idle: closed once the keep-alive timeout has passed.
    let closed = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("closed");
    assert!(
        closed >= KEEP_ALIVE - Duration::from_millis(200) && closed < KEEP_ALIVE * 2,
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_request_being_handled_is_not_cut_off() {
    let app = app(16).await;
    app.import_evm(1, 1).await;
    let body = br#"{"orderReference":"slow-1","amount":"1","currency":"USDT","chainId":"ethereum"}"#;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        app.key,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The body takes longer than a head may: the request is being handled meanwhile.
    for chunk in body.chunks(body.len() / 4 + 1) {
        tokio::time::sleep(HEADER / 2).await;
        stream.write_all(chunk).await.unwrap();
    }
    assert_eq!(read_response(&mut stream).await, 201);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = app(2).await;
    let mut idle = [connect(&app).await, connect(&app).await];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut third).await, 200, "served once a slot is free");
    let waited = start.elapsed();
    assert!(
        waited >= HEADER - Duration::from_millis(300),
        "answered after {waited:?}, before the idle connections were closed"
    );
    for stream in &mut idle {
        assert!(closed_within(stream, Duration::from_secs(1)).await.is_some());
    }
}

#[tokio::test]
async fn a_flood_of_idle_connections_is_closed() {
    let app = app(4096).await;
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.push(connect(&app).await);
    }
    let start = Instant::now();
    for stream in &mut flood {
        let left = Duration::from_secs(10).saturating_sub(start.elapsed());
        assert!(
            closed_within(stream, left).await.is_some(),
            "an idle connection stayed open"
        );
    }
    // The server still serves.
    let mut stream = connect(&app).await;
    stream.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 200);
}
