//! Tune a client: timeouts, how polls are spaced and bounded, how failed
//! requests are retried, and the retry budget shared by all its jobs. The
//! simulator rate-limits every fifth poll, and the job is read all the same.
//!
//! Run with `cargo run -p openfunnel --example custom_policies`.

use futures_util::TryStreamExt;
use openfunnel::{Backoff, Client, Jitter, Pacing, PollPolicy, RetryBudget, RetryPolicy};
use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start_with(SimConfig::default().with_fault(Fault::RateLimit {
        every: 5,
        retry_after: Duration::from_millis(100),
    }))
    .await?;
    let id = sim.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_rows(400)
            .with_run_time(Duration::from_secs(1)),
    );

    let polls = PollPolicy::default()
        // Start at 100 ms, double up to 2 s, each delay drawn from [d/2, d].
        .with_backoff(
            Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
                .with_jitter(Jitter::Equal),
        )
        // Time the polls to the job's rhythm (experimental).
        .with_pacing(Pacing::Rhythm)
        // Give up after 10 minutes without progress, or 1 hour in all.
        .with_idle_timeout(Duration::from_secs(600))
        .with_deadline(Duration::from_secs(3_600));
    let retries = RetryPolicy::default()
        .with_max_attempts(8)
        .with_backoff(Backoff::new(
            Duration::from_millis(50),
            Duration::from_secs(3),
        ))
        .with_max_retry_after(Duration::from_secs(30));
    let client = Client::builder()
        .with_api_key("of_example")
        .with_base_url(sim.base_url())
        .with_connect_timeout(Duration::from_secs(5))
        .with_request_timeout(Duration::from_secs(20))
        .with_poll_policy(polls)
        .with_retry_policy(retries)
        .with_retry_budget(RetryBudget::default().with_capacity(1_000))
        .build()?;

    let rows: Vec<_> = client.lookalike().job(&id)?.rows().try_collect().await?;
    println!(
        "{} rows through {} rate-limited polls",
        rows.len(),
        sim.requests().polls / 5
    );
    assert_eq!(rows.len(), 400);
    Ok(())
}
