//! Merchant metadata attached to orders and deposit references.

use serde_json::{Map, Value};

use crate::error::Error;

pub const MAX_KEYS: usize = 10;
pub const MAX_KEY_LEN: usize = 40;
/// Serialized size limit, so metadata cannot bloat every webhook.
pub const MAX_BYTES: usize = 4096;
/// Nesting limit (the metadata object itself is level 1). Events embed metadata a few levels
/// down, and every JSON parser that reads them back (ours: 128 levels) must still accept them.
pub const MAX_DEPTH: usize = 32;

/// Validated metadata: a JSON object of at most ten keys.
pub type Metadata = Map<String, Value>;

/// Checks a client's `metadata` value; `None`/`null` is an empty object.
pub fn parse(field: &str, value: Option<&Value>) -> Result<Metadata, Error> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(Error::validation(field, format!("{field} must be a JSON object"))),
    };
    if map.len() > MAX_KEYS {
        return Err(Error::validation(
            field,
            format!("{field} has {} keys; at most {MAX_KEYS} are allowed", map.len()),
        ));
    }
    if let Some(k) = map.keys().find(|k| k.is_empty() || k.chars().count() > MAX_KEY_LEN) {
        return Err(Error::validation(
            format!("{field}.{k}"),
            format!("{field} keys must be 1 to {MAX_KEY_LEN} characters"),
        ));
    }
    if depth(map) > MAX_DEPTH {
        return Err(Error::validation(
            field,
            format!("{field} is nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let text = serde_json::to_string(map).unwrap_or_default();
    // PostgreSQL's JSON types refuse NUL; refuse it on every backend alike.
    if text.contains("\\u0000") {
        return Err(Error::validation(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    let size = text.len();
    if size > MAX_BYTES {
        return Err(Error::validation(
            field,
            format!("{field} is {size} bytes as JSON; at most {MAX_BYTES} are allowed"),
        ));
    }
    Ok(map.clone())
}

/// Levels of objects and arrays, the outer object included; iterative, so no input can
/// exhaust the stack.
fn depth(map: &Metadata) -> usize {
    let mut deepest = 1;
    let mut stack: Vec<(&Value, usize)> = map.values().map(|v| (v, 2)).collect();
    while let Some((value, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        deepest = deepest.max(level);
        stack.extend(children.map(|v| (v, level + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn at_most_ten_keys() {
        let ten: Map<String, Value> = (0..10).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(parse("metadata", Some(&Value::Object(ten.clone()))).unwrap().len(), 10);
        let mut eleven = ten;
        eleven.insert("k10".into(), json!(10));
        let err = parse("metadata", Some(&Value::Object(eleven))).unwrap_err();
        assert!(err.to_string().contains("11 keys"));
    }

    #[test]
    fn must_be_an_object_of_bounded_size() {
        assert!(parse("metadata", Some(&json!([1, 2]))).is_err());
        assert!(parse("metadata", Some(&json!({"a": "x".repeat(5000)}))).is_err());
        assert!(parse("metadata", None).unwrap().is_empty());
        assert!(parse("metadata", Some(&json!({"a": "x\u{0}y"}))).is_err());
    }

    fn nested(levels: usize) -> Value {
        // `levels` counts the outer object: {"a": [[…]]}.
        let mut v = json!(1);
        for _ in 1..levels {
            v = json!([v]);
        }
        json!({ "a": v })
    }

    #[test]
    fn nesting_is_bounded() {
        assert_eq!(depth(nested(1).as_object().unwrap()), 1);
        assert_eq!(depth(nested(3).as_object().unwrap()), 3);
        assert_eq!(depth(&Map::new()), 1);
        assert!(parse("metadata", Some(&nested(MAX_DEPTH))).is_ok());
        let err = parse("metadata", Some(&nested(MAX_DEPTH + 1))).unwrap_err();
        assert_eq!(err.field(), Some("metadata"));
        assert!(err.to_string().contains("nested"), "{err}");
        assert!(parse("metadata", Some(&json!({"a": {"b": {"c": [1, {"d": 2}]}}}))).is_ok());
    }
}
