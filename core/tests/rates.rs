//! The CNY/USDT rate provider (issue 13) against `OkxDouble`, a **test double of OKX's C2C order
//! book endpoint**: an axum server on 127.0.0.1 answering the fixture
//! `tests/fixtures/rates/okx_c2c_books_cny_usdt.json` (tests never leave 127.0.0.1). The real
//! provider code — HTTP client, parser, override, poller, staleness — runs unchanged against it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use payin_core::clock::{Clock, ManualClock};
use payin_core::config::FileConfig;
use payin_core::order::CreateOrderRequest;
use payin_core::rates::{RateBook, RateOverride, RateSource, RatesConfig};
use payin_core::testing::{Backend, fresh_database};
use payin_core::{Amount, Engine, EngineOptions, Error};

const FIXTURE: &str = include_str!("fixtures/rates/okx_c2c_books_cny_usdt.json");

/// Test double of `GET /v3/c2c/tradingOrders/books` on OKX: answers whatever body it holds
/// (the fixture at first), or an HTTP error, and counts the requests.
struct OkxDouble {
    url: String,
    state: Arc<DoubleState>,
}

struct DoubleState {
    body: Mutex<Option<String>>,
    hits: AtomicUsize,
}

async fn books(State(state): State<Arc<DoubleState>>) -> axum::response::Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    match state.body.lock().unwrap().clone() {
        Some(body) => ([("content-type", "application/json")], body).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "upstream down").into_response(),
    }
}

impl OkxDouble {
    async fn start() -> OkxDouble {
        let state = Arc::new(DoubleState {
            body: Mutex::new(Some(FIXTURE.to_string())),
            hits: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/v3/c2c/tradingOrders/books", axum::routing::get(books))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OkxDouble {
            url: format!(
                "http://{addr}/v3/c2c/tradingOrders/books?quoteCurrency=CNY&baseCurrency=USDT&side=sell&paymentMethod=all&userType=all"
            ),
            state,
        }
    }

    /// Answers with sell ads at these prices from now on (`None`: HTTP 503).
    fn answer(&self, prices: Option<&[&str]>) {
        *self.state.body.lock().unwrap() = prices.map(|ps| {
            let sell: Vec<_> = ps.iter().map(|p| json!({"price": p, "side": "sell"})).collect();
            json!({"code": 0, "data": {"buy": [], "sell": sell}, "msg": ""}).to_string()
        });
    }

    fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    fn source(&self, rate_override: Option<&str>) -> RateSource {
        RatesConfig {
            provider: Some("okx".into()),
            provider_url: Some(self.url.clone()),
            interval: Some("1s".into()),
            rate_override: rate_override.map(Into::into),
            ..Default::default()
        }
        .source()
        .unwrap()
        .unwrap()
    }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()))
}

#[tokio::test]
async fn the_provider_reads_the_lowest_sell_price_of_the_order_book() {
    let okx = OkxDouble::start().await;
    let book = RateBook::new(okx.source(None)).unwrap();
    let clock = clock();
    let rate = book.refresh(clock.now()).await.unwrap();
    assert_eq!(rate.rate, d("7.17"), "the fixture's lowest sell ad");
    assert_eq!(rate.fetched_at, clock.now());
    assert_eq!(book.current(clock.now()).unwrap(), rate);
    assert_eq!(okx.hits(), 1);
}

#[tokio::test]
async fn overrides_apply_to_the_polled_rate() {
    let okx = OkxDouble::start().await;
    let now = clock().now();
    for (o, want) in [("~1.02", "7.3134"), ("+0.3", "7.47"), ("-0.2", "6.97"), ("7.4", "7.4")] {
        let book = RateBook::new(okx.source(Some(o))).unwrap();
        assert_eq!(book.refresh(now).await.unwrap().rate, d(want), "{o}");
    }
    assert!(matches!(
        okx.source(Some("~1.02")),
        RateSource::Okx {
            rate_override: Some(RateOverride::Multiply(_)),
            ..
        }
    ));
}

