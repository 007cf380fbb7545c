//! The outbox rule: which endpoints get a delivery of an event. The stores write the deliveries
//! this decides in the event's own transaction (beside `insert_event` and the order writer's
//! batch) and when an event is resent; nowhere else decides who is subscribed.

use crate::error::{Error, Result};
use crate::event::EventType;
use crate::ids;
use crate::time::Timestamp;

/// The subscription rule (defined beside `WebhookEndpoint` in `payin-types`).
pub use payin_types::webhook::subscribes;

/// An active endpoint as the outbox sees it: who it is and what it subscribed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub endpoint_id: String,
    pub events: Vec<EventType>,
}

impl Subscriber {
    /// From a stored row: the endpoint id and its JSON list of event type names.
    pub fn from_stored(endpoint_id: String, events: &[String]) -> Result<Subscriber> {
        Ok(Subscriber {
            endpoint_id,
            events: stored_event_types(events)?,
        })
    }
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

/// One delivery of the event to each subscriber that [`subscribes`] to its type, in the
/// subscribers' order, created (and due) at `at`.
pub fn deliveries_for(
    subscribers: &[Subscriber],
    event_id: &str,
    event_type: EventType,
    at: Timestamp,
) -> Vec<NewDelivery> {
    subscribers
        .iter()
        .filter(|s| subscribes(&s.events, event_type))
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
        let d = deliveries_for(&subscribers, "evt_1", EventType::OrderExpired, at);
        let to: Vec<&str> = d.iter().map(|d| d.endpoint_id.as_str()).collect();
        assert_eq!(to, ["whe_all", "whe_orders"]);
        assert!(d.iter().all(|d| d.event_id == "evt_1" && d.created_at == at));
        assert_ne!(d[0].id, d[1].id);
        assert!(deliveries_for(&subscribers[2..], "evt_1", EventType::PoolLow, at).is_empty());
        assert!(deliveries_for(&[], "evt_1", EventType::PoolLow, at).is_empty());
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
        let s = Subscriber::from_stored("whe_1".into(), &names(&["order.completed", "pool.low"])).unwrap();
        assert_eq!(s.events, [EventType::OrderCompleted, EventType::PoolLow]);
        assert!(matches!(
            Subscriber::from_stored("whe_1".into(), &names(&["order.paid"])),
            Err(Error::Internal(_))
        ));
    }
}
