//! Project automation for openfunnel-rs, run as `cargo xtask <command>`.
//!
//! `codegen` turns the vendored OpenAPI files in `openapi/` into the raw client
//! crate `crates/openfunnel-api` with progenitor:
//!
//! 1. [`spec_files`] reads every YAML/JSON file under `openapi/`, sorted.
//! 2. [`normalise`] merges them and rewrites what progenitor 0.15 cannot take
//!    into one OpenAPI 3.0.3 document, one small step per problem.
//! 3. [`generate`] runs progenitor, catching its panics and naming the schema
//!    or operation that caused them.
//! 4. [`codegen`] formats the result with prettyplease and writes (or, with
//!    `--check`, compares) the generated files.
//!
//! [`outline`] renders the generated public API for the insta snapshots.

pub mod codegen;
pub mod generate;
pub mod normalise;
pub mod outline;
pub mod schema_walk;
pub mod spec_files;
