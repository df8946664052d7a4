//! OpenAPI 3.1 spells "X or null" as `anyOf: [X, {type: 'null'}]` or
//! `type: [X, 'null']`; progenitor 0.15 panics on both
//! (`not yet implemented: invalid type: null`). OpenAPI 3.0 spells it
//! `nullable: true`.
//!
//! * An inline `X` is hoisted into the schema itself, with `nullable: true`.
//!   The outer schema's own keys (`title`, `description`, `default`) win.
//! * A `$ref` X becomes `allOf: [{$ref: X}]` with `nullable: true`: a `$ref`
//!   with a sibling `nullable` is read as a bare reference, and the
//!   nullability would be silently lost.
//! * With several non-null members the `anyOf` stays, minus the null.

use serde_json::{Map, Value};

/// Rewrites one schema's 3.1 null union into the 3.0 `nullable` form.
pub fn rewrite_null_unions(schema: &mut Map<String, Value>) {
    rewrite_type_list(schema);
    for combinator in ["anyOf", "oneOf"] {
        rewrite_combinator(schema, combinator);
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// `type: [string, 'null']` → `type: string, nullable: true`.
fn rewrite_type_list(schema: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = schema.get("type") else {
        return;
    };
    let had_null = types.iter().any(|t| t.as_str() == Some("null"));
    let others: Vec<Value> = types
        .iter()
        .filter(|t| t.as_str() != Some("null"))
        .cloned()
        .collect();
    match others.len() {
        0 => return,
        1 => {
            schema.insert("type".into(), others[0].clone());
        }
        _ => {
            schema.remove("type");
            let members = others
                .into_iter()
                .map(|t| Value::Object(Map::from_iter([("type".to_string(), t)])))
                .collect();
            schema.insert("anyOf".into(), Value::Array(members));
        }
    }
    if had_null {
        schema.insert("nullable".into(), Value::Bool(true));
    }
}

fn rewrite_combinator(schema: &mut Map<String, Value>, combinator: &str) {
    let Some(Value::Array(members)) = schema.get(combinator) else {
        return;
    };
    if !members.iter().any(is_null_schema) {
        return;
    }
    let mut others: Vec<Value> = members
        .iter()
        .filter(|member| !is_null_schema(member))
        .cloned()
        .collect();
    schema.insert("nullable".into(), Value::Bool(true));
    if others.len() != 1 {
        schema.insert(combinator.into(), Value::Array(others));
        return;
    }
    schema.remove(combinator);
    let Value::Object(member) = others.remove(0) else {
        return;
    };
    if member.contains_key("$ref") {
        schema.insert("allOf".into(), Value::Array(vec![Value::Object(member)]));
    } else {
        for (key, value) in member {
            schema.entry(key).or_insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewritten(schema: Value) -> Value {
        let Value::Object(mut schema) = schema else {
            panic!("test schemas are objects")
        };
        rewrite_null_unions(&mut schema);
        Value::Object(schema)
    }

    #[test]
    fn inline_member_is_hoisted_with_the_outer_keys_kept() {
        let schema = json!({
            "anyOf": [{"type": "string", "description": "inner"}, {"type": "null"}],
            "title": "Cursor",
            "description": "outer"
        });
        assert_eq!(
            rewritten(schema),
            json!({"type": "string", "nullable": true, "title": "Cursor", "description": "outer"})
        );
    }

    #[test]
    fn ref_member_becomes_all_of_so_nullability_survives() {
        let schema = json!({
            "anyOf": [{"$ref": "#/components/schemas/Manifest"}, {"type": "null"}],
            "description": "Job summary"
        });
        assert_eq!(
            rewritten(schema),
            json!({
                "allOf": [{"$ref": "#/components/schemas/Manifest"}],
                "nullable": true,
                "description": "Job summary"
            })
        );
    }

    #[test]
    fn null_first_and_one_of_are_handled_too() {
        let schema = json!({"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 1}]});
        assert_eq!(
            rewritten(schema),
            json!({"type": "integer", "minimum": 1, "nullable": true})
        );
    }

    #[test]
    fn array_member_keeps_its_items() {
        let schema =
            json!({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]});
        assert_eq!(
            rewritten(schema),
            json!({"type": "array", "items": {"type": "string"}, "nullable": true})
        );
    }

    #[test]
    fn several_members_stay_a_union_without_the_null() {
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]});
        assert_eq!(
            rewritten(schema),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
    }

    #[test]
    fn a_union_without_null_is_left_alone() {
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(rewritten(schema.clone()), schema);
    }

    #[test]
    fn type_lists_become_nullable() {
        assert_eq!(
            rewritten(json!({"type": ["string", "null"]})),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            rewritten(json!({"type": ["string", "integer"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
    }
}
