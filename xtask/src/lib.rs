//! Project automation for openfunnel-rs, run as `cargo xtask <command>`.
//!
//! `codegen` turns the vendored OpenAPI files in `openapi/` into the raw client
//! crate `crates/openfunnel-api` with progenitor:
//!
//! 1. [`spec_files`] reads every YAML/JSON file under `openapi/`, sorted.
//! 2. [`normalise`] checks each file (its version, and every OpenAPI 3.1
//!    schema keyword: translated to 3.0 or refused with the file and JSON
//!    pointer), merges them from an allowlist (a key that is not carried is
//!    refused, naming file and key), keeps response enums open (a documented
//!    string, so a new value still decodes; request enums stay closed), and
//!    rewrites what progenitor 0.15 cannot take into one OpenAPI 3.0.3
//!    document, one small step per problem.
//! 3. [`generate`] runs progenitor, catching its panics and naming the schema
//!    or operation that caused them.
//! 4. [`codegen`] formats the result with prettyplease and writes (or, with
//!    `--check`, compares, printing a unified diff of each stale file) the
//!    generated files.
//!
//! [`outline`] renders the generated public API for the insta snapshots;
//! [`lines`] counts a crate's production lines one fixed way (`cargo xtask lines`).

pub mod codegen;
pub mod consumer_build;
pub mod generate;
pub mod lines;
pub mod normalise;
pub mod outline;
pub mod report;
pub mod response_types;
pub mod schema_walk;
pub mod semver;
pub mod spec_files;
pub mod vendor;
