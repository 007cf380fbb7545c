//! Exchange rates for fiat-priced orders (issue 13): the config's `[rates]` gives either a fixed
//! CNY/USDT rate or a provider polled on an interval, optionally adjusted by an override in
//! BEpusdt's notation — `7.4` (fixed), `~1.02` (multiply), `+0.3` / `-0.2` (add).
//!
//! ```toml
//! [rates]
//! cny_usdt = "7.2"          # fixed: no provider
//! # or
//! provider = "okx"          # OKX's C2C order book, the lowest CNY ask for USDT
//! provider_url = "https://www.okx.com/v3/c2c/tradingOrders/books?…"   # (default)
//! interval = "60s"          # how often it is polled (s, m or h)
//! override = "~1.02"        # applied to every polled rate
//! ```
//!
//! The poller ([`RateBook::poll`], started with the other workers) keeps the last good rate and
//! when it was fetched; a rate older than [`STALE_AFTER_INTERVALS`] intervals is refused
//! (`RATE_UNAVAILABLE`, 503) rather than used. A fiat price becomes a token amount by
//! [`fiat_to_token`]: divided by the rate and rounded **up** to the places asked (2 for the
//! epay-style APIs), so the merchant never receives less than the price at the rate.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

use crate::amount::Amount;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// OKX's C2C order book of USDT sold for CNY: the endpoint BEpusdt polls (`app/task/okx.go`).
/// OKX does not document it as an API; it is the public JSON its C2C web page reads.
pub const OKX_C2C_URL: &str = "https://www.okx.com/v3/c2c/tradingOrders/books?quoteCurrency=CNY&baseCurrency=USDT&side=sell&paymentMethod=all&userType=all";

/// A provider's rate older than this many polling intervals is refused.
pub const STALE_AFTER_INTERVALS: u32 = 10;

/// How long one provider request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[rates]` table of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesConfig {
    /// A fixed CNY per USDT rate, e.g. `"7.2"`.
    pub cny_usdt: Option<String>,
    /// `"okx"`: poll OKX's C2C order book.
    pub provider: Option<String>,
    /// The provider's URL (default [`OKX_C2C_URL`]).
    pub provider_url: Option<String>,
    /// Polling interval, e.g. `"60s"`, `"5m"` (default 60 s).
    pub interval: Option<String>,
    /// Adjusts every polled rate: `7.4`, `~1.02`, `+0.3`, `-0.2`.
    #[serde(rename = "override")]
    pub rate_override: Option<String>,
}

/// A merchant's adjustment of the provider's rate, in BEpusdt's notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOverride {
    /// `7.4`: this rate, whatever the provider says.
    Fixed(Decimal),
    /// `~1.02`: the provider's rate times this.
    Multiply(Decimal),
    /// `+0.3` / `-0.2`: the provider's rate plus this (negative: minus).
    Add(Decimal),
}

impl RateOverride {
    /// Parses `7.4`, `~1.02`, `+0.3` or `-0.2`; anything else is an error naming `field`.
    pub fn parse(field: &str, s: &str) -> Result<RateOverride> {
        let s = s.trim();
        let bad = || {
            Error::validation(
                field,
                format!("{field} must be a rate like 7.4, ~1.02 (multiply), +0.3 or -0.2 (add); got {s:?}"),
            )
        };
        let number = |t: &str| -> Result<Decimal> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') || t.starts_with('.') {
                return Err(bad());
            }
            Decimal::from_str_exact(t).map_err(|_| bad())
        };
        let parsed = if let Some(rest) = s.strip_prefix('~') {
            RateOverride::Multiply(number(rest)?)
        } else if let Some(rest) = s.strip_prefix('+') {
            RateOverride::Add(number(rest)?)
        } else if let Some(rest) = s.strip_prefix('-') {
            RateOverride::Add(-number(rest)?)
        } else {
            RateOverride::Fixed(number(s)?)
        };
        match parsed {
            RateOverride::Fixed(d) | RateOverride::Multiply(d) if d <= Decimal::ZERO => Err(bad()),
            RateOverride::Add(d) if d.is_zero() => Err(bad()),
            ok => Ok(ok),
        }
    }

    /// The rate after the override; `None` when it would not be positive.
    pub fn apply(self, rate: Decimal) -> Option<Decimal> {
        let out = match self {
            RateOverride::Fixed(r) => r,
            RateOverride::Multiply(m) => rate * m,
            RateOverride::Add(a) => rate + a,
        };
        (out > Decimal::ZERO).then_some(out)
    }
}

