//! OpenAPI 3.1 schemas are JSON Schema 2020-12; progenitor 0.15 reads
//! OpenAPI 3.0 schemas (through `openapiv3`, whose `Schema` type silently
//! ignores keywords it does not know). A 3.1 keyword that reached progenitor
//! untranslated would be *dropped without a word*, so every schema keyword is
//! either translated here, already a 3.0 keyword, or refused with the JSON
//! pointer of the schema that holds it.
//!
//! Translations (each keeps the information the keyword carried):
//!
//! * `const: v` → `enum: [v]`, with the `type` of `v` when none is given
//!   (progenitor types a bare `const` as `serde_json::Value`);
//! * `examples: [a, …]` → `example: a`;
//! * `$ref` with sibling keywords (3.1 allows them; 3.0 ignores them, and so
//!   does progenitor: a sibling `description` or `nullable` would be lost) →
//!   `allOf: [{$ref}]` beside the siblings. A sibling `type` is dropped (the
//!   reference defines it) except for its `null`, which becomes
//!   `nullable: true`;
//! * numeric `exclusiveMinimum: n` / `exclusiveMaximum: n` → the 3.0 form
//!   `minimum: n, exclusiveMinimum: true` (likewise for the maximum);
//! * type arrays (`type: [string, 'null']`) are translated by `null_unions`.
//!
//! Refused: every other keyword 3.0 does not have (`prefixItems`,
//! `if`/`then`/`else`, `dependentSchemas`, `unevaluatedProperties`,
//! `patternProperties`, `$defs`, `contains`, …). Upstream progenitor tracks
//! 3.1 support in oxidecomputer/progenitor#762 (the `null` type, `nullable`,
//! `prefixItems`) and oxidecomputer/progenitor#1268 (3.1.0 refused outright).

use serde_json::{Map, Value};

/// The keywords of an OpenAPI 3.0.3 Schema Object (§4.7.24), which is what
/// progenitor reads. Extensions (`x-…`) are allowed as well.
const OPENAPI_3_0_KEYWORDS: &[&str] = &[
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
    "$ref",
];

/// A schema keyword that cannot be carried into OpenAPI 3.0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untranslatable {
    /// The JSON pointer of the schema holding it.
    pub pointer: String,
    /// The keyword.
    pub keyword: String,
}

/// Translates one schema's 3.1 keywords in place; refuses what cannot be
/// translated. `at` is the schema's JSON pointer, for the refusal.
pub fn translate_3_1_keywords(
    schema: &mut Map<String, Value>,
    at: &str,
) -> Result<(), Untranslatable> {
    translate_const(schema);
    translate_examples(schema);
    translate_exclusive_bound(schema, "exclusiveMinimum", "minimum", |bound, limit| {
        bound >= limit
    });
    translate_exclusive_bound(schema, "exclusiveMaximum", "maximum", |bound, limit| {
        bound <= limit
    });
    translate_ref_siblings(schema);
    let refused = schema
        .keys()
        .find(|key| !key.starts_with("x-") && !OPENAPI_3_0_KEYWORDS.contains(&key.as_str()));
    match refused {
        Some(keyword) => Err(Untranslatable {
            pointer: at.to_string(),
            keyword: keyword.clone(),
        }),
        None => Ok(()),
    }
}

/// `const: v` → `enum: [v]`, typed after `v` when the schema has no type.
fn translate_const(schema: &mut Map<String, Value>) {
    let Some(value) = schema.remove("const") else {
        return;
    };
    let inferred = match &value {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::Object(_) => Some("object"),
        Value::Array(_) => Some("array"),
        Value::Null => None,
    };
    if value.is_null() {
        schema.insert("nullable".into(), Value::Bool(true));
    }
    if let Some(inferred) = inferred {
        schema
            .entry("type")
            .or_insert_with(|| Value::String(inferred.into()));
    }
    schema.insert("enum".into(), Value::Array(vec![value]));
}

/// `examples: [a, …]` → `example: a` (an existing `example` wins).
fn translate_examples(schema: &mut Map<String, Value>) {
    let Some(examples) = schema.remove("examples") else {
        return;
    };
    let first = match examples {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        Value::Array(_) => return,
        other => other,
    };
    schema.entry("example").or_insert(first);
}

/// A numeric `exclusive` bound → `limit` plus `exclusive: true`. When `limit`
/// is already stricter (`bound_is_stricter(bound, limit)` is false), the exclusive
/// bound adds nothing and is dropped.
fn translate_exclusive_bound(
    schema: &mut Map<String, Value>,
    exclusive: &str,
    limit: &str,
    bound_is_stricter: fn(f64, f64) -> bool,
) {
    let Some(Value::Number(bound)) = schema.get(exclusive).cloned() else {
        return;
    };
    let current = schema.get(limit).and_then(Value::as_f64);
    let bound_value = bound.as_f64().unwrap_or_default();
    match current {
        Some(current) if !bound_is_stricter(bound_value, current) => {
            schema.remove(exclusive);
        }
        _ => {
            schema.insert(limit.into(), Value::Number(bound));
            schema.insert(exclusive.into(), Value::Bool(true));
        }
    }
}

