//! Property: whatever the job's schedule, whatever faults hit whichever
//! requests, and whatever the server chose where the spec leaves it open
//! (cursor scheme, manifest accuracy, status of an unknown cursor, fields and
//! status values the spec does not document, pages that grow while the job
//! runs), the row stream yields exactly the rows of the server's chain, each
//! once and in order, then the outcome that matches the job's terminal
//! state, or stops with a typed error after a bounded time, having yielded a
//! prefix. A second property times the rows: without faults, each arrives
//! within two requests of when the walk could have had it.
//!
//! 500 cases each by default; `PROPTEST_CASES=5000 cargo test -p openfunnel --test
//! delivery` runs more.

mod common;

use common::VirtualTimer;
use futures_util::StreamExt;
use openfunnel::{Client, Error, RetryPolicy};
use openfunnel_sim::{
    Clock, CursorScheme, Ending, Fault, JobProfile, JobType, ManifestAccuracy, PageWrites,
    PollFault, Schedule, SimConfig, Simulator, Vocabulary,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;
use std::time::Duration;

/// One request of the simulator's clock: the schedule below counts requests.
const REQUEST: Duration = Duration::from_millis(1);

/// A job's life counted in requests, the faults by poll number, and what the
/// spec leaves open: everything the simulator is told for one case.
#[derive(Clone, Debug)]
struct Script {
    schedule: Schedule,
    faults: BTreeMap<u64, PollFault>,
    cursors: CursorScheme,
    manifest: ManifestAccuracy,
    unknown_cursor_status: u16,
    vocabulary: Vocabulary,
    page_writes: PageWrites,
}

impl Script {
    /// How many polls each row came after the walk could have had it: after
    /// it became readable and the row before it was yielded, less one poll
    /// per empty page between them (each costs a request). `yielded_at[i]`
    /// is the polls served when row `i` was yielded. Only rows readable
    /// while the job ran count (the others wait for its end).
    fn delays(&self, yielded_at: &[u64]) -> Vec<u64> {
        let schedule = &self.schedule;
        let tick = |at: Duration| at.as_millis() as u64;
        let end = tick(schedule.ends_at);
        let mut delays = Vec::new();
        let mut row = 0;
        let mut previous = 0;
        let mut empty_pages = 0;
        for (page, &count) in schedule.page_rows.iter().enumerate() {
            if count == 0 {
                empty_pages += 1;
            }
            let landed = tick(schedule.lands_at[page]);
            // A growing page's second half appears when the next page lands.
            let filled = schedule
                .lands_at
                .get(page + 1)
                .map_or(end, |next| tick(*next).min(end));
            for position in 0..count {
                let readable = match self.page_writes {
                    PageWrites::Growing if position >= count.div_ceil(2) => filled,
                    _ => landed,
                };
                let Some(&at) = yielded_at.get(row) else {
                    return delays;
                };
                if readable < end {
                    let could = readable.max(previous) + empty_pages;
                    delays.push(at.saturating_sub(could));
                }
                previous = at;
                empty_pages = 0;
                row += 1;
            }
        }
        delays
    }

    /// The pages the job ends with: what the chain holds.
    fn final_pages(&self) -> u32 {
        let schedule = &self.schedule;
        match schedule.ending {
            Ending::Completed => schedule.page_rows.len() as u32,
            _ => schedule
                .lands_at
                .iter()
                .filter(|at| **at <= schedule.ends_at)
                .count() as u32,
        }
    }
}

fn fault() -> impl Strategy<Value = PollFault> {
    prop_oneof![
        3 => any::<bool>().prop_map(|announced| PollFault::RateLimited {
            retry_after: announced.then_some(Duration::from_secs(2)),
        }),
        3 => Just(PollFault::Status(503)),
        2 => Just(PollFault::ResetMidBody),
        2 => Just(PollFault::Truncated),
        1 => Just(PollFault::UnknownCursor),
        1 => Just(PollFault::Stalled(Duration::from_millis(250))),
    ]
}

fn accuracy() -> impl Strategy<Value = ManifestAccuracy> {
    prop_oneof![
        Just(ManifestAccuracy::Exact),
        (1u32..=3).prop_map(ManifestAccuracy::Fewer),
        (1u32..=3).prop_map(ManifestAccuracy::More),
        Just(ManifestAccuracy::Absurd),
    ]
}

/// What the spec leaves open, drawn with the schedule.
fn server_choices()
-> impl Strategy<Value = (CursorScheme, ManifestAccuracy, u16, Vocabulary, PageWrites)> {
    (
        prop::sample::select(CursorScheme::ALL.to_vec()),
        accuracy(),
        prop::sample::select(vec![400u16, 404, 422]),
        prop::sample::select(vec![Vocabulary::Documented, Vocabulary::Grown]),
        prop::sample::select(vec![PageWrites::Whole, PageWrites::Growing]),
    )
}

fn script() -> impl Strategy<Value = Script> {
    // Empty pages (0 rows) are part of a chain too.
    let pages = prop::collection::vec(prop_oneof![1 => Just(0u32), 6 => 1u32..=4], 0..=6);
    pages
        .prop_flat_map(|pages| {
            let count = pages.len();
            (
                Just(pages),
                prop::collection::vec(0u32..=3, count),
                prop_oneof![2 => Just(Ending::Completed), 1 => Just(Ending::Failed), 1 => Just(Ending::Cancelled)],
                0u32..=24,
                prop::collection::btree_map(1u64..=60, fault(), 0..=6),
                server_choices(),
            )
        })
        .prop_map(|(page_rows, gaps, ending, end_offset, faults, (cursors, manifest, unknown_cursor_status, vocabulary, page_writes))| {
            // Pages land at increasing request counts; the job ends after the
            // last one (completed) or anywhere (failed / cancelled).
            let mut at = 1;
            let lands_at: Vec<Duration> = gaps.iter().map(|gap| {
                at += gap;
                REQUEST * at
            }).collect();
            let ends_at = REQUEST * match ending {
                Ending::Completed => at + end_offset % 4,
                _ => 1 + end_offset,
            };
            Script {
                schedule: Schedule { page_rows, lands_at, ends_at, ending },
                faults, cursors, manifest, unknown_cursor_status, vocabulary, page_writes,
            }
        })
}

/// Runs `future` to completion on a fresh single-threaded runtime: each case
/// gets its own, so the request clock sees only that case's requests.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// How one case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Delivered,
    StoppedWithTypedError,
}