/// Parses a positive rate given as text (the fixed `cny_usdt`).
fn positive_rate(field: &str, s: &str) -> Result<Decimal> {
    match Decimal::from_str_exact(s.trim()) {
        Ok(d) if d > Decimal::ZERO => Ok(d),
        _ => Err(Error::validation(
            field,
            format!("{field} must be a positive decimal like \"7.2\"; got {s:?}"),
        )),
    }
}

/// Parses `"60s"`, `"5m"`, `"1h"` (or bare seconds), from 1 s to 1 day.
pub fn parse_interval(field: &str, s: &str) -> Result<Duration> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| {
        Error::validation(
            field,
            format!("{field} must be a duration like \"60s\", \"5m\" or \"1h\"; got {s:?}"),
        )
    })?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => {
            return Err(Error::validation(
                field,
                format!("{field} must be a duration like \"60s\", \"5m\" or \"1h\"; got {s:?}"),
            ));
        }
    };
    if !(1..=86_400).contains(&seconds) {
        return Err(Error::validation(field, format!("{field} must be from 1s to 24h")));
    }
    Ok(Duration::from_secs(seconds))
}

/// Where rates come from, as the config says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateSource {
    Fixed(Decimal),
    Okx {
        url: String,
        interval: Duration,
        rate_override: Option<RateOverride>,
    },
}

impl RatesConfig {
    /// The validated source; `None` when `[rates]` is absent or empty.
    pub fn source(&self) -> Result<Option<RateSource>> {
        match (&self.cny_usdt, &self.provider) {
            (Some(_), Some(_)) => Err(Error::validation(
                "rates.provider",
                "rates.cny_usdt (a fixed rate) and rates.provider exclude each other; set one",
            )),
            (Some(fixed), None) => {
                if self.provider_url.is_some() || self.interval.is_some() || self.rate_override.is_some() {
                    return Err(Error::validation(
                        "rates.cny_usdt",
                        "rates.cny_usdt is a fixed rate: provider_url, interval and override need rates.provider",
                    ));
                }
                Ok(Some(RateSource::Fixed(positive_rate("rates.cny_usdt", fixed)?)))
            }
            (None, Some(provider)) => {
                if provider != "okx" {
                    return Err(Error::validation(
                        "rates.provider",
                        format!("rates.provider must be \"okx\"; got {provider:?}"),
                    ));
                }
                let url = self.provider_url.clone().unwrap_or_else(|| OKX_C2C_URL.to_string());
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => {
                        return Err(Error::validation(
                            "rates.provider_url",
                            format!("rates.provider_url must be an http(s) URL; got {url:?}"),
                        ));
                    }
                }
                let interval = match &self.interval {
                    Some(i) => parse_interval("rates.interval", i)?,
                    None => Duration::from_secs(60),
                };
                let rate_override = self
                    .rate_override
                    .as_deref()
                    .map(|o| RateOverride::parse("rates.override", o))
                    .transpose()?;
                Ok(Some(RateSource::Okx {
                    url,
                    interval,
                    rate_override,
                }))
            }
            (None, None) => {
                if self.provider_url.is_some() || self.interval.is_some() || self.rate_override.is_some() {
                    return Err(Error::validation(
                        "rates.provider",
                        "rates.provider_url, interval and override need rates.provider",
                    ));
                }
                Ok(None)
            }
        }
    }
}

/// The OKX C2C order book answer, as far as the rate needs it:
/// `{"code":0,"data":{"sell":[{"price":"7.21",…},…],"buy":[…]}}`.
#[derive(Debug, Deserialize)]
struct OkxBooks {
    code: serde_json::Value,
    #[serde(default)]
    msg: Option<String>,
    data: Option<OkxBooksData>,
}

#[derive(Debug, Deserialize)]
struct OkxBooksData {
    #[serde(default)]
    sell: Vec<OkxAd>,
}

#[derive(Debug, Deserialize)]
struct OkxAd {
    price: String,
}

/// The CNY per USDT rate in an OKX C2C order book answer: the lowest price among the ads
/// selling USDT (what a payer buying USDT pays at best).
pub fn parse_okx_books(body: &str) -> std::result::Result<Decimal, String> {
    let books: OkxBooks = serde_json::from_str(body).map_err(|e| format!("not an OKX order book: {e}"))?;
    let ok = match &books.code {
        serde_json::Value::Number(n) => n.as_i64() == Some(0),
        serde_json::Value::String(s) => s == "0",
        _ => false,
    };
    if !ok {
        return Err(format!(
            "OKX answered code {} ({})",
            books.code,
            books.msg.as_deref().unwrap_or("no message")
        ));
    }
    let ads = books.data.map(|d| d.sell).unwrap_or_default();
    ads.iter()
        .filter_map(|ad| Decimal::from_str_exact(ad.price.trim()).ok())
        .filter(|p| *p > Decimal::ZERO)
        .min()
        .ok_or_else(|| "OKX's order book has no sell ads with a price".to_string())
}

