//! The semver gate refuses to pass silently: a clone without the baseline
//! commit, or a baseline file without one, is an error that says what to do.

use std::process::Command;
use xtask::semver::{BASELINE_FILE, SemverError, baseline};

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_baseline_commit_missing_from_the_clone_fails_naming_it_and_what_to_do() {
    let dir = std::env::temp_dir().join(format!("openfunnel-semver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    std::fs::write(dir.join("a"), "a").unwrap();
    git(&dir, &["add", "a"]);
    git(&dir, &["commit", "-q", "-m", "first"]);

    // Not recorded at all.
    match baseline(&dir) {
        Err(error @ SemverError::NoBaseline(_)) => {
            assert!(error.to_string().contains(BASELINE_FILE), "{error}")
        }
        other => panic!("expected NoBaseline, got {other:?}"),
    }
    // A commit this clone does not have (a shallow clone's case).
    let absent = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        dir.join(BASELINE_FILE),
        format!("# release 0.1.0\n{absent}\n"),
    )
    .unwrap();
    match baseline(&dir) {
        Err(error @ SemverError::BaselineMissing(_)) => {
            let said = error.to_string();
            assert!(
                said.contains(absent) && said.contains("git fetch --unshallow"),
                "{said}"
            );
        }
        other => panic!("expected BaselineMissing, got {other:?}"),
    }
    // The commit the clone has.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    std::fs::write(dir.join(BASELINE_FILE), format!("{head}\n")).unwrap();
    assert_eq!(baseline(&dir).unwrap(), head);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_repository_records_a_baseline_its_history_holds() {
    let root = xtask::codegen::repository_root();
    let in_git = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .current_dir(&root)
        .output()
        .is_ok_and(|output| output.status.success() && root.join(".git").exists());
    if !in_git {
        // A copy without its history (a package, a mutation-testing copy):
        // there is no history to hold the baseline; the file must still parse.
        let text = std::fs::read_to_string(root.join(BASELINE_FILE)).unwrap();
        xtask::semver::parse_baseline(&text).unwrap();
        return;
    }
    match baseline(&root) {
        Ok(commit) => assert!(commit.len() >= 7),
        // A shallow clone: the gate itself says so in CI; here, say it too.
        Err(SemverError::BaselineMissing(commit)) => {
            panic!("this clone lacks the semver baseline {commit}: clone with full history")
        }
        Err(error) => panic!("{error}"),
    }
}