/// The simulator playing `script`, its job's id, and a client for it.
async fn serve(script: &Script) -> (Simulator, String, Client) {
    let mut config = SimConfig::default().with_clock(Clock::PerRequest(REQUEST));
    for (poll, fault) in &script.faults {
        config = config.with_fault(Fault::OnPoll {
            poll: *poll,
            fault: *fault,
        });
    }
    let sim = Simulator::start_with(config)
        .await
        .expect("the simulator starts");
    let profile = JobProfile::default()
        .with_schedule(script.schedule.clone())
        .with_cursors(script.cursors)
        .with_manifest(script.manifest)
        .with_unknown_cursor_status(script.unknown_cursor_status)
        .with_vocabulary(script.vocabulary)
        .with_page_writes(script.page_writes);
    let job_id = sim.add_job(JobType::Lookalike, profile);
    let client = Client::builder()
        .with_api_key(common::KEY)
        .with_base_url(sim.base_url())
        .with_timer(VirtualTimer::new())
        .with_poll_policy(common::exact_policy().with_deadline(Duration::from_secs(3600)))
        .with_retry_policy(RetryPolicy::default().with_max_attempts(4))
        .with_request_timeout(Duration::from_millis(100))
        .build()
        .expect("client builds");
    (sim, job_id, client)
}