/// A fiat price in token units at `rate` (fiat per token), rounded up to `places` decimals.
pub fn fiat_to_token(fiat: Amount, rate: Decimal, places: u32) -> Result<Amount> {
    if rate <= Decimal::ZERO {
        return Err(Error::Internal(format!("rate {rate} is not positive")));
    }
    let token = fiat
        .as_decimal()
        .checked_div(rate)
        .ok_or_else(|| Error::validation("fiatAmount", "fiatAmount is too large to convert"))?
        .round_dp_with_strategy(places, RoundingStrategy::AwayFromZero);
    let mut token = token;
    token.rescale(places);
    if token.is_zero() {
        return Err(Error::invalid(
            crate::error::InvalidCode::Amount,
            "fiatAmount",
            "fiatAmount converts to zero",
        ));
    }
    Ok(Amount::from_decimal(token))
}

/// A rate and when it was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub rate: Decimal,
    pub fetched_at: Timestamp,
}

/// The current CNY/USDT rate: fixed, or the provider's last good answer.
pub struct RateBook {
    source: RateSource,
    last: RwLock<Option<Rate>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for RateBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBook").field("source", &self.source).finish()
    }
}

impl RateBook {
    pub fn new(source: RateSource) -> Result<RateBook> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("payin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("rate provider client: {e}")))?;
        Ok(RateBook {
            source,
            last: RwLock::new(None),
            http,
        })
    }

    pub fn source(&self) -> &RateSource {
        &self.source
    }

    /// The provider's last good rate, if any.
    pub fn last(&self) -> Option<Rate> {
        *self.last.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The rate to use at `now`: the fixed one, or the provider's last good one unless it is
    /// older than [`STALE_AFTER_INTERVALS`] intervals.
    pub fn current(&self, now: Timestamp) -> Result<Rate> {
        match &self.source {
            RateSource::Fixed(rate) => Ok(Rate {
                rate: *rate,
                fetched_at: now,
            }),
            RateSource::Okx { interval, .. } => {
                let Some(last) = self.last() else {
                    return Err(Error::RateUnavailable(
                        "no CNY/USDT rate yet: the rate provider has not answered since the server started".into(),
                    ));
                };
                let max_age = *interval * STALE_AFTER_INTERVALS;
                let age = (now - last.fetched_at).to_std().unwrap_or_default();
                if age > max_age {
                    return Err(Error::RateUnavailable(format!(
                        "the CNY/USDT rate is stale: last fetched {}s ago (refused after {}s)",
                        age.as_secs(),
                        max_age.as_secs()
                    )));
                }
                Ok(last)
            }
        }
    }

    /// Asks the provider once; on success keeps the rate (after the override) as of `now`.
    pub async fn refresh(&self, now: Timestamp) -> Result<Rate> {
        let RateSource::Okx { url, rate_override, .. } = &self.source else {
            return self.current(now);
        };
        let fail = |why: String| Error::RateUnavailable(format!("rate provider: {why}"));
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fail(format!("request failed: {}", e.without_url())))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        let body = response
            .text()
            .await
            .map_err(|e| fail(format!("reading the answer: {}", e.without_url())))?;
        let polled = parse_okx_books(&body).map_err(fail)?;
        let rate = match rate_override {
            Some(o) => o
                .apply(polled)
                .ok_or_else(|| fail(format!("override {o:?} makes {polled} not positive")))?,
            None => polled,
        };
        let rate = Rate {
            rate: rate.normalize(),
            fetched_at: now,
        };
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(rate);
        Ok(rate)
    }

