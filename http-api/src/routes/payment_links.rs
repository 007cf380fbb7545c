//! `/api/v1/payment-links` (issue 12): create, read, list, publish, archive.

use axum::extract::{Path, State};
use axum::response::Response;
use payin_core::payment_link::{CreatePaymentLinkRequest, PaymentLink, PaymentLinkListQuery};

use crate::AppState;
use crate::envelope::{Envelope, ListOf, created, ok};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::openapi::PaymentLinkList;

/// Create a payment link, in `draft` (publish it to open its checkoutUrl).
#[utoipa::path(post, path = "/api/v1/payment-links", tag = "payment-links", request_body = CreatePaymentLinkRequest,
    responses(
        (status = 201, description = "Payment link created", body = Envelope<PaymentLink>),
        (status = 400, description = "Invalid input (VALIDATION_ERROR, INVALID_AMOUNT, INVALID_CHAIN, INVALID_CURRENCY), naming the field", body = ApiError),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreatePaymentLinkRequest>,
) -> Result<Response, ApiError> {
    Ok(created(
        s.engine.create_payment_link(req).await?,
        "Payment link created successfully",
    ))
}

/// Get a payment link by its id, with its inventory.
#[utoipa::path(get, path = "/api/v1/payment-links/{linkId}", tag = "payment-links",
    params(("linkId" = String, Path, description = "e.g. plk_k3j9x2m4p7q1w8e5")),
    responses((status = 200, body = Envelope<PaymentLink>), (status = 404, description = "NOT_FOUND", body = ApiError)))]
pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_payment_link(&id).await?))
}

/// List payment links, newest first, optionally by status.
#[utoipa::path(get, path = "/api/v1/payment-links", tag = "payment-links", params(PaymentLinkListQuery),
    responses((status = 200, body = Envelope<PaymentLinkList>), (status = 400, body = ApiError)))]
pub async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PaymentLinkListQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new("paymentLinks", s.engine.list_payment_links(&q).await?)))
}

/// Publish a draft link: its checkoutUrl starts selling. Publishing an active link changes
/// nothing; an archived link cannot be published (400 VALIDATION_ERROR on `status`).
#[utoipa::path(post, path = "/api/v1/payment-links/{linkId}/publish", tag = "payment-links",
    params(("linkId" = String, Path)),
    responses((status = 200, body = Envelope<PaymentLink>),
        (status = 400, description = "VALIDATION_ERROR (field status): the link is archived", body = ApiError),
        (status = 404, description = "NOT_FOUND", body = ApiError)))]
pub async fn publish(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.publish_payment_link(&id).await?))
}

/// Archive a link (draft or active): its checkoutUrl answers 410 and opens no more orders;
/// orders already opened go on. Archiving again changes nothing.
#[utoipa::path(post, path = "/api/v1/payment-links/{linkId}/archive", tag = "payment-links",
    params(("linkId" = String, Path)),
    responses((status = 200, body = Envelope<PaymentLink>), (status = 404, description = "NOT_FOUND", body = ApiError)))]
pub async fn archive(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.archive_payment_link(&id).await?))
}
