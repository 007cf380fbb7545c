//! The client's retries against a scripted HTTP server on 127.0.0.1 (a test double: PayIn itself
//! cannot be made to fail on cue). Checks how often each failure is tried, that other 4xx are
//! never retried, that `Retry-After` is honoured, and that every attempt of one POST carries the
//! same `Idempotency-Key` while separate calls carry different ones. The same behaviour against
//! the real router is in `http-api/tests/client.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payin_client::{Backoff, Client, ClientOptions, Error, Gateway, RequestOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the double does with one request.
#[derive(Clone)]
enum Reply {
    /// Answer with this status, extra headers and JSON body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then close the connection without a word.
    Drop,
    /// Wait this long before answering 200 with the body (to outlast a client's timeout).
    Slow(Duration, String),
}

/// A request as the double received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    at: Instant,
}

impl Received {
    fn idempotency_key(&self) -> Option<&str> {
        self.headers.get("idempotency-key").map(String::as_str)
    }
}

/// Test double of a PayIn server: answers requests with the scripted replies in order, then
/// with `then` forever. One request per connection (`Connection: close`).
struct ScriptedServer {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl ScriptedServer {
    async fn start(script: Vec<Reply>, then: Reply) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (log, script, then) = (log.clone(), script.clone(), then.clone());
                tokio::spawn(async move {
                    let reply = script.lock().unwrap().pop_front().unwrap_or(then);
                    serve_one(socket, reply, &log).await;
                });
            }
        });
        ScriptedServer { base, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// A client of this server with fast backoff (1–8 ms) unless `Retry-After` says otherwise.
    fn client(&self, max_retries: u32) -> Client {
        Client::from_options(ClientOptions {
            api_key: Some("pk_test".into()),
            base_url: Some(self.base.clone()),
            max_retries,
            backoff: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(8),
                max_retry_after: Duration::from_secs(5),
            },
            ..ClientOptions::default()
        })
        .unwrap()
    }
}

