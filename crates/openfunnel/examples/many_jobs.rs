//! Run many jobs at once through one client: they share its connection
//! limit and its retry budget, so a failing service is not hit harder the
//! more jobs there are.
//!
//! Run with `cargo run -p openfunnel --example many_jobs`.

use futures_util::{StreamExt, TryStreamExt};
use openfunnel::{Client, LookalikeSearch};
use openfunnel_sim::{JobProfile, SimConfig, Simulator};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = JobProfile::default()
        .with_rows(300)
        .with_run_time(Duration::from_secs(1));
    let sim = Simulator::start_with(SimConfig::default().with_profile(profile)).await?;
    let client = Client::builder()
        .with_api_key("of_example")
        .with_base_url(sim.base_url())
        .build()?;

    let queries = [
        "observability",
        "data warehouses",
        "feature flags",
        "CI/CD",
        "vector databases",
    ];
    let mut jobs = Vec::new();
    for query in queries {
        jobs.push(
            client
                .lookalike()
                .submit(LookalikeSearch::default().query(query).limit(300))
                .await?,
        );
    }
    // All at once; a Job is cheap to clone and every stream is independent.
    let counts: Vec<usize> = futures_util::stream::iter(jobs)
        .map(|job| async move {
            job.rows()
                .try_collect::<Vec<_>>()
                .await
                .map(|rows| rows.len())
        })
        .buffer_unordered(queries.len())
        .try_collect()
        .await?;
    println!(
        "{} jobs, {} rows in all",
        counts.len(),
        counts.iter().sum::<usize>()
    );
    assert!(counts.iter().all(|rows| *rows == 300));
    Ok(())
}
