//! With `additionalProperties: true`, typify 0.8 silently drops unknown fields
//! on decode. With `additionalProperties: {}` it keeps them in a
//! `#[serde(flatten)]` map. The intent rows' firmographic fields (`website`,
//! `employee_count`, …) are exactly such undeclared fields, so `true` would
//! lose real data.

use serde_json::{Map, Value};

/// Rewrites `additionalProperties: true` to the equivalent `{}`.
pub fn keep_additional_properties(schema: &mut Map<String, Value>) {
    if schema.get("additionalProperties") == Some(&Value::Bool(true)) {
        schema.insert("additionalProperties".into(), Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn true_becomes_an_empty_schema_and_false_is_kept() {
        let mut open = json!({"additionalProperties": true});
        keep_additional_properties(open.as_object_mut().unwrap());
        assert_eq!(open, json!({"additionalProperties": {}}));

        let mut closed = json!({"additionalProperties": false});
        keep_additional_properties(closed.as_object_mut().unwrap());
        assert_eq!(closed, json!({"additionalProperties": false}));
    }
}
