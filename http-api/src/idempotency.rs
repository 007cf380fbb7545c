//! `Idempotency-Key` on POST: a retry with the same key and the same request (method, path,
//! body) gets the first answer, status and body, with `Idempotent-Replayed: true`; the same key
//! with a different request is 409 `IDEMPOTENCY_KEY_REUSED`; concurrent requests with one key
//! run once (the others wait for its answer). Keys are scoped by API key and kept 24 hours.
//! The rules are the engine's (`payin_core::idempotency`); this layer buffers the request and
//! the answer.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use payin_core::Idempotent;
use payin_core::apikey::ApiKey;
use payin_core::idempotency::{self, StoredResponse};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::IMPORT_BODY_LIMIT;

/// The response header marking a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// Largest answer kept for replay; a larger one is sent but not stored (the key is released).
const MAX_STORED_RESPONSE: usize = 1024 * 1024;

pub async fn idempotent(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let Some(key) = req.headers().get(idempotency::HEADER) else {
        return Ok(next.run(req).await);
    };
    let key = key.to_str().unwrap_or("\u{0}").to_string();
    idempotency::validate_key(&key).map_err(ApiError::from)?;
    let Some(scope) = req.extensions().get::<ApiKey>().map(|k| k.id.clone()) else {
        // Only mounted behind authentication; without a key there is nothing to scope by.
        return Ok(next.run(req).await);
    };

    let (parts, body) = req.into_parts();
    // The largest body any route accepts; routes apply their own, smaller limits after this.
    let bytes = to_bytes(body, IMPORT_BODY_LIMIT).await.map_err(|_| {
        ApiError::validation(
            "body",
            format!("request body exceeds the {IMPORT_BODY_LIMIT}-byte limit"),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    })?;
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let hash = idempotency::request_hash(parts.method.as_str(), path, &bytes);

    match state.engine.begin_idempotent(&scope, &key, &hash).await? {
        Idempotent::Replay(stored) => Ok(replay(stored)),
        Idempotent::Proceed => {
            let req = Request::from_parts(parts, Body::from(bytes));
            // The request runs to its end, and its answer is recorded, even if the client hangs
            // up meanwhile: its retry then gets the answer instead of a second run.
            let engine = state.engine.clone();
            let (scope2, key2) = (scope.clone(), key.clone());
            let run = tokio::spawn(async move {
                let resp = next.run(req).await;
                let (parts, body) = resp.into_parts();
                let body = to_bytes(body, usize::MAX).await;
                let stored = match &body {
                    Ok(b) if b.len() <= MAX_STORED_RESPONSE => std::str::from_utf8(b).ok().map(|text| StoredResponse {
                        status: parts.status.as_u16(),
                        body: text.to_string(),
                    }),
                    _ => None,
                };
                if let Err(e) = engine.finish_idempotent(&scope, &key, stored).await {
                    tracing::error!(error = %e, "recording the answer of an idempotent request");
                }
                (parts, body)
            });
            match run.await {
                Ok((parts, Ok(body))) => Ok(Response::from_parts(parts, Body::from(body))),
                Ok((_, Err(e))) => Err(ApiError::from(payin_core::Error::Internal(format!(
                    "answer of an idempotent request could not be read: {e}"
                )))),
                Err(e) => {
                    // The handler panicked: free the key for a retry.
                    if let Err(e) = state.engine.finish_idempotent(&scope2, &key2, None).await {
                        tracing::error!(error = %e, "releasing the key of a failed idempotent request");
                    }
                    Err(ApiError::from(payin_core::Error::Internal(format!(
                        "idempotent request failed: {e}"
                    ))))
                }
            }
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, stored.body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    resp
}
