//! Turns the vendored OpenAPI 3.1 fragments into one document progenitor 0.15
//! can generate from.
//!
//! Each step is a small function with its own tests. The order matters: each
//! file is checked and its 3.1 schema keywords translated first (so that a
//! refusal names the file and the JSON pointer), the files are merged from an
//! allowlist next, operations are cleaned, and the schema rewrites run last
//! so that they also see schemas that came from any file. Why each step
//! exists is documented on the step itself. progenitor's own tracking of what
//! it lacks: oxidecomputer/progenitor#762 (OpenAPI 3.1's breaking changes)
//! and oxidecomputer/progenitor#1268 (3.1.0 documents refused).

mod additional_properties;
mod api_key_header;
mod error_responses;
mod json_schema_3_1;
pub(crate) mod merge;
mod null_unions;
mod operation_ids;
mod response_enums;
mod titles;
mod version;

pub use additional_properties::keep_additional_properties;
pub use api_key_header::remove_api_key_parameters;
pub use error_responses::drop_bodiless_error_responses;
pub use json_schema_3_1::{Untranslatable, translate_3_1_keywords};
pub use merge::{SpecFile, merge_fragments};
pub use null_unions::rewrite_null_unions;
pub use operation_ids::clean_operation_ids;
pub use response_enums::open_response_enums;
pub use titles::strip_nested_titles;
pub use version::{check_version, set_openapi_3_0};

use crate::schema_walk::{for_each_schema_at_mut, for_each_schema_mut};
use serde_json::Value;

/// Why the vendored spec could not be normalised.
#[derive(Debug, thiserror::Error)]
pub enum NormaliseError {
    /// Two fragments disagree on a top-level field that must be shared.
    #[error(
        "`{field}` differs between {first} and {second}: every file in openapi/ must describe the same API (same info and servers)"
    )]
    ConflictingHeader {
        field: String,
        first: String,
        second: String,
    },
    /// Two fragments define the same component schema differently.
    #[error(
        "component schema `{name}` is defined differently in {first} and {second}: make the two definitions identical or rename one"
    )]
    ConflictingSchema {
        name: String,
        first: String,
        second: String,
    },
    /// An operation OpenFunnel now documents upstream is still in our
    /// supplement.
    #[error(
        "operation {method} {path} is now documented upstream in {upstream} and still defined in our supplement {supplement}: upstream wins, so delete it from {supplement} (and any schema only it used), then run `cargo xtask codegen` again"
    )]
    UpstreamNowDocuments {
        method: String,
        path: String,
        upstream: String,
        supplement: String,
    },
    /// Two fragments define the same operation differently.
    #[error(
        "operation {method} {path} is defined differently in {first} and {second}: keep one definition"
    )]
    ConflictingOperation {
        method: String,
        path: String,
        first: String,
        second: String,
    },
    /// A fragment is not an object with an `openapi` version we understand.
    #[error("{file}: {problem}")]
    InvalidFragment { file: String, problem: String },
    /// A file holds a key the merge does not carry.
    #[error("{file}: `{key}` is not carried into the generated client: {hint}")]
    UnsupportedKey {
        file: String,
        key: String,
        hint: String,
    },
    /// A schema uses a JSON Schema 2020-12 keyword OpenAPI 3.0 cannot express.
    #[error(
        "{file}: the schema at {pointer} uses `{keyword}`, which OpenAPI 3.0 (what progenitor reads) cannot express and which would be dropped: rewrite the schema, or add a translation in xtask/src/normalise/json_schema_3_1.rs"
    )]
    UntranslatableKeyword {
        file: String,
        pointer: String,
        keyword: String,
    },
    /// An operation has no `operationId`, so it would have no method name.
    #[error("operation {method} {path} has no operationId: progenitor names methods after it")]
    MissingOperationId { method: String, path: String },
    /// An operationId does not follow FastAPI's `name + path + method` scheme.
    #[error(
        "operationId `{operation_id}` of {method} {path} does not end with the FastAPI suffix `{expected_suffix}`: write it as `<name>{expected_suffix}`"
    )]
    UnexpectedOperationId {
        operation_id: String,
        method: String,
        path: String,
        expected_suffix: String,
    },
    /// Two operations would get the same method name.
    #[error("operations {first} and {second} would both be named `{name}`: rename one")]
    OperationNameCollision {
        name: String,
        first: String,
        second: String,
    },
}

/// Runs every normalisation step over the fragments, in order, and returns the
/// single progenitor-ready OpenAPI 3.0.3 document.
pub fn normalise(files: &[SpecFile]) -> Result<Value, NormaliseError> {
    let files = files
        .iter()
        .cloned()
        .map(translate_file)
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = merge_fragments(&files)?;
    set_openapi_3_0(&mut doc)?;
    remove_api_key_parameters(&mut doc);
    drop_bodiless_error_responses(&mut doc);
    clean_operation_ids(&mut doc)?;
    for_each_schema_mut(&mut doc, &mut |schema, position| {
        rewrite_null_unions(schema);
        keep_additional_properties(schema);
        strip_nested_titles(schema, position);
    });
    open_response_enums(&mut doc);
    Ok(doc)
}

/// Checks one file's version and translates its 3.1 schema keywords, so that
/// a refusal names the file and the JSON pointer within it.
fn translate_file(mut file: SpecFile) -> Result<SpecFile, NormaliseError> {
    check_version(&file.name, &file.doc)?;
    let mut refused: Option<Untranslatable> = None;
    for_each_schema_at_mut(&mut file.doc, &mut |schema, _, at| {
        if refused.is_none()
            && let Err(refusal) = translate_3_1_keywords(schema, at)
        {
            refused = Some(refusal);
        }
    });
    match refused {
        Some(Untranslatable { pointer, keyword }) => Err(NormaliseError::UntranslatableKeyword {
            file: file.name,
            pointer,
            keyword,
        }),
        None => Ok(file),
    }
}
