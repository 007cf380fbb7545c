//! How a [`crate::Client`] is configured: [`ClientOptions`] once per client (key, URL, timeout,
//! retries, with `PAYIN_API_KEY` / `PAYIN_BASE_URL` as fallbacks) and [`RequestOptions`] for
//! one call (its `Idempotency-Key`, timeout or retries).

use std::fmt;
use std::time::Duration;

use payin_types::{Error, Result};
use reqwest::Url;

/// The environment variable holding the API key (`pk_…`).
pub const API_KEY_ENV: &str = "PAYIN_API_KEY";
/// The environment variable holding the gateway's URL (its root or its `/api/v1` URL).
pub const BASE_URL_ENV: &str = "PAYIN_BASE_URL";
/// Where `payin serve` listens unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// How long one attempt may take, connecting through reading the whole answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries after the first attempt of a call (so at most three attempts).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The configuration of a [`crate::Client`].
///
/// ```
/// use payin_client::{Client, ClientOptions};
/// // Explicit values win over PAYIN_API_KEY / PAYIN_BASE_URL.
/// let options = ClientOptions {
///     api_key: Some("pk_test".into()),
///     base_url: Some("http://127.0.0.1:8080/api/v1".into()),
///     ..ClientOptions::from_env()
/// };
/// let client = Client::from_options(options).unwrap();
/// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8080/");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The API key (`pk_…`), sent as `Authorization: Bearer …`. Required: building a client
    /// without one fails, naming `PAYIN_API_KEY`.
    pub api_key: Option<String>,
    /// The gateway's root (`https://pay.example.com`, or below a path prefix) or its
    /// `/api/v1` URL; trailing slashes are ignored. `None`: [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    /// The limit of one attempt (connecting, sending, reading the whole answer).
    pub timeout: Duration,
    /// How many times a failed call is retried (network errors, 429 and 5xx only).
    pub max_retries: u32,
    /// The waits between attempts.
    pub backoff: Backoff,
    /// The `User-Agent` header; the packages name themselves here (`payin-python/0.1.0`).
    pub user_agent: Option<String>,
}

impl Default for ClientOptions {
    /// No key, the default URL, timeout, retries and backoff; the environment is not read.
    fn default() -> Self {
        ClientOptions {
            api_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: Backoff::default(),
            user_agent: None,
        }
    }
}

impl ClientOptions {
    /// The defaults, with `api_key` and `base_url` read from `PAYIN_API_KEY` and
    /// `PAYIN_BASE_URL` (an empty variable counts as unset). Set fields afterwards to let
    /// explicit values win.
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`ClientOptions::from_env`] reading variables through `var` (tests, or a binding that
    /// keeps its own environment).
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        ClientOptions {
            api_key: read(API_KEY_ENV),
            base_url: read(BASE_URL_ENV),
            ..ClientOptions::default()
        }
    }

    /// The key, or an error that says how to give one.
    pub(crate) fn require_api_key(&self) -> Result<String> {
        match self.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => Ok(key.to_string()),
            _ => Err(Error::validation(
                "apiKey",
                format!(
                    "no PayIn API key: pass api_key (apiKey in Node) or set the {API_KEY_ENV} environment \
                     variable; create a key with `payin keys create --name NAME`"
                ),
            )),
        }
    }
}

/// The key stays out of logs and panic messages.
impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "pk_…"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// Exponential backoff with full jitter: before retry `n` (from 0) the client waits a random
/// time between zero and `min(max, initial × 2ⁿ)`, unless the answer said how long in
/// `Retry-After` (seconds or an HTTP date): then exactly that, capped at `max_retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Options of one call, over the client's: see [`crate::Client::with_request_options`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// The `Idempotency-Key` of a POST (1 to 255 visible ASCII characters). `None`: a fresh
    /// UUID v4 per call. Either way every retry of the call sends the same key, so the server
    /// runs the call once and replays its answer.
    pub idempotency_key: Option<String>,
    /// Overrides [`ClientOptions::timeout`].
    pub timeout: Option<Duration>,
    /// Overrides [`ClientOptions::max_retries`].
    pub max_retries: Option<u32>,
}

