//! Running progenitor over the normalised document.
//!
//! progenitor reports some unsupported inputs by panicking rather than with an
//! `Err`. Those panics are caught here, and the document is probed schema by
//! schema and operation by operation to name the input that caused it.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// Why no client could be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The normalised document is not a valid OpenAPI 3.0 document.
    #[error(
        "the normalised document is not valid OpenAPI 3.0 at {path}: {message}\nfix the spec at that place, or add a normalisation step (xtask/src/normalise/)"
    )]
    InvalidDocument {
        /// Where in the document, as `components.schemas.Job.properties.limit`.
        path: String,
        /// What the OpenAPI 3.0 reader expected.
        message: String,
    },
    /// progenitor refused the document with an error.
    #[error("progenitor refused the document: {0}")]
    Refused(#[from] progenitor::Error),
    /// progenitor panicked; `culprit` names the input that triggers it.
    #[error(
        "progenitor panicked while generating {culprit}: {message}\nadd a normalisation step for this construct (xtask/src/normalise/) or change the supplement"
    )]
    Panicked { culprit: Culprit, message: String },
    /// progenitor produced tokens that are not a Rust file.
    #[error("progenitor produced code that does not parse: {0}")]
    Unparsable(#[from] syn::Error),
}

/// The part of the document that made progenitor panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Culprit {
    /// A component schema (together with the schemas it references).
    Schema(String),
    /// One operation.
    Operation {
        operation_id: String,
        method: String,
        path: String,
    },
    /// Only the document as a whole.
    WholeDocument,
}

impl std::fmt::Display for Culprit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Culprit::Schema(name) => write!(f, "component schema `{name}`"),
            Culprit::Operation {
                operation_id,
                method,
                path,
            } => write!(f, "operation `{operation_id}` ({method} {path})"),
            Culprit::WholeDocument => f.write_str("the document (no single schema or operation)"),
        }
    }
}

/// The settings the client is generated with.
fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        // Agents hand row schemas to their tools.
        .with_derive("schemars::JsonSchema")
        // Every client carries a `ResponseLimit`, and the hand-written
        // `ClientHooks` (crates/openfunnel-api/src/hooks.rs) refuse bodies
        // larger than it before they are read whole, and hand back an error
        // status whose body does not fit the spec as a response.
        .with_inner_type(quote::quote!(crate::ResponseLimit))
        .with_hooks(HooksMode::Expected);
    settings
}

/// Generates the client for `doc` (a normalised OpenAPI 3.0 document).
pub fn generate_client(doc: &Value) -> Result<syn::File, GenerateError> {
    match run_progenitor(doc)? {
        Ok(tokens) => {
            let mut file: syn::File = syn::parse2(tokens)?;
            make_derive_optional(&mut file.items, SCHEMARS_DERIVE, SCHEMARS_FEATURE);
            crate::response_types::mark_response_types(&mut file);
            Ok(file)
        }
        Err(message) => Err(GenerateError::Panicked {
            culprit: locate_panic(doc),
            message,
        }),
    }
}

/// The derive progenitor is asked for, and the `openfunnel-api` feature that
/// keeps it: the derive macro brings a second `syn` into every build, and only
/// users who want JSON Schemas of rows need it.
const SCHEMARS_DERIVE: &str = "schemars::JsonSchema";
const SCHEMARS_FEATURE: &str = "schemars";

