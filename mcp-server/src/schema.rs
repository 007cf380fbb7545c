//! [`Api<T>`]: a value exactly as the REST API shows it, with the JSON Schema the REST API's
//! OpenAPI document gives its type. Tool outputs (and the inputs that are REST request bodies)
//! use it, so the MCP schemas and the REST schemas cannot drift apart: both come from the one
//! set of `utoipa` annotations on the core types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rmcp::schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Where OpenAPI keeps schemas, and where JSON Schema 2020-12 (and schemars) keeps them.
const OPENAPI_REFS: &str = "#/components/schemas/";
const JSON_SCHEMA_REFS: &str = "#/$defs/";

/// See the module documentation. Serializes and deserializes as `T` itself.
#[derive(Debug, Clone)]
pub struct Api<T>(pub T);

impl<T: Serialize> Serialize for Api<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Api<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Api)
    }
}

impl<T: ToSchema> JsonSchema for Api<T> {
    fn schema_name() -> Cow<'static, str> {
        T::name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let (mut root, defs) = openapi_schema::<T>();
        // Composed schemas (`oneOf` of the two binding shapes, `allOf` of a flattened struct)
        // carry no root `type`; MCP clients require `"type": "object"` on tool schemas, and
        // every PayIn request and response body is an object.
        if let Value::Object(map) = &mut root
            && !map.contains_key("type")
        {
            map.insert("type".into(), Value::String("object".into()));
        }
        let definitions = generator.definitions_mut();
        for (name, schema) in defs {
            definitions.insert(name, schema);
        }
        Schema::try_from(root).expect("utoipa schemas are JSON objects")
    }
}

/// `T`'s schema and every schema it refers to (by name), with references rewritten from
/// OpenAPI's `#/components/schemas/X` to JSON Schema's `#/$defs/X`.
pub fn openapi_schema<T: ToSchema>() -> (Value, BTreeMap<String, Value>) {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    let defs = nested
        .into_iter()
        .map(|(name, schema)| {
            let value = serde_json::to_value(schema).expect("utoipa schemas serialize");
            (name, rewrite_refs(value))
        })
        .collect();
    let root = rewrite_refs(serde_json::to_value(T::schema()).expect("utoipa schemas serialize"));
    (root, defs)
}

fn rewrite_refs(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let r = match r.strip_prefix(OPENAPI_REFS) {
                            Some(name) => format!("{JSON_SCHEMA_REFS}{name}"),
                            None => r,
                        };
                        (k, Value::String(r))
                    }
                    (_, v) => (k, rewrite_refs(v)),
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(rewrite_refs).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use payin_core::order::Order;
    use payin_http::openapi::OrderList;
    use rmcp::handler::server::tool::schema_for_output;

    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn an_output_schema_is_the_openapi_schema_with_its_references_inside() {
        let schema = Value::Object((*schema_for_output::<Api<OrderList>>()).clone());
        assert_eq!(schema["type"], "object");
        assert!(schema["properties"]["orders"].is_object(), "{schema:#}");
        let mut found = Vec::new();
        refs(&schema, &mut found);
        assert!(found.iter().any(|r| r == "#/$defs/Order"), "{found:?}");
        for r in found {
            let name = r.strip_prefix(JSON_SCHEMA_REFS).expect("only local $defs references");
            assert!(schema["$defs"][name].is_object(), "{r} does not resolve in {schema:#}");
        }
        let order = &schema["$defs"]["Order"];
        assert_eq!(order["properties"]["amount"]["type"], "string");
    }

    #[test]
    fn a_schema_without_nested_types_has_no_defs_to_resolve() {
        let (root, _) = openapi_schema::<Order>();
        assert_eq!(root["type"], "object");
        assert!(root["required"].as_array().unwrap().iter().any(|f| f == "orderId"));
    }
}