#[tokio::test]
async fn the_poller_updates_the_rate_and_keeps_the_last_good_one_until_it_is_stale() {
    let okx = OkxDouble::start().await;
    let clock = clock();
    let book = Arc::new(RateBook::new(okx.source(None)).unwrap());
    let before = book.current(clock.now()).unwrap_err();
    assert!(matches!(before, Error::RateUnavailable(_)), "{before:?}");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let poller = tokio::spawn(book.clone().poll(clock.clone(), stopped));
    let wait_for = |want: Decimal| {
        let book = book.clone();
        let clock = clock.clone();
        async move {
            for _ in 0..100 {
                if book.current(clock.now()).is_ok_and(|r| r.rate == want) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the rate never became {want}: {:?}", book.last());
        }
    };
    wait_for(d("7.17")).await;
    okx.answer(Some(&["7.35", "7.31"]));
    wait_for(d("7.31")).await;
    // The provider fails: the last good rate stays…
    okx.answer(None);
    let hits = okx.hits();
    while okx.hits() < hits + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(book.current(clock.now()).unwrap().rate, d("7.31"));
    // …until it is older than ten intervals.
    clock.advance(chrono::Duration::seconds(11));
    let stale = book.current(clock.now()).unwrap_err();
    assert!(
        matches!(&stale, Error::RateUnavailable(m) if m.contains("stale")),
        "{stale:?}"
    );
    stop.send(true).unwrap();
    poller.await.unwrap();
}

async fn engine_with(rates: RatesConfig, clock: Arc<ManualClock>) -> Option<(Engine, payin_core::testing::TestDb)> {
    let db = fresh_database(Backend::Sqlite).await?;
    let mut config: FileConfig = payin_core::testing::every_chain_watched();
    config.rates = rates;
    let engine = Engine::open(EngineOptions {
        clock,
        config,
        ..EngineOptions::new(&db.url)
    })
    .await
    .unwrap();
    Some((engine, db))
}

fn shared_request(reference: &str, amount: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!(amount),
        currency: "USDT".into(),
        chain_id: "ethereum".into(),
        receive_address: Some("0x742D35CC6634c0532925A3b844BC9E7595F0BEb0".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_cny_price_is_quoted_at_the_polled_rate_and_stored_on_the_order() {
    let okx = OkxDouble::start().await;
    let clock = clock();
    let rates = RatesConfig {
        provider: Some("okx".into()),
        provider_url: Some(okx.url.clone()),
        interval: Some("60s".into()),
        rate_override: Some("+0.03".into()),
        ..Default::default()
    };
    let Some((engine, _db)) = engine_with(rates, clock.clone()).await else {
        return;
    };
    let cny = Amount::parse_positive("fiatAmount", "72.00").unwrap();
    assert!(
        matches!(engine.quote_cny(cny, 2), Err(Error::RateUnavailable(_))),
        "no poll yet"
    );
    engine.rates().unwrap().refresh(clock.now()).await.unwrap();
    let (usdt, quote) = engine.quote_cny(cny, 2).unwrap();
    assert_eq!(quote.rate.to_string(), "7.2", "7.17 + 0.03");
    assert_eq!(usdt.to_string(), "10.00");
    let order = engine
        .create_quoted_order(shared_request("CNY-1", &usdt.to_string()), Some(quote))
        .await
        .unwrap();
    let read = engine.get_order(&order.order_id).await.unwrap();
    assert_eq!(read.fiat_currency.as_deref(), Some("CNY"));
    assert_eq!(read.fiat_amount.unwrap().to_string(), "72.00");
    assert_eq!(read.rate.unwrap().to_string(), "7.2");
    assert_eq!(read.amount.to_string(), "10.00");
    // An uneven price rounds up: the merchant never gets less than the price at the rate.
    let (usdt, _) = engine
        .quote_cny(Amount::parse_positive("fiatAmount", "100").unwrap(), 2)
        .unwrap();
    assert_eq!(usdt.to_string(), "13.89");
}

#[tokio::test]
async fn a_fixed_rate_needs_no_provider_and_no_rate_is_a_clear_error() {
    let clock = clock();
    let fixed = RatesConfig {
        cny_usdt: Some("7.25".into()),
        ..Default::default()
    };
    let Some((engine, _db)) = engine_with(fixed, clock.clone()).await else {
        return;
    };
    let (usdt, quote) = engine
        .quote_cny(Amount::parse_positive("fiatAmount", "29").unwrap(), 2)
        .unwrap();
    assert_eq!(
        (usdt.to_string(), quote.rate.to_string()),
        ("4.00".into(), "7.25".into())
    );
    let Some((bare, _db2)) = engine_with(RatesConfig::default(), clock).await else {
        return;
    };
    let e = bare
        .quote_cny(Amount::parse_positive("fiatAmount", "29").unwrap(), 2)
        .unwrap_err();
    assert!(
        matches!(&e, Error::RateUnavailable(m) if m.contains("[rates]")),
        "{e:?}"
    );
}
