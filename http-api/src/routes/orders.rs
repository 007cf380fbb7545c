use axum::extract::{Path, State};
use axum::response::Response;
use payin_core::engine::OrderListQuery;
use payin_core::order::{CreateOrderRequest, Order};

use crate::AppState;
use crate::envelope::{Envelope, ListOf, created, ok};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::openapi::OrderList;

/// Create an order with its own payment address, or (with `receiveAddress`) on your own
/// address with a unique `payAmount` to be sent exactly.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Order created", body = Envelope<Order>),
        (status = 400, description = "Invalid input (VALIDATION_ERROR, INVALID_AMOUNT, INVALID_CHAIN, INVALID_CURRENCY)", body = ApiError),
        (status = 409, description = "DUPLICATE_ORDER_REFERENCE, with existingOrderId", body = ApiError),
        (status = 503, description = "NO_AVAILABLE_ADDRESSES", body = ApiError),
    ))]
pub async fn create(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    Ok(created(s.engine.create_order(req).await?, "Order created successfully"))
}

/// Get an order by its id.
#[utoipa::path(get, path = "/api/v1/orders/{orderId}", tag = "orders",
    params(("orderId" = String, Path, description = "e.g. ord_k3j9x2m4p7q1w8e5")),
    responses((status = 200, body = Envelope<Order>), (status = 404, description = "ORDER_NOT_FOUND", body = ApiError)))]
pub async fn get(State(s): State<AppState>, Path(order_id): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_order(&order_id).await?))
}

/// Get an order by your own order reference.
#[utoipa::path(get, path = "/api/v1/orders/by-reference/{orderReference}", tag = "orders",
    params(("orderReference" = String, Path)),
    responses((status = 200, body = Envelope<Order>), (status = 404, description = "ORDER_NOT_FOUND", body = ApiError)))]
pub async fn get_by_reference(State(s): State<AppState>, Path(reference): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.engine.get_order_by_reference(&reference).await?))
}

/// List orders, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderListQuery),
    responses((status = 200, body = Envelope<OrderList>), (status = 400, body = ApiError)))]
pub async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<OrderListQuery>) -> Result<Response, ApiError> {
    Ok(ok(ListOf::new("orders", s.engine.list_orders(&q).await?)))
}