/// The longest `Idempotency-Key` a client sends.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Checks a caller's `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub(crate) fn check_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation(
            "Idempotency-Key",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (no spaces), \
                 got {} characters",
                key.chars().count()
            ),
        ));
    }
    Ok(())
}

/// The gateway's root from a URL given as its root or its `/api/v1` URL: an absolute http(s)
/// URL whose path ends in `/`, without `api/v1`, query or fragment. Fails with
/// [`Error::Invalid`] naming `baseUrl`.
pub fn normalize_base_url(base_url: &str) -> Result<Url> {
    let invalid = || {
        Error::validation(
            "baseUrl",
            format!("baseUrl must be an http(s) URL such as {DEFAULT_BASE_URL} (or its /api/v1 URL), got {base_url:?}"),
        )
    };
    let mut url = Url::parse(base_url.trim()).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid());
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if segments.len() >= 2 && segments[segments.len() - 2..] == ["api", "v1"] {
        segments.truncate(segments.len() - 2);
    }
    url.path_segments_mut()
        .map_err(|_| invalid())?
        .clear()
        .extend(&segments)
        .push("");
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_root_and_the_api_v1_url_name_the_same_gateway() {
        for given in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/api/v1",
            "http://127.0.0.1:8080/api/v1/",
            "http://127.0.0.1:8080//api/v1//",
            " http://127.0.0.1:8080/api/v1?x=1#top ",
        ] {
            assert_eq!(
                normalize_base_url(given).unwrap().as_str(),
                "http://127.0.0.1:8080/",
                "{given}"
            );
        }
        // A gateway mounted below a prefix keeps it.
        for given in ["https://shop.example/pay", "https://shop.example/pay/api/v1/"] {
            assert_eq!(normalize_base_url(given).unwrap().as_str(), "https://shop.example/pay/");
        }
        // `v1` alone, or `api` alone, is not the API's path.
        assert_eq!(normalize_base_url("http://h/v1").unwrap().as_str(), "http://h/v1/");
    }

    #[test]
    fn a_base_url_that_is_not_http_is_refused_naming_the_field() {
        for given in ["ftp://x", "127.0.0.1:8080", "", "mailto:a@b", "http://"] {
            let err = normalize_base_url(given).unwrap_err();
            assert!(
                matches!(err, Error::Invalid { ref field, .. } if field == "baseUrl"),
                "{given}: {err:?}"
            );
        }
    }

    #[test]
    fn the_environment_fills_in_key_and_url_and_explicit_values_win() {
        let env: HashMap<&str, &str> = [(API_KEY_ENV, "pk_env"), (BASE_URL_ENV, "http://127.0.0.1:9/api/v1")].into();
        let from_env = ClientOptions::from_env_with(|k| env.get(k).map(|v| v.to_string()));
        assert_eq!(from_env.api_key.as_deref(), Some("pk_env"));
        assert_eq!(from_env.base_url.as_deref(), Some("http://127.0.0.1:9/api/v1"));
        assert_eq!(from_env.max_retries, 2);
        let explicit = ClientOptions {
            api_key: Some("pk_explicit".into()),
            ..from_env
        };
        assert_eq!(explicit.require_api_key().unwrap(), "pk_explicit");
        assert_eq!(explicit.base_url.as_deref(), Some("http://127.0.0.1:9/api/v1"));
    }

    #[test]
    fn no_key_is_a_clear_error_naming_the_environment_variable() {
        let empty = ClientOptions::from_env_with(|k| (k == API_KEY_ENV).then(|| "  ".to_string()));
        for options in [ClientOptions::default(), empty] {
            let err = options.require_api_key().unwrap_err();
            assert_eq!(err.field(), Some("apiKey"));
            assert!(err.to_string().contains("PAYIN_API_KEY"), "{err}");
        }
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let options = ClientOptions {
            api_key: Some("pk_secret_value".into()),
            ..ClientOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("secret_value"), "{shown}");
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert!(check_idempotency_key("order-42:create").is_ok());
        assert!(check_idempotency_key(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "naïve", "line\nbreak"] {
            assert_eq!(
                check_idempotency_key(bad).unwrap_err().field(),
                Some("Idempotency-Key"),
                "{bad:?}"
            );
        }
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
    }
}
