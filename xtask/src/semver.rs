//! `cargo xtask semver`: the semver gate. cargo-semver-checks compares the
//! public API of `openfunnel-api` and `openfunnel` with a baseline commit and
//! fails when it breaks without the version bump semver requires (pre-1.0: the
//! minor number).
//!
//! The baseline is a git revision the repository records itself, in
//! [`BASELINE_FILE`] (CI's clone may carry no tags): the commit of the last
//! release, written there by the release step. A clone without that commit
//! fails the gate and says so, instead of passing silently.

use std::path::Path;
use std::process::Command;

/// Where the baseline commit is recorded, relative to the repository root.
pub const BASELINE_FILE: &str = ".semver-baseline";

/// The cargo-semver-checks version CI installs (and this command expects).
pub const TOOL_VERSION: &str = "0.51.0";

/// The crates the gate checks, with their directories.
pub const PACKAGES: [(&str, &str); 2] = [
    ("openfunnel-api", "crates/openfunnel-api"),
    ("openfunnel", "crates/openfunnel"),
];

/// Why the gate could not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum SemverError {
    /// The baseline file is missing or holds no commit.
    #[error(
        "{BASELINE_FILE} {0}: it must hold the commit of the last release (a line of 7 to 40 hex digits; `#` starts a comment)"
    )]
    NoBaseline(String),
    /// The clone lacks the baseline commit.
    #[error(
        "the baseline commit {0} (from {BASELINE_FILE}) is not in this clone's history, so the semver gate cannot compare against it: fetch it (`git fetch --unshallow`, or clone with full history)"
    )]
    BaselineMissing(String),
    /// cargo-semver-checks is not installed.
    #[error(
        "cargo-semver-checks is not installed: cargo install cargo-semver-checks --version {TOOL_VERSION} --locked"
    )]
    ToolMissing,
    /// A command could not be started.
    #[error("cannot run {command}: {source}")]
    Run {
        /// What was run.
        command: String,
        /// Why it did not start.
        source: std::io::Error,
    },
}

/// The commit recorded in a baseline file's text.
///
/// ```
/// let text = "# the first baseline: no release yet\n3a8d927\n";
/// assert_eq!(xtask::semver::parse_baseline(text).unwrap(), "3a8d927");
/// assert!(xtask::semver::parse_baseline("# nothing\n").is_err());
/// assert!(xtask::semver::parse_baseline("main\n").is_err());
/// ```
pub fn parse_baseline(text: &str) -> Result<String, SemverError> {
    let mut commits = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty());
    match (commits.next(), commits.next()) {
        (Some(commit), None)
            if (7..=40).contains(&commit.len())
                && commit.chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            Ok(commit.to_string())
        }
        (None, _) => Err(SemverError::NoBaseline("records no commit".into())),
        _ => Err(SemverError::NoBaseline(
            "holds something other than one commit".into(),
        )),
    }
}

/// `git ARGS` in `root`, its output whatever its status.
fn git(root: &Path, args: &[&str]) -> Result<std::process::Output, SemverError> {
    Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|source| SemverError::Run {
            command: "git".into(),
            source,
        })
}

/// Reads the baseline of the repository at `root` and checks that its commit
/// is in the clone.
pub fn baseline(root: &Path) -> Result<String, SemverError> {
    let text = std::fs::read_to_string(root.join(BASELINE_FILE))
        .map_err(|error| SemverError::NoBaseline(format!("cannot be read ({error})")))?;
    let commit = parse_baseline(&text)?;
    let present = git(root, &["cat-file", "-e", &format!("{commit}^{{commit}}")])?;
    if present.status.success() {
        Ok(commit)
    } else {
        Err(SemverError::BaselineMissing(commit))
    }
}

/// The `version` of a manifest's `[package]`.
///
/// ```
/// let manifest = "[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n[dependencies]\nb = { version = \"2\" }\n";
/// assert_eq!(xtask::semver::package_version(manifest).as_deref(), Some("0.1.0"));
/// ```
pub fn package_version(manifest: &str) -> Option<String> {
    let package = manifest.split("\n[").next()?;
    package.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix("version")?
            .trim_start()
            .strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_string())
    })
}

