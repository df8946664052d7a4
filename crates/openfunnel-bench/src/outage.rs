//! Scenario 7: outages. Fifty running jobs read through one client while the
//! simulator answers 503 to every request for 30 s; the same fifty jobs with
//! a 2 s outage beside a run with none; one CLI export through a 12 s
//! outage. Every run checks that each job delivered every row exactly once.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{Fault, JobProfile, JobType, OutageAnswer, SimConfig, Simulator};
use std::process::Command;
use std::time::{Duration, Instant};

const JOBS: usize = 50;
const ROWS: u32 = 1_000;
const LATENCY: Duration = Duration::from_millis(20);
/// The outage starts this long after the jobs, while every job is running.
const OUTAGE_AFTER: Duration = Duration::from_secs(3);

/// What one run of many jobs measured.
struct Run {
    elapsed: Duration,
    failed: usize,
    requests: u64,
    /// Requests each job sent that the outage answered.
    during: Vec<u64>,
    /// For each job, how long after the outage ended its first request was
    /// answered (`None`: the job met no outage).
    back_after: Vec<Option<Duration>>,
}

pub async fn run(cli: &std::path::Path) -> Vec<Line> {
    let long = jobs_through(Some(Duration::from_secs(30))).await;
    let short = jobs_through(Some(Duration::from_secs(2))).await;
    let none = jobs_through(None).await;
    let export = export_through(cli, Duration::from_secs(12)).await;

    let max_during = long.during.iter().copied().max().unwrap_or(0);
    let mean_during = long.during.iter().sum::<u64>() as f64 / JOBS as f64;
    let slowest_back = long.back_after.iter().flatten().max().copied();
    let all_back = long.back_after.iter().all(Option::is_some);
    let cap = openfunnel::PollPolicy::default().backoff().max();
    let back_in_time = all_back && slowest_back.is_some_and(|back| back <= cap);
    let short_ratio = short.requests as f64 / none.requests as f64;
    vec![
        Line::new(format!(
            "7. {JOBS} running jobs × {ROWS} rows through one client, every request answered 503 for 30 s"
        ))
        .sdk(format!(
            "{} of {JOBS} failed, every row once; {} requests during it (max {max_during}, mean {mean_during:.1} a job)",
            long.failed,
            long.during.iter().sum::<u64>()
        ))
        .comparison(format!(
            "{} in all, {} requests; jobs by requests during it: {}",
            secs(long.elapsed),
            long.requests,
            spread(&long.during)
        ))
        .ratio(format!("≤ {max_during} requests a job"))
        .goal("0 failed, ≤ 3 requests a job", long.failed == 0 && max_during <= 3),
        Line::new("7. the same: each job's first answer after the outage ended")
            .sdk(match slowest_back {
                Some(back) if all_back => format!("slowest {}", secs(back)),
                _ => "a job never came back".to_string(),
            })
            .comparison(format!(
                "mean {}",
                secs(mean(long.back_after.iter().flatten().copied()))
            ))
            .goal(format!("≤ the poll cap ({})", secs(cap)), back_in_time),
        Line::new(format!("7. {JOBS} jobs, a 2 s outage vs none: requests"))
            .sdk(format!(
                "{} requests, {} failed, {}",
                short.requests,
                short.failed,
                secs(short.elapsed)
            ))
            .comparison(format!(
                "{} requests, {} failed, {}",
                none.requests,
                none.failed,
                secs(none.elapsed)
            ))
            .ratio(format!("{short_ratio:.2}×"))
            .goal(
                "≤ 1.2×, 0 failed",
                short_ratio <= 1.2 && short.failed == 0 && none.failed == 0,
            ),
        Line::new("7. one CLI export of a running job through a 12 s outage")
            .sdk(format!(
                "exit {}, {} of {ROWS} rows, each once: {}",
                export.exit,
                export.rows,
                export.each_once
            ))
            .comparison(format!(
                "{} requests during the outage, {} in all",
                export.during,
                secs(export.elapsed)
            ))
            .goal(
                "exit 0, every row once, ≤ 12 requests",
                export.exit == 0 && export.rows == ROWS as usize && export.each_once && export.during <= 12,
            ),
    ]
}

