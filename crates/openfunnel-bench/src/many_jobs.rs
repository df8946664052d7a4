//! Scenario 6: 100 jobs polled and exported concurrently through one client.
//! The client runs in a child process so its peak RSS is its own; this
//! process runs the simulator and samples the open connections.

use crate::measure::{connections_to, run_with_peak_rss};
use crate::table::{Line, mib, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const JOBS: usize = 100;
const ROWS: u32 = 1_000;

pub async fn run() -> Vec<Line> {
    let budgeted = export_many(true).await;
    let before = export_many(false).await;
    let time_ratio = budgeted.elapsed.as_secs_f64() / before.elapsed.as_secs_f64();
    vec![
        Line::new(format!("6. {JOBS} jobs × {ROWS} rows (3 s each, 20 ms latency) exported at once through one client"))
            .sdk(format!("{} total, {} requests ({:.1} per job)", secs(budgeted.elapsed), budgeted.requests, budgeted.requests as f64 / JOBS as f64))
            .comparison(format!("{} open connections at peak", budgeted.peak_connections))
            .ratio(format!("client peak RSS {}", mib(budgeted.peak_rss))),
        Line::new("6. the same, fault-free: the retry budget and riding out on (default) vs off (as before either existed)")
            .sdk(format!("{}, {} requests", secs(budgeted.elapsed), budgeted.requests))
            .comparison(format!("{}, {} requests", secs(before.elapsed), before.requests))
            .ratio(format!("{time_ratio:.2}× the time"))
            .goal(
                "no slower (≤ 1.1×), no more requests (≤ 1.02×)",
                time_ratio <= 1.1 && budgeted.requests as f64 <= before.requests as f64 * 1.02,
            ),
    ]
}

/// What one export of every job measured.
struct Many {
    elapsed: Duration,
    requests: u64,
    peak_connections: usize,
    peak_rss: u64,
}

/// Exports `JOBS` fresh jobs at once from a child process, with the
/// client's retry budget and ride-out on (`budgeted`) or off.
async fn export_many(budgeted: bool) -> Many {
    let sim = Simulator::start_with(SimConfig::default().with_latency(Duration::from_millis(20)))
        .await
        .expect("simulator starts");
    let port: u16 = sim
        .base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    let profile = JobProfile::default()
        .with_rows(ROWS)
        .with_pending_for(Duration::from_millis(200))
        .with_run_time(Duration::from_secs(3));
    let ids: Vec<String> = (0..JOBS)
        .map(|_| sim.add_job(JobType::Lookalike, profile.clone()))
        .collect();

    let peak_connections = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let peak = peak_connections.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(connections_to(port), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    let mut child = Command::new(std::env::current_exe().expect("own path"));
    child
        .arg(if budgeted { "many" } else { "many-unbudgeted" })
        .arg(sim.base_url())
        .args(&ids)
        .stdout(Stdio::null());
    let started = Instant::now();
    let (status, peak_rss) =
        tokio::task::spawn_blocking(move || run_with_peak_rss(child).expect("child runs"))
            .await
            .expect("measured");
    let elapsed = started.elapsed();
    sampler.abort();
    assert!(status.success(), "the exports failed: {status}");
    Many {
        elapsed,
        requests: sim.requests().polls,
        peak_connections: peak_connections.load(Ordering::Relaxed),
        peak_rss,
    }
}

/// The child side: export every job at once through one client, with the
/// default retry budget and ride-out (`budgeted`), or with neither.
pub async fn export_all(base_url: &str, ids: &[String], budgeted: bool) {
    let mut client = crate::fixtures::client(base_url);
    if !budgeted {
        client = client
            .with_retry_budget(openfunnel::RetryBudget::unlimited())
            .with_retry_policy(openfunnel::RetryPolicy::default().with_ride_out(false));
    }
    let client = client.build().expect("client builds");
    let exports = ids.iter().map(|id| {
        let job = client.lookalike().job(id).expect("id");
        async move {
            job.rows()
                .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                .await
        }
    });
    let counts = futures_util::future::join_all(exports).await;
    let rows: u64 = counts
        .into_iter()
        .map(|c| c.expect("every job exports"))
        .sum();
    assert_eq!(rows, ids.len() as u64 * u64::from(ROWS));
}
