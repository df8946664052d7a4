//! Merging the fragments in `openapi/` into one document, from an allowlist.
//!
//! Upstream publishes one fragment per operation, each repeating the shared
//! component schemas (`HTTPValidationError`, `ValidationError`). Identical
//! repeats are merged; a schema or operation defined *differently* in two files
//! is an error, because silently picking one would hide a real spec change.
//!
//! Every key of every file is either carried into the merged document or
//! refused with an error naming the file and the key: nothing is dropped
//! unnoticed. The day OpenFunnel moves authentication to a security scheme, or
//! adds webhooks, the codegen stops and says so.

use super::NormaliseError;
use crate::schema_walk::HTTP_METHODS;
use serde_json::{Map, Value};

/// One parsed file from `openapi/`.
#[derive(Clone, Debug)]
pub struct SpecFile {
    /// Path relative to the repository root, used in error messages.
    pub name: String,
    /// The file's content.
    pub doc: Value,
}

/// Top-level fields that every file must carry identically; carried as they are.
pub(crate) const SHARED_HEADER_FIELDS: &[&str] =
    &["info", "servers", "security", "tags", "externalDocs"];

/// Top-level keys a file may have; any other is refused.
const TOP_LEVEL_KEYS: &[&str] = &[
    "openapi",
    "info",
    "servers",
    "security",
    "tags",
    "externalDocs",
    "paths",
    "components",
];

/// `components` keys a file may have; any other is refused.
const COMPONENT_KEYS: &[&str] = &["schemas"];

/// Why a key that is not carried is refused, and what to do.
fn refusal_hint(key: &str) -> &'static str {
    match key {
        "securitySchemes" => {
            "authentication would change: the SDK sends `X-API-Key` itself (crates/openfunnel-api/src/auth.rs, normalise/api_key_header.rs); adapt those, then carry the key here"
        }
        "webhooks" => {
            "progenitor generates no webhook receivers: decide how the SDK should expose them first"
        }
        "jsonSchemaDialect" => "only the default OpenAPI 3.1 dialect is understood",
        "parameters" | "responses" | "requestBodies" | "headers" | "examples" | "links"
        | "callbacks" | "pathItems" => {
            "shared components other than schemas are not merged yet: inline them, or teach xtask/src/normalise/merge.rs to carry them"
        }
        _ => {
            "the merge does not know this key: carry it in xtask/src/normalise/merge.rs or remove it"
        }
    }
}

/// Refuses the keys of `file` the merge does not carry.
fn check_keys(file: &SpecFile, doc: &Map<String, Value>) -> Result<(), NormaliseError> {
    let refuse = |key: String| NormaliseError::UnsupportedKey {
        file: file.name.clone(),
        hint: refusal_hint(key.rsplit('.').next().unwrap_or(&key)).into(),
        key,
    };
    if let Some(key) = doc
        .keys()
        .find(|key| !TOP_LEVEL_KEYS.contains(&key.as_str()))
    {
        return Err(refuse(key.clone()));
    }
    match doc.get("components") {
        None => {}
        Some(Value::Object(components)) => {
            if let Some(key) = components
                .keys()
                .find(|key| !COMPONENT_KEYS.contains(&key.as_str()))
            {
                return Err(refuse(format!("components.{key}")));
            }
        }
        Some(_) => {
            return Err(NormaliseError::InvalidFragment {
                file: file.name.clone(),
                problem: "`components` is not a mapping".into(),
            });
        }
    }
    Ok(())
}

/// Merges `files` (in the given order) into one document.
///
/// Every file must carry the same `info`, `servers`, `security`, `tags` and
/// `externalDocs` (they are carried from the first); paths and component
/// schemas are united; any other key is refused. The `openapi` version of
/// each file is checked by [`super::check_version`] before the merge.
pub fn merge_fragments(files: &[SpecFile]) -> Result<Value, NormaliseError> {
    let Some(first) = files.first() else {
        return Err(NormaliseError::InvalidFragment {
            file: "openapi/".into(),
            problem: "no OpenAPI files found".into(),
        });
    };
    let mut merged = Map::new();
    for key in std::iter::once("openapi").chain(SHARED_HEADER_FIELDS.iter().copied()) {
        if let Some(value) = first.doc.get(key) {
            merged.insert(key.into(), value.clone());
        }
    }
    let mut paths = Map::new();
    let mut path_origin: Map<String, Value> = Map::new();
    let mut schemas = Map::new();
    let mut schema_origin: Map<String, Value> = Map::new();

    for file in files {
        let doc = file
            .doc
            .as_object()
            .ok_or_else(|| NormaliseError::InvalidFragment {
                file: file.name.clone(),
                problem: "the document is not a mapping".into(),
            })?;
        check_keys(file, doc)?;
        for field in SHARED_HEADER_FIELDS {
            if doc.get(*field) != first.doc.get(*field) {
                return Err(NormaliseError::ConflictingHeader {
                    field: (*field).into(),
                    first: first.name.clone(),
                    second: file.name.clone(),
                });
            }
        }
        for (path, item) in doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            merge_path_item(&mut paths, &mut path_origin, path, item, &file.name)?;
        }
        let file_schemas = doc
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(Value::as_object);
        for (name, schema) in file_schemas.into_iter().flatten() {
            match schemas.get(name) {
                Some(existing) if existing == schema => {}
                Some(_) => {
                    return Err(NormaliseError::ConflictingSchema {
                        name: name.clone(),
                        first: origin(&schema_origin, name),
                        second: file.name.clone(),
                    });
                }
                None => {
                    schemas.insert(name.clone(), schema.clone());
                    schema_origin.insert(name.clone(), Value::String(file.name.clone()));
                }
            }
        }
    }
    merged.insert("paths".into(), Value::Object(paths));
    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(schemas));
    merged.insert("components".into(), Value::Object(components));
    Ok(Value::Object(merged))
}

