//! The outbox rule: which endpoints get a delivery of an event. The stores write the deliveries
//! this decides in the event's own transaction (beside `insert_event` and the order writer's
//! batch) and when an event is resent; nowhere else decides who is subscribed.

use crate::error::{Error, Result};
use crate::event::{Event, EventType};
use crate::ids;
use crate::time::Timestamp;

/// The subscription rule (defined beside `WebhookEndpoint` in `payin-types`).
pub use payin_types::webhook::subscribes;

/// An active endpoint as the outbox sees it: who it is and what it subscribed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub endpoint_id: String,
    pub events: Vec<EventType>,
    /// Set for an endpoint scoped to one order (a compatible API's per-order callback): it gets
    /// only that order's events.
    pub order_id: Option<String>,
}

impl Subscriber {
    /// From a stored row: the endpoint id, its JSON list of event type names and its scope.
    pub fn from_stored(endpoint_id: String, events: &[String], order_id: Option<String>) -> Result<Subscriber> {
        Ok(Subscriber {
            endpoint_id,
            events: stored_event_types(events)?,
            order_id,
        })
    }

    /// The outbox rule: subscribed to the type, and for a scoped endpoint, about its order.
    pub fn wants(&self, event_type: EventType, event_order: Option<&str>) -> bool {
        subscribes(&self.events, event_type)
            && match &self.order_id {
                None => true,
                Some(scope) => event_order == Some(scope.as_str()),
            }
    }
}

/// The order an event is about (its data's `orderId`), if any: what scoped endpoints match.
pub fn order_of(event: &Event) -> Option<&str> {
    event.data.get("orderId").and_then(|v| v.as_str())
}

/// Subscribed event types read back from storage; every name was validated when stored.
pub fn stored_event_types(names: &[String]) -> Result<Vec<EventType>> {
    names
        .iter()
        .map(|t| EventType::parse("events", t).map_err(|e| Error::Internal(format!("stored endpoint events: {e}"))))
        .collect()
}

/// A delivery to write: pending, due at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// Its creation time, which is also when its first attempt is due.
    pub created_at: Timestamp,
}

/// A fresh delivery id: `dlv_` + 16 random lowercase alphanumerics.
pub fn delivery_id() -> String {
    format!("dlv_{}", ids::random_lower_alnum(16))
}

/// One delivery of the event to each subscriber that [`Subscriber::wants`] it (subscribed to
/// its type; scoped to its order, if scoped), in the subscribers' order, created (and due) at `at`.
pub fn deliveries_for(
    subscribers: &[Subscriber],
    event_id: &str,
    event_type: EventType,
    event_order: Option<&str>,
    at: Timestamp,
) -> Vec<NewDelivery> {
    subscribers
        .iter()
        .filter(|s| s.wants(event_type, event_order))
        .map(|s| NewDelivery {
            id: delivery_id(),
            event_id: event_id.to_string(),
            endpoint_id: s.endpoint_id.clone(),
            created_at: at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriber(id: &str, events: &[EventType]) -> Subscriber {
        Subscriber {
            endpoint_id: id.to_string(),
            events: events.to_vec(),
            order_id: None,
        }
    }

    #[test]
    fn an_empty_list_subscribes_to_every_type() {
        for t in EventType::ALL {
            assert!(subscribes(&[], t), "{}", t.as_str());
        }
    }

    #[test]
    fn a_list_subscribes_to_exactly_its_types() {
        let events = [EventType::OrderCompleted, EventType::DepositConfirmed];
        for t in EventType::ALL {
            assert_eq!(subscribes(&events, t), events.contains(&t), "{}", t.as_str());
        }
    }

    #[test]
    fn deliveries_go_to_subscribers_of_the_type_in_their_order() {
        let at = chrono::DateTime::from_timestamp(1_737_369_000, 0).unwrap();
        let subscribers = [
            subscriber("whe_all", &[]),
            subscriber("whe_orders", &[EventType::OrderCompleted, EventType::OrderExpired]),
            subscriber("whe_deposits", &[EventType::DepositConfirmed]),
        ];
        let d = deliveries_for(&subscribers, "evt_1", EventType::OrderExpired, None, at);
        let to: Vec<&str> = d.iter().map(|d| d.endpoint_id.as_str()).collect();
        assert_eq!(to, ["whe_all", "whe_orders"]);
        assert!(d.iter().all(|d| d.event_id == "evt_1" && d.created_at == at));
        assert_ne!(d[0].id, d[1].id);
        assert!(deliveries_for(&subscribers[2..], "evt_1", EventType::PoolLow, None, at).is_empty());
        assert!(deliveries_for(&[], "evt_1", EventType::PoolLow, None, at).is_empty());
    }

    #[test]
    fn a_scoped_endpoint_gets_only_its_orders_events() {
        let at = chrono::DateTime::from_timestamp(1_737_369_000, 0).unwrap();
        let mut scoped = subscriber("whe_cb", &[EventType::OrderCompleted]);
        scoped.order_id = Some("ord_1".into());
        let subscribers = [subscriber("whe_all", &[]), scoped];
        let to = |order: Option<&str>, t: EventType| {
            deliveries_for(&subscribers, "evt_1", t, order, at)
                .into_iter()
                .map(|d| d.endpoint_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(to(Some("ord_1"), EventType::OrderCompleted), ["whe_all", "whe_cb"]);
        assert_eq!(to(Some("ord_2"), EventType::OrderCompleted), ["whe_all"]);
        assert_eq!(to(None, EventType::OrderCompleted), ["whe_all"]);
        assert_eq!(to(Some("ord_1"), EventType::OrderExpired), ["whe_all"]);
    }

    #[test]
    fn delivery_ids_have_prefix_and_lowercase_alnum_body() {
        let id = delivery_id();
        let body = id.strip_prefix("dlv_").unwrap();
        assert_eq!(body.len(), 16);
        assert!(body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn stored_events_must_be_known_types() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = Subscriber::from_stored("whe_1".into(), &names(&["order.completed", "pool.low"]), None).unwrap();
        assert_eq!(s.events, [EventType::OrderCompleted, EventType::PoolLow]);
        assert!(matches!(
            Subscriber::from_stored("whe_1".into(), &names(&["order.paid"]), None),
            Err(Error::Internal(_))
        ));
    }
}
