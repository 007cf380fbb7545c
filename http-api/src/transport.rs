//! Transport rules every request passes before routing, whatever route it is for: a bounded
//! URI, a path and query that percent-decode to text without control characters (a NUL in an
//! id must be a 400 here, not a PostgreSQL error later), and `X-Content-Type-Options:
//! nosniff` on every response.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Longest request URI (path and query) accepted; beyond it the answer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// `app` behind the transport rules.
pub fn layer(app: Router) -> Router {
    app.layer(axum::middleware::from_fn(check))
}

async fn check(req: Request, next: Next) -> Response {
    let mut response = match refusal(&req) {
        // The public pages answer in HTML, never in the API's JSON (issue 12).
        Some(error) if is_html_route(req.uri().path()) => {
            let status = StatusCode::from_u16(error.status_code).unwrap_or(StatusCode::BAD_REQUEST);
            let lang = crate::routes::pay::Lang::negotiate(None, req.headers());
            crate::routes::checkout::message_page(status, lang, crate::routes::checkout::refused_request(status, lang))
        }
        Some(error) => error.into_response(),
        None => next.run(req).await,
    };
    response
        .headers_mut()
        .insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The HTML pages: a payment link's checkout and an order's payment page (not its status
/// document, which is JSON).
pub(crate) fn is_html_route(path: &str) -> bool {
    path.starts_with("/checkout/") || (path.starts_with("/pay/") && !path.ends_with("/status"))
}

fn refusal(req: &Request) -> Option<ApiError> {
    let uri = req.uri();
    let len = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if len > MAX_URI_BYTES {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "URI too long",
            "URI_TOO_LONG",
            format!("The request URI is {len} bytes; at most {MAX_URI_BYTES} are accepted"),
        ));
    }
    for segment in uri.path().split('/') {
        if let Err(problem) = decode(segment, false) {
            return Some(ApiError::validation(
                "path",
                format!("The request path {problem} once percent-decoded"),
            ));
        }
    }
    for pair in uri.query().unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = match decode(key, true) {
            Ok(name) => name,
            Err(problem) => {
                return Some(ApiError::validation(
                    "query",
                    format!("A query parameter name {problem} once percent-decoded"),
                ));
            }
        };
        if let Err(problem) = decode(value, true) {
            let field = if name.is_empty() { "query".to_string() } else { name };
            return Some(ApiError::validation(
                &field,
                format!("{field} {problem} once percent-decoded"),
            ));
        }
    }
    None
}

/// The text of a percent-encoded path segment or query component, or what is wrong with it.
fn decode(raw: &str, plus_is_space: bool) -> Result<String, &'static str> {
    let bytes: Vec<u8> = if plus_is_space && raw.contains('+') {
        percent_decode_str(&raw.replace('+', " ")).collect()
    } else {
        percent_decode_str(raw).collect()
    };
    let text = String::from_utf8(bytes).map_err(|_| "is not valid UTF-8")?;
    if text.chars().any(char::is_control) {
        return Err("contains control characters (such as NUL)");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(uri: &str) -> Option<(u16, Option<String>)> {
        let req = Request::builder().uri(uri).body(axum::body::Body::empty()).unwrap();
        refusal(&req).map(|e| (e.status_code, e.field))
    }

    #[test]
    fn paths_and_queries_must_decode_to_text_without_controls() {
        assert_eq!(refused("/api/v1/orders/ord_abc?limit=5&orderReference=A%20B+C"), None);
        assert_eq!(
            refused("/api/v1/orders/by-reference/%E6%B3%A8%E6%96%87"),
            None,
            "UTF-8 is fine"
        );
        assert_eq!(refused("/pay/%00"), Some((400, Some("path".into()))));
        assert_eq!(refused("/api/v1/events/%ff"), Some((400, Some("path".into()))));
        assert_eq!(refused("/api/v1/orders/a%0Ab"), Some((400, Some("path".into()))));
        assert_eq!(
            refused("/api/v1/orders?orderReference=%00"),
            Some((400, Some("orderReference".into())))
        );
        assert_eq!(
            refused("/api/v1/orders?search=%C3%28"),
            Some((400, Some("search".into())))
        );
        assert_eq!(refused("/api/v1/orders?%ff=1"), Some((400, Some("query".into()))));
        let long = format!("/api/v1/orders?orderReference={}", "x".repeat(MAX_URI_BYTES));
        assert_eq!(refused(&long), Some((414, None)));
    }
}
