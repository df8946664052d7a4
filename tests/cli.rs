//! End-to-end tests of the `openfunnel` binary against the simulator: every
//! exit code, the three formats, resume after an interruption, and faults.

use openfunnel_sim::{Fault, JobProfile, JobType, OutageAnswer, SimConfig, Simulator};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const KEY: &str = "of_cli_fixture_0123456789abcdef";

/// The binary under test: this build's, or the one `OPENFUNNEL_CLI_UNDER_TEST`
/// names (to show that a test fails on an older build).
fn binary() -> std::ffi::OsString {
    std::env::var_os("OPENFUNNEL_CLI_UNDER_TEST")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_openfunnel").into())
}

/// Runs the binary with `args` against `sim`, off the async runtime.
async fn run(sim: &Simulator, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .env("OPENFUNNEL_BASE_URL", sim.base_url())
        .env("OPENFUNNEL_API_KEY", KEY)
        .env_remove("RUST_LOG");
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .expect("the runner thread finishes")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Appends half a row to `file`, as a crash in the middle of a write would.
fn tear(file: &Path) {
    let mut torn = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    std::io::Write::write_all(&mut torn, b"{\"name\": \"half a ro").unwrap();
}

/// Starts the binary with `args` against `sim` without waiting for it.
fn spawn(sim: &Simulator, args: &[&str]) -> std::process::Child {
    std::process::Command::new(binary())
        .args(args)
        .env("OPENFUNNEL_BASE_URL", sim.base_url())
        .env("OPENFUNNEL_API_KEY", KEY)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// JSON lines, each a row; panics on anything else (stdout carries only data).
fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON row ({e}): {line:?}"))
        })
        .collect()
}

fn domains(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|row| row["domain"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_exactly_once(rows: &[Value], expected: usize) {
    let domains = domains(rows);
    assert_eq!(domains.len(), expected, "row count");
    assert_eq!(
        domains.iter().collect::<HashSet<_>>().len(),
        expected,
        "a row was written twice"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("openfunnel-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn running(rows: u32, run_ms: u64) -> JobProfile {
    JobProfile::default()
        .with_rows(rows)
        .with_pending_for(Duration::from_millis(50))
        .with_run_time(Duration::from_millis(run_ms))
}

/// Submits a lookalike job of `limit` rows with the binary; its id.
async fn submit_lookalike(sim: &Simulator, limit: u32) -> String {
    let limit = limit.to_string();
    let submitted = run(
        sim,
        &["lookalike", "submit", "--query", "APM", "--limit", &limit],
    )
    .await;
    assert_eq!(code(&submitted), 0, "{}", stderr(&submitted));
    stdout(&submitted).trim().to_string()
}

async fn sim_with(profile: JobProfile) -> Simulator {
    Simulator::start_with(SimConfig::default().with_profile(profile))
        .await
        .unwrap()
}

#[tokio::test]
async fn submit_prints_the_id_and_results_writes_every_row_as_jsonl() {
    let sim = sim_with(running(450, 600)).await;
    let submitted = run(
        &sim,
        &[
            "lookalike",
            "submit",
            "--query",
            "observability platforms",
            "--limit",
            "450",
        ],
    )
    .await;
    assert_eq!(code(&submitted), 0, "{}", stderr(&submitted));
    let job_id = stdout(&submitted).trim().to_string();
    assert_eq!(
        stdout(&submitted),
        format!("{job_id}\n"),
        "stdout holds the id alone"
    );

    let results = run(&sim, &["lookalike", "results", &job_id]).await;
    assert_eq!(code(&results), 0, "{}", stderr(&results));
    let rows = jsonl(&stdout(&results));
    assert_exactly_once(&rows, 450);
    assert!(
        rows[0]["match_reason"].as_str().is_some(),
        "every field is written"
    );
    assert!(
        stderr(&results).contains("wrote 450 rows"),
        "{}",
        stderr(&results)
    );
}

#[tokio::test]
async fn intent_rows_keep_their_firmographics_in_jsonl_and_csv() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::TechIntent, JobProfile::completed(120));
    let jsonl_out = run(&sim, &["tech-intent", "results", &job]).await;
    assert_eq!(code(&jsonl_out), 0, "{}", stderr(&jsonl_out));
    let rows = jsonl(&stdout(&jsonl_out));
    assert_eq!(rows.len(), 120);
    assert!(
        rows[0]["website"].as_str().unwrap().ends_with(".example"),
        "undeclared fields survive"
    );
    assert!(rows[0]["intent"]["qualified_job"]["title"].is_string());

    let csv_out = run(
        &sim,
        &["tech-intent", "results", &job, "--format", "csv", "-q"],
    )
    .await;
    assert_eq!(code(&csv_out), 0, "{}", stderr(&csv_out));
    let text = stdout(&csv_out);
    let mut lines = text.split("\r\n").filter(|line| !line.is_empty());
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("company_slug,company_name,post_count"),
        "{header}"
    );
    assert!(
        header.contains(",website,") && header.ends_with(",intent,other_fields"),
        "{header}"
    );
    assert_eq!(lines.count(), 120);
    assert!(
        stderr(&csv_out).is_empty(),
        "--quiet prints nothing: {}",
        stderr(&csv_out)
    );
}

#[tokio::test]
async fn json_format_is_one_array() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(230));
    let output = run(&sim, &["lookalike", "results", &job, "--format", "json"]).await;
    assert_eq!(code(&output), 0);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).expect("one JSON array");
    assert_exactly_once(&rows, 230);
}

#[tokio::test]
async fn invalid_input_exits_2_before_any_request() {
    let sim = Simulator::start().await.unwrap();
    for (args, expected) in [
        (
            vec!["lookalike", "submit", "--query", "x", "--limit", "20000"],
            "between 1 and 10000",
        ),
        (
            vec!["lookalike", "submit", "--limit", "5"],
            "a query or seed domains",
        ),
        (
            vec![
                "lookalike",
                "submit",
                "--query",
                "x",
                "--limit",
                "500",
                "--max-credits",
                "100",
            ],
            "up to 500 credits",
        ),
        (
            vec![
                "tech-intent",
                "submit",
                "--tech",
                "dbt",
                "--activity",
                "x",
                "--limit",
                "50",
                "--max-credits",
                "999",
            ],
            "up to 1000 credits",
        ),
        (
            vec![
                "tech-intent",
                "submit",
                "--tech",
                "dbt",
                "--activity",
                "x",
                "--lookback-days",
                "400",
            ],
            "between 1 and 365",
        ),
        (vec!["lookalike", "results", ".."], "path segment"),
        (vec!["lookalike", "results", "../admin"], "contains '/'"),
        (vec!["lookalike", "status"], "JOB_ID"),
        (vec!["lookalike", "results", "j", "--resume"], "--output"),
        (
            vec!["lookalike", "submit", "--seed-domain", "not a domain"],
            "--seed-domain \"not a domain\" is not a company website",
        ),
        (
            vec![
                "lookalike",
                "submit",
                "--query",
                "x",
                "--funding-stage",
                "Series Z",
            ],
            "is not a funding stage",
        ),
        (
            vec!["lookalike", "submit", "--query", "x", "--location", "usa"],
            "`--location` value \"usa\"",
        ),
        (
            vec![
                "tech-intent",
                "submit",
                "--tech",
                "dbt",
                "--activity",
                "x",
                "--min-employees",
                "10",
                "--max-employees",
                "5",
            ],
            "`--min-employees` (10) is greater than `--max-employees` (5)",
        ),
        (
            vec![
                "tech-intent",
                "cancel",
                "d8a1bddb-44f1-4c7f-87a7-f37496354ff6",
            ],
            "tech-intent jobs cannot be cancelled",
        ),
    ] {
        let output = run(&sim, &args).await;
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty());
    }
    assert_eq!(
        sim.requests().submits + sim.requests().polls,
        0,
        "no request was sent"
    );
}

#[tokio::test]
async fn a_base_url_that_would_leak_the_key_is_a_configuration_error_exiting_2() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel"));
    command
        .args(["lookalike", "status", "abc"])
        .env("OPENFUNNEL_BASE_URL", "http://api.openfunnel.dev")
        .env("OPENFUNNEL_API_KEY", "of_fixture_key");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("plain http"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("of_fixture_key"));
}

