//! The OpenAPI document, generated from the same types the handlers use.

use axum::Json;
use axum::response::IntoResponse;
use payin_core::chain::ChainInfo;
use payin_core::deposit::{Deposit, DepositReferenceSummary};
use payin_core::event::Event;
use payin_core::order::Order;
use payin_core::page::Pagination;
use payin_core::pool::PoolStatus;
use payin_core::webhook::{Delivery, WebhookEndpoint};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// `data` of `GET /orders`.
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
    pub pagination: Pagination,
}

/// `data` of `GET /deposits`.
#[derive(Serialize, ToSchema)]
pub struct DepositList {
    pub deposits: Vec<Deposit>,
    pub pagination: Pagination,
}

/// `data` of `GET /deposits/references`.
#[derive(Serialize, ToSchema)]
pub struct ReferenceList {
    pub references: Vec<DepositReferenceSummary>,
    pub pagination: Pagination,
}

/// `data` of `GET /events`.
#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    pub pagination: Pagination,
}

/// `data` of `GET /webhooks`.
#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookEndpoint>,
    pub pagination: Pagination,
}

/// `data` of `GET /webhooks/deliveries`.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    pub pagination: Pagination,
}

/// `data` of `GET /chains`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainList {
    pub chains: Vec<ChainInfo>,
}

/// `data` of `GET /addresses/pool`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolList {
    pub pools: Vec<PoolStatus>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "PayIn API", description = "Self-hosted stablecoin payment gateway: orders, deposit addresses, address pool, events, signed webhooks."),
    paths(
        routes::orders::create, routes::orders::get, routes::orders::get_by_reference, routes::orders::list,
        routes::deposits::bind_reference, routes::deposits::bind_protocol, routes::deposits::get_reference,
        routes::deposits::list_references, routes::deposits::list_deposits, routes::deposits::delete_reference,
        routes::deposits::unbind,
        routes::config::get_all, routes::config::set,
        routes::chains::list,
        routes::pool::import, routes::pool::status,
        routes::events::list, routes::events::get, routes::webhooks::resend,
        routes::webhooks::create, routes::webhooks::list, routes::webhooks::get, routes::webhooks::delete,
        routes::webhooks::list_deliveries, routes::webhooks::rotate_secret,
        routes::pay::page, routes::pay::status,
        routes::health::health, routes::health::livez, routes::health::readyz,
        crate::metrics::serve,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = [])),
)]
pub struct ApiDoc;

/// The document as served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let doc = ApiDoc::openapi();
    // The dev chain's routes, only in builds that serve them.
    #[cfg(feature = "dev")]
    let doc = doc.merge_from(routes::dev::DevApi::openapi());
    let mut doc = doc;
    document_idempotency_keys(&mut doc);
    doc
}

/// Every authenticated POST takes an optional `Idempotency-Key` (see `crate::idempotency`) and
/// can answer 409 for it.
fn document_idempotency_keys(doc: &mut utoipa::openapi::OpenApi) {
    use payin_core::idempotency::{HEADER, MAX_KEY_LEN};
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Type};

    const CONFLICT: &str = "IDEMPOTENCY_KEY_REUSED (the key was used for a different request) or \
                            IDEMPOTENCY_KEY_IN_PROGRESS (its first request still runs), with idempotencyKey";
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(op) = item.post.as_mut() else { continue };
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let header = ParameterBuilder::new()
            .name(HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes the POST safe to retry: for 24 hours a request with the same key and the same \
                 method, path and body gets the first answer again (with `Idempotent-Replayed: true`), \
                 without running twice. Answers 5xx and 429 are not kept. Scoped by API key.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_KEY_LEN))
                    .pattern(Some("^[\\x21-\\x7E]+$")),
            ))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(header));
        let responses = &mut op.responses.responses;
        match responses.get_mut("409") {
            Some(RefOr::T(existing)) => existing.description = format!("{}; or {CONFLICT}", existing.description),
            _ => {
                let conflict = ResponseBuilder::new()
                    .description(CONFLICT)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build();
                responses.insert("409".to_string(), RefOr::T(conflict));
            }
        }
    }
}

pub async fn serve() -> impl IntoResponse {
    Json(document())
}
