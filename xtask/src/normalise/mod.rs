//! Turns the vendored OpenAPI 3.1 fragments into one document progenitor 0.15
//! can generate from.
//!
//! Each step is a small function with its own tests. The order matters:
//! fragments are merged first, operations are cleaned next, and the schema
//! rewrites run last so that they also see schemas that came from any file.
//! Why each step exists is documented on the step itself; the short version is
//! in `shared/reference/progenitor-notes.md`.

mod additional_properties;
mod api_key_header;
mod error_responses;
mod merge;
mod null_unions;
mod operation_ids;
mod titles;
mod version;

pub use additional_properties::keep_additional_properties;
pub use api_key_header::remove_api_key_parameters;
pub use error_responses::drop_bodiless_error_responses;
pub use merge::{SpecFile, merge_fragments};
pub use null_unions::rewrite_null_unions;
pub use operation_ids::clean_operation_ids;
pub use titles::strip_nested_titles;
pub use version::set_openapi_3_0;

use crate::schema_walk::for_each_schema_mut;
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
    let mut doc = merge_fragments(files)?;
    set_openapi_3_0(&mut doc)?;
    remove_api_key_parameters(&mut doc);
    drop_bodiless_error_responses(&mut doc);
    clean_operation_ids(&mut doc)?;
    for_each_schema_mut(&mut doc, &mut |schema, position| {
        rewrite_null_unions(schema);
        keep_additional_properties(schema);
        strip_nested_titles(schema, position);
    });
    Ok(doc)
}