#[tokio::test]
async fn a_missing_key_exits_2_and_a_wrong_key_or_unknown_job_exits_1() {
    let sim = Simulator::start_with(SimConfig::default().with_api_key("of_the_right_key"))
        .await
        .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel"));
    command
        .args(["lookalike", "status", "abc"])
        .env("OPENFUNNEL_BASE_URL", sim.base_url())
        .env_remove("OPENFUNNEL_API_KEY");
    let missing = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&missing), 2);
    assert!(
        stderr(&missing).contains("OPENFUNNEL_API_KEY or pass one with --api-key"),
        "{}",
        stderr(&missing)
    );

    let wrong = run(&sim, &["lookalike", "status", "abc"]).await;
    assert_eq!(code(&wrong), 1);
    assert!(
        stderr(&wrong).contains("rejected the API key"),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains(KEY));

    let unknown = run(
        &sim,
        &[
            "--api-key",
            "of_the_right_key",
            "tech-intent",
            "results",
            "no-such-job",
        ],
    )
    .await;
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("was not found"),
        "{}",
        stderr(&unknown)
    );
}

#[tokio::test]
async fn a_failed_job_exits_3_and_keeps_the_rows_it_wrote() {
    let sim = sim_with(running(600, 600).failing_after(2)).await;
    let job_id = submit_lookalike(&sim, 600).await;
    let dir = temp_dir("failed");
    let file = dir.join("rows.jsonl");
    let output = run(
        &sim,
        &[
            "lookalike",
            "results",
            &job_id,
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("simulated failure after 2 pages"),
        "{}",
        stderr(&output)
    );
    assert_exactly_once(&jsonl(&std::fs::read_to_string(&file).unwrap()), 200);
    // It says where the rows are, and does not offer --resume (the job ended).
    assert!(
        stderr(&output).contains("the 200 rows it wrote are in"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("--resume"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_cancelled_job_exits_4_after_writing_its_pages() {
    let sim = sim_with(running(3_000, 3_000)).await;
    let job_id = submit_lookalike(&sim, 3000).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let cancelled = run(&sim, &["lookalike", "cancel", &job_id]).await;
    assert_eq!(code(&cancelled), 0, "{}", stderr(&cancelled));
    let answer: Value = serde_json::from_str(&stdout(&cancelled)).unwrap();
    assert_eq!(answer["status"], "cancelling");

    let results = run(&sim, &["lookalike", "results", &job_id]).await;
    assert_eq!(code(&results), 4, "{}", stderr(&results));
    let rows = jsonl(&stdout(&results));
    assert!(
        !rows.is_empty() && rows.len() < 3_000,
        "{} rows",
        rows.len()
    );
    assert_exactly_once(&rows, rows.len());
}

#[tokio::test]
async fn timeout_exits_5_and_no_wait_exits_0_with_the_rows_available_now() {
    let sim = sim_with(running(2_000, 6_000)).await;
    let job_id = submit_lookalike(&sim, 2000).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let now = run(&sim, &["lookalike", "results", &job_id, "--no-wait"]).await;
    assert_eq!(code(&now), 0, "{}", stderr(&now));
    let available = jsonl(&stdout(&now));
    assert!(
        !available.is_empty() && available.len() < 2_000,
        "{} rows",
        available.len()
    );
    assert_exactly_once(&available, available.len());

    let timed_out = run(&sim, &["lookalike", "results", &job_id, "--timeout", "1"]).await;
    assert_eq!(code(&timed_out), 5, "{}", stderr(&timed_out));
    assert!(
        stderr(&timed_out).contains("did not finish"),
        "{}",
        stderr(&timed_out)
    );
}

#[tokio::test]
async fn an_interrupted_export_resumes_to_every_row_exactly_once_even_after_a_torn_line() {
    for format in ["jsonl", "csv", "json"] {
        let sim = sim_with(running(1_200, 2_500)).await;
        let job_id = submit_lookalike(&sim, 1200).await;
        let dir = temp_dir(&format!("resume-{format}"));
        let file = dir.join(format!("rows.{format}"));
        let path = file.to_str().unwrap();

        // Interrupted: the timeout stops the export part-way.
        let first = run(
            &sim,
            &[
                "lookalike",
                "results",
                &job_id,
                "--format",
                format,
                "-o",
                path,
                "--timeout",
                "1",
            ],
        )
        .await;
        assert_eq!(code(&first), 5, "{format}: {}", stderr(&first));
        // A crash mid-write leaves half a row behind.
        tear(&file);

        let resumed = run(
            &sim,
            &[
                "lookalike",
                "results",
                &job_id,
                "--format",
                format,
                "-o",
                path,
                "--resume",
            ],
        )
        .await;
        assert_eq!(code(&resumed), 0, "{format}: {}", stderr(&resumed));
        let rows = read_rows(&file, format);
        assert_exactly_once(&rows, 1_200);

        // Resuming a finished export changes nothing.
        let again = run(
            &sim,
            &[
                "lookalike",
                "results",
                &job_id,
                "--format",
                format,
                "-o",
                path,
                "--resume",
            ],
        )
        .await;
        assert_eq!(code(&again), 0);
        assert_eq!(read_rows(&file, format).len(), 1_200);
    }
}

fn read_rows(file: &Path, format: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    match format {
        "jsonl" => jsonl(&text),
        "json" => serde_json::from_str(&text).expect("one valid JSON array"),
        _ => {
            let mut lines = text.split("\r\n").filter(|line| !line.is_empty());
            let header: Vec<&str> = lines.next().unwrap().split(',').collect();
            let domain = header.iter().position(|c| *c == "domain").unwrap();
            // Domains never need quoting, so a plain split finds the column.
            lines
                .map(|line| serde_json::json!({"domain": line.split(',').nth(domain).unwrap_or_default()}))
                .collect()
        }
    }
}

#[tokio::test]
async fn faults_are_absorbed_and_every_row_arrives_once() {
    let config = SimConfig::default()
        .with_profile(running(900, 500))
        .with_fault(Fault::ServerErrors {
            every: 10,
            burst: 2,
            status: 503,
        })
        .with_fault(Fault::RateLimit {
            every: 7,
            retry_after: Duration::from_secs(1),
        })
        .with_fault(Fault::TruncatedBody { every: 11 });
    let sim = Simulator::start_with(config).await.unwrap();
    let job_id = submit_lookalike(&sim, 900).await;
    let output = run(&sim, &["lookalike", "results", &job_id]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&jsonl(&stdout(&output)), 900);
}

#[tokio::test]
async fn an_export_rides_out_an_outage_says_so_once_and_exits_0() {
    // The service is down from 1 s to 4 s of the simulator's life; the job
    // (2 s) runs through it.
    let config = SimConfig::default()
        .with_profile(running(1_000, 2_000))
        .with_fault(Fault::Outage {
            after: Duration::from_secs(1),
            lasting: Duration::from_secs(3),
            answer: OutageAnswer::Status(503),
        });
    let sim = Simulator::start_with(config).await.unwrap();
    let job_id = submit_lookalike(&sim, 1_000).await;
    let output = run(&sim, &["lookalike", "results", &job_id]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&jsonl(&stdout(&output)), 1_000);
    assert!(
        sim.requests().during_outage >= 2,
        "the export met the outage"
    );
    let messages = stderr(&output);
    let said: Vec<&str> = messages
        .lines()
        .filter(|line| line.contains("OpenFunnel is failing (HTTP 503); trying again in"))
        .collect();
    assert_eq!(
        said.len(),
        1,
        "one line, not one per retry: {}",
        stderr(&output)
    );
}

#[tokio::test]
async fn status_prints_one_json_object_and_verbose_logs_never_show_the_key() {
    let sim = sim_with(running(500, 400)).await;
    let job_id = submit_lookalike(&sim, 500).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let traced = run(
        &sim,
        &["-vv", "lookalike", "results", &job_id, "--format", "csv"],
    )
    .await;
    assert_eq!(code(&traced), 0, "{}", stderr(&traced));
    assert!(
        !stderr(&traced).contains(KEY) && !stdout(&traced).contains(KEY),
        "the key leaked at -vv"
    );
    assert!(
        stderr(&traced).contains("TRACE") && stderr(&traced).contains("hyper_util"),
        "-vv logs everything, the HTTP client's traces too: {}",
        stderr(&traced)
    );
    let quiet = run(&sim, &["lookalike", "status", &job_id]).await;
    assert!(
        !stderr(&quiet).contains("DEBUG") && !stderr(&quiet).contains("TRACE"),
        "no -v, no logs: {}",
        stderr(&quiet)
    );
    let status = run(&sim, &["-v", "lookalike", "status", &job_id]).await;
    assert!(
        !stderr(&status).contains("TRACE") && !stderr(&status).contains("hyper_util"),
        "-v logs the SDK's requests only: {}",
        stderr(&status)
    );
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    let object: Value = serde_json::from_str(&stdout(&status)).expect("one JSON object");
    assert_eq!(object["status"], "completed");
    assert_eq!(object["pages"], 5, "the manifest's page count");
    assert_eq!(object["manifest"]["count"], 500);
    assert!(
        stderr(&status).contains("openfunnel.request"),
        "-v logs requests: {}",
        stderr(&status)
    );
    assert!(
        !stderr(&status).contains(KEY),
        "the key leaked: {}",
        stderr(&status)
    );
}

#[tokio::test]
async fn a_stale_manifest_loses_no_row_and_the_export_warns() {
    // Opaque cursors, a manifest 2 pages short of the chain, 404 for unknown
    // cursors: every row arrives and stderr says the manifest was wrong.
    let profile = JobProfile::completed(750)
        .with_cursors(openfunnel_sim::CursorScheme::Opaque)
        .with_manifest(openfunnel_sim::ManifestAccuracy::Fewer(2))
        .with_unknown_cursor_status(404);
    let sim = sim_with(profile.clone()).await;
    let job_id = sim.add_job(JobType::Lookalike, profile);
    let output = run(&sim, &["lookalike", "results", &job_id]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&jsonl(&stdout(&output)), 750);
    assert!(
        stderr(&output).contains("warning: job")
            && stderr(&output).contains("the manifest lists 6 pages, the next_cursor chain held 8"),
        "{}",
        stderr(&output)
    );
    let status = run(&sim, &["lookalike", "status", &job_id]).await;
    assert_eq!(
        code(&status),
        0,
        "status works on opaque cursors: {}",
        stderr(&status)
    );
}

#[tokio::test]
async fn status_of_a_running_job_with_many_pages_is_one_request() {
    // 1 000 pages of 10 rows over 10 s: about 100 pages are written after 1 s.
    let profile = JobProfile::default()
        .with_rows(10_000)
        .with_page_size(10)
        .with_pending_for(Duration::ZERO)
        .with_run_time(Duration::from_secs(10));
    let sim = sim_with(profile).await;
    let job_id = submit_lookalike(&sim, 10000).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = sim.requests().polls;
    let status = run(&sim, &["lookalike", "status", &job_id]).await;
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    let object: Value = serde_json::from_str(&stdout(&status)).expect("one JSON object");
    assert_eq!(object["status"], "running");
    assert!(
        object["processed"].as_u64().unwrap_or_default() >= 100,
        "{object}"
    );
    assert_eq!(
        object["pages"],
        Value::Null,
        "not known before the manifest"
    );
    assert_eq!(
        sim.requests().polls - before,
        1,
        "one request, no chain walk"
    );
}

#[tokio::test]
async fn demo_runs_without_a_key_or_network() {
    let dir = temp_dir("demo");
    let file = dir.join("demo.csv");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel"));
    command
        .args([
            "demo",
            "--rows",
            "300",
            "--format",
            "csv",
            "-o",
            file.to_str().unwrap(),
        ])
        .env_remove("OPENFUNNEL_API_KEY")
        .env_remove("OPENFUNNEL_BASE_URL");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("300 rows from 3 pages"),
        "{}",
        stderr(&output)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text.split("\r\n").filter(|l| !l.is_empty()).count(),
        301,
        "header + 300 rows"
    );
}

#[tokio::test]
async fn ctrl_c_keeps_the_rows_written_and_resume_finishes_the_export() {
    let sim = sim_with(running(1_500, 3_000)).await;
    let job_id = submit_lookalike(&sim, 1500).await;
    let dir = temp_dir("ctrl-c");
    let file = dir.join("rows.jsonl");
    let path = file.to_str().unwrap().to_string();

    let child = spawn(&sim, &["lookalike", "results", &job_id, "-o", &path]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let interrupted = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&interrupted), 130, "{}", stderr(&interrupted));
    assert!(
        stderr(&interrupted).contains("--resume"),
        "{}",
        stderr(&interrupted)
    );
    let partial = jsonl(&std::fs::read_to_string(&file).unwrap());
    assert!(
        partial.len() < 1_500,
        "interrupted before the end: {} rows",
        partial.len()
    );

    let resumed = run(
        &sim,
        &["lookalike", "results", &job_id, "-o", &path, "--resume"],
    )
    .await;
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    assert_exactly_once(&jsonl(&std::fs::read_to_string(&file).unwrap()), 1_500);
}

/// A small deterministic generator for the randomised cases (splitmix64).
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % below
    }
}

/// The delivery property across interruptions: exports interrupted at random
/// moments by Ctrl-C or by a hard kill (a crash: no clean-up at all), with a
/// torn last line now and then, under 503s, truncated bodies and dropped
/// connections, end with every row exactly once after `--resume`.
/// `OPENFUNNEL_RESUME_CASES=N` runs more than the 4 cases CI runs.
#[tokio::test]
async fn random_interruptions_and_resumes_under_faults_keep_every_row_once() {
    let cases: u64 = std::env::var("OPENFUNNEL_RESUME_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let mut random = Seeded(0x5EED_F00D);
    for case in 0..cases {
        let rows = 300 + random.next(1_200) as u32;
        let run_ms = 800 + random.next(1_500);
        let format = ["jsonl", "csv", "json"][random.next(3) as usize];
        let config = SimConfig::default()
            .with_profile(running(rows, run_ms))
            .with_fault(Fault::ServerErrors {
                every: 7 + random.next(10),
                burst: 1,
                status: 503,
            })
            .with_fault(Fault::TruncatedBody {
                every: 11 + random.next(10),
            })
            .with_fault(Fault::DropConnection {
                every: 13 + random.next(10),
            });
        let sim = Simulator::start_with(config).await.unwrap();
        let job_id = sim.add_job(JobType::Lookalike, running(rows, run_ms));
        let dir = temp_dir(&format!("random-{case}"));
        let file = dir.join(format!("rows.{format}"));
        let path = file.to_str().unwrap().to_string();
        let mut interruptions = Vec::new();
        let mut finished = false;
        for attempt in 0..12 {
            let mut args = vec![
                "-q",
                "lookalike",
                "results",
                job_id.as_str(),
                "--format",
                format,
                "-o",
                path.as_str(),
            ];
            if attempt > 0 {
                args.push("--resume");
            }
            let mut child = spawn(&sim, &args);
            tokio::time::sleep(Duration::from_millis(150 + random.next(750))).await;
            let signal = if random.next(2) == 0 { "-INT" } else { "-KILL" };
            if child.try_wait().unwrap().is_none() {
                let _ = std::process::Command::new("kill")
                    .args([signal, &child.id().to_string()])
                    .status();
                interruptions.push(signal);
            }
            let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            if output.status.code() == Some(0) {
                finished = true;
                break;
            }
            assert!(
                matches!(output.status.code(), None | Some(130)),
                "case {case}: unexpected exit {:?}: {}",
                output.status,
                stderr(&output)
            );
            if random.next(3) == 0 && file.exists() {
                tear(&file);
            }
        }
        if !finished {
            let last = run(
                &sim,
                &[
                    "-q",
                    "lookalike",
                    "results",
                    &job_id,
                    "--format",
                    format,
                    "-o",
                    &path,
                    "--resume",
                ],
            )
            .await;
            assert_eq!(code(&last), 0, "case {case}: {}", stderr(&last));
        }
        let written = read_rows(&file, format);
        assert_exactly_once(&written, rows as usize);
        eprintln!("case {case}: {rows} rows as {format}, interrupted by {interruptions:?}");
    }
}

#[tokio::test]
async fn resuming_a_complete_export_repairs_anything_written_after_it() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(250));
    for format in ["jsonl", "csv", "json"] {
        let dir = temp_dir(&format!("complete-{format}"));
        let file = dir.join(format!("rows.{format}"));
        let path = file.to_str().unwrap();
        // A --resume run keeps its checkpoint once complete (a plain one
        // removes it: nothing is left to resume).
        let first = run(
            &sim,
            &[
                "-q",
                "lookalike",
                "results",
                &job,
                "--format",
                format,
                "-o",
                path,
                "--resume",
            ],
        )
        .await;
        assert_eq!(code(&first), 0, "{}", stderr(&first));
        tear(&file);
        let polls_before = sim.requests().polls;
        let again = run(
            &sim,
            &[
                "-q",
                "lookalike",
                "results",
                &job,
                "--format",
                format,
                "-o",
                path,
                "--resume",
            ],
        )
        .await;
        assert_eq!(code(&again), 0, "{}", stderr(&again));
        assert_exactly_once(&read_rows(&file, format), 250);
        // The checkpoint says the export is complete: nothing is asked again.
        assert_eq!(sim.requests().polls, polls_before, "{format}");
    }
}

