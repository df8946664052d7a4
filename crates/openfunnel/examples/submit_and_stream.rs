//! Submit a lookalike job and stream its rows as pages land, each exactly
//! once, against the simulator (no key, no network).
//!
//! Run with `cargo run -p openfunnel --example submit_and_stream`. Against
//! OpenFunnel itself, build the client with `Client::from_env()` instead.

use futures_util::TryStreamExt;
use openfunnel::{Client, LookalikeSearch};
use openfunnel_sim::{JobProfile, SimConfig, Simulator};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A job of 500 rows that writes a page every 200 ms.
    let profile = JobProfile::default()
        .with_rows(500)
        .with_run_time(Duration::from_secs(1));
    let sim = Simulator::start_with(SimConfig::default().with_profile(profile)).await?;
    let client = Client::builder()
        .with_api_key("of_example")
        .with_base_url(sim.base_url())
        .build()?;

    let job = client
        .lookalike()
        .submit(
            LookalikeSearch::default()
                .query("observability platforms")
                .limit(500),
        )
        .await?;
    println!("submitted {}", job.id());

    let mut rows = job.rows();
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        count += 1;
        if count <= 3 {
            println!("{}", row.domain.unwrap_or_default());
        }
    }
    let outcome = rows
        .outcome()
        .ok_or("the stream ended before the job did")?;
    println!("{count} rows, job {}", outcome.status);
    assert_eq!(count, 500);
    Ok(())
}
