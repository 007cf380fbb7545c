//! A chain's RPC endpoints: every call runs under a request timeout (and every connection under
//! a connect timeout), and a URL that hangs, refuses or errors hands the same call to the next
//! URL at once, so one bad node costs at most one timeout. The URL that answered stays in use.
//!
//! Each attempt is counted per chain and URL (`payin_rpc_requests_total`, and
//! `payin_rpc_errors_total` when it failed) through the `metrics` facade. URLs appear in labels,
//! logs and errors only as scheme, host and port ([`redact_url`]): RPC URLs often carry an API
//! key in their path or query.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::transports::{RpcError, TransportError};

use crate::error::{Error, Result};

/// How long an RPC call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcTimeouts {
    /// Establishing a TCP (and TLS) connection to a node.
    pub connect: Duration,
    /// One JSON-RPC call, from sending the request to the end of the answer.
    pub request: Duration,
}

impl Default for RpcTimeouts {
    fn default() -> Self {
        RpcTimeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(10),
        }
    }
}

/// Extra HTTP headers sent with every RPC call of a chain (`rpc_headers` in the config file),
/// e.g. TronGrid's `TRON-PRO-API-KEY`. Values are API keys: `Debug` shows header names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RpcHeaders(Vec<(String, String)>);

impl RpcHeaders {
    /// Validates header names and values; a bad one is a config error naming `field` and the
    /// header (never its value).
    pub fn parse(field: &str, headers: &std::collections::BTreeMap<String, String>) -> Result<RpcHeaders> {
        for (name, value) in headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(Error::validation(
                    field,
                    format!("{field}: {name:?} is not an HTTP header name"),
                ));
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(Error::validation(
                    field,
                    format!("{field}: the value of {name} is not a valid HTTP header value"),
                ));
            }
        }
        Ok(RpcHeaders(
            headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header names, without their values.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    fn header_map(&self) -> reqwest::header::HeaderMap {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in &self.0 {
            // Checked by `parse`.
            if let (Ok(n), Ok(mut v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value),
            ) {
                v.set_sensitive(true);
                map.insert(n, v);
            }
        }
        map
    }
}

impl std::fmt::Debug for RpcHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, "(redacted)")))
            .finish()
    }
}

/// A URL as logs, metric labels and `/health` may show it: scheme, host and port only (paths,
/// queries and credentials often hold API keys).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
            (Some(host), None) => format!("{}://{host}", u.scheme()),
            (None, _) => format!("{}:", u.scheme()),
        },
        Err(_) => "(invalid URL)".to_string(),
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// A node answered with a JSON-RPC error (e.g. a log range it refuses to serve). Asking
    /// another node would most likely get the same answer, so no other URL was tried.
    #[error("rpc: {0}")]
    Answered(String),
    /// No URL answered: each one's failure, in the order they were tried.
    #[error("rpc: every RPC URL failed: {}", .0.join("; "))]
    Unreachable(Vec<String>),
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        Error::Internal(e.to_string())
    }
}

struct Endpoint {
    provider: DynProvider,
    /// [`redact_url`] of the URL.
    label: String,
    /// The URL as written and as `url` normalizes it, and the extra headers' values: scrubbed
    /// out of error texts.
    secrets: Vec<String>,
}

/// The RPC URLs of one chain, tried in order from the last one that answered.
pub struct RpcEndpoints {
    chain_id: String,
    endpoints: Vec<Endpoint>,
    active: AtomicUsize,
    request_timeout: Duration,
}

impl RpcEndpoints {
    /// Endpoints for `urls`; a URL that does not parse is a config error naming
    /// `chains.<chain_id>.rpc_urls`.
    pub fn new(chain_id: &str, urls: &[String], timeouts: RpcTimeouts) -> Result<RpcEndpoints> {
        RpcEndpoints::with_headers(chain_id, urls, timeouts, &RpcHeaders::default())
    }

