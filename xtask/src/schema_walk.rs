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
const SINGLE_SCHEMA_KEYS: &[&str] = &[
    "items",
    "not",
    "additionalProperties",
    "contains",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
];
/// Keys of a schema whose value is a list of sub-schemas.
const SCHEMA_LIST_KEYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keys of a schema whose value maps arbitrary names to sub-schemas.
const SCHEMA_MAP_KEYS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];

/// Calls `visit` on every schema of `doc`, parents before children.
///
/// A schema's children are looked up *after* `visit` returns, so a visitor may
/// restructure a schema (for example hoist the members of an `anyOf`) and the
/// walk then continues into the new children.
pub fn for_each_schema_mut(
    doc: &mut Value,
    visit: &mut dyn FnMut(&mut Map<String, Value>, SchemaPosition),
) {
    for_each_schema_at_mut(doc, &mut |schema, position, _| visit(schema, position));
}

/// [`for_each_schema_mut`], also passing each schema's JSON pointer (RFC 6901)
/// in `doc`, e.g. `/components/schemas/Job/properties/status`.
pub fn for_each_schema_at_mut(doc: &mut Value, visit: &mut Visitor<'_>) {
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for (name, schema) in schemas.iter_mut() {
                let at = pointer(&pointer("/components", "schemas"), name);
                walk_schema(schema, SchemaPosition::ComponentRoot, &at, visit);
            }
        }
        for section in ["parameters", "headers"] {
            let at = pointer("/components", section);
            for (name, holder) in entries_mut(components.get_mut(section)) {
                walk_schema_holder(holder, &pointer(&at, name), visit);
            }
        }
        for section in ["requestBodies", "responses"] {
            let at = pointer("/components", section);
            for (name, body) in entries_mut(components.get_mut(section)) {
                walk_body(body, &pointer(&at, name), visit);
            }
        }
    }
    for (path, path_item) in entries_mut(doc.get_mut("paths")) {
        let at = pointer("/paths", path);
        for (index, parameter) in array_items_mut(path_item.get_mut("parameters")).enumerate() {
            walk_schema_holder(parameter, &format!("{at}/parameters/{index}"), visit);
        }
        let Some(item) = path_item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if HTTP_METHODS.contains(&method.as_str()) {
                walk_operation(operation, &pointer(&at, method), visit);
            }
        }
    }
}

/// What [`for_each_schema_at_mut`] calls: the schema, its position and its
/// JSON pointer.
pub type Visitor<'a> = dyn FnMut(&mut Map<String, Value>, SchemaPosition, &str) + 'a;

/// `parent` extended by one reference token, escaped as RFC 6901 says.
pub fn pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// One reference token of a JSON pointer, unescaped (the inverse of
/// [`pointer()`]'s escaping).
pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
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

fn walk_operation(operation: &mut Value, at: &str, visit: &mut Visitor<'_>) {
    for (index, parameter) in array_items_mut(operation.get_mut("parameters")).enumerate() {
        walk_schema_holder(parameter, &format!("{at}/parameters/{index}"), visit);
    }
    if let Some(body) = operation.get_mut("requestBody") {
        walk_body(body, &pointer(at, "requestBody"), visit);
    }
    let responses = pointer(at, "responses");
    for (status, response) in entries_mut(operation.get_mut("responses")) {
        let at = pointer(&responses, status);
        walk_body(response, &at, visit);
        let headers = pointer(&at, "headers");
        for (name, header) in entries_mut(response.get_mut("headers")) {
            walk_schema_holder(header, &pointer(&headers, name), visit);
        }
    }
}

/// A request body or response: `content.<media type>.schema`.
fn walk_body(body: &mut Value, at: &str, visit: &mut Visitor<'_>) {
    let content = pointer(at, "content");
    for (media_type, media) in entries_mut(body.get_mut("content")) {
        walk_schema_holder(media, &pointer(&content, media_type), visit);
    }
}

/// An object with a `schema` key: a parameter, a header or a media type.
fn walk_schema_holder(holder: &mut Value, at: &str, visit: &mut Visitor<'_>) {
    if let Some(schema) = holder.get_mut("schema") {
        walk_schema(
            schema,
            SchemaPosition::Nested,
            &pointer(at, "schema"),
            visit,
        );
    }
}

fn walk_schema(schema: &mut Value, position: SchemaPosition, at: &str, visit: &mut Visitor<'_>) {
    let Some(object) = schema.as_object_mut() else {
        // `true` / `false` schemas have nothing to visit.
        return;
    };
    visit(object, position, at);
    for (key, child) in object.iter_mut() {
        let key = key.as_str();
        let child_at = pointer(at, key);
        if SINGLE_SCHEMA_KEYS.contains(&key) {
            walk_schema(child, SchemaPosition::Nested, &child_at, visit);
        } else if SCHEMA_LIST_KEYS.contains(&key) {
            for (index, item) in array_items_mut(Some(child)).enumerate() {
                walk_schema(
                    item,
                    SchemaPosition::Nested,
                    &format!("{child_at}/{index}"),
                    visit,
                );
            }
        } else if SCHEMA_MAP_KEYS.contains(&key) {
            for (name, item) in entries_mut(Some(child)) {
                walk_schema(
                    item,
                    SchemaPosition::Nested,
                    &pointer(&child_at, name),
                    visit,
                );
            }
        }
    }
}

fn entries_mut(value: Option<&mut Value>) -> impl Iterator<Item = (&String, &mut Value)> {
    value
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|object| object.iter_mut())
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
    fn each_schema_is_given_its_json_pointer() {
        let mut doc = json!({
            "paths": {"/jobs/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                "responses": {"200": {"content": {"application/json": {"schema": {
                    "properties": {"a~b": {"anyOf": [{"type": "string"}]}}
                }}}}}
            }}}
        });
        let mut pointers = Vec::new();
        for_each_schema_at_mut(&mut doc, &mut |_, _, at| pointers.push(at.to_string()));
        assert_eq!(
            pointers,
            [
                "/paths/~1jobs~1{id}/get/parameters/0/schema",
                "/paths/~1jobs~1{id}/get/responses/200/content/application~1json/schema",
                "/paths/~1jobs~1{id}/get/responses/200/content/application~1json/schema/properties/a~0b",
                "/paths/~1jobs~1{id}/get/responses/200/content/application~1json/schema/properties/a~0b/anyOf/0",
            ]
        );
        for at in &pointers {
            assert!(doc.pointer(at).is_some(), "{at} resolves");
        }
        assert_eq!(unescape_token("a~0b~1c"), "a~b/c");
        assert_eq!(unescape_token(&pointer("", "x/~y")[1..]), "x/~y");
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
