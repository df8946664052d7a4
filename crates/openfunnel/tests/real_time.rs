//! The SDK against the simulator, over real time: rows while the job runs,
//! cancel, failure, and faults, with every row delivered exactly once.

use futures_util::TryStreamExt;
use openfunnel::{
    Backoff, Client, Error, Jitter, Job, JobKind, JobStatus, LookalikeSearch, PollPolicy,
    RetryPolicy, TechIntentSearch,
};
use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
use std::collections::HashSet;
use std::time::Duration;

fn client(sim: &Simulator) -> Client {
    Client::builder()
        .with_api_key("of_sim")
        .with_base_url(sim.base_url())
        .with_poll_policy(
            PollPolicy::default()
                .with_backoff(
                    Backoff::new(Duration::from_millis(20), Duration::from_millis(80))
                        .with_jitter(Jitter::Equal),
                )
                .with_deadline(Duration::from_secs(30)),
        )
        .with_retry_policy(
            RetryPolicy::default()
                .with_backoff(
                    RetryPolicy::default()
                        .backoff()
                        .with_initial(Duration::from_millis(5)),
                )
                .with_max_retry_after(Duration::from_secs(2)),
        )
        .build()
        .expect("client builds")
}

fn running(rows: u32, run_ms: u64) -> JobProfile {
    JobProfile::default()
        .with_rows(rows)
        .with_pending_for(Duration::from_millis(50))
        .with_run_time(Duration::from_millis(run_ms))
}

fn assert_unique(domains: &[String], expected: usize) {
    assert_eq!(domains.len(), expected);
    let unique: HashSet<&String> = domains.iter().collect();
    assert_eq!(unique.len(), expected, "a row was delivered twice");
}

#[tokio::test]
async fn rows_arrive_while_the_job_runs_each_exactly_once() {
    let sim = Simulator::start_with(SimConfig::default().with_profile(running(1_000, 800)))
        .await
        .unwrap();
    let client = client(&sim);
    let job = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM vendors").limit(1_000))
        .await
        .unwrap();
    let pages: Vec<_> = job.pages().try_collect().await.unwrap();
    assert_eq!(
        pages.first().map(|p| p.status.clone()),
        Some(JobStatus::Running),
        "the first page came before completion"
    );
    let domains: Vec<String> = pages
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| r.domain.clone().unwrap_or_default()))
        .collect();
    assert_unique(&domains, 1_000);
}

#[tokio::test]
async fn a_cancelled_job_delivers_the_pages_it_wrote_then_job_cancelled() {
    let sim = Simulator::start().await.unwrap();
    let client = client(&sim);
    let id = sim.add_job(JobType::Lookalike, running(2_000, 2_000));
    let job = client.lookalike().job(&id).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let cancellation = job.cancel().await.unwrap();
    assert_eq!(cancellation.status, Some(JobStatus::Cancelling));
    let partial = job.rows().collect_all().await.unwrap_err();
    let Error::JobCancelled {
        manifest: Some(manifest),
        ..
    } = &partial.error
    else {
        panic!(
            "expected JobCancelled with a manifest, got {}",
            partial.error
        );
    };
    let pages = manifest.pages().unwrap() as usize;
    assert!(pages > 0 && pages < 20, "{pages} pages before the cancel");
    assert_eq!(partial.rows.len(), pages * 100);
    assert!(job.cancel().await.unwrap().already_finished);
}

#[tokio::test]
async fn a_job_failing_after_three_pages_delivers_them_then_job_failed() {
    let sim = Simulator::start_with(
        SimConfig::default().with_profile(running(1_000, 500).failing_after(3)),
    )
    .await
    .unwrap();
    let client = client(&sim);
    let job = client
        .tech_intent()
        .submit(
            TechIntentSearch::new("Snowflake", "migrating")
                .limit(500)
                .enrich(true),
        )
        .await
        .unwrap();
    let partial = job.rows().collect_all().await.unwrap_err();
    assert_eq!(partial.rows.len(), 300);
    assert!(
        partial
            .error
            .to_string()
            .contains("simulated failure after 3 pages"),
        "{}",
        partial.error
    );
    assert!(
        partial
            .rows
            .iter()
            .all(|row| row.extra.contains_key("website")),
        "firmographics survive"
    );
}

#[tokio::test]
async fn faults_on_every_kind_of_poll_lose_and_duplicate_nothing() {
    // About one poll in three is faulted; eight concurrent fetches share the
    // schedule, so a request may meet several faults in a row.
    let config = SimConfig::default()
        .with_profile(running(1_500, 600))
        .with_fault(Fault::ServerErrors {
            every: 25,
            burst: 2,
            status: 503,
        })
        .with_fault(Fault::RateLimit {
            every: 11,
            retry_after: Duration::from_secs(1),
        })
        .with_fault(Fault::TruncatedBody { every: 13 })
        .with_fault(Fault::DropConnection { every: 17 });
    let sim = Simulator::start_with(config).await.unwrap();
    let client = client(&sim);
    let job = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM").limit(1_500))
        .await
        .unwrap();
    let rows: Vec<_> = job
        .rows()
        .try_collect()
        .await
        .expect("retries absorb every fault");
    let domains: Vec<String> = rows
        .into_iter()
        .map(|r| r.domain.unwrap_or_default())
        .collect();
    assert_unique(&domains, 1_500);
    assert!(sim.requests().polls > 15);
}

