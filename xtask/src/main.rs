//! `cargo xtask` entry point. See the crate docs of `xtask` for the commands.

use std::process::ExitCode;
use xtask::codegen;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen           regenerate crates/openfunnel-api from openapi/
  codegen --check   fail if the checked-in generated files are stale (CI)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => run_codegen(false),
        ["codegen", "--check"] => run_codegen(true),
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

fn run_codegen(check: bool) -> ExitCode {
    let root = codegen::repository_root();
    let generated = match codegen::generate(&root) {
        Ok(generated) => generated,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
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
