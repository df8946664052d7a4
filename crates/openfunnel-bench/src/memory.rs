//! Scenario 5: memory. Stream 100,000 and 1,000,000 rows (no latency) into a
//! sink with the SDK, and through the CLI into a JSONL file; peak RSS of the
//! process doing it (a child process, so the simulator is not counted).

use crate::measure::run_with_peak_rss;
use crate::table::{Line, mib};
use openfunnel_sim::{JobProfile, JobType, Simulator};
use std::process::{Command, Stdio};

const LIMIT: u64 = 64 * 1024 * 1024;

pub async fn run(cli: &std::path::Path) -> Vec<Line> {
    let sim = Simulator::start().await.expect("simulator starts");
    let bench = std::env::current_exe().expect("own path");
    let mut sdk = Vec::new();
    let mut through_cli = Vec::new();
    for rows in [100_000u32, 1_000_000] {
        let id = sim.add_job(JobType::Lookalike, JobProfile::completed(rows));
        let mut child = Command::new(&bench);
        child
            .args(["sink", sim.base_url(), &id, &rows.to_string()])
            .stdout(Stdio::null());
        sdk.push(measure(child).await);

        let output = std::env::temp_dir().join(format!("openfunnel-bench-{rows}.jsonl"));
        let mut child = Command::new(cli);
        child
            .args(["-q", "lookalike", "results", &id, "--output"])
            .arg(&output)
            .env("OPENFUNNEL_BASE_URL", sim.base_url())
            .env("OPENFUNNEL_API_KEY", "of_bench");
        through_cli.push(measure(child).await);
        let lines = std::fs::read_to_string(&output)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        assert_eq!(lines, rows as usize, "the CLI wrote every row");
        let _ = std::fs::remove_file(&output);
        let _ = std::fs::remove_file(output.with_extension("jsonl.checkpoint.json"));
    }
    let line = |what: &str, peaks: &[u64]| {
        let growth = peaks[1] as f64 / peaks[0] as f64;
        Line::new(format!("5. peak RSS, {what}: 100,000 vs 1,000,000 rows"))
            .sdk(mib(peaks[0]))
            .comparison(mib(peaks[1]))
            .ratio(format!("{growth:.2}×"))
            .goal("< 64 MiB, same for both", peaks[1] < LIMIT && growth < 1.25)
    };
    vec![
        line("SDK into a sink", &sdk),
        line("CLI into a JSONL file", &through_cli),
    ]
}

async fn measure(command: Command) -> u64 {
    tokio::task::spawn_blocking(move || {
        let (status, peak) = run_with_peak_rss(command).expect("child runs");
        assert!(status.success(), "child failed: {status}");
        peak
    })
    .await
    .expect("measured")
}

/// The child side: stream every row of `job_id` and drop it.
pub async fn sink(base_url: &str, job_id: &str, expected: u64) {
    use futures_util::TryStreamExt;
    let client = crate::fixtures::client(base_url)
        .build()
        .expect("client builds");
    let rows = client
        .lookalike()
        .job(job_id)
        .expect("id")
        .rows()
        .try_fold(0u64, |n, row| async move {
            std::hint::black_box(row);
            Ok(n + 1)
        })
        .await
        .expect("all rows");
    assert_eq!(rows, expected);
}