#[tokio::test]
async fn on_a_terminal_the_progress_bar_redraws_in_place_and_otherwise_lines_are_plain() {
    // `script` (util-linux, in every Debian base system) runs the command on
    // a pseudo-terminal and records what it drew.
    let dir = temp_dir("tty");
    let rows = dir.join("rows.jsonl");
    let log = dir.join("terminal.log");
    let command = format!(
        "{} demo --rows 300 -o {}",
        env!("CARGO_BIN_EXE_openfunnel"),
        rows.display()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command])
        .arg(&log)
        .env_remove("OPENFUNNEL_API_KEY");
    let status = tokio::task::spawn_blocking(move || {
        script.output().expect("`script` is installed (util-linux)")
    })
    .await
    .unwrap()
    .status;
    assert!(status.success(), "{status}");
    let drawn = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(
        drawn.contains("\r\u{1b}[2K"),
        "the bar is redrawn in place: {drawn:?}"
    );
    assert!(
        drawn.contains("rows ·") && drawn.contains("[00:00:0"),
        "status, rows and elapsed time are shown"
    );
    assert!(
        drawn.contains("300 rows from 3 pages"),
        "the summary is printed above the bar"
    );
    assert_eq!(std::fs::read_to_string(&rows).unwrap().lines().count(), 300);

    // Not a terminal: plain lines, no escape codes.
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(200));
    let plain = run(&sim, &["lookalike", "results", &job]).await;
    assert!(
        stderr(&plain).contains("openfunnel: "),
        "{}",
        stderr(&plain)
    );
    assert!(
        !stderr(&plain).contains('\u{1b}'),
        "escape codes off a terminal: {:?}",
        stderr(&plain)
    );
}

