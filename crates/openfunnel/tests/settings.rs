//! Every setting of the client and its policies takes effect: what a user
//! sets is what the requests and waits do, and what `Debug` shows.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Backoff, Client, Error, PollPolicy};
use std::time::Duration;

#[tokio::test]
async fn the_poll_policy_s_delays_multiplier_and_cap_shape_the_waits() {
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), Some(4)).await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let policy = PollPolicy::default().with_backoff(
        Backoff::new(Duration::from_secs(1), Duration::from_secs(5))
            .with_multiplier(3.0)
            .without_jitter(),
    );
    assert_eq!(policy.backoff().initial(), Duration::from_secs(1));
    assert_eq!(policy.backoff().max(), Duration::from_secs(5));
    let client = builder(&server, &timer)
        .with_poll_policy(policy)
        .build()
        .unwrap();
    let done = lookalike_job(&client).wait().await.unwrap();
    assert_eq!(done.polls, 5);
    assert_eq!(timer.sleeps_ms(), [1_000, 3_000, 5_000, 5_000]);
}

#[test]
fn a_deadline_can_be_removed() {
    let policy = PollPolicy::default().with_deadline(Duration::from_secs(10));
    assert_eq!(policy.deadline(), Some(Duration::from_secs(10)));
    assert_eq!(policy.without_deadline().deadline(), None);
}

#[test]
fn the_idle_timeout_can_be_set_and_removed() {
    let policy = PollPolicy::default().with_idle_timeout(Duration::from_secs(10));
    assert_eq!(policy.idle_timeout(), Some(Duration::from_secs(10)));
    let patient = policy.without_idle_timeout();
    assert_eq!(patient.idle_timeout(), None);
    // Only the idle timeout is removed.
    assert_eq!(
        patient.backoff().initial(),
        PollPolicy::default().backoff().initial()
    );
    assert_ne!(patient, PollPolicy::default());
}

#[tokio::test]
async fn retries_back_off_from_the_initial_backoff_set() {
    let server = MockServer::start_async().await;
    let burst = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503).up_to_n_times(2);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(
            exact_retries().with_backoff(
                exact_retries()
                    .backoff()
                    .with_initial(Duration::from_millis(300)),
            ),
        )
        .build()
        .unwrap();
    lookalike_job(&client).poll().await.unwrap();
    burst.assert_calls_async(2).await;
    assert_eq!(timer.sleeps_ms(), [300, 600]);
}

#[tokio::test]
async fn no_more_requests_than_allowed_are_in_flight_at_once() {
    use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
    let sim = Simulator::start_with(SimConfig::default().with_latency(Duration::from_millis(50)))
        .await
        .unwrap();
    let job_id = sim.add_job(JobType::Lookalike, JobProfile::completed(100));
    let client = Client::builder()
        .with_api_key(KEY)
        .with_base_url(sim.base_url())
        .with_max_concurrent_requests(2)
        .build()
        .unwrap();
    let job = client.lookalike().job(job_id).unwrap();
    let polls = (0..6).map(|_| job.poll());
    let pages = futures_util::future::try_join_all(polls).await.unwrap();
    assert_eq!(pages.len(), 6);
    assert_eq!(sim.requests().peak_in_flight, 2);
}

#[test]
fn a_base_url_with_a_user_name_alone_is_refused() {
    for url in [
        "http://user@127.0.0.1:8080",
        "http://user:pw@127.0.0.1:8080",
    ] {
        let error = Client::builder()
            .with_api_key(KEY)
            .with_base_url(url)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, Error::Configuration { .. }),
            "{url}: {error:?}"
        );
        assert!(error.to_string().contains("credentials"), "{error}");
    }
}

#[tokio::test]
async fn debug_output_shows_the_settings_and_the_stream_s_state_never_the_key() {
    let builder = Client::builder()
        .with_api_key(KEY)
        .with_base_url("http://127.0.0.1:9")
        .with_connect_timeout(Duration::from_secs(2))
        .with_max_concurrent_requests(3)
        .with_max_response_bytes(4_096);
    let shown = format!("{builder:?}");
    for expected in [
        "[redacted]",
        "connect_timeout: 2s",
        "max_concurrent_requests: 3",
        "max_response_bytes: 4096",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }
    let client = builder.build().unwrap();
    let shown = format!("{client:?}");
    assert!(shown.contains("http://127.0.0.1:9"), "{shown}");
    assert!(!shown.contains(KEY));

    let server = MockServer::start_async().await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = common::client(&server, &timer);
    let mut pages = lookalike_job(&client).pages();
    assert!(format!("{pages:?}").contains("not started"));
    while pages.try_next().await.unwrap().is_some() {}
    assert!(format!("{pages:?}").contains("finished"));
    let rows = lookalike_job(&client).rows();
    let shown = format!("{rows:?}");
    assert!(
        shown.contains("not started") && shown.contains("checkpoint"),
        "{shown}"
    );
}
