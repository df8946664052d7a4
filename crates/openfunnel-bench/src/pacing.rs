//! Scenario 8: pacing. Running jobs of several shapes, each read with
//! `pages()` three ways side by side in one run: `Pacing::Rhythm` (polls
//! timed to the job's page rhythm, experimental), the backoff (the default),
//! and a fixed 1 s loop. For each: requests, how late each page
//! was read after it landed, and how late the end was seen.

use crate::table::{Line, secs};
use futures_util::TryStreamExt;
use openfunnel::{Backoff, Jitter, Pacing, PollPolicy};
use openfunnel_sim::{
    Ending, JobProfile, JobType, Processed, Rhythm, Schedule, SimConfig, Simulator,
};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(20);
const PAGE: u32 = 100;

/// What reading one job measured.
#[derive(Clone, Copy, Debug, Default)]
struct Read {
    requests: u64,
    mean_late: Duration,
    end_late: Duration,
}

/// A job shape: its profile and when it ends (after it was added).
struct Shape {
    name: &'static str,
    kind: JobType,
    profile: JobProfile,
    ends_at: Duration,
    pages: u32,
}

fn steady(kind: JobType, name: &'static str) -> Shape {
    let second = Duration::from_secs(1);
    let schedule = Schedule {
        page_rows: vec![PAGE; 20],
        lands_at: (1..=20).map(|s| second * s).collect(),
        ends_at: second * 21,
        ending: Ending::Completed,
    };
    Shape {
        name,
        kind,
        profile: JobProfile::default().with_schedule(schedule),
        ends_at: second * 21,
        pages: 20,
    }
}

fn shaped(name: &'static str, rhythm: Rhythm, pending: Duration, run: Duration) -> Shape {
    let profile = JobProfile::default()
        .with_rows(20 * PAGE)
        .with_pending_for(pending)
        .with_run_time(run)
        .with_rhythm(rhythm)
        .with_processed(Processed::Steady);
    Shape {
        name,
        kind: JobType::Lookalike,
        profile,
        ends_at: pending + run,
        pages: 20,
    }
}

fn policies() -> [(&'static str, PollPolicy); 3] {
    let backoff = PollPolicy::default().with_pacing(Pacing::Backoff);
    let loop_1s = backoff
        .clone()
        .with_backoff(Backoff::fixed(Duration::from_secs(1)).with_jitter(Jitter::None));
    [
        ("rhythm", PollPolicy::default().with_pacing(Pacing::Rhythm)),
        ("backoff (default)", backoff),
        ("fixed 1 s loop", loop_1s),
    ]
}

pub async fn run(quick: bool) -> Vec<Line> {
    let pending = if quick {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(600)
    };
    let second = Duration::from_secs(1);
    let shapes = vec![
        steady(
            JobType::Lookalike,
            "steady lookalikes, a page a second, the end 1 s after the last",
        ),
        steady(
            JobType::TechIntent,
            "steady tech intent (no `processed`), the same timing",
        ),
        shaped(
            "bursty: clumps of 5 pages every 5 s",
            Rhythm::Bursty { pages_per_burst: 5 },
            second / 5,
            second * 20,
        ),
        shaped(
            "slowing: each gap longer, 20 pages over 20 s",
            Rhythm::Slowing,
            second / 5,
            second * 20,
        ),
        shaped(
            "stalled 10 s, then 20 pages in 10 s",
            Rhythm::StalledThenFast,
            second / 5,
            second * 20,
        ),
        shaped(
            "pending, then 20 pages in 20 s",
            Rhythm::Even,
            pending,
            second * 20,
        ),
    ];
    let sim = Simulator::start_with(SimConfig::default().with_latency(LATENCY))
        .await
        .expect("simulator starts");
    // Every shape and policy at once: the run lasts as long as the longest job.
    let mut reads = Vec::new();
    for shape in &shapes {
        for (_, policy) in policies() {
            reads.push(read(&sim, shape, policy));
        }
    }
    let results = futures_util::future::join_all(reads).await;
    let mut lines = Vec::new();
    for (index, shape) in shapes.iter().enumerate() {
        let [rhythm, backoff, fixed] = [0, 1, 2].map(|p| results[index * 3 + p]);
        let describe = |read: Read| {
            format!(
                "{} requests, pages {} late, end {} late",
                read.requests,
                secs(read.mean_late),
                secs(read.end_late)
            )
        };
        let pages = u64::from(shape.pages);
        let (goal, met) = match index {
            0 | 1 => (
                format!("≤ {} requests, ≤ 0.20 s, end ≤ 0.30 s", 2 * pages + 6),
                rhythm.requests <= 2 * pages + 6
                    && rhythm.mean_late <= Duration::from_millis(200)
                    && rhythm.end_late <= Duration::from_millis(300),
            ),
            2..=4 => (
                "≤ 1.1× the 1 s loop's requests, ≤ 0.50 s".to_string(),
                rhythm.requests as f64 <= 1.1 * fixed.requests as f64
                    && rhythm.mean_late <= Duration::from_millis(500),
            ),
            _ => (
                "≤ the backoff's requests".to_string(),
                rhythm.requests <= backoff.requests,
            ),
        };
        let name = if index == 5 {
            format!("pending {} s, then 20 pages in 20 s", pending.as_secs())
        } else {
            shape.name.to_string()
        };
        lines.push(
            Line::new(format!(
                "8. {name}: rhythm vs backoff (default) vs fixed 1 s"
            ))
            .sdk(describe(rhythm))
            .comparison(format!("{} · {}", describe(backoff), describe(fixed)))
            .ratio(format!(
                "{:.2}× / {:.2}× the requests",
                rhythm.requests as f64 / backoff.requests.max(1) as f64,
                rhythm.requests as f64 / fixed.requests.max(1) as f64
            ))
            .goal(goal, met),
        );
    }
    lines
}

/// Reads a fresh job of `shape` to its end with `policy`.
async fn read(sim: &Simulator, shape: &Shape, policy: PollPolicy) -> Read {
    let added = Instant::now();
    let id = sim.add_job(shape.kind, shape.profile.clone());
    let client = crate::fixtures::client(sim.base_url())
        .build()
        .expect("client builds");
    let mut late = Duration::ZERO;
    let mut pages = 0u32;
    macro_rules! walk {
        ($job:expr) => {{
            let mut stream = $job.stream().with_policy(policy).pages();
            while let Some(page) = stream.try_next().await.expect("the job is read") {
                let landed = added + shape.profile.page_lands_at(pages);
                late += Instant::now().saturating_duration_since(landed);
                pages += 1;
                drop(page);
            }
        }};
    }
    match shape.kind {
        JobType::Lookalike => walk!(client.lookalike().job(&id).expect("id")),
        _ => walk!(client.tech_intent().job(&id).expect("id")),
    }
    let end_late = Instant::now().saturating_duration_since(added + shape.ends_at);
    Read {
        requests: sim.polls_of(&id),
        mean_late: late / pages.max(1),
        end_late,
    }
}