/// Runs the binary with `args` only (no simulator, no key).
fn run_plain(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel"))
        .args(args)
        .env_remove("OPENFUNNEL_API_KEY")
        .output()
        .expect("the binary runs")
}

#[test]
fn help_puts_global_options_under_their_own_heading_and_shows_examples() {
    for command in [
        &["--help"][..],
        &["lookalike", "--help"],
        &["tech-intent", "--help"],
        &["lookalike", "submit", "--help"],
        &["lookalike", "results", "--help"],
        &["tech-intent", "submit", "--help"],
        &["completions", "--help"],
    ] {
        let help = stdout(&run_plain(command));
        let (own, global) = help
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{command:?}: no global heading in\n{help}"));
        for flag in ["--base-url", "--api-key", "--quiet", "--verbose"] {
            assert!(
                !own.contains(flag),
                "{command:?}: {flag} among the command's options"
            );
            assert!(global.contains(flag), "{command:?}: {flag} missing");
        }
        let examples = help
            .split_once("EXAMPLES:\n")
            .map(|(_, examples)| examples)
            .unwrap_or_else(|| panic!("{command:?}: no examples in\n{help}"));
        assert!(
            examples
                .lines()
                .all(|line| line.starts_with("  ") && line.contains("openfunnel ")),
            "{command:?}:\n{examples}"
        );
        assert!(
            !help.contains("[env:"),
            "{command:?}: an env value shown:\n{help}"
        );
    }
}

#[test]
fn variables_set_in_the_environment_are_not_shown_as_required_flags() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel"))
        .args(["lookalike", "status"])
        .env("OPENFUNNEL_BASE_URL", "http://127.0.0.1:9")
        .env("OPENFUNNEL_API_KEY", "of_fixture_key")
        .output()
        .expect("the binary runs");
    assert_eq!(code(&output), 2);
    let usage = stderr(&output);
    assert!(
        usage.contains("Usage: openfunnel lookalike status <JOB_ID>"),
        "{usage}"
    );
    assert!(
        !usage.contains("--base-url") && !usage.contains("--api-key"),
        "{usage}"
    );
    assert!(!usage.contains("of_fixture_key"), "{usage}");
}

#[test]
fn completions_for_bash_are_a_script_bash_accepts() {
    let output = run_plain(&["completions", "bash"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let script = stdout(&output);
    assert!(script.contains("openfunnel") && script.contains("tech-intent"));
    let path =
        std::env::temp_dir().join(format!("openfunnel-completion-{}.bash", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        checked.status.success(),
        "bash -n refused the script: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for shell in ["zsh", "fish", "powershell"] {
        let output = run_plain(&["completions", shell]);
        assert_eq!(code(&output), 0, "{shell}");
        assert!(stdout(&output).contains("openfunnel"), "{shell}");
    }
    assert_eq!(code(&run_plain(&["completions", "tcsh"])), 2);
}

/// Runs `command` on a pseudo-terminal (util-linux `script`), so that the
/// CLI draws its live progress bar; returns what the terminal showed, with
/// colours stripped and every redraw on its own line.
async fn on_a_terminal(command: String, envs: Vec<(&'static str, String)>) -> String {
    tokio::task::spawn_blocking(move || run_on_a_terminal(&command, &envs))
        .await
        .expect("the terminal run completes")
}

fn run_on_a_terminal(command: &str, envs: &[(&str, String)]) -> String {
    let mut script = std::process::Command::new("script");
    script.args(["-qec", command, "/dev/null"]);
    for (name, value) in envs {
        script.env(name, value);
    }
    let output = script
        .output()
        .expect("util-linux `script` provides the pseudo-terminal");
    assert!(output.status.success(), "{command}: {output:?}");
    let raw = String::from_utf8_lossy(&output.stdout);
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence: ESC [ params letter.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c == '\r' {
            text.push('\n');
        } else {
            text.push(c);
        }
    }
    text
}

#[tokio::test]
async fn the_progress_bar_shows_a_percent_and_an_eta_and_ends_on_the_summary() {
    let binary = env!("CARGO_BIN_EXE_openfunnel");
    let out = std::env::temp_dir().join(format!("openfunnel-pty-{}.jsonl", std::process::id()));
    // A lookalike job submitted in this run: its limit is the total.
    let demo = on_a_terminal(
        format!("{binary} demo --rows 3000 --output {}", out.display()),
        Vec::new(),
    )
    .await;
    let bars: Vec<&str> = demo.lines().filter(|line| line.contains("% ETA")).collect();
    assert!(
        bars.iter().any(|line| line.contains("running")
            && (1..100).any(|percent| line.contains(&format!(" {percent}% ETA")))),
        "a bar part way, with a percent and an ETA, while the job runs:\n{demo}"
    );
    let last_bar = bars.last().expect("at least one bar");
    assert!(
        last_bar.contains("100%") && last_bar.contains("done · 3000 rows · 30 pages"),
        "the last line says what the summary says: {last_bar}"
    );
    assert!(
        demo.contains("openfunnel demo: 3000 rows from 30 pages"),
        "{demo}"
    );

    // The export of a completed job: the manifest's page count is the total.
    let sim = sim_with(JobProfile::completed(2_000).with_page_size(50)).await;
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::completed(2_000).with_page_size(50),
    );
    let envs = vec![
        ("OPENFUNNEL_BASE_URL", sim.base_url().to_string()),
        ("OPENFUNNEL_API_KEY", "of_test".to_string()),
    ];
    // (--resume keeps the checkpoint, so the run after it finds the export
    // already complete; with nothing to resume it starts afresh.)
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("jsonl.checkpoint.json"));
    let export = on_a_terminal(
        format!(
            "{binary} lookalike results {job} --output {} --resume",
            out.display()
        ),
        envs.clone(),
    )
    .await;
    let again = on_a_terminal(
        format!(
            "{binary} lookalike results {job} --output {} --resume",
            out.display()
        ),
        envs,
    )
    .await;
    assert!(
        again.contains("done · 2000 rows (already complete)"),
        "an already complete export ends on what the file holds:\n{again}"
    );
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("jsonl.checkpoint.json"));
    let bars: Vec<&str> = export
        .lines()
        .filter(|line| line.contains("% ETA"))
        .collect();
    assert!(
        bars.iter().any(|line| line.contains("/40 pages")),
        "the bar counts the manifest's 40 pages:\n{export}"
    );
    let last_bar = bars.last().expect("at least one bar");
    assert!(
        last_bar.contains("100%") && last_bar.contains("done · 2000 rows · 40 pages"),
        "the last line says what the summary says: {last_bar}"
    );
    assert!(export.contains("wrote 2000 rows from 40 pages"), "{export}");
    // The percent never goes back, and no ETA is guessed at 0%.
    let percents: Vec<u32> = export
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (before, _) = line.split_once("% ")?;
            before.rsplit(' ').next()?.trim().parse().ok()
        })
        .collect();
    assert!(percents.len() > 1, "percents drawn:\n{export}");
    assert!(
        percents.windows(2).all(|pair| pair[1] >= pair[0]),
        "the bar went back: {percents:?}"
    );
    assert!(!export.contains("  0% ETA"), "an ETA at 0%:\n{export}");
}

