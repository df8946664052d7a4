//! `cargo xtask vendor`: what OpenFunnel publishes lands in `openapi/upstream/`
//! as the README says, in a scratch copy of the repository.
//!
//! `fixtures/pages/` holds the two documentation pages today's upstream files
//! came from, as docs.openfunnel.dev serves them.

mod common;

use common::ScratchRepo;
use serde_json::{Value, json};
use std::path::Path;
use xtask::codegen;
use xtask::vendor::{VendorError, apply, plan};

fn fixture_pages() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    pages.sort();
    pages
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap()
}

fn yaml(doc: &Value) -> String {
    serde_norway::to_string(doc).unwrap()
}

/// A page as docs.openfunnel.dev serves one: prose, then a four-backtick
/// `yaml` block.
fn page(doc: &Value) -> String {
    format!(
        "# A page\n\n> Prose about the endpoint.\n\n## OpenAPI\n\n````yaml agent-primitives/openapi.json\n{}````\n",
        yaml(doc)
    )
}

#[test]
fn vendoring_todays_seed_pages_reproduces_todays_files_byte_for_byte() {
    let scratch = ScratchRepo::new("vendor-seeds");
    let root = &scratch.0;
    let planned = plan(root, &fixture_pages(), false).unwrap();
    let written: Vec<&str> = planned
        .writes
        .iter()
        .map(|(path, _)| path.as_str())
        .collect();
    assert_eq!(
        written,
        [
            "openapi/upstream/search-lookalikes-bulk-status.yaml",
            "openapi/upstream/tech-intent-search-status.yaml"
        ]
    );
    for (path, contents) in &planned.writes {
        assert_eq!(contents, &read(root, path), "{path} differs from its page");
    }
    assert!(
        planned.removals.is_empty() && planned.notes.is_empty(),
        "{planned:?}"
    );
    apply(root, &planned).unwrap();
    let generated = codegen::generate(root).unwrap();
    assert!(codegen::stale(root, &generated.files).is_empty());
}

#[test]
fn a_page_for_an_operation_not_wrapped_is_skipped_unless_asked_for() {
    let scratch = ScratchRepo::new("vendor-new");
    let root = &scratch.0;
    let other = json!({
        "openapi": "3.1.0",
        "info": {"title": "OpenFunnel Agent Primitives", "version": "1.0.0"},
        "paths": {"/api/v1/account/credits": {"get": {
            "summary": "Account Credits",
            "operationId": "credits_api_v1_account_credits_get",
            "responses": {"200": {"description": "ok"}}
        }}}
    });
    let sources = [("credits.md".to_string(), page(&other))];
    let skipped = plan(root, &sources, false).unwrap();
    assert!(skipped.writes.is_empty());
    assert_eq!(skipped.notes.len(), 1);
    assert!(
        skipped.notes[0].contains("GET /api/v1/account/credits")
            && skipped.notes[0].contains("--new"),
        "{:?}",
        skipped.notes
    );
    let asked = plan(root, &sources, true).unwrap();
    assert_eq!(asked.writes.len(), 1);
    assert_eq!(asked.writes[0].0, "openapi/upstream/account-credits.yaml");
    assert_eq!(asked.writes[0].1, yaml(&other));
}