/// `$ref` with siblings → `allOf: [{$ref}]` beside the siblings.
fn translate_ref_siblings(schema: &mut Map<String, Value>) {
    if schema.len() < 2 {
        return;
    }
    let Some(reference) = schema.remove("$ref") else {
        return;
    };
    match schema.remove("type") {
        Some(Value::Array(types)) if types.iter().any(|t| t == "null") => {
            schema.insert("nullable".into(), Value::Bool(true));
        }
        Some(Value::String(t)) if t == "null" => {
            schema.insert("nullable".into(), Value::Bool(true));
        }
        _ => {}
    }
    let member = Value::Object(Map::from_iter([("$ref".to_string(), reference)]));
    match schema.get_mut("allOf") {
        Some(Value::Array(members)) => members.insert(0, member),
        _ => {
            schema.insert("allOf".into(), Value::Array(vec![member]));
        }
    }
    // Only a one-member `allOf` is left (a sibling `type` was all there was):
    // the bare reference says the same.
    if schema.len() == 1
        && let Some(Value::Array(members)) = schema.get_mut("allOf")
        && members.len() == 1
        && let Some(Value::Object(member)) = members.pop()
    {
        schema.remove("allOf");
        schema.extend(member);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn translated(schema: Value) -> Result<Value, Untranslatable> {
        let Value::Object(mut schema) = schema else {
            panic!("test schemas are objects")
        };
        translate_3_1_keywords(&mut schema, "/components/schemas/T")?;
        Ok(Value::Object(schema))
    }

    #[test]
    fn const_becomes_a_typed_one_value_enum() {
        assert_eq!(
            translated(json!({"const": "lookalike"})).unwrap(),
            json!({"type": "string", "enum": ["lookalike"]})
        );
        assert_eq!(
            translated(json!({"const": 3})).unwrap(),
            json!({"type": "integer", "enum": [3]})
        );
        assert_eq!(
            translated(json!({"const": true, "type": "boolean"})).unwrap(),
            json!({"type": "boolean", "enum": [true]})
        );
        assert_eq!(
            translated(json!({"const": 1.5})).unwrap(),
            json!({"type": "number", "enum": [1.5]})
        );
        assert_eq!(
            translated(json!({"const": u64::MAX})).unwrap(),
            json!({"type": "integer", "enum": [u64::MAX]})
        );
        assert_eq!(
            translated(json!({"const": null})).unwrap(),
            json!({"nullable": true, "enum": [null]})
        );
    }

    #[test]
    fn examples_become_one_example() {
        assert_eq!(
            translated(json!({"type": "string", "examples": ["a", "b"]})).unwrap(),
            json!({"type": "string", "example": "a"})
        );
        assert_eq!(
            translated(json!({"type": "string", "examples": []})).unwrap(),
            json!({"type": "string"})
        );
        assert_eq!(
            translated(json!({"type": "string", "examples": "a", "example": "b"})).unwrap(),
            json!({"type": "string", "example": "b"})
        );
    }

    #[test]
    fn numeric_exclusive_bounds_take_the_3_0_form() {
        assert_eq!(
            translated(json!({"type": "number", "exclusiveMinimum": 0})).unwrap(),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(
            translated(json!({"type": "integer", "exclusiveMaximum": 10, "maximum": 20})).unwrap(),
            json!({"type": "integer", "maximum": 10, "exclusiveMaximum": true})
        );
        assert_eq!(
            translated(json!({"type": "integer", "exclusiveMinimum": 0, "minimum": 5})).unwrap(),
            json!({"type": "integer", "minimum": 5})
        );
        // The 3.0 form is left alone.
        let three_oh = json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true});
        assert_eq!(translated(three_oh.clone()).unwrap(), three_oh);
    }

    #[test]
    fn a_ref_keeps_its_description_and_nullability() {
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "description": "The verdict."}))
                .unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}], "description": "The verdict."})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "nullable": true})).unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}], "nullable": true})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "type": ["object", "null"]}))
                .unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}], "nullable": true})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "type": "null", "title": "T"}))
                .unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}], "nullable": true, "title": "T"})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "type": ["object"], "title": "T"}))
                .unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}], "title": "T"})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/V", "allOf": [{"$ref": "#/components/schemas/W"}]}))
                .unwrap(),
            json!({"allOf": [{"$ref": "#/components/schemas/V"}, {"$ref": "#/components/schemas/W"}]})
        );
        // A bare reference, or one whose only sibling was its type, stays bare.
        for bare in [
            json!({"$ref": "#/components/schemas/V"}),
            json!({"$ref": "#/components/schemas/V", "type": "object"}),
        ] {
            assert_eq!(
                translated(bare).unwrap(),
                json!({"$ref": "#/components/schemas/V"})
            );
        }
    }

    #[test]
    fn keywords_3_0_lacks_are_refused_with_the_pointer() {
        for keyword in [
            "prefixItems",
            "if",
            "then",
            "else",
            "dependentSchemas",
            "dependentRequired",
            "unevaluatedProperties",
            "unevaluatedItems",
            "patternProperties",
            "$defs",
            "contains",
            "propertyNames",
            "$dynamicRef",
            "contentSchema",
        ] {
            let refusal = translated(json!({"type": "object", keyword: {}})).unwrap_err();
            assert_eq!(
                refusal,
                Untranslatable {
                    pointer: "/components/schemas/T".into(),
                    keyword: keyword.into(),
                }
            );
        }
    }

    #[test]
    fn extensions_and_3_0_keywords_pass() {
        let schema =
            json!({"type": "string", "x-internal": true, "pattern": "^a", "deprecated": true});
        assert_eq!(translated(schema.clone()).unwrap(), schema);
    }
}