#[test]
fn demo_rows_out_of_range_are_refused_naming_the_flag() {
    for rows in ["0", "10001"] {
        let output = run_plain(&["demo", "--rows", rows]);
        assert_eq!(code(&output), 2, "{}", stderr(&output));
        assert!(stderr(&output).contains("--rows"), "{}", stderr(&output));
        assert!(!stderr(&output).contains("`limit`"), "{}", stderr(&output));
    }
}

#[test]
fn without_a_terminal_the_last_progress_line_agrees_with_the_summary() {
    let out = std::env::temp_dir().join(format!("openfunnel-lines-{}.jsonl", std::process::id()));
    let output = run_plain(&[
        "demo",
        "--rows",
        "500",
        "--output",
        &out.display().to_string(),
    ]);
    let _ = std::fs::remove_file(&out);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    let progress: Vec<&str> = messages
        .lines()
        .filter(|line| line.starts_with("openfunnel: "))
        .collect();
    assert_eq!(
        progress.last().copied(),
        Some("openfunnel: done · 500 rows · 5 pages"),
        "{messages}"
    );
    assert!(messages.contains("500 rows from 5 pages"), "{messages}");
}

#[tokio::test]
async fn resuming_from_a_checkpoint_the_server_forgot_says_to_start_over_and_keeps_the_rows() {
    // The two kinds document different statuses for a bad cursor.
    for status in [400, 404, 422] {
        let sim = sim_with(running(1_200, 2_500).with_unknown_cursor_status(status)).await;
        let job_id = submit_lookalike(&sim, 1200).await;
        let dir = temp_dir(&format!("forgotten-{status}"));
        let file = dir.join("rows.jsonl");
        let path = file.to_str().unwrap();
        let first = run(
            &sim,
            &[
                "lookalike",
                "results",
                &job_id,
                "-o",
                path,
                "--timeout",
                "1",
            ],
        )
        .await;
        assert_eq!(code(&first), 5, "{}", stderr(&first));
        let kept = std::fs::read_to_string(&file).unwrap();
        assert!(!kept.is_empty(), "part of the job was exported");

        // The server has since forgotten the page the checkpoint points at.
        let sidecar = dir.join("rows.jsonl.checkpoint.json");
        let mut state: Value = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
        state["checkpoint"]["cursor"] = Value::from("page_9999");
        std::fs::write(&sidecar, serde_json::to_vec(&state).unwrap()).unwrap();

        let resumed = run(
            &sim,
            &["lookalike", "results", &job_id, "-o", path, "--resume"],
        )
        .await;
        let message = stderr(&resumed);
        assert_eq!(code(&resumed), 1, "HTTP {status}: {message}");
        assert!(
            message.contains("no longer knows where") && message.contains("without --resume"),
            "HTTP {status}: {message}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            kept,
            "the rows are kept"
        );
    }
}

#[tokio::test]
async fn pages_that_grow_while_the_job_runs_are_exported_once_and_counted_once() {
    use openfunnel_sim::PageWrites;
    let sim = sim_with(running(1_000, 1_500).with_page_writes(PageWrites::Growing)).await;
    let job_id = submit_lookalike(&sim, 1000).await;
    let dir = temp_dir("growing");
    let file = dir.join("rows.jsonl");
    let results = run(
        &sim,
        &[
            "lookalike",
            "results",
            &job_id,
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&results), 0, "{}", stderr(&results));
    let rows = jsonl(&std::fs::read_to_string(&file).unwrap());
    assert_exactly_once(&rows, 1_000);
    assert!(
        stderr(&results).contains("wrote 1000 rows from 10 pages"),
        "{}",
        stderr(&results)
    );
}

// ------------------------------------------------ nothing lost at the edges

/// Runs the binary with `args` against `base_url` (not a simulator).
async fn run_at(base_url: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .env("OPENFUNNEL_BASE_URL", base_url)
        .env("OPENFUNNEL_API_KEY", KEY)
        .env_remove("RUST_LOG");
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .expect("the runner thread finishes")
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn no_wait_is_an_error_when_requests_fail_and_reads_a_completed_job_to_its_end() {
    // Every poll answers 503, or 429: the export fails (exit 1), it does not
    // report "nothing more available".
    for fault in [
        Fault::ServerErrors {
            every: 1,
            burst: 1,
            status: 503,
        },
        Fault::RateLimit {
            every: 1,
            retry_after: Duration::ZERO,
        },
    ] {
        let sim = Simulator::start_with(SimConfig::default().with_fault(fault.clone()))
            .await
            .unwrap();
        let job = sim.add_job(JobType::Lookalike, JobProfile::completed(300));
        let output = run(&sim, &["-q", "lookalike", "results", &job, "--no-wait"]).await;
        assert_eq!(code(&output), 1, "{fault:?}: {}", stderr(&output));
        assert!(stdout(&output).is_empty());
        assert!(
            !stderr(&output).contains("available now"),
            "{}",
            stderr(&output)
        );
    }
    // Nothing listening: exit 1, and the cause in plain words.
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let output = run_at(&closed, &["-q", "lookalike", "results", "j1", "--no-wait"]).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("connection was refused"),
        "{}",
        stderr(&output)
    );
    // A completed job behind a server failing one poll in six: retried as
    // usual, every row, every run.
    let sim = Simulator::start_with(SimConfig::default().with_fault(Fault::ServerErrors {
        every: 6,
        burst: 1,
        status: 503,
    }))
    .await
    .unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(1_000));
    for attempt in 0..3 {
        let output = run(&sim, &["-q", "lookalike", "results", &job, "--no-wait"]).await;
        assert_eq!(code(&output), 0, "run {attempt}: {}", stderr(&output));
        assert_exactly_once(&jsonl(&stdout(&output)), 1_000);
    }
}

