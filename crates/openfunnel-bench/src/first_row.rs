//! Scenario 3: a job that writes its first page early and completes late.
//! Time to the first row for the row stream versus wait-then-fetch.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel_sim::{JobType, Simulator};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub async fn run(run_time: Duration) -> Vec<Line> {
    let pages = 20u32;
    let first_page_lands = run_time / pages;
    let sim = Simulator::start().await.expect("simulator starts");
    let profile = crate::fixtures::steady_job(pages * 100, run_time);
    let client = crate::fixtures::client(sim.base_url())
        .build()
        .expect("client builds");
    let streamed = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, profile.clone()))
        .expect("id");
    let waited = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, profile))
        .expect("id");
    let polls = Arc::new(Mutex::new(Vec::new()));
    let seen = polls.clone();
    let started = Instant::now();
    let (stream_first, wait_first) = tokio::join!(
        async {
            let mut rows = streamed
                .stream()
                .on_progress(move |progress| {
                    if let Ok(mut polls) = seen.lock() {
                        polls.push(progress.elapsed);
                    }
                })
                .rows();
            rows.try_next().await.expect("a row").expect("not empty");
            started.elapsed()
        },
        async {
            waited.wait().await.expect("completes");
            let mut rows = waited.rows();
            rows.try_next().await.expect("a row").expect("not empty");
            started.elapsed()
        }
    );
    // The poll interval in force when the page landed: the gap between the
    // last poll before it and the first poll after it, as they happened
    // (delays are jittered, so the planned schedule is not the real one).
    let polls = polls.lock().map(|p| p.clone()).unwrap_or_default();
    let before = polls
        .iter()
        .filter(|t| **t < first_page_lands)
        .max()
        .copied()
        .unwrap_or_default();
    let after = polls
        .iter()
        .filter(|t| **t >= first_page_lands)
        .min()
        .copied()
        .unwrap_or(stream_first);
    let interval = after.saturating_sub(before);
    let stream_after = stream_first.saturating_sub(first_page_lands);
    vec![
        Line::new(format!(
            "3. first row of a {} s job whose first page lands at {}: stream vs wait-then-fetch",
            run_time.as_secs(),
            secs(first_page_lands)
        ))
        .sdk(format!(
            "{} ({} after the page)",
            secs(stream_first),
            secs(stream_after)
        ))
        .comparison(secs(wait_first))
        .ratio(format!(
            "{:.1}× sooner",
            wait_first.as_secs_f64() / stream_first.as_secs_f64()
        ))
        .goal(
            format!("≤ the poll interval in force ({})", secs(interval)),
            stream_after <= interval,
        ),
    ]
}