#[tokio::test]
async fn a_completed_job_is_exported_with_few_requests() {
    let sim = Simulator::start().await.unwrap();
    let client = client(&sim);
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(2_500));
    let rows: Vec<_> = client
        .lookalike()
        .job(&id)
        .unwrap()
        .rows()
        .try_collect()
        .await
        .unwrap();
    let domains: Vec<String> = rows
        .into_iter()
        .map(|r| r.domain.unwrap_or_default())
        .collect();
    assert_unique(&domains, 2_500);
    assert_eq!(sim.requests().polls, 25, "one request per page, no polling");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_an_unknown_job_not_found() {
    let sim = Simulator::start_with(SimConfig::default().with_api_key("of_right"))
        .await
        .unwrap();
    let wrong = client(&sim);
    let error = wrong
        .lookalike()
        .submit(LookalikeSearch::default().query("APM"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Unauthorized { status: 401, .. }),
        "{error:?}"
    );

    let right = Client::builder()
        .with_api_key("of_right")
        .with_base_url(sim.base_url())
        .build()
        .unwrap();
    let error = right
        .lookalike()
        .job("no-such-job")
        .unwrap()
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn one_client_bounds_its_requests_in_flight_across_many_jobs() {
    let sim = Simulator::start_with(SimConfig::default().with_latency(Duration::from_millis(30)))
        .await
        .unwrap();
    let ids: Vec<String> = (0..30)
        .map(|_| sim.add_job(JobType::Lookalike, JobProfile::completed(800)))
        .collect();
    let client = Client::builder()
        .with_api_key("of_sim")
        .with_base_url(sim.base_url())
        .with_max_concurrent_requests(6)
        .build()
        .unwrap();
    let exports = ids.iter().map(|id| {
        let job = client.lookalike().job(id).unwrap();
        async move {
            job.rows()
                .try_collect::<Vec<_>>()
                .await
                .map(|rows| rows.len())
        }
    });
    let counts = futures_util::future::join_all(exports).await;
    assert!(counts.iter().all(|c| matches!(c, Ok(800))), "{counts:?}");
    let peak = sim.requests().peak_in_flight;
    assert!(peak <= 6, "{peak} requests were in flight at once");
    assert!(peak >= 4, "the exports did run concurrently ({peak})");
}

#[tokio::test]
async fn every_cursor_scheme_manifest_accuracy_and_unknown_cursor_status_delivers_every_row() {
    use openfunnel_sim::{CursorScheme, ManifestAccuracy};
    let sim = Simulator::start().await.unwrap();
    let client = client(&sim);
    let accuracies = [
        ManifestAccuracy::Exact,
        ManifestAccuracy::Fewer(3),
        ManifestAccuracy::More(4),
        ManifestAccuracy::Absurd,
    ];
    for scheme in CursorScheme::ALL {
        for accuracy in accuracies {
            for status in [400, 404, 422] {
                let profile = JobProfile::completed(1_050)
                    .with_cursors(scheme)
                    .with_manifest(accuracy)
                    .with_unknown_cursor_status(status);
                let id = sim.add_job(JobType::Lookalike, profile);
                let case = format!("{scheme:?} {accuracy:?} {status}");
                let mut rows = client.lookalike().job(id).unwrap().rows();
                let mut domains = Vec::new();
                while let Some(row) = rows.try_next().await.expect(&case) {
                    domains.push(row.domain.unwrap_or_default());
                }
                assert_unique(&domains, 1_050);
                let outcome = rows.outcome().expect(&case);
                assert_eq!(outcome.pages, 11, "{case}");
                assert_eq!(
                    outcome.manifest_mismatch.is_some(),
                    accuracy != ManifestAccuracy::Exact,
                    "{case}"
                );
                if matches!(scheme, CursorScheme::Opaque) {
                    assert_eq!(outcome.discarded_prefetches, 0, "{case}: nothing to guess");
                }
            }
        }
    }
}

/// Polls `job` until it reports `status` (true) or ends (false).
async fn reports<K: JobKind>(job: &Job<K>, status: &JobStatus) -> bool {
    loop {
        let page = job.poll().await.expect("a poll");
        if &page.status == status {
            return true;
        }
        if page.status.is_terminal() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Streams every row of `job`, checking the fields no spec names survive
/// on each row and on the final manifest; returns the rows as JSON.
async fn export_keeping_unknown_fields<K: JobKind>(job: &Job<K>) -> Vec<serde_json::Value> {
    let mut rows = job.rows();
    let mut written = Vec::new();
    while let Some(row) = rows.try_next().await.expect("every row") {
        let row = serde_json::to_value(row).unwrap();
        assert_eq!(row["x_region"], "eu-west-1", "{row}");
        assert!(row["x_trace"]["hops"].is_array(), "{row}");
        written.push(row);
    }
    let outcome = rows.outcome().expect("the stream ended");
    assert_eq!(outcome.status, JobStatus::Completed);
    let manifest = serde_json::to_value(outcome.manifest.as_ref().expect("a manifest")).unwrap();
    assert_eq!(manifest["x_region"], "eu-west-1", "{manifest}");
    written
}

#[tokio::test]
async fn a_server_with_undocumented_fields_and_statuses_loses_nothing() {
    use openfunnel_sim::Vocabulary;
    // The spec does not promise that no field or status value is ever added.
    let sim = Simulator::start().await.unwrap();
    let client = client(&sim);
    let grown = running(250, 600).with_vocabulary(Vocabulary::Grown);
    let undocumented = JobStatus::from(Vocabulary::UNDOCUMENTED_STATUS);
    assert!(matches!(undocumented, JobStatus::Other(_)));

    let job = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, grown.clone()))
        .unwrap();
    assert!(reports(&job, &undocumented).await, "the job said throttled");
    let rows = export_keeping_unknown_fields(&job).await;
    let domains: Vec<String> = rows.iter().map(|r| r["domain"].to_string()).collect();
    assert_unique(&domains, 250);

    let job = client
        .tech_intent()
        .job(sim.add_job(JobType::TechIntent, grown))
        .unwrap();
    assert!(reports(&job, &undocumented).await, "the job said throttled");
    let rows = export_keeping_unknown_fields(&job).await;
    let slugs: Vec<String> = rows.iter().map(|r| r["company_slug"].to_string()).collect();
    assert_unique(&slugs, 250);
}

#[tokio::test]
async fn pages_that_grow_while_the_job_runs_lose_no_row() {
    use openfunnel_sim::PageWrites;
    // The newest page shows half its rows until the next one lands.
    let sim = Simulator::start().await.unwrap();
    let client = client(&sim);
    let growing = running(1_000, 800).with_page_writes(PageWrites::Growing);
    let job = client
        .lookalike()
        .job(sim.add_job(JobType::Lookalike, growing.clone()))
        .unwrap();
    let mut rows = job.rows();
    let mut domains = Vec::new();
    while let Some(row) = rows.try_next().await.expect("every row") {
        domains.push(row.domain.unwrap_or_default());
    }
    assert_unique(&domains, 1_000);
    assert_eq!(rows.outcome().expect("ended").pages, 10);

    let job = client
        .tech_intent()
        .job(sim.add_job(JobType::TechIntent, growing))
        .unwrap();
    let slugs: Vec<String> = job
        .rows()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.company_slug)
        .collect();
    assert_unique(&slugs, 1_000);
}

