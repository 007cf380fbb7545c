//! API-key authentication: `Authorization: Bearer pk_…` or `X-API-Key: pk_…`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;

/// Authenticates the request; the [`ApiKey`](payin_core::apikey::ApiKey) it used goes into the
/// request's extensions for the layers inside (idempotency keys are scoped by it).
pub async fn require_api_key(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = req.headers();
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
                .trim()
        });
    let header_key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(key) = bearer.or(header_key) else {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "UNAUTHORIZED",
            "Missing API key: send `Authorization: Bearer pk_…` or `X-API-Key: pk_…`",
        );
        e.field = Some("Authorization".into());
        return Err(e);
    };
    let api_key = state.engine.authenticate(key).await.map_err(ApiError::from)?;
    req.extensions_mut().insert(api_key);
    Ok(next.run(req).await)
}