/// The release type cargo-semver-checks is told to assume: with the version
/// unchanged since the baseline it would assume a minor bump, which pre-1.0
/// allows any break; nothing was bumped, so only a patch's changes may pass.
/// With the version bumped, it reads the bump from the versions.
///
/// ```
/// assert_eq!(xtask::semver::release_type("0.1.0", "0.1.0"), Some("patch"));
/// assert_eq!(xtask::semver::release_type("0.1.0", "0.2.0"), None);
/// ```
pub fn release_type(baseline: &str, current: &str) -> Option<&'static str> {
    (baseline == current).then_some("patch")
}

fn version_at(root: &Path, commit: Option<&str>, dir: &str) -> Result<Option<String>, SemverError> {
    let manifest = match commit {
        None => std::fs::read_to_string(root.join(dir).join("Cargo.toml")).ok(),
        Some(commit) => {
            let shown = git(root, &["show", &format!("{commit}:{dir}/Cargo.toml")])?;
            shown
                .status
                .success()
                .then(|| String::from_utf8_lossy(&shown.stdout).into_owned())
        }
    };
    Ok(manifest.as_deref().and_then(package_version))
}

/// Runs cargo-semver-checks on each of [`PACKAGES`] against the baseline;
/// `Ok(true)` when every public API is compatible with its version number.
pub fn check(root: &Path) -> Result<bool, SemverError> {
    let commit = baseline(root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let installed = Command::new(&cargo)
        .args(["semver-checks", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        return Err(SemverError::ToolMissing);
    }
    let mut compatible = true;
    for (package, dir) in PACKAGES {
        let before = version_at(root, Some(&commit), dir)?;
        let now = version_at(root, None, dir)?;
        let assumed = match (&before, &now) {
            (Some(before), Some(now)) => release_type(before, now),
            _ => None,
        };
        let mut command = Command::new(&cargo);
        command
            .args(["semver-checks", "check-release", "--baseline-rev", &commit])
            .args(["--package", package])
            .current_dir(root);
        if let Some(assumed) = assumed {
            command.args(["--release-type", assumed]);
        }
        eprintln!(
            "semver gate: {package} {} against {commit} ({BASELINE_FILE}, version {}): {}",
            now.as_deref().unwrap_or("?"),
            before.as_deref().unwrap_or("none"),
            if assumed.is_some() {
                "not bumped, so only a patch's changes pass"
            } else {
                "bumped"
            }
        );
        let status = command.status().map_err(|source| SemverError::Run {
            command: "cargo semver-checks".into(),
            source,
        })?;
        compatible &= status.success();
    }
    Ok(compatible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_file_holds_exactly_one_commit() {
        assert_eq!(
            parse_baseline("# why\n3a8d927 # the start\n").unwrap(),
            "3a8d927"
        );
        assert!(
            matches!(parse_baseline("\n# only words\n"), Err(SemverError::NoBaseline(why)) if why.contains("no commit"))
        );
        for wrong in [
            "main",
            "3a8d92",
            "3a8d927\n0123abc",
            "zz8d927",
            &"a".repeat(41),
        ] {
            assert!(
                matches!(parse_baseline(wrong), Err(SemverError::NoBaseline(why)) if why.contains("other than one commit")),
                "{wrong}"
            );
        }
    }

    #[test]
    fn the_package_version_is_read_from_its_own_table_only() {
        let manifest = "[package]\nname = \"a\"\nversion = \"0.3.1\"\n[dependencies]\nb = { version = \"2\" }\n";
        assert_eq!(package_version(manifest).as_deref(), Some("0.3.1"));
        assert_eq!(
            package_version("[package]\nname = \"a\"\n[dependencies]\nversion = \"9\"\n"),
            None
        );
    }

    #[test]
    fn an_unbumped_version_is_checked_as_a_patch_and_a_bumped_one_by_its_numbers() {
        assert_eq!(release_type("0.1.0", "0.1.0"), Some("patch"));
        assert_eq!(release_type("0.1.0", "0.2.0"), None);
        assert_eq!(release_type("0.1.0", "0.1.1"), None);
    }

    #[test]
    fn versions_are_read_from_the_work_tree_and_from_a_commit() {
        let root = crate::codegen::repository_root();
        let now = version_at(&root, None, "crates/openfunnel-api").unwrap();
        assert!(
            now.as_deref().is_some_and(|v| v.starts_with("0.")),
            "{now:?}"
        );
        if root.join(".git").exists() {
            let head = version_at(&root, Some("HEAD"), "crates/openfunnel-api").unwrap();
            assert!(head.is_some(), "HEAD has the crate");
            assert_eq!(
                version_at(&root, Some("HEAD"), "crates/no-such-crate").unwrap(),
                None
            );
        }
    }
}
