//! The HTTP server of `payin serve`: everything between the listening socket and the router.
//!
//! - at most `max_connections` connections are served at once (the rest wait in the listen
//!   queue), each by hyper's HTTP/1;
//! - a client has `header_read_timeout` to send a request's head (from its first byte; a new
//!   connection's first request from the connect), and a kept-alive connection may idle
//!   `keep_alive_timeout` between requests: slow-header and idle clients are cut off, so a
//!   flood of idle connections gives its memory back;
//! - hyper's own answers to requests it cannot parse (400, 414, 431), which it writes before
//!   any router runs and with an empty body, leave in the JSON error envelope;
//! - every request passes the transport rules of [`crate::transport`] and carries the
//!   client's address as [`ConnectInfo`] (for the per-IP rate limit);
//! - on shutdown the listener closes, idle connections close and requests in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use payin_core::config::HttpConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::error::ApiError;

/// Largest request head (request line and headers) hyper reads; beyond it the answer is 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields in one request; beyond it the answer is 431.
pub const MAX_HEADERS: usize = 100;

/// Connection limits of [`serve`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
}

impl From<&HttpConfig> for ServerOptions {
    fn from(c: &HttpConfig) -> Self {
        ServerOptions {
            header_read_timeout: Duration::from_secs(c.header_read_timeout_seconds),
            keep_alive_timeout: Duration::from_secs(c.keep_alive_timeout_seconds),
            max_connections: c.max_connections,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions::from(&HttpConfig::default())
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, closes idle
/// connections and waits for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let app = crate::transport::layer(app);
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        // The timeouts live in `Connection` below: hyper's one timer cannot tell a slow head
        // from an idle kept-alive connection.
        .header_read_timeout(None)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES + 8 * 1024)
        .max_headers(MAX_HEADERS)
        // One buffer per write, so `Connection` sees hyper's error answers whole.
        .writev(false);
    let trimmer = tokio::spawn(return_memory_after_floods(permits.clone(), options.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::default());
        let io = TokioIo::new(Connection::new(stream, activity.clone(), &options));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::start(&activity);
            let app = app.clone();
            async move {
                let response = app.oneshot(req.map(Body::new)).await;
                drop(in_flight);
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    trimmer.abort();
    graceful.shutdown().await;
    Ok(())
}

/// Connections that must have closed since the busiest moment before freed memory is handed
/// back to the OS.
const TRIM_AFTER_CLOSED: usize = 256;

/// glibc's allocator keeps the memory of closed connections for reuse (a flood of 2,000 idle
/// connections left ~14 MiB behind); once many have closed, this returns it to the OS.
async fn return_memory_after_floods(permits: Arc<Semaphore>, max_connections: usize) {
    let mut busiest = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        let open = max_connections - permits.available_permits();
        busiest = busiest.max(open);
        if busiest - open >= TRIM_AFTER_CLOSED {
            busiest = open;
            trim_heap();
        }
    }
}

fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Errors of `accept` that concern one connection go by; others (out of file descriptors) are
/// logged and retried after a pause, as the connections being served may free some.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// What the service tells a connection about its requests.
#[derive(Default)]
struct Activity {
    /// Requests received so far (their heads complete).
    started: AtomicU64,
    /// Requests whose response is not ready yet.
    in_flight: AtomicUsize,
}

/// A request being handled; dropped when its response is ready or the client went away.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> InFlight {
        activity.started.fetch_add(1, Ordering::AcqRel);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client connection with its read deadlines, and the rewriting of hyper's error answers.
struct Connection {
    stream: TcpStream,
    activity: Arc<Activity>,
    header_read_timeout: Duration,
    keep_alive_timeout: Duration,
    timer: Pin<Box<Sleep>>,
    accepted: Instant,
    /// Requests seen by this side so far (`Activity::started` when last looked at).
    requests: u64,
    /// When the first byte of a request head not yet complete arrived.
    head_started: Option<Instant>,
    /// When a response was last written to.
    last_write: Option<Instant>,
    /// A JSON answer being written in place of one of hyper's empty error answers, and the
    /// length of the answer it replaces.
    replacement: Option<(Vec<u8>, usize, usize)>,
}

impl Connection {
    fn new(stream: TcpStream, activity: Arc<Activity>, options: &ServerOptions) -> Connection {
        let now = Instant::now();
        Connection {
            stream,
            activity,
            header_read_timeout: options.header_read_timeout,
            keep_alive_timeout: options.keep_alive_timeout,
            timer: Box::pin(tokio::time::sleep_until(now + options.header_read_timeout)),
            accepted: now,
            requests: 0,
            head_started: None,
            last_write: None,
            replacement: None,
        }
    }

    /// Catches up with the requests the service has started: their heads are complete.
    fn sync(&mut self) {
        let started = self.activity.started.load(Ordering::Acquire);
        if started != self.requests {
            self.requests = started;
            self.head_started = None;
        }
    }

    /// When the client must have sent more, or `None` while a request is being handled.
    fn deadline(&mut self) -> Option<(Instant, &'static str)> {
        self.sync();
        if self.activity.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(match (self.head_started, self.last_write) {
            (Some(first_byte), _) => (
                first_byte + self.header_read_timeout,
                "request head not complete in time",
            ),
            (None, Some(written)) if self.requests > 0 => {
                (written + self.keep_alive_timeout, "kept-alive connection idle")
            }
            _ => (self.accepted + self.header_read_timeout, "no request after connecting"),
        })
    }
}

impl Connection {
    /// Arms the timer for the current deadline (waking `cx` then); why the connection is
    /// over if the deadline has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Option<&'static str> {
        let (deadline, why) = self.deadline()?;
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready().then_some(why)
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.sync();
                    if this.head_started.is_none() && this.activity.in_flight.load(Ordering::Acquire) == 0 {
                        this.head_started = Some(Instant::now());
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_deadline(cx) {
                Some(why) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why))),
                None => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_none()
            && let Some(json) = envelope_for_hyper_error(buf)
        {
            this.replacement = Some((json, 0, buf.len()));
        }
        if let Some((bytes, written, replaces)) = &mut this.replacement {
            while *written < bytes.len() {
                match Pin::new(&mut this.stream).poll_write(cx, &bytes[*written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => *written += n,
                    other => return other,
                }
            }
            let replaces = *replaces;
            this.replacement = None;
            return Poll::Ready(Ok(replaces));
        }
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.last_write = Some(Instant::now());
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.stream).poll_flush(cx);
        // A response went out: the connection may be idle now. Hyper, whose last read was
        // blocked, reads again only when woken, so the idle deadline must wake it.
        if flushed.is_ready() && this.poll_deadline(cx).is_some() {
            cx.waker().wake_by_ref();
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The JSON answer to send instead of `buf` when `buf` is one of the empty answers hyper writes
/// itself to a request it could not parse (`HTTP/1.1 431 …` with `content-length: 0`). Every
/// answer of the router has a body, so none is taken for one of these.
fn envelope_for_hyper_error(buf: &[u8]) -> Option<Vec<u8>> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_end != buf.len() || !(buf.starts_with(b"HTTP/1.1 ") || buf.starts_with(b"HTTP/1.0 ")) {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    if !head.to_ascii_lowercase().contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status = StatusCode::from_bytes(buf.get(9..12)?).ok()?;
    let (title, code, message) = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "Request header fields too large",
            "HEADERS_TOO_LARGE",
            format!(
                "The request line and headers exceed {} KiB or {MAX_HEADERS} header fields",
                MAX_HEAD_BYTES / 1024
            ),
        ),
        StatusCode::URI_TOO_LONG => (
            "URI too long",
            "URI_TOO_LONG",
            format!("The request URI exceeds {} bytes", crate::transport::MAX_URI_BYTES),
        ),
        StatusCode::BAD_REQUEST => (
            "Malformed request",
            "MALFORMED_REQUEST",
            "The request is not valid HTTP/1.1 (request line, header or URI)".to_string(),
        ),
        _ => return None,
    };
    let body = serde_json::to_vec(&ApiError::new(status, title, code, message)).ok()?;
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_error_answers_are_replaced() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 26 Nov 2026 15:00:00 GMT\r\n\r\n";
        let json = envelope_for_hyper_error(hyper_431).expect("replaced");
        let text = String::from_utf8(json).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{text}"
        );
        let body: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(
            (body["code"].as_str(), body["statusCode"].as_u64()),
            (Some("HEADERS_TOO_LARGE"), Some(431))
        );
        assert!(text.contains(&format!(
            "content-length: {}\r\n",
            text.split("\r\n\r\n").nth(1).unwrap().len()
        )));
        for (status, code) in [
            ("400 Bad Request", "MALFORMED_REQUEST"),
            ("414 URI Too Long", "URI_TOO_LONG"),
        ] {
            let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            let text = String::from_utf8(envelope_for_hyper_error(head.as_bytes()).unwrap()).unwrap();
            assert!(text.contains(code), "{text}");
        }
        // Answers of the router: a body, or a status hyper never writes itself.
        assert!(
            envelope_for_hyper_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n{\"a\":\"b\"}   ")
                .is_none()
        );
        assert!(envelope_for_hyper_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(envelope_for_hyper_error(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(envelope_for_hyper_error(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-le").is_none());
    }
}
