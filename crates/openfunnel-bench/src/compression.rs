//! Scenario 9: compressed responses. A completed job of 10,000 rows (100
//! pages, 50 ms latency) read with `pages()` by a client that asks for gzip
//! and by one that does not, from a simulator that compresses when asked.
//! Bytes on the wire per row, and the time to read it all.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
use std::time::{Duration, Instant};

const ROWS: u32 = 10_000;

pub async fn run() -> Vec<Line> {
    let plain = read(false).await;
    let compressed = read(true).await;
    let per_row = |bytes: u64| bytes as f64 / f64::from(ROWS);
    let ratio = plain.0 as f64 / compressed.0.max(1) as f64;
    vec![
        Line::new(format!(
            "9. {ROWS} rows (100 pages, 50 ms latency) with `with_compressed_responses(true)` vs without: bytes on the wire"
        ))
        .sdk(format!(
            "{:.0} bytes a row ({:.2} MB), {}",
            per_row(compressed.0),
            compressed.0 as f64 / 1e6,
            secs(compressed.1)
        ))
        .comparison(format!(
            "{:.0} bytes a row ({:.2} MB), {}",
            per_row(plain.0),
            plain.0 as f64 / 1e6,
            secs(plain.1)
        ))
        .ratio(format!("{ratio:.1}× fewer bytes")),
    ]
}

/// Bytes the simulator sent and the time to read every page.
async fn read(compressed: bool) -> (u64, Duration) {
    let sim = Simulator::start_with(
        SimConfig::default()
            .with_latency(Duration::from_millis(50))
            .with_gzip(true),
    )
    .await
    .expect("simulator starts");
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(ROWS));
    let client = crate::fixtures::client(sim.base_url())
        .with_compressed_responses(compressed)
        .build()
        .expect("client builds");
    let started = Instant::now();
    let rows = client
        .lookalike()
        .job(&id)
        .expect("id")
        .pages()
        .try_fold(
            0usize,
            |rows, page| async move { Ok(rows + page.rows.len()) },
        )
        .await
        .expect("every page");
    assert_eq!(rows, ROWS as usize);
    (sim.requests().poll_body_bytes, started.elapsed())
}
