//! The success envelope: `{"success": true, "data": …, "message"?: "…"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payin_core::page::{Page, Pagination};
use serde::Serialize;
use utoipa::ToSchema;

/// Every successful response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always true.
    pub success: bool,
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A page of items under a resource-named key, e.g. `{"orders": [...], "pagination": {...}}`.
#[derive(Debug, Serialize)]
pub struct ListOf<T> {
    #[serde(flatten)]
    pub items: NamedList<T>,
    pub pagination: Pagination,
}

#[derive(Debug)]
pub struct NamedList<T> {
    pub name: &'static str,
    pub items: Vec<T>,
}

impl<T: Serialize> Serialize for NamedList<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.name, &self.items)?;
        m.end()
    }
}

impl<T> ListOf<T> {
    pub fn new(name: &'static str, page: Page<T>) -> Self {
        ListOf {
            items: NamedList {
                name,
                items: page.items,
            },
            pagination: page.pagination,
        }
    }
}

/// 200 with the data in the envelope.
pub fn ok<T: Serialize>(data: T) -> Response {
    respond(StatusCode::OK, data, None)
}

/// 201 with the created resource in the envelope.
pub fn created<T: Serialize>(data: T, message: &str) -> Response {
    respond(StatusCode::CREATED, data, Some(message.to_string()))
}

pub fn respond<T: Serialize>(status: StatusCode, data: T, message: Option<String>) -> Response {
    (
        status,
        Json(Envelope {
            success: true,
            data,
            message,
        }),
    )
        .into_response()
}
