//! `payin._native`: the Rust half of the Python package `payin`.
//!
//! It wraps [`payin_client`] so that Python gets the same configuration, retries,
//! `Idempotency-Key`s, pagination rule and webhook verification as every other PayIn client.
//! The Python half (`python/payin/`) turns keyword arguments into the REST request bodies and
//! the JSON answers into classes, `Decimal`s and exceptions; this half only moves JSON:
//!
//! - [`Client::call`] runs one REST operation ([`ops::Op`]) and blocks the calling thread with
//!   the interpreter released (other Python threads run meanwhile), checking for Ctrl-C;
//! - [`Client::call_async`] returns an asyncio awaitable of the same operation;
//! - [`Webhook`] and [`verify_signature`] check deliveries with the server's own code.
//!
//! One multi-threaded tokio runtime (pyo3-async-runtimes') serves both, so connections are
//! pooled per client whichever way it is called.

mod errors;
mod ops;

use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payin_client::{ClientOptions, RequestOptions};
use pyo3::prelude::*;

use crate::ops::Op;

/// How often a blocked synchronous call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// A PayIn API client; `payin.Client` and `payin.AsyncClient` each hold one.
#[pyclass(frozen, module = "payin._native")]
struct Client {
    inner: payin_client::Client,
}

#[pymethods]
impl Client {
    /// Explicit values win over `PAYIN_API_KEY` / `PAYIN_BASE_URL`; `timeout` is in seconds.
    #[new]
    #[pyo3(signature = (api_key=None, base_url=None, timeout=None, max_retries=None, user_agent=None))]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        base_url: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
        user_agent: Option<String>,
    ) -> PyResult<Client> {
        let mut options = ClientOptions::from_env();
        options.api_key = api_key.or(options.api_key);
        options.base_url = base_url.or(options.base_url);
        if let Some(timeout) = timeout {
            options.timeout = seconds(py, "timeout", timeout)?;
        }
        if let Some(max_retries) = max_retries {
            options.max_retries = max_retries;
        }
        options.user_agent = user_agent;
        let inner = payin_client::Client::from_options(options).map_err(|e| errors::to_py(py, e))?;
        Ok(Client { inner })
    }

    /// The gateway's root this client calls (`…/`, without `api/v1`).
    #[getter]
    fn base_url(&self) -> String {
        self.inner.base_url().to_string()
    }

    /// Runs `op` with its JSON `args` and returns the JSON answer, blocking this thread with the
    /// interpreter released.
    #[pyo3(signature = (op, args, idempotency_key=None, timeout=None, max_retries=None))]
    fn call(
        &self,
        py: Python<'_>,
        op: &str,
        args: String,
        idempotency_key: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
    ) -> PyResult<String> {
        let op = Op::parse(op)?;
        let client = self.for_call(py, idempotency_key, timeout, max_retries)?;
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let mut call = pin!(ops::run(client, op, args));
        loop {
            // The future stays pinned here across the waits: a signal check does not restart it.
            let waited = py.detach(|| runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut call).await }));
            match waited {
                Ok(answer) => return answer.map_err(|e| errors::to_py(py, e)),
                // Ctrl-C raises KeyboardInterrupt here; dropping the call cancels the request.
                Err(_) => py.check_signals()?,
            }
        }
    }

    /// [`Client::call`] as an asyncio awaitable.
    #[pyo3(signature = (op, args, idempotency_key=None, timeout=None, max_retries=None))]
    fn call_async<'py>(
        &self,
        py: Python<'py>,
        op: &str,
        args: String,
        idempotency_key: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let op = Op::parse(op)?;
        let client = self.for_call(py, idempotency_key, timeout, max_retries)?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            ops::run(client, op, args)
                .await
                .map_err(|e| Python::attach(|py| errors::to_py(py, e)))
        })
    }
}

impl Client {
    /// The client with this call's options (a clone shares the connection pool).
    fn for_call(
        &self,
        py: Python<'_>,
        idempotency_key: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
    ) -> PyResult<payin_client::Client> {
        if idempotency_key.is_none() && timeout.is_none() && max_retries.is_none() {
            return Ok(self.inner.clone());
        }
        let timeout = timeout.map(|t| seconds(py, "timeout", t)).transpose()?;
        Ok(self.inner.with_request_options(RequestOptions {
            idempotency_key,
            timeout,
            max_retries,
        }))
    }
}

/// A positive, finite number of seconds, or a `ValidationError` naming `field`.
fn seconds(py: Python<'_>, field: &str, value: f64) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(errors::to_py(
            py,
            payin_client::Error::validation(
                field,
                format!("{field} must be a positive number of seconds, got {value}"),
            ),
        )),
    }
}

/// A webhook endpoint's secret and tolerance: `payin.Webhook` holds one.
#[pyclass(frozen, module = "payin._native")]
struct Webhook {
    inner: payin_client::Webhook,
}

#[pymethods]
impl Webhook {
    /// Raises `ValueError` when the secret is not `whsec_` + base64.
    #[new]
    fn new(secret: &str, tolerance: u64) -> PyResult<Webhook> {
        let inner = payin_client::Webhook::new(secret)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?
            .with_tolerance(Duration::from_secs(tolerance));
        Ok(Webhook { inner })
    }

    /// Checks the Standard Webhooks headers against the raw `body` as if the clock read `now`
    /// (Unix seconds; default: this machine's clock). Raises `WebhookVerificationError`.
    #[pyo3(signature = (body, headers, now=None))]
    fn verify(&self, py: Python<'_>, body: &[u8], headers: Vec<(String, String)>, now: Option<i64>) -> PyResult<()> {
        let now = now.unwrap_or_else(unix_now);
        self.inner
            .verify_at(body, headers, now)
            .map(|_event| ())
            .map_err(|e| errors::webhook_to_py(py, &e))
    }

    /// The headers PayIn sends with `body` for message `msg_id` at `timestamp`.
    fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
        let headers = self.inner.sign(msg_id, timestamp, body);
        headers.pairs().map(|(name, value)| (name, value.to_string())).into()
    }
}

/// True when `signature` is the `X-PayIn-Signature` of `body` under `secret` (constant time).
#[pyfunction]
fn verify_signature(body: &[u8], signature: &str, secret: &str) -> bool {
    payin_client::verify_signature(body, signature, secret)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    m.add_class::<Webhook>()?;
    m.add_function(wrap_pyfunction!(verify_signature, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("OPERATIONS", Op::ALL.iter().map(|op| op.name()).collect::<Vec<_>>())?;
    Ok(())
}
