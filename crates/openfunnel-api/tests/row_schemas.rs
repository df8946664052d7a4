//! The JSON Schema of each row and manifest type, as agents receive it from
//! `schemars::schema_for!`. Pinned so a spec change is a reviewed diff.

use openfunnel_api::types;

fn pretty(schema: schemars::schema::RootSchema) -> String {
    serde_json::to_string_pretty(&schema).expect("schemas serialise")
}

#[test]
fn lookalike_row_schema() {
    insta::assert_snapshot!(pretty(schemars::schema_for!(types::BulkLookalikeResultRow)));
}

#[test]
fn lookalike_manifest_schema() {
    insta::assert_snapshot!(pretty(schemars::schema_for!(types::BulkLookalikeManifest)));
}

#[test]
fn intent_row_schema() {
    let schema = pretty(schemars::schema_for!(types::TechIntentCompanyRow));
    // Undeclared firmographics are allowed, so agents know extra fields exist.
    assert!(
        schema.contains("\"additionalProperties\": true"),
        "{schema}"
    );
    insta::assert_snapshot!(schema);
}

#[test]
fn intent_manifest_schema() {
    insta::assert_snapshot!(pretty(schemars::schema_for!(types::TechIntentManifest)));
}