/// Moves `derive` out of every `#[derive(…)]` in `items` (and in the modules
/// among them) into `#[cfg_attr(feature = "<feature>", derive(<derive>))]`.
fn make_derive_optional(items: &mut [syn::Item], derive: &str, feature: &str) {
    for item in items {
        let attrs = match item {
            syn::Item::Struct(item) => &mut item.attrs,
            syn::Item::Enum(item) => &mut item.attrs,
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &mut module.content {
                    make_derive_optional(items, derive, feature);
                }
                continue;
            }
            _ => continue,
        };
        let mut moved = false;
        for attr in attrs
            .iter_mut()
            .filter(|attr| attr.path().is_ident("derive"))
        {
            let Ok(paths) = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            let (optional, kept): (Vec<_>, Vec<_>) = paths
                .into_iter()
                .partition(|path| quote::quote!(#path).to_string().replace(' ', "") == derive);
            if !optional.is_empty() {
                moved = true;
                *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
            }
        }
        if moved {
            let path: syn::Path = syn::parse_str(derive).expect("the derive is a path");
            attrs.push(syn::parse_quote!(#[cfg_attr(feature = #feature, derive(#path))]));
        }
    }
}

/// Generates the typed httpmock helpers for `doc`: for each operation a
/// `MockServerExt` method whose `when`/`then` take the spec's parameters and
/// the generated client's types (`openfunnel_api::types`), as oxide.rs's
/// `sdk-httpmock`.
pub fn generate_httpmock(doc: &Value) -> Result<syn::File, GenerateError> {
    let spec = typed_document(doc)?;
    let tokens = Generator::new(&settings()).httpmock(&spec, "openfunnel_api")?;
    Ok(syn::parse2(tokens)?)
}

/// The normalised document as progenitor's input type.
fn typed_document(doc: &Value) -> Result<openapiv3::OpenAPI, GenerateError> {
    serde_path_to_error::deserialize(doc.clone()).map_err(|error| GenerateError::InvalidDocument {
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })
}

/// Runs progenitor once; the inner `Err` is the message of a panic.
fn run_progenitor(doc: &Value) -> Result<Result<proc_macro2::TokenStream, String>, GenerateError> {
    let spec = typed_document(doc)?;
    match catch_panic(|| Generator::new(&settings()).generate_tokens(&spec)) {
        Ok(result) => Ok(Ok(result?)),
        Err(message) => Ok(Err(message)),
    }
}

/// Serialises panic-hook swaps: the hook is process-wide.
static HOOK_LOCK: Mutex<()> = Mutex::new(());

/// Runs `f`, turning a panic into its message without printing it.
fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let _guard = HOOK_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let captured = std::sync::Arc::new(Mutex::new(String::new()));
    let sink = captured.clone();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Ok(mut message) = sink.lock() {
            *message = info.to_string();
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    result.map_err(|_| {
        captured
            .lock()
            .map(|message| message.clone())
            .unwrap_or_else(|_| "unknown panic".into())
    })
}

/// Finds the smallest part of `doc` that still makes progenitor panic.
fn locate_panic(doc: &Value) -> Culprit {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for name in schemas.keys() {
        let mut probe = doc.clone();
        probe["paths"] = Value::Object(Map::new());
        probe["components"]["schemas"] = Value::Object(schema_closure(&schemas, name));
        if panics(&probe) {
            return Culprit::Schema(name.clone());
        }
    }
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !crate::schema_walk::HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut probe = doc.clone();
            let mut single = item.clone();
            if let Some(single) = single.as_object_mut() {
                single.retain(|key, _| {
                    key == method || !crate::schema_walk::HTTP_METHODS.contains(&key.as_str())
                });
            }
            probe["paths"] = Value::Object(Map::from_iter([(path.clone(), single)]));
            if panics(&probe) {
                return Culprit::Operation {
                    operation_id: operation
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or("<no operationId>")
                        .into(),
                    method: method.to_uppercase(),
                    path: path.clone(),
                };
            }
        }
    }
    Culprit::WholeDocument
}

fn panics(doc: &Value) -> bool {
    matches!(run_progenitor(doc), Ok(Err(_)))
}

/// `name` and every component schema it references, directly or not.
fn schema_closure(schemas: &Map<String, Value>, name: &str) -> Map<String, Value> {
    let mut pending = vec![name.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(next) = pending.pop() {
        if !seen.insert(next.clone()) {
            continue;
        }
        if let Some(schema) = schemas.get(&next) {
            collect_refs(schema, &mut pending);
        }
    }
    schemas
        .iter()
        .filter(|(key, _)| seen.contains(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            refs.push(name.to_string());
                        }
                    }
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(paths: Value, schemas: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "T", "version": "1"},
            "paths": paths,
            "components": {"schemas": schemas}
        })
    }

    fn json_of(schema: &str) -> Value {
        json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}})
    }

    #[test]
    fn mixed_error_responses_panic_is_reported_with_the_operation() {
        // A bodiless 404 beside a JSON 422: progenitor asserts one error kind.
        let doc = document(
            json!({"/jobs/{id}": {"get": {
                "operationId": "job_status",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "ok", "content": json_of("Job")},
                    "404": {"description": "missing"},
                    "422": {"description": "invalid", "content": json_of("Job")}
                }
            }}}),
            json!({"Job": {"type": "object", "properties": {"id": {"type": "string"}}}}),
        );
        let error = generate_client(&doc).err().expect("generation must fail");
        match &error {
            GenerateError::Panicked { culprit, message } => {
                assert_eq!(
                    culprit,
                    &Culprit::Operation {
                        operation_id: "job_status".into(),
                        method: "GET".into(),
                        path: "/jobs/{id}".into()
                    }
                );
                assert!(message.contains("response_types.len()"), "{message}");
            }
            other => panic!("expected a caught panic, got {other}"),
        }
        assert!(
            error
                .to_string()
                .contains("operation `job_status` (GET /jobs/{id})")
        );
    }

    #[test]
    fn an_unnormalised_null_type_is_reported_with_the_schema() {
        let doc = document(
            json!({}),
            json!({
                "Fine": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Broken": {"type": "object", "properties": {
                    "cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]}
                }}
            }),
        );
        match generate_client(&doc).err().expect("generation must fail") {
            GenerateError::Panicked { culprit, .. } => {
                assert_eq!(culprit, Culprit::Schema("Broken".into()))
            }
            other => panic!("expected a caught panic, got {other}"),
        }
    }

    #[test]
    fn inline_objects_with_one_title_stay_distinct_once_titles_are_stripped() {
        // Two different inline objects that upstream would both title
        // "Details": after normalisation each gets its own struct.
        let mut doc = document(
            json!({}),
            json!({"Holder": {"type": "object", "properties": {
                "first": {"type": "object", "title": "Details", "properties": {"a": {"type": "string"}}},
                "second": {"type": "object", "title": "Details", "properties": {"b": {"type": "integer"}}}
            }}}),
        );
        crate::schema_walk::for_each_schema_mut(
            &mut doc,
            &mut crate::normalise::strip_nested_titles,
        );
        let file = generate_client(&doc).unwrap();
        let outline = crate::outline::api_outline(&file);
        assert!(outline.contains("pub struct HolderFirst"), "{outline}");
        assert!(outline.contains("pub struct HolderSecond"), "{outline}");
        assert!(
            outline.contains("pub a: ") && outline.contains("pub b: "),
            "{outline}"
        );
    }

    #[test]
    fn schema_closure_follows_references_transitively() {
        let schemas = json!({
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"items": {"$ref": "#/components/schemas/C"}},
            "C": {},
            "D": {}
        });
        let closure = schema_closure(schemas.as_object().unwrap(), "A");
        let names: Vec<&String> = closure.keys().collect();
        assert_eq!(names, ["A", "B", "C"]);
    }

    #[test]
    fn the_schema_derive_is_generated_behind_its_feature() {
        let doc = document(
            json!({}),
            json!({"Row": {"type": "object", "properties": {"a": {"type": "string"}}}}),
        );
        let text = prettyplease::unparse(&generate_client(&doc).unwrap());
        let row = &text[text.find("pub struct Row").unwrap().saturating_sub(300)..];
        assert!(
            row.contains("#[cfg_attr(feature = \"schemars\", derive(schemars::JsonSchema))]"),
            "{row}"
        );
        let derive = &row[row.find("#[derive(").unwrap()..];
        let derive = &derive[..derive.find(")]").unwrap()];
        assert!(
            derive.contains("Clone") && !derive.contains("JsonSchema"),
            "{derive}"
        );
    }
}
