//! Save a checkpoint after each page, stop in the middle (as a crash
//! would), and resume from the saved checkpoint: every row exactly once.
//!
//! Run with `cargo run -p openfunnel --example resume_after_a_crash`.

use futures_util::TryStreamExt;
use openfunnel::{Checkpoint, Client};
use openfunnel_sim::{JobProfile, JobType, Simulator};
use std::collections::HashSet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start().await?;
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(1_000));
    let client = Client::builder()
        .with_api_key("of_example")
        .with_base_url(sim.base_url())
        .build()?;
    let job = client.lookalike().job(&id)?;
    let saved = std::env::temp_dir().join(format!("openfunnel-example-{id}.json"));

    // First run: stop after three pages, with the checkpoint on disk.
    let mut seen = HashSet::new();
    let mut pages = job.pages();
    for _ in 0..3 {
        let page = pages.try_next().await?.ok_or("the job has fewer pages")?;
        seen.extend(page.rows.iter().map(|row| row.domain.clone()));
        // Save only once the page's rows are safe (here: in `seen`).
        std::fs::write(&saved, serde_json::to_vec(&page.checkpoint())?)?;
    }
    drop(pages); // the "crash"

    // Second run: read the checkpoint back and continue from it.
    let checkpoint: Checkpoint = serde_json::from_slice(&std::fs::read(&saved)?)?;
    let mut rows = job.stream().resume_from(checkpoint).rows();
    while let Some(row) = rows.try_next().await? {
        assert!(seen.insert(row.domain.clone()), "a row came twice");
    }
    std::fs::remove_file(&saved)?;
    println!("{} rows, each once, across two runs", seen.len());
    assert_eq!(seen.len(), 1_000);
    Ok(())
}