    /// Polls the provider every interval until `shutdown` flips to true (a fixed rate needs no
    /// poller: returns at once). Failures are logged; the last good rate stays until it is stale.
    pub async fn poll(self: Arc<Self>, clock: Arc<dyn Clock>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let RateSource::Okx { interval, .. } = &self.source else {
            return;
        };
        let mut tick = tokio::time::interval(*interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    match self.refresh(clock.now()).await {
                        Ok(rate) => tracing::debug!(rate = %rate.rate, "CNY/USDT rate updated"),
                        Err(e) => tracing::warn!(error = %e, "CNY/USDT rate poll failed; keeping the last good rate"),
                    }
                }
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn overrides_parse_in_bepusdt_notation() {
        assert_eq!(
            RateOverride::parse("rates.override", "7.4").unwrap(),
            RateOverride::Fixed(d("7.4"))
        );
        assert_eq!(
            RateOverride::parse("rates.override", "~1.02").unwrap(),
            RateOverride::Multiply(d("1.02"))
        );
        assert_eq!(
            RateOverride::parse("rates.override", "+0.3").unwrap(),
            RateOverride::Add(d("0.3"))
        );
        assert_eq!(
            RateOverride::parse("rates.override", "-0.2").unwrap(),
            RateOverride::Add(d("-0.2"))
        );
        assert_eq!(RateOverride::Multiply(d("1.02")).apply(d("7.10")), Some(d("7.2420")));
        assert_eq!(RateOverride::Add(d("-0.2")).apply(d("7.10")), Some(d("6.90")));
        assert_eq!(RateOverride::Add(d("0.3")).apply(d("7.10")), Some(d("7.40")));
        assert_eq!(RateOverride::Fixed(d("7.4")).apply(d("7.10")), Some(d("7.4")));
        assert_eq!(RateOverride::Add(d("-8")).apply(d("7.10")), None);
    }

    #[test]
    fn garbage_overrides_are_refused_naming_the_field() {
        for bad in [
            "", "abc", "~", "+", "*1.02", "~-1", "1,5", "7.4x", "0", "~0", "+0", ".5", "1e3", "--1", " ~ 1",
        ] {
            let e = RateOverride::parse("rates.override", bad).unwrap_err();
            match e {
                Error::Invalid { field, .. } => assert_eq!(field, "rates.override", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_config_chooses_one_source() {
        let fixed = RatesConfig {
            cny_usdt: Some("7.2".into()),
            ..Default::default()
        };
        assert_eq!(fixed.source().unwrap(), Some(RateSource::Fixed(d("7.2"))));
        let okx = RatesConfig {
            provider: Some("okx".into()),
            interval: Some("2m".into()),
            rate_override: Some("~1.02".into()),
            ..Default::default()
        };
        assert_eq!(
            okx.source().unwrap(),
            Some(RateSource::Okx {
                url: OKX_C2C_URL.into(),
                interval: Duration::from_secs(120),
                rate_override: Some(RateOverride::Multiply(d("1.02"))),
            })
        );
        assert_eq!(RatesConfig::default().source().unwrap(), None);
        let field = |c: RatesConfig| match c.source().unwrap_err() {
            Error::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(RatesConfig {
                provider: Some("okx".into()),
                ..fixed.clone()
            }),
            "rates.provider"
        );
        assert_eq!(
            field(RatesConfig {
                cny_usdt: Some("-1".into()),
                ..Default::default()
            }),
            "rates.cny_usdt"
        );
        assert_eq!(
            field(RatesConfig {
                provider: Some("binance".into()),
                ..Default::default()
            }),
            "rates.provider"
        );
        assert_eq!(
            field(RatesConfig {
                interval: Some("soon".into()),
                ..okx.clone()
            }),
            "rates.interval"
        );
        assert_eq!(
            field(RatesConfig {
                rate_override: Some("x".into()),
                ..okx
            }),
            "rates.override"
        );
    }

    #[test]
    fn fiat_prices_convert_rounding_up_to_the_places_asked() {
        let cny = |s: &str| Amount::parse_positive("fiatAmount", s).unwrap();
        assert_eq!(fiat_to_token(cny("72"), d("7.2"), 2).unwrap().to_string(), "10.00");
        assert_eq!(fiat_to_token(cny("100"), d("7.3"), 2).unwrap().to_string(), "13.70");
        assert_eq!(fiat_to_token(cny("100"), d("7.3"), 6).unwrap().to_string(), "13.698631");
        assert_eq!(fiat_to_token(cny("0.01"), d("7.3"), 2).unwrap().to_string(), "0.01");
    }

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("i", "60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_interval("i", "5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_interval("i", "1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_interval("i", "90").unwrap(), Duration::from_secs(90));
        for bad in ["", "0s", "2d", "m", "-5s", "25h"] {
            assert!(parse_interval("i", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_okx_answer_without_sell_ads_or_with_an_error_code_is_refused() {
        assert!(parse_okx_books(r#"{"code":0,"data":{"sell":[],"buy":[]}}"#).is_err());
        assert!(parse_okx_books(r#"{"code":50011,"msg":"Too Many Requests","data":null}"#).is_err());
        assert!(parse_okx_books("<html>").is_err());
        assert_eq!(
            parse_okx_books(r#"{"code":"0","data":{"sell":[{"price":"7.31"},{"price":"7.29"}]}}"#).unwrap(),
            d("7.29")
        );
    }
}
