//! Response enums stay open.
//!
//! progenitor turns a string `enum` into a closed Rust enum, which fails to
//! decode any value it does not list. In a *request* that is what we want (the
//! SDK refuses a value the API does not accept). In a *response* it is a
//! time bomb: FastAPI emits `enum` for `Literal[...]`, and the day OpenFunnel
//! adds a status or a stage, every page would fail to decode.
//!
//! The rule: a string `enum` in any schema a response can reach (inline, or a
//! component referenced from a response, directly or through other
//! components) becomes a plain string whose doc comment lists the known
//! values. Enums only requests reach stay closed.

use crate::schema_walk::{for_each_schema_at_mut, unescape_token};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Opens every string enum a response can reach.
pub fn open_response_enums(doc: &mut Value) {
    let reachable = components_reachable_from_responses(doc);
    for_each_schema_at_mut(doc, &mut |schema, _, at| {
        if in_a_response(at, &reachable) {
            open_enum(schema);
        }
    });
}

/// Whether the schema at pointer `at` belongs to a response.
fn in_a_response(at: &str, reachable: &BTreeSet<String>) -> bool {
    if let Some(rest) = at.strip_prefix("/components/schemas/") {
        let name = rest.split('/').next().unwrap_or_default();
        return reachable.contains(&unescape_token(name));
    }
    at.starts_with("/paths/") && at.contains("/responses/")
}

/// `type: string, enum: [a, b]` → `type: string`, values in the description.
fn open_enum(schema: &mut Map<String, Value>) {
    let Some(Value::Array(values)) = schema.get("enum") else {
        return;
    };
    if values.is_empty() || !values.iter().all(|v| v.is_string() || v.is_null()) {
        return;
    }
    let known: Vec<String> = values
        .iter()
        .filter_map(Value::as_str)
        .map(|value| format!("`{value}`"))
        .collect();
    if values.iter().any(Value::is_null) {
        schema.insert("nullable".into(), Value::Bool(true));
    }
    schema.remove("enum");
    schema.insert("type".into(), Value::String("string".into()));
    let note = format!(
        "Known values: {}. Other values may appear in later API versions.",
        known.join(", ")
    );
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(existing) if !existing.is_empty() => format!("{existing}\n\n{note}"),
        _ => note,
    };
    schema.insert("description".into(), Value::String(description));
}

/// The component schemas a response refers to, directly or through others.
fn components_reachable_from_responses(doc: &Value) -> BTreeSet<String> {
    let mut pending: Vec<String> = Vec::new();
    for path_item in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
    {
        for operation in path_item
            .as_object()
            .into_iter()
            .flat_map(|item| item.values())
        {
            if let Some(responses) = operation.get("responses") {
                collect_refs(responses, &mut pending);
            }
        }
    }
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let mut reachable = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !reachable.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = schemas.and_then(|schemas| schemas.get(&name)) {
            collect_refs(schema, &mut pending);
        }
    }
    reachable
}

/// Every `#/components/schemas/NAME` referenced anywhere under `value`.
fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                            names.push(unescape_token(name));
                        }
                    }
                    _ => collect_refs(child, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "paths": {"/jobs": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                    "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}}
                },
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"stage": {"type": "string", "enum": ["a", "b"]}}
                }}}}}}
            }},
            "components": {"schemas": {
                "Request": {"type": "object", "properties": {"mode": {"type": "string", "enum": ["fast", "slow"]}}},
                "Job": {"type": "object", "properties": {"row": {"$ref": "#/components/schemas/Row"}}},
                "Row": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["pending", "running"], "description": "Where the job is."}
                }}
            }}
        })
    }

    #[test]
    fn enums_a_response_reaches_become_documented_strings() {
        let mut doc = doc();
        open_response_enums(&mut doc);
        let status = &doc["components"]["schemas"]["Row"]["properties"]["status"];
        assert_eq!(status.get("enum"), None);
        assert_eq!(status["type"], "string");
        assert_eq!(
            status["description"],
            "Where the job is.\n\nKnown values: `pending`, `running`. Other values may appear in later API versions."
        );
        let inline = &doc["paths"]["/jobs"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["properties"]["stage"];
        assert_eq!(inline.get("enum"), None);
    }

    #[test]
    fn a_component_reached_only_through_all_of_is_a_response_component() {
        let mut doc = json!({
            "paths": {"/j": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
                "allOf": [{"$ref": "#/components/schemas/Job"}]
            }}}}}}}},
            "components": {"schemas": {"Job": {"type": "string", "enum": ["a"], "description": ""}}}
        });
        open_response_enums(&mut doc);
        let job = &doc["components"]["schemas"]["Job"];
        assert_eq!(job.get("enum"), None);
        assert_eq!(
            job["description"],
            "Known values: `a`. Other values may appear in later API versions."
        );
    }

    #[test]
    fn non_string_enums_and_request_bodies_stay_closed() {
        let mut doc = json!({
            "paths": {"/j": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"type": "string", "enum": ["x"]}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {"type": "integer", "enum": [1, 2]}}}}}
            }}}
        });
        let before = doc.clone();
        open_response_enums(&mut doc);
        assert_eq!(doc, before);
    }

    #[test]
    fn enums_only_requests_reach_stay_closed() {
        let mut doc = doc();
        open_response_enums(&mut doc);
        assert_eq!(
            doc["components"]["schemas"]["Request"]["properties"]["mode"]["enum"],
            json!(["fast", "slow"])
        );
    }
}
