//! Load: 100 jobs exported at once through one client against a simulator
//! injecting faults. Nothing lost or duplicated, requests in flight bounded,
//! and no task left behind once the client is dropped.

use futures_util::TryStreamExt;
use openfunnel::{Backoff, Client, Jitter, PollPolicy, RetryPolicy};
use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
use std::collections::HashSet;
use std::time::Duration;

const JOBS: usize = 100;
const ROWS: u32 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_faulty_jobs_through_one_client_lose_nothing_and_leak_nothing() {
    let config = SimConfig::default()
        .with_latency(Duration::from_millis(5))
        .with_fault(Fault::ServerErrors {
            every: 40,
            burst: 2,
            status: 502,
        })
        .with_fault(Fault::TruncatedBody { every: 23 })
        .with_fault(Fault::DropConnection { every: 31 })
        .with_fault(Fault::RateLimit {
            every: 97,
            retry_after: Duration::from_secs(1),
        });
    let sim = Simulator::start_with(config).await.unwrap();
    let profile = JobProfile::default()
        .with_rows(ROWS)
        .with_pending_for(Duration::from_millis(100))
        .with_run_time(Duration::from_millis(900));
    let ids: Vec<String> = (0..JOBS)
        .map(|_| sim.add_job(JobType::Lookalike, profile.clone()))
        .collect();
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();

    let client = Client::builder()
        .with_api_key("of_load")
        .with_base_url(sim.base_url())
        .with_poll_policy(
            PollPolicy::default().with_backoff(
                Backoff::new(Duration::from_millis(50), Duration::from_millis(200))
                    .with_jitter(Jitter::Equal),
            ),
        )
        .with_retry_policy(
            RetryPolicy::default().with_max_attempts(8).with_backoff(
                RetryPolicy::default()
                    .backoff()
                    .with_initial(Duration::from_millis(10)),
            ),
        )
        .build()
        .unwrap();
    let exports = ids.iter().map(|id| {
        let job = client.lookalike().job(id).unwrap();
        async move { job.rows().try_collect::<Vec<_>>().await }
    });
    let results = futures_util::future::join_all(exports).await;
    let mut all = HashSet::new();
    for (id, result) in ids.iter().zip(results) {
        let rows = result.unwrap_or_else(|e| panic!("job {id}: {e}"));
        assert_eq!(rows.len(), ROWS as usize, "job {id}");
        for row in rows {
            assert!(
                all.insert((id.clone(), row.domain.unwrap_or_default())),
                "duplicate row in {id}"
            );
        }
    }
    assert_eq!(all.len(), JOBS * ROWS as usize);
    let requests = sim.requests();
    assert!(
        requests.peak_in_flight <= openfunnel::DEFAULT_MAX_CONCURRENT_REQUESTS as u64,
        "{} requests in flight at once",
        requests.peak_in_flight
    );

    // Memory stays bounded: the whole test process, simulator included,
    // stays under 256 MiB (it peaks around 35 MiB here).
    let peak_kib: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0);
    eprintln!("peak RSS {} MiB", peak_kib / 1024);
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");

    drop(client);
    // Connection tasks end once the pool is gone; give the server a moment.
    let mut tasks_after = metrics.num_alive_tasks();
    for _ in 0..50 {
        if tasks_after <= tasks_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        tasks_after = metrics.num_alive_tasks();
    }
    assert!(
        tasks_after <= tasks_before,
        "{tasks_after} tasks alive after the client was dropped, {tasks_before} before"
    );
}
