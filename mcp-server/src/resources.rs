//! Resources: the documentation an assistant needs to integrate (API reference, webhook guide,
//! OpenAPI document, event catalogue) and live records by URI template.

use payin_core::Gateway;
use payin_http::ApiError;
use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};

pub const API_REFERENCE: &str = "payin://docs/api-reference";
pub const WEBHOOK_GUIDE: &str = "payin://docs/webhook-guide";
pub const OPENAPI: &str = "payin://openapi.json";
pub const EVENTS: &str = "payin://events";
const ORDER_PREFIX: &str = "payin://orders/";
const REFERENCE_PREFIX: &str = "payin://deposits/references/";

const API_REFERENCE_MD: &str = include_str!("../resources/api-reference.md");
const WEBHOOK_GUIDE_MD: &str = include_str!("../resources/webhook-guide.md");
/// Every event type with an example body as delivered; checked against the engine's event
/// types in this module's tests.
pub const EVENT_CATALOGUE_JSON: &str = include_str!("../resources/event-catalogue.json");

const MARKDOWN: &str = "text/markdown";
const JSON: &str = "application/json";

pub fn list() -> Vec<Resource> {
    vec![
        Resource::new(API_REFERENCE, "api-reference")
            .with_title("PayIn REST API reference")
            .with_description("Every /api/v1 endpoint: fields, responses, error codes, the envelope, auth.")
            .with_mime_type(MARKDOWN)
            .with_size(API_REFERENCE_MD.len() as u64),
        Resource::new(WEBHOOK_GUIDE, "webhook-guide")
            .with_title("Receiving PayIn webhooks")
            .with_description("Delivery headers, both signature schemes with verification code, retries, idempotency.")
            .with_mime_type(MARKDOWN)
            .with_size(WEBHOOK_GUIDE_MD.len() as u64),
        Resource::new(OPENAPI, "openapi")
            .with_title("PayIn OpenAPI document")
            .with_description("The OpenAPI 3.1 document of the REST API (also served at /api/v1/openapi.json).")
            .with_mime_type(JSON),
        Resource::new(EVENTS, "event-catalogue")
            .with_title("Event catalogue")
            .with_description("Every webhook event type: when it fires, with an example body as delivered.")
            .with_mime_type(JSON)
            .with_size(EVENT_CATALOGUE_JSON.len() as u64),
    ]
}

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{ORDER_PREFIX}{{orderId}}"), "order")
            .with_title("An order")
            .with_description("An order as GET /api/v1/orders/{orderId} returns it.")
            .with_mime_type(JSON),
        ResourceTemplate::new(format!("{REFERENCE_PREFIX}{{depositReference}}"), "deposit-reference")
            .with_title("A deposit reference")
            .with_description(
                "A deposit reference's addresses and totals, as GET /api/v1/deposits/references/{depositReference} \
                 returns it.",
            )
            .with_mime_type(JSON),
    ]
}

pub async fn read(gateway: &dyn Gateway, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let text = |body: &str, mime: &str| {
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(body, uri).with_mime_type(mime),
        ]))
    };
    match uri {
        API_REFERENCE => return text(API_REFERENCE_MD, MARKDOWN),
        WEBHOOK_GUIDE => return text(WEBHOOK_GUIDE_MD, MARKDOWN),
        EVENTS => return text(EVENT_CATALOGUE_JSON, JSON),
        OPENAPI => {
            let doc = serde_json::to_string_pretty(&payin_http::openapi::document())
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            return text(&doc, JSON);
        }
        _ => {}
    }
    let record = if let Some(order_id) = segment(uri, ORDER_PREFIX) {
        gateway
            .get_order(&order_id)
            .await
            .map(|o| serde_json::to_string_pretty(&o))
    } else if let Some(reference) = segment(uri, REFERENCE_PREFIX) {
        gateway
            .get_deposit_reference(&reference)
            .await
            .map(|r| serde_json::to_string_pretty(&r))
    } else {
        return Err(ErrorData::resource_not_found(
            format!("no resource {uri}; see resources/list and resources/templates/list"),
            Some(serde_json::json!({ "uri": uri })),
        ));
    };
    match record {
        Ok(json) => text(&json.map_err(|e| ErrorData::internal_error(e.to_string(), None))?, JSON),
        Err(e) => {
            let envelope = ApiError::from(e);
            let data = serde_json::to_value(&envelope).ok();
            if envelope.status_code == 404 {
                Err(ErrorData::resource_not_found(envelope.message, data))
            } else {
                Err(ErrorData::internal_error(envelope.message, data))
            }
        }
    }
}

/// The one percent-decoded path segment after `prefix`, if the URI is `prefix` + segment.
fn segment(uri: &str, prefix: &str) -> Option<String> {
    let rest = uri.strip_prefix(prefix)?;
    if rest.is_empty() || rest.contains('/') || !valid_escapes(rest) {
        return None;
    }
    percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()
        .map(Into::into)
}

/// Every `%` starts a two-digit hex escape (the decoder passes malformed ones through as is).
fn valid_escapes(s: &str) -> bool {
    s.split('%')
        .skip(1)
        .all(|part| part.len() >= 2 && part.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit))
}

#[cfg(test)]
mod tests {
    use payin_core::event::EventType;
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_event_catalogue_lists_every_event_type_once_with_an_example_of_its_type() {
        let catalogue: Vec<Value> = serde_json::from_str(EVENT_CATALOGUE_JSON).unwrap();
        let types: Vec<&str> = catalogue.iter().map(|e| e["type"].as_str().unwrap()).collect();
        let expected: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(types, expected);
        for entry in &catalogue {
            assert_eq!(entry["example"]["type"], entry["type"], "{entry}");
            assert!(entry["example"]["data"].is_object(), "{entry}");
            assert!(entry["example"]["id"].as_str().unwrap().starts_with("evt_"), "{entry}");
            payin_core::event::Event::from_payload(&entry["example"].to_string())
                .unwrap_or_else(|e| panic!("{} is not an event body: {e}", entry["type"]));
        }
    }

    #[test]
    fn template_uris_take_one_percent_encoded_segment() {
        assert_eq!(segment("payin://orders/ord_1", ORDER_PREFIX).as_deref(), Some("ord_1"));
        assert_eq!(
            segment("payin://deposits/references/user%2F42", REFERENCE_PREFIX).as_deref(),
            Some("user/42")
        );
        assert_eq!(segment("payin://orders/", ORDER_PREFIX), None);
        assert_eq!(segment("payin://orders/a/b", ORDER_PREFIX), None);
        assert_eq!(segment("payin://orders/%zz", ORDER_PREFIX), None);
    }
}
