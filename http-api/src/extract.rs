//! Extractors whose rejections are API errors naming the offending field.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Default request body limit.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Body limit of address imports.
pub const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A JSON body of at most `LIMIT` bytes, deserialized with the path of any bad field.
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || m.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(
                ApiError::validation("Content-Type", "Content-Type must be application/json")
                    .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            );
        }
        let bytes = to_bytes(req.into_body(), LIMIT).await.map_err(|_| {
            ApiError::validation("body", format!("request body exceeds the {LIMIT}-byte limit"))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserializes a JSON body, turning serde's error into a message that names the field.
/// The body is one JSON object and nothing after it (`{…}{…}` is refused, not half-read).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde accepts a JSON array for a struct (as a tuple); every body of this API is an object.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::validation("body", "request body must be a JSON object"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let detail = e.to_string();
        let detail = detail.split(" at line ").next().unwrap_or(&detail).to_string();
        let detail = if e.classify() == serde_json::error::Category::Syntax && detail == "trailing characters" {
            "unexpected data after the JSON object".to_string()
        } else {
            detail
        };
        ApiError::validation("body", format!("Malformed JSON in request body: {detail}"))
    })?;
    from_json_value(value)
}

/// Deserializes an already parsed JSON value (MCP tool arguments) with the same errors as a
/// request body: a `VALIDATION_ERROR` naming the field.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::validation("body", "arguments must be a JSON object"));
    }
    refuse_nul(&value, &mut String::new())?;
    serde_path_to_error::deserialize(value).map_err(deserialize_error)
}

/// No text of this API may hold U+0000: PostgreSQL cannot store it, and no field means
/// anything with it. Names the first field (`metadata.note`, `addresses[3]`) that does.
fn refuse_nul(value: &serde_json::Value, path: &mut String) -> Result<(), ApiError> {
    use serde_json::Value;
    let refuse = |path: &str| {
        let field = if path.is_empty() { "body" } else { path };
        ApiError::validation(field, format!("{field} must not contain NUL (U+0000) characters"))
    };
    match value {
        Value::String(s) if s.contains('\0') => Err(refuse(path)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                refuse_nul(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(members) => {
            for (key, member) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if key.contains('\0') {
                    return Err(refuse(path));
                }
                refuse_nul(member, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn deserialize_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::validation("body", format!("Malformed JSON in request body: {inner}"));
    }
    let path = e.path().to_string();
    let msg = inner.to_string();
    let field = if path == "." {
        // Missing and unknown fields are reported at the parent; take the name from serde.
        backticked(&msg).unwrap_or_else(|| "body".to_string())
    } else {
        path
    };
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    if field == "body" {
        ApiError::validation("body", format!("Invalid request body: {msg}"))
    } else if msg.starts_with("missing field") {
        ApiError::validation(&field, format!("{field} is required"))
    } else {
        ApiError::validation(&field, format!("{field}: {msg}"))
    }
}

fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

/// Query parameters; malformed query strings are a 400 rather than axum's plain-text error.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_de(query)
            .map(ApiQuery)
            .map_err(|m| ApiError::validation("query", format!("Invalid query string: {m}")))
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().map_err(|_| "unparseable".to_string())?)
        .map(|q| q.0)
        .map_err(|e| e.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use payin_core::order::CreateOrderRequest;

    fn field_of(body: &str) -> String {
        parse_json::<CreateOrderRequest>(body.as_bytes())
            .err()
            .unwrap()
            .field
            .unwrap()
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"amount":"1","currency":"USDT","chainId":"ethereum"}"#),
            "orderReference"
        );
        assert_eq!(
            field_of(r#"{"orderReference":1,"amount":"1","currency":"USDT","chainId":"ethereum"}"#),
            "orderReference"
        );
        assert_eq!(
            field_of(r#"{"orderReference":"a","amount":"1","currency":"USDT","chainId":"ethereum","sucessUrl":"x"}"#),
            "sucessUrl"
        );
        assert_eq!(field_of("{not json"), "body");
        assert_eq!(field_of("[]"), "body");
    }

    #[test]
    fn one_object_and_nothing_after_it() {
        let order = r#"{"orderReference":"a","amount":"1","currency":"USDT","chainId":"ethereum"}"#;
        assert!(parse_json::<CreateOrderRequest>(format!("{order}\n").as_bytes()).is_ok());
        let err = parse_json::<CreateOrderRequest>(format!(r#"{order}{{"amount":"999"}}"#).as_bytes()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        assert!(err.message.contains("after the JSON object"), "{}", err.message);
    }

    #[test]
    fn nul_characters_are_refused_naming_the_field() {
        let with = |body: &str| field_of(body);
        assert_eq!(
            with(r#"{"orderReference":"a\u0000","amount":"1","currency":"USDT","chainId":"ethereum"}"#),
            "orderReference"
        );
        assert_eq!(
            with(
                r#"{"orderReference":"a","amount":"1","currency":"USDT","chainId":"ethereum","metadata":{"n":["x","\u0000"]}}"#
            ),
            "metadata.n[1]"
        );
        // An escaped backslash followed by "u0000" is ordinary text.
        assert!(
            parse_json::<CreateOrderRequest>(
                br#"{"orderReference":"a\\u0000","amount":"1","currency":"USDT","chainId":"ethereum"}"#
            )
            .is_ok()
        );
    }
}