/// "1: 3 jobs, 2: 40 jobs, …": how many jobs sent each number of requests.
fn spread(counts: &[u64]) -> String {
    let mut jobs = std::collections::BTreeMap::new();
    for count in counts {
        *jobs.entry(*count).or_insert(0u32) += 1;
    }
    jobs.iter()
        .map(|(requests, jobs)| format!("{requests}: {jobs}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mean(durations: impl Iterator<Item = Duration>) -> Duration {
    let all: Vec<Duration> = durations.collect();
    if all.is_empty() {
        return Duration::ZERO;
    }
    all.iter().sum::<Duration>() / all.len() as u32
}

/// A job that runs 10 s from its first poll on, a page of 100 rows a second.
fn running_job() -> JobProfile {
    JobProfile::default()
        .with_rows(ROWS)
        .with_pending_for(Duration::from_millis(200))
        .with_run_time(Duration::from_secs(10))
}

/// Reads `JOBS` running jobs at once through one default client, the
/// service down for `outage` (if any) from `OUTAGE_AFTER` on.
async fn jobs_through(outage: Option<Duration>) -> Run {
    let mut config = SimConfig::default().with_latency(LATENCY);
    if let Some(lasting) = outage {
        config = config.with_fault(Fault::Outage {
            after: OUTAGE_AFTER,
            lasting,
            answer: OutageAnswer::Status(503),
        });
    }
    let sim = Simulator::start_with(config)
        .await
        .expect("simulator starts");
    let ids: Vec<String> = (0..JOBS)
        .map(|_| sim.add_job(JobType::Lookalike, running_job()))
        .collect();
    let client = crate::fixtures::client(sim.base_url())
        .build()
        .expect("client builds");
    let started = Instant::now();
    let reads = ids.iter().map(|id| {
        let job = client.lookalike().job(id).expect("id");
        async move {
            let rows: Vec<_> = job.rows().try_collect().await?;
            Ok::<_, openfunnel::Error>(rows.into_iter().map(|row| row.domain).collect::<Vec<_>>())
        }
    });
    let results = futures_util::future::join_all(reads).await;
    let elapsed = started.elapsed();
    let outage_end = outage.map(|lasting| OUTAGE_AFTER + lasting);
    let mut run = Run {
        elapsed,
        failed: 0,
        requests: sim.requests().polls,
        during: Vec::new(),
        back_after: Vec::new(),
    };
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(domains) => assert_eq!(
                sorted(domains),
                expected_domains(&sim, id),
                "job {id} delivered every row exactly once"
            ),
            Err(error) => {
                eprintln!("job {id} failed: {error}");
                run.failed += 1;
            }
        }
        run.during.push(sim.outage_requests(id));
        run.back_after.push(
            sim.first_answer_after_outage(id)
                .zip(outage_end)
                .map(|(back, end)| back.saturating_sub(end)),
        );
    }
    run
}

fn sorted(mut domains: Vec<Option<String>>) -> Vec<Option<String>> {
    domains.sort();
    domains
}

/// The domains of every row the simulator wrote for `job_id`, sorted.
fn expected_domains(sim: &Simulator, job_id: &str) -> Vec<Option<String>> {
    let rows = sim.final_rows(job_id).expect("the simulator knows the job");
    sorted(
        rows.iter()
            .map(|row| row["domain"].as_str().map(str::to_string))
            .collect(),
    )
}

/// What the CLI export through an outage measured.
struct Export {
    exit: i32,
    rows: usize,
    each_once: bool,
    during: u64,
    elapsed: Duration,
}

/// Exports one running job with the CLI into a JSONL file while the
/// service is down for `lasting`, from 2 s into the job.
async fn export_through(cli: &std::path::Path, lasting: Duration) -> Export {
    let sim = Simulator::start_with(SimConfig::default().with_latency(LATENCY).with_fault(
        Fault::Outage {
            after: Duration::from_secs(2),
            lasting,
            answer: OutageAnswer::Status(503),
        },
    ))
    .await
    .expect("simulator starts");
    let id = sim.add_job(JobType::Lookalike, running_job());
    let output = std::env::temp_dir().join(format!("openfunnel-bench-outage-{id}.jsonl"));
    let mut command = Command::new(cli);
    command
        .args(["-q", "lookalike", "results", &id, "--output"])
        .arg(&output)
        .env("OPENFUNNEL_BASE_URL", sim.base_url())
        .env("OPENFUNNEL_API_KEY", "of_bench");
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .expect("joined")
        .expect("the CLI runs");
    let elapsed = started.elapsed();
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    let written: Vec<Option<String>> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|row| row["domain"].as_str().map(str::to_string))
        })
        .collect();
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(output.with_extension("jsonl.checkpoint.json"));
    Export {
        exit: status.code().unwrap_or(-1),
        rows: written.len(),
        each_once: sorted(written) == expected_domains(&sim, &id),
        during: sim.outage_requests(&id),
        elapsed,
    }
}
