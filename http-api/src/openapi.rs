//! The OpenAPI document, generated from the same types the handlers use.

use axum::Json;
use axum::response::IntoResponse;
use payin_core::chain::ChainInfo;
use payin_core::deposit::{Deposit, DepositReferenceSummary};
use payin_core::event::Event;
use payin_core::order::Order;
use payin_core::page::Pagination;
use payin_core::pool::{PoolStatus, XpubKey};
use payin_core::webhook::{Delivery, WebhookEndpoint};
use serde::Serialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// `data` of `GET /orders`.
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
    pub pagination: Pagination,
}

/// `data` of `GET /payment-links`.
#[derive(Serialize, ToSchema)]
pub struct PaymentLinkList {
    #[serde(rename = "paymentLinks")]
    #[schema(rename = "paymentLinks")]
    pub payment_links: Vec<payin_core::payment_link::PaymentLink>,
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

/// `data` of `GET /addresses/xpubs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct XpubList {
    pub xpubs: Vec<XpubKey>,
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

/// What every operation shares, stated once: the answers any route can give besides its own
/// (invalid path or query encoding, missing key, body limits, URI and header limits, rate
/// limit, internal error), the rate-limit fields on every answer, and the text rule of every
/// path and query string (no control characters).
struct Conventions;

/// Path and query text: no control characters (U+0000–U+001F, U+007F–U+009F).
const NO_CONTROLS: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// (status, component name, description) of the shared answers.
const SHARED_ANSWERS: [(&str, &str, &str); 8] = [
    (
        "400",
        "InvalidRequest",
        "VALIDATION_ERROR naming the field: a path or query parameter that is not valid UTF-8 or holds control characters, or invalid input",
    ),
    ("401", "Unauthorized", "UNAUTHORIZED: no API key, or not a valid one"),
    (
        "413",
        "PayloadTooLarge",
        "VALIDATION_ERROR (field body): the body exceeds the limit (64 KiB; 16 MiB for address imports)",
    ),
    ("414", "UriTooLong", "URI_TOO_LONG: the URI exceeds 8 KiB"),
    (
        "415",
        "UnsupportedMediaType",
        "VALIDATION_ERROR (field Content-Type): the body is not application/json",
    ),
    (
        "429",
        "RateLimited",
        "RATE_LIMITED: over the API key's or client IP's quota; retry after `Retry-After` seconds",
    ),
    (
        "431",
        "HeadersTooLarge",
        "HEADERS_TOO_LARGE: request line and headers over 64 KiB or 100 fields",
    ),
    (
        "500",
        "InternalError",
        "INTERNAL_ERROR: a failure of the server (no detail is given)",
    ),
];

fn string_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.headers.insert(
            "RateLimit".into(),
            RefOr::T(string_header(
                "The quota left under the policy: `\"api-key\";r=<requests left>;t=<seconds until the whole quota is back>` \
                 (draft-ietf-httpapi-ratelimit-headers). Absent when rate limits are off.",
            )),
        );
        components.headers.insert(
            "RateLimit-Policy".into(),
            RefOr::T(string_header(
                "The quota policy: `\"api-key\";q=<requests>;w=<seconds>` per API key on the authenticated API, \
                 `\"client-ip\";q=…;w=…` per client address on public routes.",
            )),
        );
        components.headers.insert(
            "Retry-After".into(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))))
                    .description(Some("Seconds to wait before the next request is admitted."))
                    .build(),
            ),
        );
        for (status, name, description) in SHARED_ANSWERS {
            let mut answer = ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ApiError")))
                    .build(),
            );
            if status == "429" {
                answer = answer.header_ref("Retry-After", Ref::new("#/components/headers/Retry-After"));
            }
            components
                .responses
                .insert(name.into(), RefOr::T(with_rate_limit_headers(answer).build()));
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                share_conventions(operation);
            }
        }
    }
}

fn with_rate_limit_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header_ref("RateLimit", Ref::new("#/components/headers/RateLimit"))
        .header_ref("RateLimit-Policy", Ref::new("#/components/headers/RateLimit-Policy"))
}

