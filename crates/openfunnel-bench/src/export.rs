//! Scenario 1: export a completed job of 200 pages × 100 rows with 50 ms of
//! latency per request, three ways; then the same with opaque cursors (which
//! cannot be predicted, so the walk is sequential whatever the concurrency),
//! with 600-byte tokens that end in a page number (predictable, but long in
//! every URL), and with numbered cursors that skip (guesses partly wrong),
//! counting the prefetched pages thrown away in each case.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{CursorScheme, JobProfile, JobType, SimConfig, Simulator};
use std::time::{Duration, Instant};

const PAGES: u32 = 200;
const LATENCY: Duration = Duration::from_millis(50);

pub async fn run() -> Vec<Line> {
    let sim = Simulator::start_with(SimConfig::default().with_latency(LATENCY))
        .await
        .expect("simulator starts");
    let default_concurrency = openfunnel::DEFAULT_PAGE_CONCURRENCY;
    let default = sdk_walk(&sim, default_concurrency, CursorScheme::PageNames).await;
    let sequential = sdk_walk(&sim, 1, CursorScheme::PageNames).await;
    let hand = hand_loop(&sim).await;
    let opaque = sdk_walk(&sim, default_concurrency, CursorScheme::Opaque).await;
    let opaque_sequential = sdk_walk(&sim, 1, CursorScheme::Opaque).await;
    let skipping = sdk_walk(&sim, default_concurrency, CursorScheme::Skipping).await;
    let long = sdk_walk(&sim, default_concurrency, CursorScheme::Long).await;
    let long_ratio = long.0.as_secs_f64() / default.0.as_secs_f64();
    let opaque_ratio = opaque.0.as_secs_f64() / opaque_sequential.0.as_secs_f64();

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
        Line::new("1. opaque cursors (`c/…+…= z`): default vs concurrency 1")
            .sdk(format!("{} ({} requests)", secs(opaque.0), opaque.1))
            .comparison(format!(
                "{} ({} requests)",
                secs(opaque_sequential.0),
                opaque_sequential.1
            ))
            .ratio(format!("{opaque_ratio:.2}×"))
            .goal(
                "equal within noise (0.8–1.25×)",
                (0.8..=1.25).contains(&opaque_ratio),
            ),
        Line::new("1. 600-byte cursor tokens ending in a page number: default vs `page_NNNN`")
            .sdk(format!("{} ({} requests)", secs(long.0), long.1))
            .comparison(format!("{} ({} requests)", secs(default.0), default.1))
            .ratio(format!("{long_ratio:.2}×"))
            .goal("≤ 1.25×", long_ratio <= 1.25),
        Line::new(
            "1. prefetched pages discarded at the default concurrency: page_NNNN / opaque / 600-byte tokens / numbers that skip",
        )
        .sdk(format!(
            "{} / {} / {} / {}",
            default.2, opaque.2, long.2, skipping.2
        ))
        .comparison(format!(
            "{} requests for 200 pages with skipping numbers, {}",
            skipping.1,
            secs(skipping.0)
        ))
        .ratio(format!(
            "skipping numbers: {:.2}× the sequential time",
            skipping.0.as_secs_f64() / sequential.0.as_secs_f64()
        ))
        .goal(
            "0 when cursors are predictable or opaque",
            default.2 == 0 && opaque.2 == 0 && long.2 == 0,
        ),
    ]
}

/// Every row through `Job::rows`; returns the time, the requests made and
/// the prefetched pages discarded.
async fn sdk_walk(
    sim: &Simulator,
    concurrency: usize,
    cursors: CursorScheme,
) -> (Duration, u64, u64) {
    let id = sim.add_job(
        JobType::Lookalike,
        JobProfile::completed(PAGES * 100).with_cursors(cursors),
    );
    let client = crate::fixtures::client(sim.base_url())
        .with_page_concurrency(concurrency)
        .build()
        .expect("client builds");
    let before = sim.requests().polls;
    let started = Instant::now();
    let mut stream = client.lookalike().job(&id).expect("valid id").rows();
    let mut rows = 0u64;
    while stream.try_next().await.expect("export succeeds").is_some() {
        rows += 1;
    }
    let elapsed = started.elapsed();
    assert_eq!(rows, u64::from(PAGES) * 100);
    let discarded = stream
        .outcome()
        .map_or(0, |outcome| outcome.discarded_prefetches);
    (elapsed, sim.requests().polls - before, discarded)
}

/// What a user writes without the SDK: follow `next_cursor` by hand.
async fn hand_loop(sim: &Simulator) -> (Duration, u64) {
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(PAGES * 100));
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
