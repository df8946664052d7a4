//! Structural traversal of an OpenAPI document held as JSON.
//!
//! A normalisation must only touch *schemas*, and must know which keys of a
//! schema hold other schemas: under `properties` every key is a field name (a
//! property may well be called `title` or `anyOf`), while `items`, `allOf`,
//! `additionalProperties`, … hold sub-schemas. Example values (`example`,
//! `default`, `enum`) are data and are never visited.

use serde_json::{Map, Value};

/// Where a visited schema sits in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaPosition {
    /// A schema directly under `components.schemas`: it becomes a named type.
    ComponentRoot,
    /// Any other schema: a property, an array item, a parameter, a body, …
    Nested,
}

/// Keys of a schema whose value is a single sub-schema.
const SINGLE_SCHEMA_KEYS: &[&str] = &["items", "not", "additionalProperties", "contains"];
/// Keys of a schema whose value is a list of sub-schemas.
const SCHEMA_LIST_KEYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keys of a schema whose value maps arbitrary names to sub-schemas.
const SCHEMA_MAP_KEYS: &[&str] = &["properties", "patternProperties"];

/// Calls `visit` on every schema of `doc`, parents before children.
///
/// A schema's children are looked up *after* `visit` returns, so a visitor may
/// restructure a schema (for example hoist the members of an `anyOf`) and the
/// walk then continues into the new children.
pub fn for_each_schema_mut(
    doc: &mut Value,
    visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition),
) {
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for schema in schemas.values_mut() {
                walk_schema(schema, SchemaPosition::ComponentRoot, visit);
            }
        }
        for section in ["parameters", "headers"] {
            for holder in object_values_mut(components.get_mut(section)) {
                walk_schema_holder(holder, visit);
            }
        }
        for section in ["requestBodies", "responses"] {
            for body in object_values_mut(components.get_mut(section)) {
                walk_body(body, visit);
            }
        }
    }
    for path_item in object_values_mut(doc.get_mut("paths")) {
        for parameter in array_items_mut(path_item.get_mut("parameters")) {
            walk_schema_holder(parameter, visit);
        }
        for operation in operations_mut(path_item) {
            walk_operation(operation, visit);
        }
    }
}

/// The HTTP methods an OpenAPI path item can hold.
pub const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The operations of a path item, in a fixed method order.
pub fn operations_mut(path_item: &mut Value) -> impl Iterator<Item = &mut Value> {
    path_item
        .as_object_mut()
        .into_iter()
        .flat_map(|item| item.iter_mut())
        .filter(|(key, _)| HTTP_METHODS.contains(&key.as_str()))
        .map(|(_, operation)| operation)
}

/// Calls `visit` with `(path, method, operation)` for every operation of `doc`.
pub fn for_each_operation_mut(doc: &mut Value, visit: &mut dyn FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if HTTP_METHODS.contains(&method.as_str()) {
                visit(path, method, operation);
            }
        }
    }
}

fn walk_operation(
    operation: &mut Value,
    visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition),
) {
    for parameter in array_items_mut(operation.get_mut("parameters")) {
        walk_schema_holder(parameter, visit);
    }
    if let Some(body) = operation.get_mut("requestBody") {
        walk_body(body, visit);
    }
    for response in object_values_mut(operation.get_mut("responses")) {
        walk_body(response, visit);
        for header in object_values_mut(response.get_mut("headers")) {
            walk_schema_holder(header, visit);
        }
    }
}

/// A request body or response: `content.<media type>.schema`.
fn walk_body(body: &mut Value, visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition)) {
    for media in object_values_mut(body.get_mut("content")) {
        walk_schema_holder(media, visit);
    }
}

/// An object with a `schema` key: a parameter, a header or a media type.
fn walk_schema_holder(
    holder: &mut Value,
    visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition),
) {
    if let Some(schema) = holder.get_mut("schema") {
        walk_schema(schema, SchemaPosition::Nested, visit);
    }
}

fn walk_schema(
    schema: &mut Value,
    position: SchemaPosition,
    visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition),
) {
    let Some(object) = schema.as_object_mut() else {
        // `true` / `false` schemas have nothing to visit.
        return;
    };
    visit(object, position);
    for (key, child) in object.iter_mut() {
        let key = key.as_str();
        if SINGLE_SCHEMA_KEYS.contains(&key) {
            walk_schema(child, SchemaPosition::Nested, visit);
        } else if SCHEMA_LIST_KEYS.contains(&key) {
            for item in array_items_mut(Some(child)) {
                walk_schema(item, SchemaPosition::Nested, visit);
            }
        } else if SCHEMA_MAP_KEYS.contains(&key) {
            for item in object_values_mut(Some(child)) {
                walk_schema(item, SchemaPosition::Nested, visit);
            }
        }
    }
}

fn object_values_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|object| object.values_mut())
}

fn array_items_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|items| items.iter_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn visited_titles(mut doc: Value) -> Vec<(String, SchemaPosition)> {
        let mut seen = Vec::new();
        for_each_schema_mut(&mut doc, &mut |schema, position| {
            if let Some(Value::String(title)) = schema.get("title") {
                seen.push((title.clone(), position));
            }
        });
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        seen
    }

    #[test]
    fn property_names_are_not_mistaken_for_keywords() {
        // A property called `title` whose schema has the title "Title", and a
        // property called `anyOf`: both are field names, not keywords.
        let doc = json!({
            "components": {"schemas": {"Job": {
                "title": "Job",
                "properties": {
                    "title": {"type": "string", "title": "Title"},
                    "anyOf": {"type": "integer", "title": "AnyOfField"}
                }
            }}}
        });
        assert_eq!(
            visited_titles(doc),
            vec![
                ("AnyOfField".to_string(), SchemaPosition::Nested),
                ("Job".to_string(), SchemaPosition::ComponentRoot),
                ("Title".to_string(), SchemaPosition::Nested),
            ]
        );
    }

    #[test]
    fn visits_parameters_bodies_responses_and_combinators() {
        let doc = json!({
            "paths": {"/jobs/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"title": "path-level"}}],
                "post": {
                    "parameters": [{"name": "cursor", "in": "query", "schema": {"title": "param"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"title": "body"}}}},
                    "responses": {"200": {
                        "content": {"application/json": {"schema": {
                            "title": "response",
                            "anyOf": [{"title": "member"}, {"type": "null"}],
                            "items": {"title": "item"},
                            "additionalProperties": {"title": "extra"}
                        }}},
                        "headers": {"Retry-After": {"schema": {"title": "header"}}}
                    }}
                }
            }}
        });
        let titles: Vec<String> = visited_titles(doc).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            titles,
            [
                "body",
                "extra",
                "header",
                "item",
                "member",
                "param",
                "path-level",
                "response"
            ]
        );
    }

    #[test]
    fn examples_and_defaults_are_data_not_schemas() {
        let doc = json!({"components": {"schemas": {"Row": {
            "properties": {"x": {"type": "object", "default": {"title": "not a schema"}}},
            "example": {"title": "not a schema either"}
        }}}});
        assert!(visited_titles(doc).is_empty());
    }

    #[test]
    fn children_created_by_the_visitor_are_walked() {
        let mut doc = json!({"components": {"schemas": {"A": {"title": "root"}}}});
        let mut visits = 0;
        for_each_schema_mut(&mut doc, &mut |schema, _| {
            visits += 1;
            if schema.get("title") == Some(&json!("root")) {
                schema.insert("items".into(), json!({"title": "added"}));
            }
        });
        assert_eq!(visits, 2);
    }
}
