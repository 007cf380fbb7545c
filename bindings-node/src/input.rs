//! What JavaScript passes in: request bodies and list queries as JSON text (the JavaScript
//! layer stringifies the caller's object), read into the wire types of `payin-types`. Bad
//! input is a `VALIDATION_ERROR` naming the field, worded as the REST API words it, and no
//! request is sent.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::validation;

/// A request body: a JSON object read into `T` (whose unknown fields are refused).
pub fn body<T: DeserializeOwned>(json: &str) -> napi::Result<T> {
    let first = json.bytes().find(|b| !b.is_ascii_whitespace());
    if first != Some(b'{') {
        return Err(validation("body", "the request parameters must be an object"));
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(deserialize_error)
}

/// A list query: an object whose values are strings, numbers or booleans (sent as text, as
/// in a URL), read into `Q`. A parameter `Q` does not have is refused by name, so a typo is
/// not silently ignored.
pub fn query<Q: DeserializeOwned + Serialize + Default>(json: &str) -> napi::Result<Q> {
    let given: Value = serde_json::from_str(json)
        .map_err(|e| validation("query", format!("the list parameters are not JSON: {e}")))?;
    let given = match given {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => return Err(validation("query", "the list parameters must be an object")),
    };
    let Ok(Value::Object(known)) = serde_json::to_value(Q::default()) else {
        unreachable!("every list query serializes to an object");
    };
    let mut sent = Map::new();
    for (name, value) in given {
        if !known.contains_key(&name) {
            let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
            names.sort_unstable();
            return Err(validation(
                &name,
                format!("unknown list parameter {name:?}; expected one of {}", names.join(", ")),
            ));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(validation(&name, format!("{name} must be a string or a number")));
            }
        };
        sent.insert(name, Value::String(text));
    }
    serde_path_to_error::deserialize(Value::Object(sent)).map_err(deserialize_error)
}

/// Serde's error as the REST API reports it: the field from the error's path (or, for a
/// missing or unknown field, from serde's message) and a message naming it.
fn deserialize_error(e: serde_path_to_error::Error<serde_json::Error>) -> napi::Error {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return validation("body", format!("the request parameters are not JSON: {inner}"));
    }
    let path = e.path().to_string();
    let message = inner.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    let field = match path.as_str() {
        "." => backticked(message).unwrap_or("body"),
        path => path,
    };
    if message.starts_with("missing field") {
        validation(field, format!("{field} is required"))
    } else {
        validation(field, format!("{field}: {message}"))
    }
}

/// The first `quoted` name of a serde message (`missing field `orderReference``).
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use payin_types::event::EventListQuery;
    use payin_types::order::{CreateOrderRequest, OrderListQuery};

    use super::*;

    fn field_of(e: napi::Error) -> String {
        let payload: Value = serde_json::from_str(&e.reason).unwrap();
        payload["field"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_body_names_its_missing_unknown_or_mistyped_field() {
        let missing = body::<CreateOrderRequest>(r#"{"amount":"1","currency":"USDT","chainId":"local"}"#);
        assert_eq!(field_of(missing.unwrap_err()), "orderReference");
        let unknown = body::<CreateOrderRequest>(
            r#"{"orderReference":"a","amount":"1","currency":"USDT","chainId":"local","sucessUrl":"x"}"#,
        );
        assert_eq!(field_of(unknown.unwrap_err()), "sucessUrl");
        let mistyped = body::<CreateOrderRequest>(
            r#"{"orderReference":"a","amount":"1","currency":"USDT","chainId":"local","paymentWindowMinutes":"x"}"#,
        );
        assert_eq!(field_of(mistyped.unwrap_err()), "paymentWindowMinutes");
        assert_eq!(field_of(body::<CreateOrderRequest>("[1]").unwrap_err()), "body");
    }

    #[test]
    fn a_query_takes_numbers_as_text_and_refuses_unknown_parameters() {
        let q: OrderListQuery = query(r#"{"status":"pending","limit":2,"page":null}"#).unwrap();
        assert_eq!(
            (q.status.as_deref(), q.limit.as_deref(), q.page),
            (Some("pending"), Some("2"), None)
        );
        assert_eq!(
            field_of(query::<OrderListQuery>(r#"{"stauts":"pending"}"#).unwrap_err()),
            "stauts"
        );
        assert_eq!(
            field_of(query::<OrderListQuery>(r#"{"status":["a"]}"#).unwrap_err()),
            "status"
        );
        // The wire name of the event type filter is `type`.
        let q: EventListQuery = query(r#"{"type":"order.completed"}"#).unwrap();
        assert_eq!(q.event_type.as_deref(), Some("order.completed"));
        assert!(query::<OrderListQuery>("null").is_ok());
    }
}