async fn serve_one(mut socket: TcpStream, reply: Reply, log: &Mutex<Vec<Received>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (
        request_line.next().unwrap_or_default().to_string(),
        request_line.next().unwrap_or_default().to_string(),
    );
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    log.lock().unwrap().push(Received {
        method,
        path,
        headers,
        at: Instant::now(),
    });
    let (status, extra, body) = match reply {
        Reply::Drop => return,
        Reply::Slow(wait, body) => {
            tokio::time::sleep(wait).await;
            (200, Vec::new(), body)
        }
        Reply::Answer(status, extra, body) => (status, extra, body),
    };
    let mut response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn ok(data: &str) -> Reply {
    Reply::Answer(200, Vec::new(), format!(r#"{{"success":true,"data":{data}}}"#))
}

fn envelope(status: u16, code: &str, extra: &str) -> String {
    format!(
        r#"{{"success":false,"error":"x","code":"{code}","message":"{code} happened","statusCode":{status}{extra}}}"#
    )
}

fn error(status: u16, code: &str, extra: &str) -> Reply {
    Reply::Answer(status, Vec::new(), envelope(status, code, extra))
}

const CHAINS: &str = r#"{"chains":[]}"#;
const UNBOUND: &str = r#"{"depositReference":"user-1","unboundAddresses":1}"#;

#[tokio::test]
async fn a_503_is_retried_until_it_heals() {
    let server = ScriptedServer::start(
        vec![
            error(503, "NO_AVAILABLE_ADDRESSES", r#","protocol":"evm""#),
            error(500, "INTERNAL_ERROR", ""),
        ],
        ok(CHAINS),
    )
    .await;
    assert_eq!(server.client(2).list_chains().await.unwrap(), vec![]);
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_the_last_error() {
    let server = ScriptedServer::start(vec![], error(500, "INTERNAL_ERROR", "")).await;
    let err = server.client(2).list_chains().await.unwrap_err();
    assert!(err.is_internal(), "{err:?}");
    assert_eq!(err.status_code(), Some(500));
    assert_eq!(server.received().len(), 3, "the first attempt and two retries");

    let server = ScriptedServer::start(vec![], error(502, "BAD_GATEWAY", "")).await;
    server.client(0).list_chains().await.unwrap_err();
    assert_eq!(server.received().len(), 1, "max_retries 0: one attempt");
}

#[tokio::test]
async fn other_4xx_answers_are_never_retried() {
    let cases = [
        (
            error(400, "VALIDATION_ERROR", r#","field":"depositReference""#),
            "VALIDATION_ERROR",
            400,
        ),
        (error(401, "UNAUTHORIZED", ""), "UNAUTHORIZED", 401),
        (
            error(404, "DEPOSIT_REFERENCE_NOT_FOUND", r#","depositReference":"user-1""#),
            "DEPOSIT_REFERENCE_NOT_FOUND",
            404,
        ),
        (
            error(
                409,
                "IDEMPOTENCY_KEY_REUSED",
                r#","field":"Idempotency-Key","idempotencyKey":"k""#,
            ),
            "IDEMPOTENCY_KEY_REUSED",
            409,
        ),
        (
            error(
                409,
                "IDEMPOTENCY_KEY_IN_PROGRESS",
                r#","field":"Idempotency-Key","idempotencyKey":"k""#,
            ),
            "IDEMPOTENCY_KEY_IN_PROGRESS",
            409,
        ),
    ];
    for (reply, code, status) in cases {
        let server = ScriptedServer::start(vec![reply], ok(UNBOUND)).await;
        let err = server.client(3).unbind_deposit("user-1", None).await.unwrap_err();
        assert_eq!((err.code(), err.status_code()), (code, Some(status)), "{err:?}");
        assert_eq!(server.received().len(), 1, "{code} was retried");
    }
}

#[tokio::test]
async fn answers_this_version_does_not_know_keep_their_status_and_code() {
    // A proxy's own page (no envelope) and a newer server's code: neither is read as a 500.
    let cases = [
        (
            Reply::Answer(403, Vec::new(), "<html>Forbidden by policy</html>".into()),
            "HTTP_ERROR",
            403,
            "without an error envelope",
            1,
        ),
        (
            Reply::Answer(404, Vec::new(), "Not Found".into()),
            "HTTP_ERROR",
            404,
            "404 Not Found",
            1,
        ),
        (error(403, "FORBIDDEN", ""), "FORBIDDEN", 403, "FORBIDDEN happened", 1),
        // A 502 from a load balancer is retried like any 5xx, then reported with its status.
        (
            Reply::Answer(502, Vec::new(), "<html>Bad Gateway</html>".into()),
            "HTTP_ERROR",
            502,
            "Bad Gateway",
            2,
        ),
    ];
    for (reply, code, status, text, attempts) in cases {
        let server = ScriptedServer::start(vec![], reply).await;
        let err = server.client(1).list_chains().await.unwrap_err();
        assert!(matches!(err, Error::Unrecognized { .. }), "{err:?}");
        assert_eq!((err.sent_code(), err.status_code()), (code, Some(status)), "{err:?}");
        assert_eq!(err.is_internal(), status >= 500, "{err:?}");
        assert!(err.to_string().contains(text), "{err}");
        assert_eq!(server.received().len(), attempts, "{code} {status}");
    }
}

#[tokio::test]
async fn a_dropped_connection_is_retried_with_the_same_idempotency_key() {
    let server = ScriptedServer::start(vec![Reply::Drop, Reply::Drop], ok(UNBOUND)).await;
    let unbound = server.client(2).unbind_deposit("user-1", None).await.unwrap();
    assert_eq!(unbound.unbound_addresses, 1);
    let received = server.received();
    assert_eq!(received.len(), 3);
    let keys: Vec<&str> = received
        .iter()
        .map(|r| r.idempotency_key().expect("POST carries a key"))
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(keys[0].len(), 36, "a UUID: {}", keys[0]);
    assert_eq!(
        (received[0].method.as_str(), received[0].path.as_str()),
        ("POST", "/api/v1/deposits/unbind")
    );
}

#[tokio::test]
async fn separate_calls_carry_separate_keys_and_reads_carry_none() {
    let server = ScriptedServer::start(vec![], ok(UNBOUND)).await;
    let client = server.client(0);
    client.unbind_deposit("user-1", None).await.unwrap();
    client.unbind_deposit("user-1", None).await.unwrap();
    let received = server.received();
    let (a, b) = (
        received[0].idempotency_key().unwrap(),
        received[1].idempotency_key().unwrap(),
    );
    assert_ne!(a, b);

    let server = ScriptedServer::start(vec![], ok(CHAINS)).await;
    server.client(0).list_chains().await.unwrap();
    assert_eq!(server.received()[0].idempotency_key(), None, "GET needs no key");
}

#[tokio::test]
async fn a_callers_key_is_sent_on_every_attempt_and_checked_first() {
    let server = ScriptedServer::start(vec![error(503, "INTERNAL_ERROR", "")], ok(UNBOUND)).await;
    let keyed = server.client(2).with_request_options(RequestOptions {
        idempotency_key: Some("unbind-user-1-2025-01-20".into()),
        ..RequestOptions::default()
    });
    keyed.unbind_deposit("user-1", None).await.unwrap();
    let keys: Vec<String> = server
        .received()
        .iter()
        .map(|r| r.idempotency_key().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["unbind-user-1-2025-01-20"; 2]);

    let bad = server.client(2).with_request_options(RequestOptions {
        idempotency_key: Some("has spaces".into()),
        ..RequestOptions::default()
    });
    let err = bad.unbind_deposit("user-1", None).await.unwrap_err();
    assert_eq!(err.field(), Some("Idempotency-Key"), "{err:?}");
    assert_eq!(server.received().len(), 2, "nothing sent with a bad key");
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let limited = Reply::Answer(
        429,
        vec![("Retry-After", "1".into())],
        envelope(429, "RATE_LIMITED", ""),
    );
    let server = ScriptedServer::start(vec![limited], ok(UNBOUND)).await;
    server.client(2).unbind_deposit("user-1", None).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    // The client's own backoff is at most 8 ms here: a wait near 1 s is the header's.
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
    assert_eq!(received[0].idempotency_key(), received[1].idempotency_key());
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_too() {
    // One second ahead, rounded up to the next whole second of the HTTP date.
    let at = chrono::Utc::now() + chrono::TimeDelta::seconds(2);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let limited = Reply::Answer(503, vec![("Retry-After", date)], envelope(503, "INTERNAL_ERROR", ""));
    let server = ScriptedServer::start(vec![limited], ok(CHAINS)).await;
    server.client(1).list_chains().await.unwrap();
    let received = server.received();
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn a_429_that_never_heals_is_a_rate_limited_error() {
    let limited = Reply::Answer(
        429,
        vec![("Retry-After", "0".into())],
        envelope(429, "RATE_LIMITED", ""),
    );
    let server = ScriptedServer::start(vec![], limited).await;
    let err = server.client(1).list_chains().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!((err.code(), err.status_code()), ("RATE_LIMITED", Some(429)));
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_server_too_slow_for_the_timeout_is_a_timeout_error_after_the_retries() {
    let server = ScriptedServer::start(vec![], Reply::Slow(Duration::from_secs(3), CHAINS.into())).await;
    let client = server.client(1).with_request_options(RequestOptions {
        timeout: Some(Duration::from_millis(300)),
        ..RequestOptions::default()
    });
    let started = Instant::now();
    let err = client.list_chains().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!((err.code(), err.status_code()), ("TIMEOUT", None));
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(server.received().len(), 2, "the timed-out attempt was retried once");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error_after_the_retries() {
    // A port that was just free: nothing listens, every attempt is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = ScriptedServer {
        base: format!("http://127.0.0.1:{port}"),
        received: Arc::default(),
    };
    let err = server.client(2).list_chains().await.unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    assert_eq!((err.code(), err.status_code()), ("CONNECTION_ERROR", None));
}

#[tokio::test]
async fn both_base_url_forms_reach_the_same_paths_and_the_key_is_a_bearer_token() {
    for suffix in ["", "/", "/api/v1", "/api/v1/"] {
        let server = ScriptedServer::start(vec![], ok(CHAINS)).await;
        let client = Client::new(&format!("{}{suffix}", server.base), "pk_test").unwrap();
        client.list_chains().await.unwrap();
        let r = &server.received()[0];
        assert_eq!(r.path, "/api/v1/chains", "{suffix:?}");
        assert_eq!(r.headers["authorization"], "Bearer pk_test");
        assert!(r.headers["user-agent"].starts_with("payin-rust/"), "{:?}", r.headers);
    }
}
