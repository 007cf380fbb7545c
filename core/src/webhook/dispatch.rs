//! The dispatcher: sends due deliveries and records every attempt. What is sent and what
//! counts as received is the endpoint's kind's business ([`super::notifier`]), decided at send time.
//!
//! Deliveries are rows, so they survive restarts. A pass claims due deliveries a few at a time
//! (at most `concurrency` requests in flight); a claim starts the attempt, records it, and
//! leases the delivery for twice the request timeout, so replicas never send the same attempt
//! at once and a delivery whose worker died is picked up again when the lease ends. Time comes
//! from the engine's clock: tests advance it instead of sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::guard::{self, GuardedResolver, Refused};
use super::notifier::{
    EndpointKind, MAX_ANSWER_BYTES, Notification, Notifier, OutgoingRequest, RenderError, Secrets, Verdict,
};
use super::{AttemptOutcome, DueDelivery, NextStep, retry};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::time::{Timestamp, truncate_millis};

/// How the dispatcher sends.
#[derive(Debug, Clone)]
pub struct DispatcherOptions {
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout; a claim leases its delivery for twice this.
    pub timeout: Duration,
    /// How often [`Dispatcher::run`] looks for due deliveries when not woken.
    pub poll_every: Duration,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        DispatcherOptions {
            concurrency: 16,
            timeout: Duration::from_secs(15),
            poll_every: Duration::from_secs(1),
        }
    }
}

/// What one [`Dispatcher::run_once`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub attempted: u32,
    pub succeeded: u32,
    /// Failed attempts that will be retried.
    pub retrying: u32,
    /// Deliveries given up after their last attempt.
    pub gave_up: u32,
    /// Endpoints disabled because they answered 410 Gone.
    pub endpoints_disabled: Vec<String>,
}

pub struct Dispatcher {
    engine: Arc<Engine>,
    client: reqwest::Client,
    options: DispatcherOptions,
    wake: Notify,
}

