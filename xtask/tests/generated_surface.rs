//! Pins what `cargo xtask codegen` produces from `openapi/`, so that a spec
//! change shows up as a reviewed diff, and proves the drift check catches a
//! change to any vendored file.
//!
//! The normalised document is not snapshotted here: it is checked in
//! (`crates/openfunnel-api/openapi.normalized.yaml`) and drift-checked, so a
//! spec change shows its diff there once. The snapshot pins what the document
//! does not show: the generated Rust surface (signatures, fields, derives,
//! trait impls and the limits `FromStr` enforces).

mod common;

use common::ScratchRepo;
use xtask::codegen::{self, NORMALISED_DOCUMENT, SIMULATOR_SPEC};
use xtask::outline::api_outline;

fn generated() -> codegen::Generated {
    codegen::generate(&codegen::repository_root()).expect("openapi/ generates a client")
}

#[test]
fn public_api_outline_snapshot() {
    insta::assert_snapshot!("public_api_outline", api_outline(&generated().client));
}

#[test]
fn the_five_operations_have_clean_names() {
    let outline = api_outline(&generated().client);
    for name in [
        "search_lookalikes_bulk",
        "search_lookalikes_bulk_status",
        "search_lookalikes_bulk_cancel",
        "tech_intent_search",
        "tech_intent_search_status",
    ] {
        assert!(
            outline.contains(&format!("pub async fn {name}<")),
            "missing {name} in\n{outline}"
        );
    }
    assert!(
        !outline.contains("_api_v"),
        "a FastAPI suffix survived:\n{outline}"
    );
    assert!(
        !outline.contains("x_api_key"),
        "the key became an argument:\n{outline}"
    );
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generated().files, generated().files);
}

#[test]
fn checked_in_generated_files_are_current() {
    let root = codegen::repository_root();
    let generated = generated();
    let stale = codegen::stale(&root, &generated.files);
    assert!(stale.is_empty(), "{}", codegen::stale_report(&root, &stale));
}

#[test]
fn changing_one_description_in_any_vendored_file_makes_the_check_fail_until_regenerated() {
    let edits = [
        (
            "openapi/upstream/search-lookalikes-bulk-status.yaml",
            "Primary company domain",
        ),
        (
            "openapi/upstream/tech-intent-search-status.yaml",
            "Number of matching job postings within the lookback window.",
        ),
        (
            "openapi/supplement/openfunnel-rs-supplement.yaml",
            "Drop job aggregators and reposters.",
        ),
    ];
    for (spec_file, description) in edits {
        let scratch = ScratchRepo::new("drift");
        let root = &scratch.0;
        let generated = codegen::generate(root).unwrap();
        assert!(codegen::stale(root, &generated.files).is_empty());

        let path = root.join(spec_file);
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen(description, &format!("{description} Changed."), 1);
        assert_ne!(text, changed);
        std::fs::write(&path, changed).unwrap();

        let regenerated = codegen::generate(root).unwrap();
        let stale = codegen::stale(root, &regenerated.files);
        let stale_paths: Vec<&str> = stale.iter().map(|file| file.path).collect();
        assert!(
            stale_paths.contains(&NORMALISED_DOCUMENT),
            "{spec_file}: {stale_paths:?}"
        );
        // The simulator's own copy of the vendored file goes stale with it.
        assert!(
            stale_paths.contains(&SIMULATOR_SPEC),
            "{spec_file}: {stale_paths:?}"
        );
        let report = codegen::stale_report(root, &stale);
        assert!(report.contains("run `cargo xtask codegen`"), "{report}");
        assert!(report.contains(NORMALISED_DOCUMENT), "{report}");
        // A unified diff: the old line, the new line, each marked.
        let changed_line = report
            .lines()
            .find(|line| line.trim_start().starts_with('+') && line.contains("Changed."))
            .unwrap_or_else(|| panic!("{spec_file}: no added line in\n{report}"));
        assert!(changed_line.contains(description), "{changed_line}");
        assert!(
            report.lines().any(|line| line.trim_start().starts_with('-')
                && line.contains(description)
                && !line.contains("Changed.")),
            "{spec_file}: no removed line in\n{report}"
        );
        assert!(report.contains("@@"), "{report}");

        codegen::write(root, &regenerated.files).unwrap();
        assert!(codegen::stale(root, &regenerated.files).is_empty());
    }
}

#[test]
fn the_supplement_only_adds_operations_the_upstream_files_lack() {
    // Every upstream operation is still generated, and no upstream schema is
    // shadowed: the merge refuses a differing duplicate, so reaching here with
    // both fragments present proves the supplement agrees with upstream.
    let document = generated().document;
    let paths = document["paths"].as_object().unwrap();
    assert!(paths["/api/v1/account/search-lookalikes-bulk/{job_id}"]["get"].is_object());
    assert!(paths["/api/v2/tech/companies/intent-search/{job_id}"]["get"].is_object());
    assert_eq!(document["openapi"], "3.0.3");
}

#[test]
fn an_operation_vendored_upstream_while_the_supplement_defines_it_stops_codegen_naming_both() {
    // OpenFunnel starts documenting the submit operation our supplement
    // defines: the vendored copy lands in openapi/upstream/.
    let scratch = ScratchRepo::new("upstream-wins");
    let root = &scratch.0;
    let supplement = "openapi/supplement/openfunnel-rs-supplement.yaml";
    let vendored = "openapi/upstream/search-lookalikes-bulk-submit.yaml";
    std::fs::copy(root.join(supplement), root.join(vendored)).unwrap();
    let error = match codegen::generate(root) {
        Ok(_) => panic!("codegen accepted an operation defined upstream and in the supplement"),
        Err(error) => error.to_string(),
    };
    for part in [vendored, supplement, "upstream wins", "delete it from"] {
        assert!(error.contains(part), "{part:?} missing from: {error}");
    }
}
