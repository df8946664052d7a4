//! `openfunnel demo`: a lookalike job from submit to every row against an
//! in-process simulator (no key, no network). Behind the default-on `demo`
//! feature, so a CLI built without it does not link the simulator.

use crate::cli::DemoArgs;
use crate::commands::finished_export;
use crate::exit::CliError;
use crate::export::ExportOptions;
use crate::progress::Reporter;
use openfunnel::{Client, LookalikeSearch};
use openfunnel_sim::{JobProfile, SimConfig, Simulator};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `demo`: the whole flow against an in-process simulator.
pub async fn run(args: &DemoArgs, quiet: bool) -> Result<(), CliError> {
    let reporter = Arc::new(Reporter::new(quiet).expecting_rows(Some(args.rows.into())));
    let profile = JobProfile::default()
        .with_rows(args.rows)
        .with_pending_for(Duration::from_millis(400))
        .with_run_time(Duration::from_secs(4));
    let config = SimConfig::default()
        .with_profile(profile)
        .with_latency(Duration::from_millis(20));
    let sim = Simulator::start_with(config)
        .await
        .map_err(CliError::io("cannot start the built-in simulator"))?;
    reporter.say(&format!(
        "openfunnel demo: simulator listening on {} (no key, no network)",
        sim.base_url()
    ));
    let client = Client::builder()
        .with_api_key("of_demo_key")
        .with_base_url(sim.base_url())
        .with_poll_policy(
            openfunnel::PollPolicy::default().with_backoff(
                openfunnel::Backoff::new(Duration::from_millis(200), Duration::from_secs(1))
                    .with_jitter(openfunnel::Jitter::Equal),
            ),
        )
        .build()?;
    let search = LookalikeSearch::default()
        .query("observability platforms for engineering teams")
        .limit(args.rows);
    let started = Instant::now();
    let job = client.lookalike().submit(search).await?;
    reporter.say(&format!(
        "openfunnel demo: submitted lookalike job {}",
        job.id()
    ));
    let options = ExportOptions {
        format: args.format,
        raw_csv: false,
        output: args.output.clone(),
        resume: false,
        no_wait: false,
        timeout: Some(Duration::from_secs(120)),
        idle_timeout: None,
        limit: None,
    };
    let summary = finished_export(&job, &options, &client, reporter.clone()).await?;
    let credits = summary
        .outcome
        .as_ref()
        .and_then(|outcome| outcome.manifest.as_ref()?.credits_consumed)
        .unwrap_or_default();
    let requests = sim.requests();
    reporter.say(&format!(
        "openfunnel demo: {} rows from {} pages in {:.1} s; {} requests ({} polls); {} credits (simulated)",
        summary.rows,
        summary.pages,
        started.elapsed().as_secs_f64(),
        requests.submits + requests.polls + requests.cancels,
        requests.polls,
        credits
    ));
    if let Some(path) = &args.output {
        reporter.say(&format!("openfunnel demo: rows are in {}", path.display()));
    }
    Ok(())
}
