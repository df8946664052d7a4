//! Unknown fields must survive a decode and re-encode.
//!
//! typify 0.8 keeps undeclared fields (in a `#[serde(flatten)]` map) only for
//! `additionalProperties: {}`. With `additionalProperties: true`, or with no
//! `additionalProperties` at all (which OpenAPI defines as "extra fields
//! allowed"), it silently drops them. The intent rows' firmographics
//! (`website`, `employee_count`, …) are such fields, and any field OpenFunnel
//! adds later would be too. So both spellings become `{}`; an explicit
//! `false` is respected.

use serde_json::{Map, Value};

/// Makes an object schema keep its undeclared fields.
pub fn keep_additional_properties(schema: &mut Map<String, Value>) {
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object")
        || schema.contains_key("properties");
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => {
            schema.insert("additionalProperties".into(), Value::Object(Map::new()));
        }
        None if is_object => {
            schema.insert("additionalProperties".into(), Value::Object(Map::new()));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kept(schema: Value) -> Value {
        let Value::Object(mut schema) = schema else {
            panic!("test schemas are objects")
        };
        keep_additional_properties(&mut schema);
        Value::Object(schema)
    }

    #[test]
    fn true_and_absent_become_an_empty_schema() {
        assert_eq!(
            kept(json!({"additionalProperties": true})),
            json!({"additionalProperties": {}})
        );
        assert_eq!(
            kept(json!({"type": "object", "properties": {"a": {}}})),
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": {}})
        );
    }

    #[test]
    fn false_typed_maps_and_non_objects_are_left_alone() {
        for schema in [
            json!({"type": "object", "additionalProperties": false}),
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            json!({"type": "string"}),
            json!({"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": true}),
        ] {
            assert_eq!(kept(schema.clone()), schema);
        }
    }
}
