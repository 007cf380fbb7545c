//! Events: every state change writes one, in the same transaction as the change. The stored
//! payload is the exact webhook body, `{"id","type","createdAt","data"}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::ids;
use crate::page::PageRequest;
use crate::time::{self, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.payment_detected")]
    OrderPaymentDetected,
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.expired")]
    OrderExpired,
    #[serde(rename = "order.late_payment")]
    OrderLatePayment,
    #[serde(rename = "deposit.address_bound")]
    DepositAddressBound,
    #[serde(rename = "deposit.address_unbound")]
    DepositAddressUnbound,
    #[serde(rename = "deposit.pending")]
    DepositPending,
    #[serde(rename = "deposit.confirmed")]
    DepositConfirmed,
    #[serde(rename = "payment.reversed")]
    PaymentReversed,
    /// A transfer to a shared receiving address that matched no order's exact `payAmount`.
    #[serde(rename = "payment.unmatched")]
    PaymentUnmatched,
    #[serde(rename = "pool.low")]
    PoolLow,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::OrderCreated,
        EventType::OrderPaymentDetected,
        EventType::OrderCompleted,
        EventType::OrderExpired,
        EventType::OrderLatePayment,
        EventType::DepositAddressBound,
        EventType::DepositAddressUnbound,
        EventType::DepositPending,
        EventType::DepositConfirmed,
        EventType::PaymentReversed,
        EventType::PaymentUnmatched,
        EventType::PoolLow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderPaymentDetected => "order.payment_detected",
            EventType::OrderCompleted => "order.completed",
            EventType::OrderExpired => "order.expired",
            EventType::OrderLatePayment => "order.late_payment",
            EventType::DepositAddressBound => "deposit.address_bound",
            EventType::DepositAddressUnbound => "deposit.address_unbound",
            EventType::DepositPending => "deposit.pending",
            EventType::DepositConfirmed => "deposit.confirmed",
            EventType::PaymentReversed => "payment.reversed",
            EventType::PaymentUnmatched => "payment.unmatched",
            EventType::PoolLow => "pool.low",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<EventType, Error> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            Error::validation(field, format!("{field} must be one of {}", names.join(", ")))
        })
    }
}

/// An event as delivered: the webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[cfg_attr(feature = "openapi", schema(example = "evt_a1b2c3d4e5f6g7h8"))]
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// The full object the event is about (order, deposit, pool status …).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
}

impl Event {
    /// A new event about `data`, with a fresh `evt_` id.
    pub fn new(event_type: EventType, created_at: Timestamp, data: &impl Serialize) -> Result<Event, Error> {
        let data = serde_json::to_value(data).map_err(|e| Error::Internal(format!("event data: {e}")))?;
        Ok(Event {
            id: ids::event_id(),
            event_type,
            created_at,
            data,
        })
    }

    /// The exact JSON body stored and later signed and delivered.
    pub fn payload(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }

    /// Reads an event back from its stored payload.
    pub fn from_payload(payload: &str) -> Result<Event, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            id: String,
            #[serde(rename = "type")]
            event_type: String,
            created_at: String,
            data: Value,
        }
        let bad = |e: String| Error::Internal(format!("stored event payload: {e}"));
        let raw: Raw = serde_json::from_str(payload).map_err(|e| bad(e.to_string()))?;
        Ok(Event {
            id: raw.id,
            event_type: EventType::parse("type", &raw.event_type).map_err(|e| bad(e.to_string()))?,
            created_at: chrono::DateTime::parse_from_rfc3339(&raw.created_at)
                .map_err(|e| bad(e.to_string()))?
                .to_utc(),
            data: raw.data,
        })
    }
}

/// A validated `GET /events` query.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub page: PageRequest,
    pub event_type: Option<EventType>,
}

/// Query of `GET /events`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct EventListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    /// Event type, e.g. order.expired.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", param(rename = "type", value_type = Option<EventType>))]
    pub event_type: Option<String>,
}

impl EventListQuery {
    /// The query as sent, parsed once into a validated filter.
    pub fn parse(&self) -> Result<EventFilter, Error> {
        Ok(EventFilter {
            page: PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?,
            event_type: self
                .event_type
                .as_deref()
                .map(|t| EventType::parse("type", t))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn payload_round_trips_in_webhook_shape() {
        let at = chrono::Utc.with_ymd_and_hms(2025, 1, 28, 10, 30, 0).unwrap();
        let e = Event::new(EventType::OrderExpired, at, &serde_json::json!({"orderId": "ord_x"})).unwrap();
        let p = e.payload();
        assert!(p.starts_with(&format!(
            "{{\"id\":\"{}\",\"type\":\"order.expired\",\"createdAt\":\"2025-01-28T10:30:00.000Z\"",
            e.id
        )));
        assert_eq!(Event::from_payload(&p).unwrap(), e);
    }

    #[test]
    fn an_event_list_query_names_the_type_parameter() {
        let q = EventListQuery {
            event_type: Some("order.completed".into()),
            ..EventListQuery::default()
        };
        assert_eq!(q.parse().unwrap().event_type, Some(EventType::OrderCompleted));
        let bad = EventListQuery {
            event_type: Some("order.done".into()),
            ..EventListQuery::default()
        };
        assert_eq!(bad.parse().unwrap_err().field(), Some("type"));
    }
}