/// A finished export of `job` into `dir/rows.<format>` that keeps its
/// checkpoint (a `--resume` run, which starts afresh when there is nothing
/// to resume); its path.
async fn finished_export(sim: &Simulator, job: &str, dir: &Path, format: &str) -> PathBuf {
    let file = dir.join(format!("rows.{format}"));
    // Nothing to resume: the run starts afresh.
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(dir.join(format!("rows.{format}.checkpoint.json")));
    let output = run(
        sim,
        &[
            "-q",
            "lookalike",
            "results",
            job,
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    file
}

async fn resume(sim: &Simulator, job: &str, file: &Path, format: &str) -> Output {
    run(
        sim,
        &[
            "-q",
            "lookalike",
            "results",
            job,
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "--resume",
        ],
    )
    .await
}

#[tokio::test]
async fn resume_refuses_a_file_that_is_not_the_one_its_checkpoint_describes() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(300));
    for format in ["jsonl", "csv", "json"] {
        let dir = temp_dir(&format!("refuse-{format}"));
        // Deleted after it finished: refused, and not recreated.
        let file = finished_export(&sim, &job, &dir, format).await;
        std::fs::remove_file(&file).unwrap();
        let output = resume(&sim, &job, &file, format).await;
        assert_eq!(code(&output), 2, "{format}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("is missing"),
            "{}",
            stderr(&output)
        );
        assert!(!file.exists(), "{format}: nothing written in its place");

        // Emptied (`: > rows.jsonl`): refused, still empty (no NUL bytes).
        let file = finished_export(&sim, &job, &dir, format).await;
        std::fs::write(&file, b"").unwrap();
        let output = resume(&sim, &job, &file, format).await;
        assert_eq!(code(&output), 2, "{format}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("holds 0 bytes"),
            "{}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("without --resume"),
            "{}",
            stderr(&output)
        );
        assert_eq!(std::fs::read(&file).unwrap().len(), 0);

        // One byte of its prefix changed: refused, left exactly as it is.
        let file = finished_export(&sim, &job, &dir, format).await;
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'x' { b'y' } else { b'x' };
        std::fs::write(&file, &bytes).unwrap();
        let output = resume(&sim, &job, &file, format).await;
        assert_eq!(code(&output), 2, "{format}: {}", stderr(&output));
        assert!(stderr(&output).contains("differ"), "{}", stderr(&output));
        assert_eq!(std::fs::read(&file).unwrap(), bytes, "{format}: untouched");

        // Longer than its checkpoint says (a torn line): cut back, as before.
        let file = finished_export(&sim, &job, &dir, format).await;
        tear(&file);
        let output = resume(&sim, &job, &file, format).await;
        assert_eq!(code(&output), 0, "{format}: {}", stderr(&output));
        assert_exactly_once(&read_rows(&file, format), 300);
    }
}

#[tokio::test]
async fn a_fresh_export_removes_the_old_checkpoint_before_it_empties_the_file() {
    // Job A's finished export; then an export of job B into the same file
    // that cannot remove A's checkpoint (it was replaced by a directory):
    // B stops before it empties the file, so A's rows are still there.
    let sim = Simulator::start().await.unwrap();
    let a = sim.add_job(JobType::Lookalike, JobProfile::completed(200));
    let b = sim.add_job(JobType::Lookalike, JobProfile::completed(100));
    let dir = temp_dir("checkpoint-order");
    let file = finished_export(&sim, &a, &dir, "jsonl").await;
    let before = std::fs::read(&file).unwrap();
    let sidecar = dir.join("rows.jsonl.checkpoint.json");
    std::fs::remove_file(&sidecar).unwrap();
    std::fs::create_dir_all(sidecar.join("in-the-way")).unwrap();
    let output = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &b,
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("old checkpoint"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "A's rows are untouched"
    );
}

#[tokio::test]
async fn a_second_export_into_the_same_file_is_refused_while_the_first_runs() {
    let sim = sim_with(running(1_500, 3_000)).await;
    let first_job = submit_lookalike(&sim, 1500).await;
    let other_job = submit_lookalike(&sim, 1500).await;
    let dir = temp_dir("lock");
    let file = dir.join("rows.jsonl");
    let path = file.to_str().unwrap();
    let first = spawn(
        &sim,
        &["-q", "lookalike", "results", &first_job, "-o", path],
    );
    let sidecar = dir.join("rows.jsonl.checkpoint.json");
    while !sidecar.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (job, resume) in [(&other_job, false), (&first_job, true)] {
        let mut args = vec!["-q", "lookalike", "results", job.as_str(), "-o", path];
        if resume {
            args.push("--resume");
        }
        let started = std::time::Instant::now();
        let second = run(&sim, &args).await;
        assert_eq!(code(&second), 2, "{}", stderr(&second));
        assert!(
            stderr(&second).contains("another export is writing"),
            "{}",
            stderr(&second)
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused at once"
        );
    }
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_exactly_once(&read_rows(&file, "jsonl"), 1_500);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn extreme_time_limits_neither_panic_nor_misbehave() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(200));
    let huge = u64::MAX.to_string();
    for flag in ["--timeout", "--idle-timeout"] {
        let output = run(&sim, &["-q", "lookalike", "results", &job, flag, &huge]).await;
        assert_eq!(code(&output), 0, "{flag} {huge}: {}", stderr(&output));
        assert_exactly_once(&jsonl(&stdout(&output)), 200);
    }
    // Zero: the time is up at once; a clean exit 5 naming the flag.
    let running_job = sim.add_job(JobType::Lookalike, running(500, 60_000));
    for flag in ["--timeout", "--idle-timeout"] {
        let output = run(
            &sim,
            &["-q", "lookalike", "results", &running_job, flag, "0"],
        )
        .await;
        assert_eq!(code(&output), 5, "{flag} 0: {}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("raise {flag}")),
            "{}",
            stderr(&output)
        );
    }
}

#[tokio::test]
async fn the_idle_timeout_does_not_end_an_export_that_keeps_moving() {
    // Pages land for about 3 s; an idle timeout of 1 s never fires, since
    // each page is progress. (With a 1 s bound on the whole export, as the
    // old default deadline was, this stopped after 1 s.)
    let sim = sim_with(running(1_500, 3_000)).await;
    let job = submit_lookalike(&sim, 1500).await;
    let output = run(
        &sim,
        &["-q", "lookalike", "results", &job, "--idle-timeout", "1"],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&jsonl(&stdout(&output)), 1_500);

    // Standing still (pending for a minute): it ends after 1 s, says which
    // flag, and that the rows written are kept for --resume.
    let sim = sim_with(
        JobProfile::default()
            .with_rows(100)
            .with_pending_for(Duration::from_secs(60)),
    )
    .await;
    let job = submit_lookalike(&sim, 100).await;
    let dir = temp_dir("idle");
    let file = dir.join("rows.jsonl");
    let output = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "--idle-timeout",
            "1",
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&output), 5, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("made no progress for 1 s"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("raise --idle-timeout"),
        "{}",
        stderr(&output)
    );
    // No row was written: nothing to say is kept.
    assert!(!stderr(&output).contains("are kept"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_failure_after_rows_were_written_says_they_are_kept_and_how_to_continue() {
    let sim = sim_with(running(2_000, 8_000)).await;
    let job = submit_lookalike(&sim, 2000).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let dir = temp_dir("kept");
    let file = dir.join("rows.jsonl");
    let output = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "--timeout",
            "2",
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&output), 5, "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("did not finish within --timeout 2 s"),
        "{text}"
    );
    assert!(!text.contains("PollPolicy"), "no SDK-only advice: {text}");
    let written = read_rows(&file, "jsonl").len();
    assert!(written > 0, "rows were written");
    assert!(
        text.contains(&format!("the {written} rows written to")) && text.contains("--resume"),
        "{text}"
    );
}