fn share_conventions(operation: &mut Operation) {
    // Handler names repeat across resources (`create`, `list`, `get`): prefix the tag so every
    // operationId is unique, as OpenAPI requires (`orders_create`, `webhooks_create`).
    if let (Some(id), Some(tag)) = (&operation.operation_id, operation.tags.as_ref().and_then(|t| t.first()))
        && !id.starts_with(&format!("{tag}_"))
    {
        operation.operation_id = Some(format!("{tag}_{id}"));
    }
    // Public operations declare `security()`: an empty list.
    let authenticated = operation.security.as_ref().is_none_or(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            for name in ["RateLimit", "RateLimit-Policy"] {
                response
                    .headers
                    .entry(name.into())
                    .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))));
            }
        }
    }
    for (status, name, _) in SHARED_ANSWERS {
        let applies = match status {
            "401" => authenticated,
            "413" | "415" => has_body,
            _ => true,
        };
        if applies {
            operation
                .responses
                .responses
                .entry(status.into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else { continue };
        if !matches!(parameter.parameter_in, ParameterIn::Path | ParameterIn::Query) {
            continue;
        }
        // Pages are whole numbers in range (`payin_types::page`), whatever the list.
        let range = match (&parameter.parameter_in, parameter.name.as_str()) {
            (ParameterIn::Query, "page") => Some(payin_types::page::MAX_PAGE),
            (ParameterIn::Query, "limit") => Some(payin_types::page::MAX_LIMIT),
            _ => None,
        };
        if let Some(max) = range {
            parameter.schema = Some(RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(max))
                    .build(),
            )));
            continue;
        }
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
            let is_string = match &schema.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(types) => types.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if is_string && schema.pattern.is_none() && schema.enum_values.is_none() && schema.format.is_none() {
                schema.pattern = Some(NO_CONTROLS.to_string());
                if parameter.parameter_in == ParameterIn::Path {
                    schema.min_length = Some(1);
                }
            }
        }
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
        routes::pool::import, routes::pool::status, routes::pool::add_xpub, routes::pool::list_xpubs,
        routes::events::list, routes::events::get, routes::webhooks::resend,
        routes::webhooks::create, routes::webhooks::list, routes::webhooks::get, routes::webhooks::delete,
        routes::webhooks::list_deliveries, routes::webhooks::rotate_secret,
        routes::pay::page, routes::pay::status,
        // Payment links and their checkout page (issue 12).
        routes::payment_links::create, routes::payment_links::get, routes::payment_links::list,
        routes::payment_links::publish, routes::payment_links::archive,
        routes::checkout::checkout_page, routes::checkout::checkout_submit,
        // Credentials of the compatible APIs (issue 13).
        routes::compat::create, routes::compat::list, routes::compat::revoke,
        routes::health::health, routes::health::livez, routes::health::readyz,
        crate::metrics::serve,
    ),
    // Sort keys are referenced only from query parameters, which utoipa does not collect.
    components(schemas(
        payin_types::order::OrderSortBy,
        payin_types::deposit::DepositSortBy,
        payin_types::page::SortOrder,
        payin_types::payment_link::PaymentLinkStatus
    )),
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
    Conventions.modify(&mut doc);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_operation_states_the_answers_every_route_can_give() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert!(
                    ids.insert(op["operationId"].as_str().unwrap().to_string()),
                    "{at}: duplicate operationId"
                );
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "414", "429", "431", "500"] {
                    assert!(responses.contains_key(status), "{at} lacks {status}");
                }
                let public = op["security"].as_array().is_some_and(|s| s.is_empty());
                assert_eq!(responses.contains_key("401"), !public, "{at}");
                let has_body = op.get("requestBody").is_some();
                assert_eq!(responses.contains_key("415"), has_body, "{at}");
                for (status, response) in responses {
                    if let Some(headers) = response.get("headers") {
                        assert!(headers.get("RateLimit").is_some(), "{at} {status}");
                    }
                }
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    let schema = &parameter["schema"];
                    let constrained =
                        schema.get("pattern").is_some() || schema.get("$ref").is_some() || schema["type"] == "integer";
                    assert!(
                        constrained,
                        "{at}: parameter {} is unconstrained: {schema}",
                        parameter["name"]
                    );
                }
            }
        }
        let limited = &doc["components"]["responses"]["RateLimited"];
        assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
        assert!(limited["headers"]["RateLimit-Policy"].is_object(), "{limited}");
    }

    #[test]
    fn request_bodies_state_the_field_rules_the_server_enforces() {
        let doc = serde_json::to_value(document()).unwrap();
        let order = &doc["components"]["schemas"]["CreateOrderRequest"]["properties"];
        assert_eq!(order["orderReference"]["minLength"], 1);
        assert_eq!(order["orderReference"]["maxLength"], 255);
        assert!(order["orderReference"]["pattern"].as_str().unwrap().contains("\\u202E"));
        assert!(order["amount"]["pattern"].is_string());
        assert_eq!(order["currency"]["$ref"], "#/components/schemas/Currency");
        assert_eq!(order["paymentWindowMinutes"]["maximum"], 10080);
        let list = &doc["paths"]["/api/v1/orders"]["get"]["parameters"];
        let limit = list.as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(
            (limit["in"].as_str(), &limit["schema"]["maximum"]),
            (Some("query"), &serde_json::json!(100))
        );
    }
}
