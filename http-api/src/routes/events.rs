use axum::extract::{Path, State};
use axum::response::Response;
use payin_core::engine::EventListQuery;
use payin_core::event::Event;

use crate::AppState;
use crate::envelope::{Envelope, ListOf, ok};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::EventList;

/// Events, newest first; every state change writes one.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventListQuery),
    responses((status = 200, body = Envelope<EventList>), (status = 400, body = ApiError)))]
pub async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<EventListQuery>) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new("events", s.engine.list_events(&q).await?)))
}

/// One event, exactly as webhooks deliver it.
#[utoipa::path(get, path = "/api/v1/events/{eventId}", tag = "events", params(("eventId" = String, Path)),
    responses((status = 200, body = Envelope<Event>), (status = 404, body = ApiError)))]
pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_event(&id).await?))
}
