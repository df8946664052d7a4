//! Scenario 1: export a completed job of 200 pages × 100 rows with 50 ms of
//! latency per request, three ways.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{JobKind, JobProfile, SimConfig, Simulator};
use std::time::{Duration, Instant};

const PAGES: u32 = 200;
const LATENCY: Duration = Duration::from_millis(50);

pub async fn run() -> Vec<Line> {
    let sim = Simulator::start_with(SimConfig::default().with_latency(LATENCY))
        .await
        .expect("simulator starts");
    let default = sdk_walk(&sim, openfunnel::DEFAULT_PAGE_CONCURRENCY).await;
    let sequential = sdk_walk(&sim, 1).await;
    let hand = hand_loop(&sim).await;

    let concurrency = openfunnel::DEFAULT_PAGE_CONCURRENCY as u32;
    let floor = LATENCY * PAGES.div_ceil(concurrency);
    let speedup = sequential.0.as_secs_f64() / default.0.as_secs_f64();
    let over_floor = default.0.as_secs_f64() / floor.as_secs_f64();
    vec![
        Line::new(format!(
            "1. export {PAGES}×100 rows, 50 ms latency: default vs concurrency 1"
        ))
        .sdk(format!("{} ({} requests)", secs(default.0), default.1))
        .comparison(format!(
            "{} ({} requests)",
            secs(sequential.0),
            sequential.1
        ))
        .ratio(format!("{speedup:.1}× faster"))
        .goal("≥ 6× faster", speedup >= 6.0),
        Line::new(format!(
            "1. default vs the floor ceil({PAGES}/{concurrency}) × 50 ms"
        ))
        .sdk(secs(default.0))
        .comparison(format!("{} floor", secs(floor)))
        .ratio(format!("{over_floor:.2}×"))
        .goal("≤ 1.3×", over_floor <= 1.3),
        Line::new("1. default vs a hand loop over the generated client")
            .sdk(secs(default.0))
            .comparison(format!("{} ({} requests)", secs(hand.0), hand.1))
            .ratio(format!(
                "{:.1}× faster",
                hand.0.as_secs_f64() / default.0.as_secs_f64()
            )),
    ]
}

/// Every row through `Job::rows`; returns the time and the requests made.
async fn sdk_walk(sim: &Simulator, concurrency: usize) -> (Duration, u64) {
    let id = sim.add_job(JobKind::Lookalikes, JobProfile::completed(PAGES * 100));
    let client = crate::fixtures::client(sim.base_url())
        .with_page_concurrency(concurrency)
        .build()
        .expect("client builds");
    let before = sim.requests().polls;
    let started = Instant::now();
    let rows = client
        .lookalikes()
        .job(&id)
        .expect("valid id")
        .rows()
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .expect("export succeeds");
    let elapsed = started.elapsed();
    assert_eq!(rows, u64::from(PAGES) * 100);
    (elapsed, sim.requests().polls - before)
}

/// What a user writes without the SDK: follow `next_cursor` by hand.
async fn hand_loop(sim: &Simulator) -> (Duration, u64) {
    let id = sim.add_job(JobKind::Lookalikes, JobProfile::completed(PAGES * 100));
    let raw =
        openfunnel_api::Client::with_api_key(sim.base_url(), "of_bench").expect("client builds");
    let before = sim.requests().polls;
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut rows = 0;
    loop {
        let page = raw
            .search_lookalikes_bulk_status(&id, cursor.as_deref(), None)
            .await
            .expect("page fetched");
        rows += page.rows.len();
        match page.into_inner().next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(rows, PAGES as usize * 100);
    (started.elapsed(), sim.requests().polls - before)
}