    /// [`RpcEndpoints::new`] sending `headers` with every call.
    pub fn with_headers(
        chain_id: &str,
        urls: &[String],
        timeouts: RpcTimeouts,
        headers: &RpcHeaders,
    ) -> Result<RpcEndpoints> {
        let field = || format!("chains.{chain_id}.rpc_urls");
        if urls.is_empty() {
            return Err(Error::validation(field(), "a chain source needs at least one RPC URL"));
        }
        let mut header_values: Vec<String> = headers.0.iter().map(|(_, v)| v.clone()).collect();
        header_values.retain(|v| v.len() >= 4);
        let endpoints = urls
            .iter()
            .map(|raw| {
                let label = redact_url(raw);
                let url: reqwest::Url = raw
                    .parse()
                    .map_err(|e| Error::validation(field(), format!("{label}: {e}")))?;
                // The request timeout is applied around each call (see `call`), so that it covers
                // the whole call and reads the same whatever part of it hung.
                let http = reqwest::Client::builder()
                    .connect_timeout(timeouts.connect)
                    .default_headers(headers.header_map())
                    .build()
                    .map_err(|e| Error::Internal(format!("rpc client for {label}: {e}")))?;
                let client = RpcClient::new_http_with_client(http, url.clone());
                Ok(Endpoint {
                    provider: ProviderBuilder::new()
                        .disable_recommended_fillers()
                        .connect_client(client)
                        .erased(),
                    label,
                    secrets: [raw.clone(), url.to_string()]
                        .into_iter()
                        .chain(header_values.iter().cloned())
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RpcEndpoints {
            chain_id: chain_id.to_string(),
            endpoints,
            active: AtomicUsize::new(0),
            request_timeout: timeouts.request,
        })
    }

    /// The redacted URLs, in configured order.
    pub fn labels(&self) -> Vec<&str> {
        self.endpoints.iter().map(|e| e.label.as_str()).collect()
    }

    /// Moves on to the next URL for the calls that follow.
    pub fn fail_over(&self) {
        let next = (self.active.load(Ordering::Relaxed) + 1) % self.endpoints.len();
        self.active.store(next, Ordering::Relaxed);
    }

    /// Runs `call` (`method` names it in logs) on the URL in use; when that URL fails to answer
    /// within the request timeout, or fails at the transport (refused, reset, HTTP error, not
    /// JSON-RPC), on the next one, until one answers or every URL failed once.
    pub async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> std::result::Result<T, CallError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = std::result::Result<T, TransportError>>,
    {
        let n = self.endpoints.len();
        let first = self.active.load(Ordering::Relaxed) % n;
        let mut failures = Vec::new();
        for i in 0..n {
            let index = (first + i) % n;
            let endpoint = &self.endpoints[index];
            let labels = [("chain", self.chain_id.clone()), ("url", endpoint.label.clone())];
            metrics::counter!("payin_rpc_requests_total", &labels).increment(1);
            let failure = match tokio::time::timeout(self.request_timeout, call(endpoint.provider.clone())).await {
                Ok(Ok(value)) => {
                    if index != first {
                        self.active.store(index, Ordering::Relaxed);
                        tracing::info!(chain = %self.chain_id, url = %endpoint.label, "RPC calls now go to this URL");
                    }
                    return Ok(value);
                }
                Ok(Err(RpcError::ErrorResp(payload))) => {
                    metrics::counter!("payin_rpc_errors_total", &labels).increment(1);
                    return Err(CallError::Answered(endpoint.scrub(&payload.to_string())));
                }
                Ok(Err(e)) => endpoint.scrub(&error_chain(&e)),
                Err(_) => format!("no answer within {} ms", self.request_timeout.as_millis()),
            };
            metrics::counter!("payin_rpc_errors_total", &labels).increment(1);
            tracing::warn!(
                chain = %self.chain_id,
                url = %endpoint.label,
                method,
                error = %failure,
                "RPC call failed{}",
                if i + 1 < n { "; trying the next URL" } else { "" }
            );
            failures.push(format!("{}: {failure}", endpoint.label));
        }
        Err(CallError::Unreachable(failures))
    }
}

impl Endpoint {
    /// `text` with the URL (which may hold an API key) replaced by its redacted form (and any
    /// extra header value by `(redacted)`), and
    /// reqwest's " for url (…)" dropped (the URL is named beside the error anyway).
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (i, secret) in self.secrets.iter().enumerate() {
            let shown = if i < 2 { self.label.as_str() } else { "(redacted)" };
            text = text.replace(secret.as_str(), shown);
        }
        text.replace(&format!(" for url ({})", self.label), "")
    }
}

/// An error and its sources, `: `-separated: reqwest says "error sending request" and keeps
/// the reason ("connection refused") in its source.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};

    use super::*;

    /// Test double of a metrics exporter: every counter's total by `name{label=value,…}`.
    #[derive(Default)]
    struct Counted(Arc<Mutex<BTreeMap<String, u64>>>);

    struct OneCounter(Arc<Mutex<BTreeMap<String, u64>>>, String);

    impl CounterFn for OneCounter {
        fn increment(&self, value: u64) {
            *self.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
        }

        fn absolute(&self, _: u64) {}
    }

    impl metrics::Recorder for Counted {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            Counter::from_arc(Arc::new(OneCounter(self.0.clone(), name)))
        }

        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }

        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    /// Test double of a node that records the first request it gets and answers `eth_blockNumber`.
    async fn recording_node() -> (String, tokio::sync::oneshot::Receiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jsonrpc", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let n = socket.read(&mut buf).await.unwrap();
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
            let body = r#"{"jsonrpc":"2.0","id":0,"result":"0x10"}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        (url, rx)
    }