impl Dispatcher {
    pub fn new(engine: Arc<Engine>, options: DispatcherOptions) -> Result<Dispatcher> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            // A redirect is an answer, not a delivery: only the registered URL gets the payload.
            .redirect(reqwest::redirect::Policy::none())
            // The SSRF guard: host names resolve to the addresses the policy allows, and the
            // request connects to one of those (IP literals are checked in `attempt`). A proxy
            // would resolve the host itself, past the guard.
            .dns_resolver(GuardedResolver::new(engine.webhook_policy().clone()))
            .no_proxy()
            .build()
            .map_err(|e| Error::Internal(format!("webhook HTTP client: {e}")))?;
        Ok(Dispatcher {
            engine,
            client,
            options: DispatcherOptions {
                concurrency: options.concurrency.max(1),
                ..options
            },
            wake: Notify::new(),
        })
    }

    /// Makes [`Dispatcher::run`] look for due deliveries now rather than at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends every delivery due now, at most `concurrency` at a time, and records each
    /// attempt. Deliveries that fall due while it runs wait for the next pass.
    pub async fn run_once(&self) -> Result<DispatchReport> {
        let mut report = DispatchReport::default();
        let mut in_flight: JoinSet<Result<AttemptOutcome>> = JoinSet::new();
        let mut exhausted = false;
        let mut failure = None;
        loop {
            let free = self.options.concurrency - in_flight.len();
            if !exhausted && free > 0 {
                let now = self.engine.now();
                let lease_until = now + chrono::Duration::from_std(self.options.timeout * 2).unwrap_or_default();
                match self
                    .engine
                    .store()
                    .claim_due_deliveries(now, lease_until, free as u32)
                    .await
                {
                    Ok(claimed) => {
                        exhausted = claimed.len() < free;
                        for due in claimed {
                            in_flight.spawn(attempt(self.engine.clone(), self.client.clone(), due));
                        }
                    }
                    Err(e) => {
                        exhausted = true;
                        failure = Some(e);
                    }
                }
            }
            let Some(done) = in_flight.join_next().await else {
                break;
            };
            match done {
                Ok(Ok(outcome)) => {
                    report.attempted += 1;
                    match outcome.next {
                        NextStep::Succeeded => report.succeeded += 1,
                        NextStep::RetryAt(_) => report.retrying += 1,
                        NextStep::GiveUp => report.gave_up += 1,
                        NextStep::DisableEndpoint => report.endpoints_disabled.push(outcome.endpoint_id),
                    }
                }
                // The attempt stays leased; when the lease ends it is claimed again.
                Ok(Err(e)) => failure = Some(e),
                Err(e) => failure = Some(Error::Internal(format!("delivery task failed: {e}"))),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Runs [`Dispatcher::run_once`] every `poll_every` (or when woken) until `shutdown`
    /// flips to true. A pass in progress finishes first, so no attempt is cut off mid-request.
    /// Errors are logged and retried on the next pass.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.run_once().await {
                Ok(r) if r.attempted > 0 => tracing::info!(
                    attempted = r.attempted,
                    succeeded = r.succeeded,
                    retrying = r.retrying,
                    gave_up = r.gave_up,
                    disabled = r.endpoints_disabled.len(),
                    "webhook deliveries"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook dispatch pass failed; retrying next pass"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll_every) => {}
                _ = self.wake.notified() => {}
                // New events in this process (orders, payments seen by the watcher): deliver now.
                _ = self.engine.events_written() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

/// One attempt: render through the endpoint's kind, send, judge the answer, record.
async fn attempt(engine: Arc<Engine>, client: reqwest::Client, due: DueDelivery) -> Result<AttemptOutcome> {
    let started = Instant::now();
    let mut headers = None;
    let answer = match render(&due, engine.now()) {
        Ok((notifier, request)) => {
            headers = Some(request.headers.clone());
            match engine.webhook_policy().check_literal(&request.url) {
                Ok(()) => send(&client, request)
                    .await
                    .map(|(status, body)| (status, notifier.judge(status, &body))),
                Err(refused) => Err(refused.to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let finished_at = engine.now();
    let (http_status, error, verdict) = match answer {
        Ok((status, verdict)) => (Some(status), None, verdict),
        Err(e) => (None, Some(e), Verdict::Retry),
    };
    let next = match verdict {
        Verdict::Succeeded => NextStep::Succeeded,
        Verdict::DisableEndpoint => NextStep::DisableEndpoint,
        Verdict::Retry => match retry::delay_after(due.attempt) {
            // Whole milliseconds, the precision every timestamp is stored and shown with.
            Some(wait) => NextStep::RetryAt(truncate_millis(
                finished_at + chrono::Duration::from_std(wait).unwrap_or_default(),
            )),
            None => NextStep::GiveUp,
        },
    };
    let outcome = AttemptOutcome {
        delivery_id: due.delivery_id,
        attempt: due.attempt,
        endpoint_id: due.endpoint_id,
        finished_at,
        http_status,
        error,
        duration_ms,
        next,
        headers,
    };
    engine.store().record_attempt(&outcome).await?;
    let refused = Refused.to_string();
    let result = match &outcome.next {
        NextStep::Succeeded => "succeeded",
        _ if outcome.error.as_deref() == Some(refused.as_str()) => "refused",
        _ => "failed",
    };
    metrics::counter!(crate::metrics::WEBHOOK_ATTEMPTS, "result" => result).increment(1);
    if matches!(outcome.next, NextStep::GiveUp | NextStep::DisableEndpoint) {
        metrics::counter!(crate::metrics::WEBHOOK_FAILED_DELIVERIES).increment(1);
    }
    Ok(outcome)
}

/// The request for this attempt, rendered now by the endpoint's kind, and the notifier that
/// judges its answer.
fn render(due: &DueDelivery, now: Timestamp) -> Result<(&'static dyn Notifier, OutgoingRequest), RenderError> {
    let notifier = EndpointKind::from_stored(&due.kind)?.notifier();
    let notification = Notification {
        event_id: &due.event_id,
        payload: &due.payload,
        url: &due.url,
        context: due.context.as_deref(),
    };
    let secrets = Secrets {
        current: &due.secret,
        previous: due.previous_secret.as_deref(),
    };
    Ok((notifier, notifier.render(&notification, &secrets, now)?))
}

/// Sends the request; the answer's status and the first [`MAX_ANSWER_BYTES`] of its body. A body
/// cut short (timeout, reset) is judged as far as it arrived: the status was answered.
async fn send(client: &reqwest::Client, request: OutgoingRequest) -> std::result::Result<(u16, Vec<u8>), String> {
    let mut builder = client
        .request(request.method, &request.url)
        .header(CONTENT_TYPE, request.content_type)
        .header(USER_AGENT, concat!("PayIn-Webhooks/", env!("CARGO_PKG_VERSION")));
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let mut response = builder.body(request.body).send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ANSWER_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok((status, body))
}

/// Why a request got no answer, in a few words. Never the URL: it may carry credentials. A
/// refusal by the SSRF guard reads the same for every refused address: nothing was sent, so
/// nothing is known about the port.
fn describe(e: reqwest::Error) -> String {
    if guard::is_refusal(&e) {
        return Refused.to_string();
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect"
    } else if e.is_body() || e.is_decode() {
        "bad response"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A receiver on 127.0.0.1 that reads one request and answers with `head` then `body`,
    /// then closes the connection. Returns its URL and the request it received.
    async fn receiver(head: String, body: Vec<u8>) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the 2-byte body the test sends.
            while !request.ends_with(b"\r\n\r\n{}") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "request cut short");
                request.extend_from_slice(&buf[..n]);
            }
            socket.write_all(head.as_bytes()).await.unwrap();
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
            String::from_utf8(request).unwrap()
        });
        (url, served)
    }

    fn request(url: String) -> OutgoingRequest {
        OutgoingRequest {
            method: reqwest::Method::POST,
            url,
            content_type: "application/json",
            body: b"{}".to_vec(),
            headers: BTreeMap::from([("webhook-id".to_string(), "evt_1".to_string())]),
        }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn sends_the_rendered_request_and_reads_at_most_64_kib_of_the_answer() {
        let answer = vec![b'x'; MAX_ANSWER_BYTES + 10_000];
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", answer.len());
        let (url, served) = receiver(head, answer).await;
        let (status, body) = send(&client(), request(url)).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body.len(), MAX_ANSWER_BYTES);
        let received = served.await.unwrap().to_ascii_lowercase();
        assert!(received.starts_with("post /hook http/1.1\r\n"), "{received}");
        assert!(
            received.contains("\r\ncontent-type: application/json\r\n"),
            "{received}"
        );
        assert!(received.contains("\r\nwebhook-id: evt_1\r\n"), "{received}");
    }

    #[tokio::test]
    async fn an_answer_cut_short_is_judged_on_what_arrived() {
        let head = "HTTP/1.1 410 Gone\r\ncontent-length: 100\r\n\r\n".to_string();
        let (url, served) = receiver(head, b"succ".to_vec()).await;
        let (status, body) = send(&client(), request(url)).await.unwrap();
        assert_eq!((status, body.as_slice()), (410, &b"succ"[..]));
        served.await.unwrap();
    }

    #[tokio::test]
    async fn no_answer_is_an_error_in_a_few_words() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        drop(listener);
        let error = send(&client(), request(url)).await.unwrap_err();
        assert!(error.starts_with("connection failed"), "{error}");
    }
}