#[tokio::test]
async fn a_timeout_also_bounds_a_request_that_stalls_after_its_headers() {
    // A server that sends headers, then nothing: the request timeout is
    // 30 s, but --timeout 2 ends the export at about 2 s.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
                let headers = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
                let _ = tokio::io::AsyncWriteExt::write_all(&mut socket, headers.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    let started = std::time::Instant::now();
    let output = run_at(
        &format!("http://{address}"),
        &["-q", "lookalike", "results", "j1", "--timeout", "2"],
    )
    .await;
    assert_eq!(code(&output), 5, "{}", stderr(&output));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn pipes_and_devices_are_written_as_streams_without_a_checkpoint() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(300));
    let dir = temp_dir("fifo");
    let fifo = dir.join("rows.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    // Killed if it hangs (opening a FIFO a second time blocks until the
    // next reader comes, which never does).
    let mut child = spawn(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "-o",
            fifo.to_str().unwrap(),
        ],
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            let _ = std::fs::File::open(&fifo);
            panic!("the export into a FIFO hung");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    assert_exactly_once(&jsonl(&reader.join().unwrap()), 300);
    assert!(!dir.join("rows.fifo.checkpoint.json").exists());

    // `-o /dev/stdout` into a pipe (as a shell script would): the rows on
    // stdout, nothing created in /dev.
    let output = run(
        &sim,
        &["-q", "lookalike", "results", &job, "-o", "/dev/stdout"],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&jsonl(&stdout(&output)), 300);
    assert!(!Path::new("/dev/stdout.checkpoint.json").exists());

    // --resume needs a file it can check and cut back.
    let output = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "-o",
            fifo.to_str().unwrap(),
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("regular file"),
        "{}",
        stderr(&output)
    );

    // A full device: the real write error, and nothing created beside it.
    let output = run(
        &sim,
        &["-q", "lookalike", "results", &job, "-o", "/dev/full"],
    )
    .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("No space left on device"),
        "{}",
        stderr(&output)
    );
    assert!(!Path::new("/dev/full.checkpoint.json").exists());
}

/// Serves `body` (a JSON text) with status 200 to every request; its base URL.
async fn serve_fixed(body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tokio::io::AsyncWriteExt::write_all(&mut socket, response.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

/// A row no typed round trip keeps as it is: a number beyond f64, a null,
/// keys out of order, escapes, a trailing zero, an undocumented field.
const UNUSUAL_ROW: &str = r#"{"org_id": 123456789012345678901234567890, "name": "Caf\u00e9 \"Q\"", "headquarters": null, "domain": "cafe.example", "zeta": 1.50, "alpha": [1, 2.0e3], "path": "a\/b"}"#;

#[tokio::test]
async fn every_format_writes_each_row_as_the_server_sent_it() {
    let pretty = "{\n  \"name\": \"B\",\n  \"domain\": \"b.example\"\n}";
    let body = format!(
        r#"{{"job_id": "j1", "status": "completed", "page": "page_0000", "next_cursor": null, "manifest": {{"pages": 1, "count": 2, "credits_consumed": 2, "partial": false}}, "rows": [{UNUSUAL_ROW}, {pretty}]}}"#
    );
    let base_url = serve_fixed(body).await;
    let dir = temp_dir("faithful");
    let mut written = std::collections::HashMap::new();
    for format in ["jsonl", "json", "csv"] {
        let file = dir.join(format!("rows.{format}"));
        let output = run_at(
            &base_url,
            &[
                "-q",
                "lookalike",
                "results",
                "j1",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(code(&output), 0, "{format}: {}", stderr(&output));
        written.insert(format, std::fs::read_to_string(&file).unwrap());
    }
    // JSONL: the row's own bytes; a row the server spread over lines is put
    // on one line (its whitespace dropped, nothing else changed).
    let one_line = r#"{"name":"B","domain":"b.example"}"#;
    assert_eq!(written["jsonl"], format!("{UNUSUAL_ROW}\n{one_line}\n"));
    // JSON: the same texts as the array's elements.
    assert_eq!(
        written["json"],
        format!("[\n{UNUSUAL_ROW},\n{one_line}\n]\n")
    );
    // CSV: values as sent; the fields without a column, in the order sent.
    let mut csv = csv_records(&written["csv"]);
    let header = csv.remove(0);
    let cell = |row: &[String], column: &str| {
        row[header.iter().position(|name| name == column).unwrap()].clone()
    };
    assert_eq!(cell(&csv[0], "name"), "Café \"Q\"");
    assert_eq!(cell(&csv[0], "headquarters"), "");
    assert_eq!(
        cell(&csv[0], "other_fields"),
        r#"{"org_id":123456789012345678901234567890,"zeta":1.50,"alpha":[1, 2.0e3],"path":"a\/b"}"#
    );
    assert_eq!(cell(&csv[1], "domain"), "b.example");
}

/// CSV records, parsed by hand for quoted cells (RFC 4180).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(character) = chars.next() {
        match (quoted, character) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => cell.push(other),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, other) => cell.push(other),
        }
    }
    records
}

#[tokio::test]
async fn resume_refuses_another_job_s_or_format_s_checkpoint_and_a_file_without_one() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(200));
    let other = sim.add_job(JobType::Lookalike, JobProfile::completed(100));
    let dir = temp_dir("refuse-foreign");
    let file = finished_export(&sim, &job, &dir, "jsonl").await;
    let before = std::fs::read(&file).unwrap();
    // Another job, another format, another kind: refused, nothing touched.
    for (kind, id, format, says) in [
        (
            "lookalike",
            other.as_str(),
            "jsonl",
            format!("export of job {job} as jsonl"),
        ),
        (
            "lookalike",
            job.as_str(),
            "csv",
            "as jsonl, not this one".to_string(),
        ),
        (
            "tech-intent",
            job.as_str(),
            "jsonl",
            "holds a lookalike export".to_string(),
        ),
    ] {
        let output = run(
            &sim,
            &[
                "-q",
                kind,
                "results",
                id,
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                "--resume",
            ],
        )
        .await;
        assert_eq!(
            code(&output),
            2,
            "{kind} {id} {format}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains(&says), "{}", stderr(&output));
        assert_eq!(std::fs::read(&file).unwrap(), before);
    }
    // Rows but no checkpoint: where it stopped is unknown, so refused.
    std::fs::remove_file(dir.join("rows.jsonl.checkpoint.json")).unwrap();
    let output = resume(&sim, &job, &file, "jsonl").await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("has no checkpoint"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // An empty file and no checkpoint: nothing to resume, a fresh start.
    std::fs::write(&file, b"").unwrap();
    let output = resume(&sim, &job, &file, "jsonl").await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_exactly_once(&read_rows(&file, "jsonl"), 200);
}

#[tokio::test]
async fn a_finished_plain_export_leaves_no_checkpoint_one_stopped_early_or_resumed_keeps_it() {
    let sim = Simulator::start().await.unwrap();
    let done = sim.add_job(JobType::Lookalike, JobProfile::completed(300));
    let dir = temp_dir("no-checkpoint-left");
    let file = dir.join("rows.jsonl");
    let path = file.to_str().unwrap();
    let sidecar = dir.join("rows.jsonl.checkpoint.json");

    let plain = run(&sim, &["-q", "lookalike", "results", &done, "-o", path]).await;
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    assert_exactly_once(&read_rows(&file, "jsonl"), 300);
    assert!(!sidecar.exists(), "a finished export leaves only its rows");

    // Stopped early (--no-wait on a running job): kept, and --resume
    // continues from it to the end, keeping its own.
    let running = sim.add_job(JobType::Lookalike, running(400, 1_500));
    let early = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &running,
            "-o",
            path,
            "--no-wait",
        ],
    )
    .await;
    assert_eq!(code(&early), 0, "{}", stderr(&early));
    assert!(
        sidecar.exists(),
        "stopped early: the checkpoint stays for --resume"
    );
    let resumed = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &running,
            "-o",
            path,
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    assert_exactly_once(&read_rows(&file, "jsonl"), 400);
    assert!(
        sidecar.exists(),
        "a --resume run keeps its checkpoint, as documented"
    );
}