/// A stream reports the gap it learned between pages and when the next is
/// due, paced to the job's rhythm or by the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reports_the_page_interval_and_the_next_page_whatever_its_pacing() {
    let sim = Simulator::start_with(SimConfig::default()).await.unwrap();
    // Eight pages, one every 250 ms.
    let id = sim.add_job(JobType::Lookalike, running(800, 2_000));
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = {
        let reports = reports.clone();
        move |progress: &openfunnel::Progress| {
            reports
                .lock()
                .unwrap()
                .push((progress.page_interval, progress.next_page_in));
        }
    };
    let client = client(&sim);
    let rhythm = client
        .poll_policy()
        .clone()
        .with_pacing(openfunnel::Pacing::Rhythm);
    let job = client.lookalike().job(&id).unwrap();
    let rows: Vec<_> = job
        .stream()
        .with_policy(rhythm)
        .on_progress(record.clone())
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 800);
    let learned: Vec<_> = reports
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(interval, next)| interval.zip(*next))
        .collect();
    let (interval, next) = *learned.last().expect("a rhythm was learned");
    assert!(
        interval >= Duration::from_millis(150) && interval <= Duration::from_millis(350),
        "{interval:?}"
    );
    assert!(next <= Duration::from_millis(400), "{next:?}");

    // Paced by the backoff, the same estimate is reported (it is learned
    // from the answers, whatever decides when to ask): a progress bar shows
    // it under the default pacing too.
    reports.lock().unwrap().clear();
    let id = sim.add_job(JobType::Lookalike, running(800, 2_000));
    let job = client.lookalike().job(&id).unwrap();
    let rows: Vec<_> = job
        .stream()
        .on_progress(record)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 800);
    let learned: Vec<_> = reports
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(interval, _)| *interval)
        .collect();
    let interval = *learned
        .last()
        .expect("a rhythm was learned under the backoff");
    // The backoff's polls may see two pages at once (one landing), so the
    // learned gap may be up to two of the job's.
    assert!(
        interval >= Duration::from_millis(150) && interval <= Duration::from_millis(700),
        "{interval:?}"
    );
}
