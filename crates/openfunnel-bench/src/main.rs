//! Benchmarks of the SDK and the CLI against the simulator. Prints one
//! markdown table; `--write FILE` also writes it with the machine it ran on.
//!
//! Run with `cargo xtask bench` (release build of this binary and the CLI).
//! `--quick` shortens the two scenarios that wait for real jobs.

#![forbid(unsafe_code)]

mod completion;
mod compression;
mod decode;
mod export;
mod first_row;
mod fixtures;
mod many_jobs;
mod measure;
mod memory;
mod outage;
mod pacing;
mod table;

use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: openfunnel-bench [--quick] [--only 1,2,…] [--write FILE] [--cli PATH]";

/// The sections of an earlier BENCHMARKS.md that other commands write (from
/// its first `## ` heading on, as `cargo xtask consumer-builds`'s table), kept
/// when the benchmark table above them is rewritten.
fn other_sections(previous: &str) -> &str {
    previous
        .find("\n## ")
        .map_or("", |start| &previous[start..])
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("sink") {
        // Child mode of scenario 5.
        let (Some(base_url), Some(job_id), Some(rows)) = (
            args.get(1),
            args.get(2),
            args.get(3).and_then(|r| r.parse().ok()),
        ) else {
            eprintln!("usage: openfunnel-bench sink BASE_URL JOB_ID ROWS");
            return ExitCode::from(2);
        };
        memory::sink(base_url, job_id, rows).await;
        return ExitCode::SUCCESS;
    }
    if let Some(mode @ ("many" | "many-unbudgeted")) = args.first().map(String::as_str)
        && args.len() > 2
    {
        // Child mode of scenario 6.
        many_jobs::export_all(&args[1], &args[2..], mode == "many").await;
        return ExitCode::SUCCESS;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let write = value_of(&args, "--write");
    let cli = value_of(&args, "--cli")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .map(|exe| exe.with_file_name("openfunnel"))
                .unwrap_or_default()
        });
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !cli.exists() {
        eprintln!(
            "the CLI binary {} is missing: build it with `cargo build --release -p openfunnel-cli` or pass --cli",
            cli.display()
        );
        return ExitCode::from(2);
    }
    let long = if quick {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(60)
    };

    // `--only 7,8` runs those scenarios alone (while tuning one of them).
    let only: Option<Vec<String>> =
        value_of(&args, "--only").map(|list| list.split(',').map(str::to_string).collect());
    let wants = |n: &str| only.as_ref().is_none_or(|only| only.iter().any(|o| o == n));
    let mut lines = Vec::new();
    if wants("1") {
        eprintln!("scenario 1: export…");
        lines.extend(export::run().await);
    }
    if wants("2") || wants("3") {
        eprintln!(
            "scenarios 2 and 3: waiting for real jobs ({} s)…",
            long.as_secs()
        );
        let (detect, first) = tokio::join!(completion::run(long), first_row::run(long / 3));
        lines.extend(detect);
        lines.extend(first);
    }
    if wants("4") {
        eprintln!("scenario 4: decode…");
        lines.extend(decode::run().await);
    }
    if wants("5") {
        eprintln!("scenario 5: memory…");
        lines.extend(memory::run(&cli).await);
    }
    if wants("6") {
        eprintln!("scenario 6: many jobs…");
        lines.extend(many_jobs::run().await);
    }
    if wants("7") {
        eprintln!("scenario 7: outages (about 2 minutes)…");
        lines.extend(outage::run(&cli).await);
    }
    if wants("9") {
        eprintln!("scenario 9: compressed responses…");
        lines.extend(compression::run().await);
    }
    if wants("8") {
        eprintln!("scenario 8: pacing ({} s)…", if quick { 80 } else { 620 });
        lines.extend(pacing::run(quick).await);
    }

    let table = table::render(&lines);
    print!("{table}");
    if let Some(path) = write {
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let document = format!(
            "# Benchmarks\n\nLatest run of `cargo xtask bench{}` (release build), against the in-process simulator on loopback.\n\n{}\n{table}\nEach scenario is described in `crates/openfunnel-bench/src/`. Figures are from one run; ratios compare runs made side by side in that run.\n{}",
            if quick { " -- --quick" } else { "" },
            machine(),
            other_sections(&previous)
        );
        if let Err(error) = std::fs::write(&path, document) {
            eprintln!("cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {path}");
    }
    ExitCode::SUCCESS
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A line about the machine: CPU model, cores, memory.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown memory".into());
    format!("Machine: {model}, {cores} cores, {memory}, Linux.\n")
}

#[cfg(test)]
mod tests {
    use super::other_sections;

    #[test]
    fn a_rewrite_keeps_the_sections_other_commands_wrote() {
        let previous = "# Benchmarks\n\n| old table |\n\n## Consumer builds\n\n| features |\n";
        assert_eq!(
            other_sections(previous),
            "\n## Consumer builds\n\n| features |\n"
        );
        assert_eq!(other_sections("# Benchmarks\n\n| old table |\n"), "");
    }
}
