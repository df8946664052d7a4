//! The README's "Updating the spec", walked end to end in a scratch clone of
//! this repository: vendor a page, read the change report, run the semver
//! gate, bump the version when it says breaking.
//!
//! Slow (it builds the workspace's crates in the clone and rustdoc JSON for
//! the gate) and needs cargo-semver-checks, so it is ignored by `cargo test`
//! and run by CI as its own step:
//! `cargo test -p xtask --test spec_workflow -- --ignored`. It clones the
//! committed HEAD: commit before running it locally.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROW_FILE: &str = "openapi/upstream/search-lookalikes-bulk-status.yaml";

struct Clone(PathBuf);

impl Drop for Clone {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root() -> PathBuf {
    xtask::codegen::repository_root()
}

fn scratch_clone() -> Clone {
    let dir = std::env::temp_dir().join(format!("openfunnel-spec-workflow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cloned = Command::new("git")
        .args(["clone", "-q"])
        .arg(root())
        .arg(&dir)
        .status()
        .expect("git runs");
    assert!(cloned.success(), "git clone of the repository failed");
    Clone(dir)
}

/// `cargo xtask ARGS` in `dir`, sharing this repository's target directory
/// (so dependencies are not built again).
fn xtask(dir: &Path, args: &[&str]) -> Output {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "-q", "-p", "xtask", "--"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A documentation page, as docs.openfunnel.dev serves one, for `yaml`.
fn page(dir: &Path, name: &str, yaml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("# Search Lookalikes Bulk Results\n\n## OpenAPI\n\n````yaml agent-primitives/openapi.json GET /api/v1/account/search-lookalikes-bulk/{{job_id}}\n{yaml}````\n"),
    )
    .unwrap();
    path.display().to_string()
}

const LINKEDIN: &str = "        linkedin_url:
          anyOf:
            - type: string
            - type: 'null'
          title: Linkedin Url
          description: Company LinkedIn URL
";

const HEADCOUNT_BAND: &str = "        headcount_band:
          anyOf:
            - type: string
            - type: 'null'
          title: Headcount Band
          description: Employee range, as 51-200.
";

const MATCH_REASON: &str = "        match_reason:";

fn bump(dir: &Path, crate_dir: &str, package: &str) {
    let manifest = dir.join(crate_dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1),
    )
    .unwrap();
    let workspace = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&workspace).unwrap();
    let line = format!("{package} = {{ path = \"{crate_dir}\", version = \"0.1.0\"");
    assert!(
        text.contains(&line),
        "the workspace depends on {package} as expected"
    );
    std::fs::write(
        &workspace,
        text.replace(&line, &line.replace("0.1.0", "0.2.0")),
    )
    .unwrap();
}

#[test]
#[ignore = "slow: builds the workspace in a scratch clone and runs cargo-semver-checks (CI runs it as its own step)"]
fn a_compatible_and_a_breaking_spec_change_walk_the_readme_workflow() {
    let clone = scratch_clone();
    let dir = &clone.0;
    let original = std::fs::read_to_string(dir.join(ROW_FILE)).unwrap();
    assert!(original.contains(LINKEDIN) && original.contains(MATCH_REASON));

    // Vendoring the page today's file came from changes nothing.
    let same = page(dir, "same.md", &original);
    let vendored = xtask(dir, &["vendor", &same]);
    assert!(vendored.status.success(), "{}", text(&vendored));
    assert!(text(&vendored).contains("unchanged"), "{}", text(&vendored));

    // 1. A compatible change: a new optional row field.
    let added = page(
        dir,
        "added.md",
        &original.replace(LINKEDIN, &format!("{LINKEDIN}{HEADCOUNT_BAND}")),
    );
    let vendored = xtask(dir, &["vendor", &added]);
    assert!(text(&vendored).contains("changed"), "{}", text(&vendored));
    let report = xtask(dir, &["codegen"]);
    let said = text(&report);
    assert!(report.status.success(), "{said}");
    assert!(
        said.contains(
            "compatible  schema BulkLookalikeResultRow: optional field `headcount_band` added"
        ) && !said.contains("BREAKING"),
        "{said}"
    );
    let generated =
        std::fs::read_to_string(dir.join("crates/openfunnel-api/src/generated.rs")).unwrap();
    assert!(
        generated.contains("pub headcount_band:"),
        "the field is typed on the row"
    );
    let gate = xtask(dir, &["semver"]);
    assert!(
        gate.status.success(),
        "a new optional field passes the gate without a bump:\n{}",
        text(&gate)
    );

    // 2. A breaking change: a row field removed (from the original file).
    let without = remove_property(&original, "match_reason");
    let removed = page(dir, "removed.md", &without);
    let vendored = xtask(dir, &["vendor", &removed]);
    assert!(vendored.status.success(), "{}", text(&vendored));
    let report = xtask(dir, &["codegen"]);
    let said = text(&report);
    assert!(
        said.contains("BREAKING    schema BulkLookalikeResultRow: field `match_reason` removed")
            && said.contains("version bump"),
        "{said}"
    );
    let gate = xtask(dir, &["semver"]);
    assert!(
        !gate.status.success(),
        "a removed field fails the gate before the bump:\n{}",
        text(&gate)
    );
    bump(dir, "crates/openfunnel-api", "openfunnel-api");
    bump(dir, "crates/openfunnel", "openfunnel");
    let gate = xtask(dir, &["semver"]);
    assert!(
        gate.status.success(),
        "the minor bump satisfies the gate:\n{}",
        text(&gate)
    );
}

/// `yaml` without the row property `name`: its line and the more indented
/// lines under it.
fn remove_property(yaml: &str, name: &str) -> String {
    let heading = format!("        {name}:");
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in yaml.split_inclusive('\n') {
        if line.trim_end() == heading {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("         ") {
            continue;
        }
        skipping = false;
        kept.push(line);
    }
    assert!(
        kept.len() < yaml.lines().count(),
        "the property is in the file"
    );
    kept.concat()
}
