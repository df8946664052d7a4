//! Scenario 2: how many requests it takes to learn that a job completed, and
//! how late, for the default poll policy versus a fixed 1 s loop.

use crate::table::{Line, secs};
use openfunnel_sim::{JobType, Simulator};
use std::time::{Duration, Instant};

pub async fn run(run_time: Duration) -> Vec<Line> {
    let sim = Simulator::start().await.expect("simulator starts");
    let profile = crate::fixtures::steady_job(1_000, run_time);
    let client = crate::fixtures::client(sim.base_url())
        .build()
        .expect("client builds");
    let policy_job = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, profile.clone()))
        .expect("id");
    let fixed_job = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, profile))
        .expect("id");
    let started = Instant::now();
    let (policy, fixed) = tokio::join!(
        async {
            let outcome = policy_job.wait().await.expect("completes");
            (outcome.polls, started.elapsed().saturating_sub(run_time))
        },
        async {
            let mut polls = 0;
            loop {
                polls += 1;
                if policy_job_done(&fixed_job).await {
                    break (polls, started.elapsed().saturating_sub(run_time));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    );
    let max_delay = openfunnel::PollPolicy::default().backoff().max();
    let ratio = f64::from(policy.0) / f64::from(fixed.0);
    vec![
        Line::new(format!(
            "2. detect completion of a {} s job: requests, default policy vs fixed 1 s",
            run_time.as_secs()
        ))
        .sdk(format!("{} polls", policy.0))
        .comparison(format!("{} polls", fixed.0))
        .ratio(format!("{ratio:.2}"))
        .goal("≤ 0.33", ratio <= 1.0 / 3.0),
        Line::new("2. detection delay after the job completed")
            .sdk(secs(policy.1))
            .comparison(secs(fixed.1))
            .ratio(format!("max delay {}", secs(max_delay)))
            .goal(
                "≤ the policy's max delay",
                policy.1 <= max_delay + Duration::from_millis(100),
            ),
    ]
}

async fn policy_job_done(job: &openfunnel::Job<openfunnel::Lookalike>) -> bool {
    job.poll()
        .await
        .map(|page| page.status.is_terminal())
        .unwrap_or(false)
}