#[test]
fn anything_that_is_not_an_openapi_page_is_refused_saying_what_was_expected() {
    let scratch = ScratchRepo::new("vendor-refused");
    let root = &scratch.0;
    let refused = |text: &str| match plan(root, &[("input.md".into(), text.into())], true) {
        Err(error @ VendorError::NotOpenApi { .. }) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let prose = refused("# Changelog\n\nNothing to see.\n");
    assert!(
        prose.contains("input.md")
            && prose.contains("no ```yaml block")
            && prose.contains("Expected a documentation page"),
        "{prose}"
    );
    let two = json!({"openapi": "3.1.0", "paths": {}});
    let twice = refused(&format!("{}{}", page(&two), page(&two)));
    assert!(twice.contains("2 ```yaml blocks"), "{twice}");
    let not_openapi = refused("```yaml\nname: a docker-compose file\n```\n");
    assert!(
        not_openapi.contains("not an OpenAPI document"),
        "{not_openapi}"
    );
    // Nothing was written by any refusal.
    let generated = codegen::generate(root).unwrap();
    assert!(codegen::stale(root, &generated.files).is_empty());
}

/// Today's two upstream files and one operation the workspace does not use,
/// as one document (what OpenFunnel's `openapi.json` would be).
fn whole_document(root: &Path) -> Value {
    let mut whole = json!({"paths": {}, "components": {"schemas": {}}});
    for file in [
        "openapi/upstream/search-lookalikes-bulk-status.yaml",
        "openapi/upstream/tech-intent-search-status.yaml",
    ] {
        let doc: Value = serde_norway::from_str(&read(root, file)).unwrap();
        for key in ["openapi", "info", "servers", "security"] {
            whole[key] = doc[key].clone();
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            whole["paths"][path] = item.clone();
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            whole["components"]["schemas"][name] = schema.clone();
        }
    }
    whole["paths"]["/api/v1/account/credits"] = json!({"get": {
        "operationId": "credits_api_v1_account_credits_get",
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Credits"}}}}}
    }});
    whole["components"]["schemas"]["Credits"] =
        json!({"type": "object", "properties": {"left": {"type": "integer"}}});
    whole
}

#[test]
fn a_whole_document_is_sliced_to_the_operations_in_use_deterministically() {
    let scratch = ScratchRepo::new("vendor-whole");
    let root = &scratch.0;
    let whole = whole_document(root);
    // Published as JSON, as openapi.json is.
    let sources = [(
        "openapi.json".to_string(),
        serde_json::to_string_pretty(&whole).unwrap(),
    )];
    let planned = plan(root, &sources, false).unwrap();
    assert_eq!(planned, plan(root, &sources, false).unwrap());
    assert_eq!(planned.writes.len(), 1);
    let (target, sliced) = &planned.writes[0];
    assert_eq!(target, "openapi/upstream/openfunnel-agent-primitives.yaml");
    let sliced_doc: Value = serde_norway::from_str(sliced).unwrap();
    assert!(sliced_doc["paths"].get("/api/v1/account/credits").is_none());
    assert!(sliced_doc["components"]["schemas"].get("Credits").is_none());
    assert!(
        sliced_doc["components"]["schemas"]
            .get("BulkLookalikeJobResponse")
            .is_some()
    );
    assert_eq!(
        planned.removals,
        [
            "openapi/upstream/search-lookalikes-bulk-status.yaml",
            "openapi/upstream/tech-intent-search-status.yaml"
        ]
    );
    // The supplement's operations are not in the document: they stay there.
    assert!(
        planned
            .notes
            .iter()
            .any(|note| note.contains("does not define")
                && note.contains("POST /api/v1/account/search-lookalikes-bulk")),
        "{:?}",
        planned.notes
    );
    // The slice generates the same client and normalised document as the two
    // pages did; only the simulator's verbatim copy of the files changes.
    apply(root, &planned).unwrap();
    let generated = codegen::generate(root).unwrap();
    let stale = codegen::stale(root, &generated.files);
    let names: Vec<&str> = stale.iter().map(|file| file.path).collect();
    assert_eq!(
        names,
        [codegen::SIMULATOR_SPEC],
        "{}",
        codegen::stale_report(root, &stale)
    );
}

#[test]
fn a_page_for_an_operation_the_supplement_defines_warns_and_codegen_refuses() {
    let scratch = ScratchRepo::new("vendor-submit");
    let root = &scratch.0;
    let supplement: Value = serde_norway::from_str(&read(
        root,
        "openapi/supplement/openfunnel-rs-supplement.yaml",
    ))
    .unwrap();
    let submit = "/api/v1/account/search-lookalikes-bulk";
    let mut published = supplement.clone();
    published["paths"] = json!({ submit: supplement["paths"][submit].clone() });
    let planned = plan(root, &[("submit.md".into(), page(&published))], false).unwrap();
    assert_eq!(planned.writes.len(), 1);
    assert!(
        planned.notes.iter().any(|note| note.starts_with("warning:")
            && note.contains("openapi/supplement/openfunnel-rs-supplement.yaml")
            && note.contains(&format!("POST {submit}"))),
        "{:?}",
        planned.notes
    );
    apply(root, &planned).unwrap();
    let error = codegen::generate(root)
        .err()
        .expect("codegen must refuse")
        .to_string();
    assert!(
        error.contains(&planned.writes[0].0)
            && error.contains("openapi/supplement/openfunnel-rs-supplement.yaml"),
        "{error}"
    );
}

#[test]
fn vendoring_a_whole_document_again_keeps_its_file_and_never_removes_the_supplement() {
    let scratch = ScratchRepo::new("vendor-again");
    let root = &scratch.0;
    let mut whole = whole_document(root);
    // The document also documents the supplement's submit operation, and a
    // second method on the status path that the workspace does not use.
    let supplement: Value = serde_norway::from_str(&read(
        root,
        "openapi/supplement/openfunnel-rs-supplement.yaml",
    ))
    .unwrap();
    let submit = "/api/v1/account/search-lookalikes-bulk";
    whole["paths"][submit] = supplement["paths"][submit].clone();
    let status = "/api/v1/account/search-lookalikes-bulk/{job_id}";
    whole["paths"][status]["delete"] =
        json!({"operationId": "forget", "responses": {"204": {"description": "gone"}}});
    // A components-only upstream file is not anybody's operations.
    std::fs::write(
        root.join("openapi/upstream/shared-components.yaml"),
        "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\ncomponents: {schemas: {}}\n",
    )
    .unwrap();
    let sources = [(
        "openapi.json".to_string(),
        serde_json::to_string(&whole).unwrap(),
    )];
    let planned = plan(root, &sources, false).unwrap();
    assert!(
        !planned
            .removals
            .iter()
            .any(|path| path.contains("supplement") || path.contains("shared-components")),
        "{:?}",
        planned.removals
    );
    assert!(
        planned
            .notes
            .iter()
            .any(|note| note.starts_with("warning:") && note.contains(&format!("POST {submit}"))),
        "{:?}",
        planned.notes
    );
    let sliced: Value = serde_norway::from_str(&planned.writes[0].1).unwrap();
    assert!(sliced["paths"][status].get("get").is_some());
    assert!(
        sliced["paths"][status].get("delete").is_none(),
        "an operation not in use is left out"
    );
    apply(root, &planned).unwrap();
    // Again: the file it wrote is its own target, not a file to remove.
    let again = plan(root, &sources, false).unwrap();
    assert!(again.removals.is_empty(), "{:?}", again.removals);
    assert_eq!(again.writes, planned.writes);
}