async fn check(script: Script) -> Result<Verdict, TestCaseError> {
    let (sim, job_id, client) = serve(&script).await;
    let job = client.lookalike().job(&job_id).expect("id");
    let expected = sim.final_rows(&job_id).expect("the job exists");
    let mut delivered = Vec::new();
    let mut rows = job.stream().with_concurrency(4).rows();
    let end = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match rows.next().await {
                Some(Ok(row)) => delivered.push(serde_json::to_value(row).unwrap_or_default()),
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    })
    .await
    .map_err(|_| TestCaseError::fail(format!("no end within 30 s: {script:?}")))?;

    prop_assert!(
        expected.starts_with(&delivered),
        "not a prefix of the written rows, in order, once each:\n delivered {delivered:?}\n written {expected:?}\n {script:?}"
    );
    let complete = delivered.len() == expected.len();
    match (&end, script.schedule.ending) {
        (Ok(()), Ending::Completed)
        | (Err(Error::JobFailed { .. }), Ending::Failed)
        | (Err(Error::JobCancelled { .. }), Ending::Cancelled) => {
            prop_assert!(
                complete,
                "ended normally without every row: {delivered:?} vs {expected:?}"
            );
            let chain = script.final_pages();
            // Fields the spec does not name survive on the manifest (on rows,
            // the comparison with the written rows above checks them).
            if script.vocabulary == Vocabulary::Grown
                && let Some(manifest) = rows.outcome().and_then(|outcome| outcome.manifest.as_ref())
            {
                prop_assert_eq!(&manifest.extra["x_region"], "eu-west-1");
            }
            let mismatch = rows.outcome().and_then(|outcome| outcome.manifest_mismatch);
            prop_assert_eq!(
                mismatch.map(|m| (m.manifest_pages, m.chain_pages)),
                (script.manifest.pages(chain) != i64::from(chain))
                    .then(|| (script.manifest.pages(chain), u64::from(chain))),
                "the manifest/chain mismatch is reported exactly when there is one"
            );
            Ok(Verdict::Delivered)
        }
        (Ok(()), _) => Err(TestCaseError::fail(format!(
            "a {:?} job ended like a completed one",
            script.schedule.ending
        ))),
        (Err(error), _) => {
            prop_assert!(
                matches!(
                    error,
                    Error::Transport { .. }
                        | Error::Http { .. }
                        | Error::RateLimited { .. }
                        | Error::Decode { .. }
                        | Error::UnknownCursor { .. }
                        // An injected unknown-cursor answer on a request
                        // without a cursor: 404 is "no such job", 422 a
                        // validation error.
                        | Error::NotFound { .. }
                        | Error::Validation { .. }
                ),
                "unexpected error {error:?} for {script:?}"
            );
            Ok(Verdict::StoppedWithTypedError)
        }
    }
}

