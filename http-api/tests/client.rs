//! `payin_client::Client` against the real server behaves like the engine it fronts: one scenario,
//! written against `&dyn Gateway`, run in-process and over HTTP, must give the same transcript.

mod common;

use common::TestApp;
use payin_client::Client;
use payin_core::deposit::BindProtocolRequest;
use payin_core::engine::{EventListQuery, OrderListQuery};
use payin_core::error::InvalidCode;
use payin_core::order::CreateOrderRequest;
use payin_core::pool::ImportAddressesRequest;
use payin_core::testing::{Backend, evm_addresses};
use payin_types::{Error, Gateway};
use serde::Serialize;
use serde_json::{Value, json};

payin_core::on_both_backends!(client_and_engine_give_the_same_results);

async fn client_and_engine_give_the_same_results(backend: Backend) {
    // Each side gets its own fresh database and the same manual clock, so ids aside, they
    // must agree value for value (timestamps included).
    let Some(in_process) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(remote) = TestApp::spawn(backend).await else {
        return;
    };
    let client = Client::new(&remote.base, remote.key.clone()).expect("valid base URL");

    let engine_transcript = scenario(in_process.engine.as_ref()).await;
    let client_transcript = scenario(&client).await;
    assert_eq!(engine_transcript.len(), client_transcript.len());
    for ((step, engine), (_, client)) in engine_transcript.iter().zip(&client_transcript) {
        assert_eq!(engine, client, "step {step}: engine and client differ");
    }

    // The client also refuses a wrong key the way the engine's authentication does.
    let stranger = Client::new(&remote.base, "pk_not_a_real_key").unwrap();
    let err = stranger.pool_status().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
}

fn order_request(reference: &str, amount: &str, currency: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_reference: reference.into(),
        amount: json!(amount),
        currency: currency.into(),
        chain_id: "ethereum".into(),
        ..CreateOrderRequest::default()
    }
}

/// A value as JSON with the members that differ between two databases (random ids, the
/// server's own URL) removed.
fn redacted(value: &impl Serialize) -> Value {
    const RANDOM: [&str; 4] = ["orderId", "paymentUrl", "id", "address"];
    let mut v = serde_json::to_value(value).unwrap();
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !RANDOM.contains(&k.as_str()));
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// An error as a caller can observe it: variant code, field, message, and the winner's id.
fn observed(e: &Error) -> Value {
    let mut v = json!({"code": e.code(), "message": e.to_string()});
    if let Error::Invalid { field, .. } = e {
        v["field"] = json!(field);
    }
    v
}

/// Drives `g` through orders, a deposit binding, the pool, config and events, asserting what
/// must hold on any gateway, and returns what it saw for comparison across gateways.
async fn scenario(g: &dyn Gateway) -> Vec<(&'static str, Value)> {
    let mut seen = Vec::new();
    let addresses = evm_addresses(7, 3);

    let imported = g
        .import_addresses(ImportAddressesRequest {
            protocol: "evm".into(),
            addresses: addresses.clone(),
        })
        .await
        .unwrap();
    assert_eq!(imported.imported, 3);
    seen.push(("import", redacted(&imported)));

    let order = g.create_order(order_request("inv-1", "100.00", "USDT")).await.unwrap();
    assert_eq!(order.amount.to_string(), "100.00", "the merchant's scale is kept");
    assert!(addresses.contains(&order.address), "{}", order.address);
    seen.push(("create", redacted(&order)));

    assert_eq!(g.get_order(&order.order_id).await.unwrap(), order);
    assert_eq!(g.get_order_by_reference("inv-1").await.unwrap(), order);

    let other = g.create_order(order_request("inv-2", "5.5", "USDC")).await.unwrap();
    let usdt = g
        .list_orders(&OrderListQuery {
            currency: Some("USDT".into()),
            ..OrderListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        usdt.items,
        vec![order.clone()],
        "the USDC order {} is filtered out",
        other.order_id
    );
    assert_eq!(usdt.pagination.total, 1);
    seen.push((
        "list USDT",
        json!({"orders": redacted(&usdt.items), "pagination": usdt.pagination}),
    ));

    let dup = g
        .create_order(order_request("inv-1", "1.00", "USDT"))
        .await
        .unwrap_err();
    match &dup {
        Error::DuplicateOrderReference {
            reference,
            existing_order_id,
        } => {
            assert_eq!(reference, "inv-1");
            assert_eq!(existing_order_id, &order.order_id, "names the winner");
        }
        other => panic!("expected DuplicateOrderReference, got {other:?}"),
    }
    seen.push(("duplicate", observed(&dup)));

    // Ethereum USDT has 6 decimals.
    let precise = g
        .create_order(order_request("inv-3", "1.1234567", "USDT"))
        .await
        .unwrap_err();
    assert!(
        matches!(&precise, Error::Invalid { code: InvalidCode::Amount, field, .. } if field == "amount"),
        "{precise:?}"
    );
    assert_eq!(precise.code(), "INVALID_AMOUNT");
    seen.push(("over-precise amount", observed(&precise)));

    let missing = g.get_order("ord_doesnotexist").await.unwrap_err();
    assert!(
        matches!(missing, Error::OrderNotFound(ref id) if id == "ord_doesnotexist"),
        "{missing:?}"
    );
    seen.push(("missing order", observed(&missing)));

    let bound = g
        .bind_deposit_protocol(BindProtocolRequest {
            deposit_reference: "user-42".into(),
            protocol: "evm".into(),
            metadata: None,
        })
        .await
        .unwrap();
    assert!(addresses.contains(&bound.address), "{}", bound.address);
    assert!(bound.monitored_chains.iter().any(|c| c == "ethereum"));
    seen.push(("bind protocol", redacted(&bound)));

    let missing_ref = g.get_deposit_reference("nobody").await.unwrap_err();
    assert_eq!(missing_ref.code(), "DEPOSIT_REFERENCE_NOT_FOUND");
    seen.push(("missing deposit reference", observed(&missing_ref)));

    let pools = g.pool_status().await.unwrap();
    let evm = pools.iter().find(|p| p.protocol.as_str() == "evm").unwrap();
    assert_eq!((evm.available, evm.assigned), (0, 3));
    seen.push(("pool", redacted(&pools)));

    let exhausted = g
        .create_order(order_request("inv-4", "1.00", "USDT"))
        .await
        .unwrap_err();
    assert_eq!(exhausted.code(), "NO_AVAILABLE_ADDRESSES");
    seen.push(("pool exhausted", observed(&exhausted)));

    let settings = g.set_config("payment_window_minutes", &json!(15)).await.unwrap();
    assert_eq!(settings.payment_window_minutes, 15);
    assert_eq!(g.get_config().await.unwrap(), settings);
    seen.push(("config", redacted(&settings)));

    let bad_key = g.set_config("no_such_setting", &json!(1)).await.unwrap_err();
    seen.push(("unknown config key", observed(&bad_key)));

    let events = g.list_events(&EventListQuery::default()).await.unwrap();
    assert!(!events.items.is_empty());
    let first = g.get_event(&events.items[0].id).await.unwrap();
    assert_eq!(first, events.items[0]);
    let types: Vec<&str> = events.items.iter().map(|e| e.event_type.as_str()).collect();
    seen.push(("events", json!({"types": types, "pagination": events.pagination})));

    let chains = g.list_chains().await.unwrap();
    assert!(chains.iter().any(|c| c.chain_id == "ethereum"));
    seen.push(("chains", redacted(&chains)));

    seen
}
