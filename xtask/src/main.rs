//! `cargo xtask` entry point. See the crate docs of `xtask` for the commands.

use std::process::ExitCode;
use xtask::codegen;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen           regenerate crates/openfunnel-api from openapi/
  codegen --check   fail if the checked-in generated files are stale (CI)
  bench [ARGS]      build the benchmarks and the CLI in release mode and run them
                    (ARGS go to openfunnel-bench: --quick, --write BENCHMARKS.md)
  vendor [--new] PATH...
                    copy what OpenFunnel publishes into openapi/upstream/: a docs
                    page's ```yaml block byte for byte, or the operations this
                    workspace uses sliced from a whole OpenAPI document
  semver            the semver gate: cargo-semver-checks on openfunnel-api and
                    openfunnel against the commit in .semver-baseline
  consumer-builds   build a fresh crate depending on openfunnel, cold, once per
                    feature set (TLS backends, schemars) and print a table
  lines [DIR]       production lines per file and in all (no blank lines, comments
                    or in-file tests; DIR defaults to crates/openfunnel/src)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => run_codegen(false),
        ["codegen", "--check"] => run_codegen(true),
        ["bench", rest @ ..] => run_bench(rest),
        ["consumer-builds"] => run_consumer_builds(),
        ["semver"] => match xtask::semver::check(&codegen::repository_root()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!(
                    "semver gate: the public API changed more than the version numbers allow: bump the minor number (pre-1.0) of the crate it names, in its Cargo.toml and in the workspace's dependency on it"
                );
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        ["vendor", rest @ ..] if !rest.is_empty() => run_vendor(rest),
        ["lines"] => run_lines("crates/openfunnel/src"),
        ["lines", dir] => run_lines(dir),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("unknown or missing command: {args:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints the production lines of every file under `dir`, then the total.
fn run_lines(dir: &str) -> ExitCode {
    match xtask::lines::count_dir(&codegen::repository_root().join(dir)) {
        Ok(files) => {
            for (path, lines) in &files {
                println!("{lines:>6}  {path}");
            }
            let total: usize = files.iter().map(|(_, lines)| lines).sum();
            println!("{total:>6}  total ({dir})");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot read {dir}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Vendors the published files at `args` (after an optional `--new`).
fn run_vendor(args: &[&str]) -> ExitCode {
    use xtask::vendor::{apply, plan, read_sources};
    let new = args.contains(&"--new");
    let paths: Vec<std::path::PathBuf> = args
        .iter()
        .filter(|arg| **arg != "--new")
        .map(std::path::PathBuf::from)
        .collect();
    let root = codegen::repository_root();
    let planned = match read_sources(&paths).and_then(|sources| plan(&root, &sources, new)) {
        Ok(planned) => planned,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut changed = planned.removals.len();
    for (path, contents) in &planned.writes {
        let before = std::fs::read_to_string(root.join(path)).ok();
        let what = match before {
            Some(before) if before == *contents => "unchanged",
            Some(_) => "changed",
            None => "new",
        };
        changed += usize::from(what != "unchanged");
        println!("{what:>9}  {path}");
    }
    for path in &planned.removals {
        println!("  removed  {path} (the sliced file holds its operations)");
    }
    for note in &planned.notes {
        eprintln!("{note}");
    }
    if let Err(error) = apply(&root, &planned) {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    if changed > 0 {
        println!("next: cargo xtask codegen, then read its change report and review the snapshots");
    }
    ExitCode::SUCCESS
}

/// Builds a consumer of the SDK cold for each feature set and prints a table.
fn run_consumer_builds() -> ExitCode {
    use xtask::consumer_build::{FEATURE_SETS, measure};
    let root = codegen::repository_root();
    let scratch = root.join("target/consumer-builds");
    println!("| features | cold `cargo build` | crates compiled | heavy crates in it |");
    println!("|---|---|---|---|");
    for set in FEATURE_SETS {
        match measure(set, &root, &scratch) {
            Ok(measured) => println!(
                "| {} | {:.0} s | {} | {} |",
                set.name,
                measured.time.as_secs_f64(),
                measured.crates,
                if measured.heavy.is_empty() {
                    "none".to_string()
                } else {
                    measured.heavy.join(", ")
                }
            ),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Builds the benchmark binary and the CLI (release), then runs the former.
fn run_bench(args: &[&str]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = codegen::repository_root();
    let built = std::process::Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "openfunnel-bench",
            "-p",
            "openfunnel-cli",
        ])
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("error: the release build failed");
        return ExitCode::FAILURE;
    }
    let status = std::process::Command::new(root.join("target/release/openfunnel-bench"))
        .current_dir(&root)
        .args(args)
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: cannot run the benchmarks: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_codegen(check: bool) -> ExitCode {
    let root = codegen::repository_root();
    let generated = match codegen::generate(&root) {
        Ok(generated) => generated,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The verdict comes before the diff: it is what a reviewer reads first.
    match codegen::change_report(&root, &generated) {
        Ok(Some(report)) => print!("{report}"),
        Ok(None) => {}
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    if check {
        let stale = codegen::stale(&root, &generated.files);
        if stale.is_empty() {
            eprintln!("generated code is up to date with openapi/");
            return ExitCode::SUCCESS;
        }
        eprint!("{}", codegen::stale_report(&root, &stale));
        return ExitCode::FAILURE;
    }
    match codegen::write(&root, &generated.files) {
        Ok(changed) if changed.is_empty() => eprintln!("generated code was already up to date"),
        Ok(changed) => {
            for path in changed {
                eprintln!("wrote {path}");
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