#[tokio::test]
async fn results_limit_caps_the_rows_written_and_resume_continues_up_to_it() {
    let sim = Simulator::start().await.unwrap();
    let done = sim.add_job(JobType::Lookalike, JobProfile::completed(2_000));
    // To stdout: exactly the first 5 rows, exit 0.
    let five = run(&sim, &["-q", "lookalike", "results", &done, "--limit", "5"]).await;
    assert_eq!(code(&five), 0, "{}", stderr(&five));
    let rows = jsonl(&stdout(&five));
    let all = sim.final_rows(&done).unwrap();
    assert_eq!(rows, all[..5].to_vec(), "the first five rows, in order");
    // Mid-page (250 = two pages and a half) into a file, in every format.
    let dir = temp_dir("limit");
    for format in ["jsonl", "csv", "json"] {
        let file = dir.join(format!("rows.{format}"));
        let path = file.to_str().unwrap();
        let capped = run(
            &sim,
            &[
                "-q",
                "lookalike",
                "results",
                &done,
                "--format",
                format,
                "-o",
                path,
                "--limit",
                "250",
            ],
        )
        .await;
        assert_eq!(code(&capped), 0, "{format}: {}", stderr(&capped));
        assert_exactly_once(&read_rows(&file, format), 250);
    }
    // Stopped before its limit (--no-wait once a few pages have landed),
    // --resume continues to it: the checkpoint recorded the limit.
    let running_job = sim.add_job(JobType::Lookalike, running(1_000, 3_000));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let file = dir.join("interrupted.jsonl");
    let path = file.to_str().unwrap();
    let first = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &running_job,
            "-o",
            path,
            "--limit",
            "650",
            "--no-wait",
        ],
    )
    .await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let written = read_rows(&file, "jsonl").len();
    assert!(
        written > 0 && written < 650,
        "{written} rows before the resume"
    );
    let resumed = run(
        &sim,
        &["lookalike", "results", &running_job, "-o", path, "--resume"],
    )
    .await;
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    assert_exactly_once(&read_rows(&file, "jsonl"), 650);
    // The summary says what this run added and what the file now holds.
    assert!(
        stderr(&resumed).contains("; the output now holds 650 rows"),
        "{}",
        stderr(&resumed)
    );
    // A higher --limit on --resume continues past the old one.
    let more = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &running_job,
            "-o",
            path,
            "--resume",
            "--limit",
            "900",
        ],
    )
    .await;
    assert_eq!(code(&more), 0, "{}", stderr(&more));
    assert_exactly_once(&read_rows(&file, "jsonl"), 900);
    // The same --limit again, or any --limit on an export that holds the
    // whole job: already complete, nothing is asked.
    let polls = sim.requests().polls;
    let again = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &running_job,
            "-o",
            path,
            "--resume",
            "--limit",
            "900",
        ],
    )
    .await;
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(
        sim.requests().polls,
        polls,
        "the same --limit: already complete"
    );
    let whole = dir.join("whole.jsonl");
    let whole_path = whole.to_str().unwrap();
    let first = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &done,
            "-o",
            whole_path,
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let polls_after_whole = sim.requests().polls;
    let bigger = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &done,
            "-o",
            whole_path,
            "--resume",
            "--limit",
            "5000",
        ],
    )
    .await;
    assert_eq!(code(&bigger), 0, "{}", stderr(&bigger));
    assert_exactly_once(&read_rows(&whole, "jsonl"), 2_000);
    assert_eq!(
        sim.requests().polls,
        polls_after_whole,
        "the whole job is in the file: already complete"
    );
    // And it says so, once, with what the file holds.
    let said = run(
        &sim,
        &["lookalike", "results", &done, "-o", whole_path, "--resume"],
    )
    .await;
    assert_eq!(code(&said), 0, "{}", stderr(&said));
    assert!(
        stderr(&said).contains("already complete (2000 rows)") && !stderr(&said).contains("wrote"),
        "{}",
        stderr(&said)
    );
    // Zero is refused before any request.
    let zero = run(&sim, &["lookalike", "results", &done, "--limit", "0"]).await;
    assert_eq!(code(&zero), 2, "{}", stderr(&zero));
}

#[tokio::test]
async fn a_wrong_base_url_path_and_an_unknown_job_are_told_apart_in_one_request() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::TechIntent, JobProfile::completed(10));
    // A base URL with a path OpenFunnel does not serve: the framework's
    // generic Not Found.
    let wrong = run_at(
        &format!("{}/api", sim.base_url()),
        &["lookalike", "status", &job],
    )
    .await;
    assert_eq!(code(&wrong), 1, "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("the base URL looks wrong"),
        "{}",
        stderr(&wrong)
    );
    // The right base URL, the other kind's command: the job is unknown here,
    // and the command that reads it is named; one request.
    let polls = sim.requests().polls;
    let other_kind = run(&sim, &["lookalike", "status", &job]).await;
    assert_eq!(code(&other_kind), 1, "{}", stderr(&other_kind));
    let message = stderr(&other_kind);
    assert!(
        message.contains("was not found for this API key"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "if it is a tech-intent job: openfunnel tech-intent status {job}"
        )),
        "{message}"
    );
    assert_eq!(sim.requests().polls, polls + 1, "status stays one request");
    let read = run(&sim, &["tech-intent", "status", &job]).await;
    assert_eq!(code(&read), 0, "{}", stderr(&read));
}

/// 64-bit FNV-1a, the digest the checkpoint keeps (crates/openfunnel-cli/src/digest.rs).
fn fnv1a(bytes: &[u8]) -> String {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        state ^= u64::from(*byte);
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{state:016x}")
}

/// One CSV record (RFC 4180 quoting), CRLF-terminated.
fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

#[tokio::test]
async fn a_resumed_csv_keeps_the_header_its_checkpoint_recorded() {
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(300));
    let dir = temp_dir("csv-header");
    let file = dir.join("rows.csv");
    let path = file.to_str().unwrap();
    let first = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "--format",
            "csv",
            "-o",
            path,
            "--limit",
            "100",
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    // The file as an older build, without a `headquarters` column, would
    // have written it; its checkpoint says so.
    let records = csv_records(&std::fs::read_to_string(&file).unwrap());
    let dropped = records[0].iter().position(|c| c == "headquarters").unwrap();
    let older: String = records
        .iter()
        .map(|record| {
            let mut record = record.clone();
            record.remove(dropped);
            csv_line(&record)
        })
        .collect();
    std::fs::write(&file, &older).unwrap();
    let sidecar = dir.join("rows.csv.checkpoint.json");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&sidecar).unwrap()).unwrap();
    let recorded: Vec<&str> = state["csv_header"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        recorded, records[0],
        "the checkpoint records the header the file starts with"
    );
    let mut header = records[0].clone();
    header.remove(dropped);
    state["csv_header"] = serde_json::json!(header);
    state["bytes"] = serde_json::json!(older.len());
    state["digest"] = serde_json::json!(fnv1a(older.as_bytes()));
    std::fs::write(&sidecar, serde_json::to_string(&state).unwrap()).unwrap();

    let resumed = run(
        &sim,
        &[
            "-q",
            "lookalike",
            "results",
            &job,
            "--format",
            "csv",
            "-o",
            path,
            "--limit",
            "300",
            "--resume",
        ],
    )
    .await;
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    let records = csv_records(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(records[0], header, "one header, the recorded one");
    assert_eq!(records.len(), 301, "the header and 300 rows");
    for (index, record) in records.iter().enumerate() {
        assert_eq!(
            record.len(),
            header.len(),
            "record {index} has the header's columns: {record:?}"
        );
    }
    // What the older header has no column for is kept in other_fields.
    let other = header.iter().position(|c| c == "other_fields").unwrap();
    assert!(
        records[300][other].contains("headquarters"),
        "{:?}",
        records[300]
    );
    let domain = header.iter().position(|c| c == "domain").unwrap();
    let domains: HashSet<&str> = records[1..].iter().map(|r| r[domain].as_str()).collect();
    assert_eq!(domains.len(), 300, "every row once");
}

#[tokio::test]
async fn a_reader_that_stops_early_ends_the_export_quietly_with_exit_0() {
    // `openfunnel … results | head -1`: the pipe closes after the first row;
    // that is the reader's choice, not an error.
    let sim = Simulator::start().await.unwrap();
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(5_000));
    let mut child = std::process::Command::new(binary())
        .args(["-q", "lookalike", "results", &job])
        .env("OPENFUNNEL_BASE_URL", sim.base_url())
        .env("OPENFUNNEL_API_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Blocking reads off the runtime thread, which serves the simulator.
    let (first, output) = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        std::io::BufRead::read_line(&mut out, &mut first).unwrap();
        drop(out);
        (first, child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    assert!(first.starts_with('{'), "{first}");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}