fn merge_path_item(
    paths: &mut Map<String, Value>,
    origins: &mut Map<String, Value>,
    path: &str,
    item: &Value,
    file: &str,
) -> Result<(), NormaliseError> {
    let target = paths
        .entry(path.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    let (Some(target), Some(item)) = (target.as_object_mut(), item.as_object()) else {
        return Err(NormaliseError::InvalidFragment {
            file: file.into(),
            problem: format!("path item `{path}` is not a mapping"),
        });
    };
    for (key, value) in item {
        let origin_key = format!("{path} {key}");
        match target.get(key) {
            // Upstream wins, explicitly: once OpenFunnel documents an
            // operation our supplement defines, identical or not, the
            // supplement's entry must go (a silent dedupe would leave a dead
            // entry; a silent override would hide a difference).
            Some(_) if HTTP_METHODS.contains(&key.as_str()) => {
                let first = origin(origins, &origin_key);
                let sides = match (is_upstream(&first), is_upstream(file)) {
                    (true, false) => Some((first.clone(), file.to_string())),
                    (false, true) => Some((file.to_string(), first.clone())),
                    _ => None,
                };
                if let Some((upstream, supplement)) = sides {
                    return Err(NormaliseError::UpstreamNowDocuments {
                        method: key.to_uppercase(),
                        path: path.into(),
                        upstream,
                        supplement,
                    });
                }
                if target.get(key) != Some(value) {
                    return Err(NormaliseError::ConflictingOperation {
                        method: key.to_uppercase(),
                        path: path.into(),
                        first,
                        second: file.into(),
                    });
                }
            }
            Some(existing) if existing == value => {}
            Some(_) => {
                let method = if HTTP_METHODS.contains(&key.as_str()) {
                    key.to_uppercase()
                } else {
                    format!("(path-level `{key}`)")
                };
                return Err(NormaliseError::ConflictingOperation {
                    method,
                    path: path.into(),
                    first: origin(origins, &origin_key),
                    second: file.into(),
                });
            }
            None => {
                target.insert(key.clone(), value.clone());
                origins.insert(origin_key, Value::String(file.into()));
            }
        }
    }
    Ok(())
}

/// Whether `file` (a path relative to the repository root) is one of
/// OpenFunnel's own documents, not our supplement.
fn is_upstream(file: &str) -> bool {
    file.split('/').any(|part| part == "upstream")
}

fn origin(origins: &Map<String, Value>, key: &str) -> String {
    origins
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("an earlier file")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str, doc: Value) -> SpecFile {
        SpecFile {
            name: name.into(),
            doc,
        }
    }

    fn fragment(path: &str, schemas: Value) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "paths": {path: {"get": {"operationId": "x"}}},
            "components": {"schemas": schemas}
        })
    }

    #[test]
    fn unites_paths_and_dedupes_identical_schemas() {
        let shared = json!({"type": "object"});
        let merged = merge_fragments(&[
            file("a.yaml", fragment("/a", json!({"Shared": shared, "A": {}}))),
            file("b.yaml", fragment("/b", json!({"Shared": shared, "B": {}}))),
        ])
        .unwrap();
        let paths: Vec<&String> = merged["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/a", "/b"]);
        let schemas: Vec<&String> = merged["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(schemas, ["A", "B", "Shared"]);
        assert_eq!(merged["openapi"], "3.1.0");
    }

    #[test]
    fn a_schema_defined_differently_twice_is_an_error_naming_both_files() {
        let error = merge_fragments(&[
            file(
                "a.yaml",
                fragment("/a", json!({"Shared": {"type": "object"}})),
            ),
            file(
                "b.yaml",
                fragment("/b", json!({"Shared": {"type": "string"}})),
            ),
        ])
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`Shared`"), "{message}");
        assert!(
            message.contains("a.yaml") && message.contains("b.yaml"),
            "{message}"
        );
    }

    #[test]
    fn an_operation_upstream_now_documents_must_leave_the_supplement_identical_or_not() {
        for summary in ["same", "changed"] {
            let mut upstream = fragment("/a", json!({}));
            if summary == "changed" {
                upstream["paths"]["/a"]["get"]["summary"] = json!("changed");
            }
            let error = merge_fragments(&[
                file("openapi/supplement/ours.yaml", fragment("/a", json!({}))),
                file("openapi/upstream/theirs.yaml", upstream),
            ])
            .unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, NormaliseError::UpstreamNowDocuments { ref method, .. } if method == "GET"),
                "{summary}: {message}"
            );
            for part in [
                "GET /a",
                "openapi/upstream/theirs.yaml",
                "openapi/supplement/ours.yaml",
                "delete",
            ] {
                assert!(message.contains(part), "{summary}: {message}");
            }
        }
        // Two files of the same side defining one operation identically are
        // still united, as before.
        assert!(
            merge_fragments(&[
                file("openapi/upstream/a.yaml", fragment("/a", json!({}))),
                file("openapi/upstream/b.yaml", fragment("/a", json!({}))),
            ])
            .is_ok()
        );
    }

    #[test]
    fn one_operation_defined_differently_twice_is_an_error() {
        let mut second = fragment("/a", json!({}));
        second["paths"]["/a"]["get"]["summary"] = json!("changed");
        let error = merge_fragments(&[
            file("a.yaml", fragment("/a", json!({}))),
            file("b.yaml", second),
        ])
        .unwrap_err();
        assert!(matches!(
            error,
            NormaliseError::ConflictingOperation { ref method, .. } if method == "GET"
        ));
    }

    #[test]
    fn methods_of_one_path_from_two_files_are_united() {
        let mut post = fragment("/a", json!({}));
        post["paths"]["/a"] = json!({"post": {"operationId": "y"}});
        let merged = merge_fragments(&[
            file("a.yaml", fragment("/a", json!({}))),
            file("b.yaml", post),
        ])
        .unwrap();
        let methods: Vec<&String> = merged["paths"]["/a"].as_object().unwrap().keys().collect();
        assert_eq!(methods, ["get", "post"]);
    }

    #[test]
    fn every_unknown_top_level_or_component_key_is_refused_naming_file_and_key() {
        for (key, value, named) in [
            ("webhooks", json!({"x": {}}), "webhooks"),
            (
                "jsonSchemaDialect",
                json!("https://example"),
                "jsonSchemaDialect",
            ),
            ("x-logo", json!({}), "x-logo"),
        ] {
            let mut doc = fragment("/b", json!({}));
            doc[key] = value;
            let error = merge_fragments(&[
                file("a.yaml", fragment("/a", json!({}))),
                file("b.yaml", doc),
            ])
            .unwrap_err()
            .to_string();
            assert!(error.contains("b.yaml") && error.contains(named), "{error}");
        }
        for (component, hint) in [
            ("securitySchemes", "X-API-Key"),
            ("parameters", "inline them"),
            ("responses", "inline them"),
            ("examples", "inline them"),
            ("somethingNew", "carry it in xtask/src/normalise/merge.rs"),
        ] {
            let mut doc = fragment("/b", json!({}));
            doc["components"][component] = json!({"X": {}});
            let error = merge_fragments(&[file("b.yaml", doc)])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("b.yaml")
                    && error.contains(&format!("components.{component}"))
                    && error.contains(hint),
                "{error}"
            );
        }
        for (key, hint) in [
            ("webhooks", "webhook receivers"),
            ("jsonSchemaDialect", "dialect"),
        ] {
            let mut doc = fragment("/b", json!({}));
            doc[key] = json!({});
            let error = merge_fragments(&[file("b.yaml", doc)])
                .unwrap_err()
                .to_string();
            assert!(error.contains(hint), "{error}");
        }
    }

    #[test]
    fn security_added_to_one_file_is_a_disagreement() {
        let mut secured = fragment("/b", json!({}));
        secured["security"] = json!([{"ApiKey": []}]);
        let error = merge_fragments(&[
            file("a.yaml", fragment("/a", json!({}))),
            file("b.yaml", secured),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("`security` differs"), "{error}");
    }

    #[test]
    fn fragments_of_different_apis_are_refused() {
        let mut other = fragment("/b", json!({}));
        other["info"]["version"] = json!("2");
        let error = merge_fragments(&[
            file("a.yaml", fragment("/a", json!({}))),
            file("b.yaml", other),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("`info` differs"), "{error}");
    }
}