    #[tokio::test]
    async fn extra_headers_go_with_every_call_and_never_show_their_values() {
        let (url, request) = recording_node().await;
        let headers = RpcHeaders::parse(
            "chains.tron.rpc_headers",
            &BTreeMap::from([("TRON-PRO-API-KEY".to_string(), "secret-trongrid-key".to_string())]),
        )
        .unwrap();
        let rpc = RpcEndpoints::with_headers("tron", &[url], short(), &headers).unwrap();
        let head = rpc
            .call("eth_blockNumber", |p| async move { p.get_block_number().await })
            .await
            .unwrap();
        assert_eq!(head, 16);
        let request = request.await.unwrap().to_ascii_lowercase();
        assert!(request.contains("tron-pro-api-key: secret-trongrid-key"), "{request}");
        let shown = format!("{headers:?}");
        assert!(
            shown.contains("TRON-PRO-API-KEY") && !shown.contains("secret"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_header_is_a_config_error_that_does_not_repeat_the_value() {
        let bad_name = BTreeMap::from([("bad header".to_string(), "v".to_string())]);
        let err = RpcHeaders::parse("chains.tron.rpc_headers", &bad_name).unwrap_err();
        assert!(err.to_string().contains("chains.tron.rpc_headers"), "{err}");
        let bad_value = BTreeMap::from([("TRON-PRO-API-KEY".to_string(), "secret\nkey".to_string())]);
        let err = RpcHeaders::parse("chains.tron.rpc_headers", &bad_value).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn redacted_urls_keep_scheme_host_and_port_only() {
        for (url, shown) in [
            (
                "https://mainnet.infura.io/v3/0123456789abcdef",
                "https://mainnet.infura.io",
            ),
            (
                "https://user:secret@rpc.example:8443/key?apikey=x",
                "https://rpc.example:8443",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("not a url", "(invalid URL)"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    /// Test double of a node that accepts connections and never answers.
    async fn hanging_node() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v3/secret-key", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (url, task)
    }

    /// A port nobody listens on: connections are refused.
    fn refusing_url() -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}/?apikey=secret-key")
    }

    fn short() -> RpcTimeouts {
        RpcTimeouts {
            connect: Duration::from_millis(300),
            request: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn every_url_failing_names_each_failure_without_the_secret_parts() {
        let counted = Counted::default();
        // A current-thread runtime: the whole test runs on this thread and its recorder.
        let _recorder = metrics::set_default_local_recorder(&counted);
        let (hanging, _task) = hanging_node().await;
        let refusing = refusing_url();
        let labels = [redact_url(&hanging), redact_url(&refusing)];
        let rpc = RpcEndpoints::new("polygon", &[hanging, refusing], short()).unwrap();
        let started = Instant::now();
        let err = rpc
            .call("eth_blockNumber", |p| async move { p.get_block_number().await })
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let CallError::Unreachable(failures) = &err else {
            panic!("expected every URL to fail, got {err:?}");
        };
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("no answer within 300 ms"), "{failures:?}");
        assert!(failures[1].to_lowercase().contains("refused"), "{failures:?}");
        assert!(!err.to_string().contains("secret-key"), "{err}");

        let counters = counted.0.lock().unwrap().clone();
        for url in &labels {
            for name in ["payin_rpc_requests_total", "payin_rpc_errors_total"] {
                assert_eq!(
                    counters.get(&format!("{name}{{chain=polygon,url={url}}}")),
                    Some(&1),
                    "{counters:?}"
                );
            }
        }
        assert_eq!(counters.len(), 4, "{counters:?}");
    }

    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn a_hanging_url_hands_the_call_to_the_next_within_one_timeout() {
        let Some(chain) = crate::testing::anvil_with_tokens().await else {
            return;
        };
        let (hanging, _task) = hanging_node().await;
        let rpc = RpcEndpoints::new("local", &[hanging, chain.rpc_url().to_string()], short()).unwrap();
        let started = Instant::now();
        let head = rpc
            .call("eth_blockNumber", |p| async move { p.get_block_number().await })
            .await
            .unwrap();
        assert!(head > 0);
        let first = started.elapsed();
        assert!(first < Duration::from_millis(1_500), "{first:?}");
        // The URL that answered stays in use: the next call costs no timeout.
        let started = Instant::now();
        rpc.call("eth_blockNumber", |p| async move { p.get_block_number().await })
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
    }
}