#[test]
fn the_stream_delivers_exactly_the_written_rows_under_any_schedule_and_faults() {
    let mut runner = common::proptest_runner();
    let verdicts = std::sync::Mutex::new(Vec::new());
    runner
        .run(&script(), |script| {
            let choices = (
                script.cursors,
                script.manifest,
                script.unknown_cursor_status,
                script.vocabulary,
                script.page_writes,
            );
            let verdict = block_on(check(script))?;
            verdicts.lock().unwrap().push((verdict, choices));
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    let cases = verdicts.into_inner().unwrap();
    let verdicts: Vec<Verdict> = cases.iter().map(|(verdict, _)| *verdict).collect();
    let delivered = verdicts
        .iter()
        .filter(|v| **v == Verdict::Delivered)
        .count();
    // Every open point was tried every way, on full deliveries.
    let full: Vec<_> = cases
        .iter()
        .filter(|(verdict, _)| *verdict == Verdict::Delivered)
        .map(|(_, choices)| *choices)
        .collect();
    let combinations: std::collections::HashSet<_> = full
        .iter()
        .map(|(scheme, accuracy, status, _, _)| {
            let accuracy = match accuracy {
                ManifestAccuracy::Fewer(_) => "fewer",
                ManifestAccuracy::More(_) => "more",
                ManifestAccuracy::Exact => "exact",
                _ => "absurd",
            };
            (*scheme, accuracy, *status)
        })
        .collect();
    eprintln!(
        "{} of 60 scheme × manifest × status combinations delivered in full",
        combinations.len()
    );
    if verdicts.len() >= 200 {
        for scheme in CursorScheme::ALL {
            assert!(
                full.iter().any(|c| c.0 == scheme),
                "{scheme:?} never delivered in full"
            );
        }
        for status in [400, 404, 422] {
            assert!(
                full.iter().any(|c| c.2 == status),
                "HTTP {status} never tried"
            );
        }
        for writes in [PageWrites::Whole, PageWrites::Growing] {
            assert!(
                full.iter().any(|c| c.4 == writes),
                "{writes:?} never delivered in full"
            );
        }
        for vocabulary in [Vocabulary::Documented, Vocabulary::Grown] {
            assert!(
                full.iter().any(|c| c.3 == vocabulary),
                "{vocabulary:?} never delivered in full"
            );
        }
        for accuracy in [ManifestAccuracy::Exact, ManifestAccuracy::Absurd] {
            assert!(
                full.iter().any(|c| c.1 == accuracy),
                "{accuracy:?} never tried"
            );
        }
        assert!(
            full.iter()
                .any(|c| matches!(c.1, ManifestAccuracy::Fewer(_)))
        );
        assert!(
            full.iter()
                .any(|c| matches!(c.1, ManifestAccuracy::More(_)))
        );
    }
    eprintln!(
        "{} cases: {delivered} delivered everything, {} stopped with a typed error",
        verdicts.len(),
        verdicts.len() - delivered
    );
    // Faults are frequent but retries absorb most: the property must be
    // exercised mostly on full deliveries, not vacuously on early errors.
    assert!(
        delivered * 10 >= verdicts.len() * 7,
        "only {delivered} of {} cases delivered everything",
        verdicts.len()
    );
}

#[test]
fn the_simulator_follows_the_schedule() {
    // Guards the harness: a fault-free completed schedule is delivered in
    // full, an empty page included.
    let script = Script {
        schedule: Schedule {
            page_rows: vec![2, 0, 3],
            lands_at: vec![REQUEST * 2, REQUEST * 3, REQUEST * 4],
            ends_at: REQUEST * 5,
            ending: Ending::Completed,
        },
        faults: BTreeMap::new(),
        cursors: CursorScheme::Opaque,
        manifest: ManifestAccuracy::Fewer(1),
        unknown_cursor_status: 404,
        vocabulary: Vocabulary::Grown,
        page_writes: PageWrites::Growing,
    };
    assert_eq!(block_on(check(script)).unwrap(), Verdict::Delivered);
}

/// With no faults and no prefetching, each request is one tick of the
/// simulator's clock, so how late a row arrives is exact. The worst delay
/// of the rows readable while the job ran (see [`Script::delays`]), `None`
/// when there were none.
async fn worst_delay(mut script: Script) -> Option<u64> {
    script.faults.clear();
    let (sim, job_id, client) = serve(&script).await;
    let mut rows = client
        .lookalike()
        .job(&job_id)
        .expect("id")
        .stream()
        .with_concurrency(1)
        .rows();
    let mut yielded_at = Vec::new();
    while let Some(Ok(_)) = rows.next().await {
        yielded_at.push(sim.requests().polls);
    }
    script.delays(&yielded_at).into_iter().max()
}

/// Promptness: a row readable while the job runs (a page landed, or a
/// growing page filled) arrives at most two requests after the walk could
/// have had it, whatever the schedule: an empty page, a growing page, a job
/// that ends right after, never holds later rows back until the job ends.
#[test]
fn rows_arrive_within_two_requests_of_becoming_readable() {
    const MOST: u64 = 2;
    let mut runner = common::proptest_runner();
    let measured = std::sync::Mutex::new(0usize);
    let cases = std::sync::Mutex::new(0usize);
    runner
        .run(&script(), |script| {
            *cases.lock().unwrap() += 1;
            if let Some(delay) = block_on(worst_delay(script.clone())) {
                *measured.lock().unwrap() += 1;
                prop_assert!(
                    delay <= MOST,
                    "a row came {delay} requests after it could have: {script:?}"
                );
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    let (measured, cases) = (measured.into_inner().unwrap(), cases.into_inner().unwrap());
    eprintln!("{measured} of {cases} cases timed rows readable while the job ran");
    // Not vacuous: most schedules have rows readable before the job ends.
    assert!(
        measured * 2 >= cases,
        "only {measured} of {cases} cases had rows to time"
    );
}
