//! Waiting for a job: polls back off and follow progress, the idle timeout and
//! the deadline bound them (at every extreme of every duration), and progress
//! is reported after each poll.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Backoff, Error, Jitter, JobStatus, PollPolicy, RetryPolicy, TimeLimit};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- waiting

#[tokio::test]
async fn wait_polls_with_exponential_backoff_until_completed() {
    let server = MockServer::start_async().await;
    serve(&server, None, page("pending", None, None, vec![]), Some(2)).await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), None, rows(0..1)),
        Some(3),
    )
    .await;
    serve(
        &server,
        None,
        terminal("completed", Some("page_0000"), None, rows(0..1), 1),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    let outcome = lookalike_job(&client)
        .wait()
        .await
        .expect("the job completes");
    assert_eq!(outcome.status, JobStatus::Completed);
    assert_eq!(outcome.polls, 6);
    assert_eq!(outcome.manifest.and_then(|m| m.pages), Some(1));
    assert_eq!(timer.sleeps_ms(), [500, 1000, 2000, 4000, 8000]);
    assert_eq!(outcome.elapsed, Duration::from_millis(15_500));
}

#[tokio::test]
async fn a_deadline_shortens_the_last_sleep_to_fit_and_says_it_was_the_deadline() {
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), None).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_deadline(Duration::from_secs(10)))
        .build()
        .unwrap();
    match lookalike_job(&client).wait().await {
        Err(Error::TimedOut {
            job_id,
            last_status,
            polls,
            elapsed,
            limit,
            last_error,
        }) => {
            assert_eq!(job_id, JOB);
            assert_eq!(last_status, Some(JobStatus::Running));
            // The last sleep ends at the deadline, and so does the call: a
            // poll sent then would be cut off at once.
            assert_eq!(polls, 5);
            assert_eq!(elapsed, Duration::from_secs(10));
            assert_eq!(
                limit,
                openfunnel::TimeLimit::Deadline(Duration::from_secs(10))
            );
            assert!(last_error.is_none(), "no request was failing");
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    assert_eq!(timer.sleeps_ms(), [500, 1000, 2000, 4000, 2500]);
}

#[tokio::test]
async fn the_idle_timeout_is_on_by_default_and_bounds_waiting_without_progress() {
    // No deadline by default: a job that never moves is ended by the idle
    // timeout (one hour), and the error says which limit it was.
    assert_eq!(openfunnel::PollPolicy::default().deadline(), None);
    assert_eq!(
        openfunnel::PollPolicy::default().idle_timeout(),
        Some(Duration::from_secs(3600))
    );
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), None).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let error = lookalike_job(&client).wait().await.unwrap_err();
    match &error {
        Error::TimedOut { limit, elapsed, .. } => {
            assert_eq!(
                *limit,
                openfunnel::TimeLimit::Idle(Duration::from_secs(3600))
            );
            assert_eq!(*elapsed, Duration::from_secs(3600));
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    assert!(
        error.to_string().contains("made no progress for 3600.0 s"),
        "{error}"
    );
    assert!(error.to_string().contains("with_idle_timeout"), "{error}");
}

#[tokio::test]
async fn an_unknown_status_keeps_waiting_and_the_time_out_names_it() {
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("paused_for_review", None, None, vec![]),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_deadline(Duration::from_secs(3)))
        .build()
        .unwrap();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    assert!(
        matches!(&error, Error::TimedOut { last_status: Some(JobStatus::Other(s)), .. } if s == "paused_for_review"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("last status: paused_for_review"),
        "{error}"
    );
}

#[tokio::test]
async fn wait_reports_failed_and_cancelled_as_typed_errors() {
    let server = MockServer::start_async().await;
    let mut failed = terminal("failed", Some("page_0000"), None, rows(0..1), 1);
    failed.error_message = Some("quota exceeded".into());
    serve(&server, None, failed, None).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let error = lookalike_job(&client).wait().await.unwrap_err();
    assert!(
        matches!(&error, Error::JobFailed { error_message: Some(m), manifest: Some(_), .. } if m == "quota exceeded")
    );
    assert_eq!(
        error.to_string(),
        format!("job `{JOB}` failed: quota exceeded; rows it wrote before failing were delivered")
    );

    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("cancelling", None, None, vec![]),
        Some(1),
    )
    .await;
    serve(
        &server,
        None,
        terminal("cancelled", None, None, vec![], 0),
        None,
    )
    .await;
    let client = builder(&server, &timer).build().unwrap();
    assert!(matches!(
        lookalike_job(&client).wait().await,
        Err(Error::JobCancelled { .. })
    ));
}

#[tokio::test]
async fn the_progress_observer_sees_status_processed_and_stage() {
    let server = MockServer::start_async().await;
    let mut running = page("running", None, None, vec![]);
    running.processed = Some(120);
    running.progress_message = Some("qualifying_companies".into());
    serve(&server, None, running, Some(1)).await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = client.poll_policy().clone();
    let record = seen.clone();
    lookalike_job(&client)
        .wait_with(&policy, move |p| {
            record
                .lock()
                .unwrap()
                .push((p.status.clone(), p.processed, p.stage.clone(), p.polls))
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (
                JobStatus::Running,
                Some(120),
                Some("qualifying_companies".to_string()),
                1
            ),
            (JobStatus::Completed, None, None, 2)
        ]
    );
}

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

/// Every extreme a duration setting can take.
const EXTREMES: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_secs(1),
    Duration::from_secs(u64::MAX),
    Duration::MAX,
];

/// A poll policy with one setting at `value`.
fn poll_policies(value: Duration) -> Vec<(&'static str, PollPolicy)> {
    let exact = exact_policy();
    let backoff = exact.backoff();
    vec![
        ("with_deadline", exact.clone().with_deadline(value)),
        ("with_idle_timeout", exact.clone().with_idle_timeout(value)),
        (
            "initial delay",
            exact.clone().with_backoff(backoff.with_initial(value)),
        ),
        (
            "max delay",
            exact.clone().with_backoff(backoff.with_max(value)),
        ),
        (
            "initial and max delay",
            exact.clone().with_backoff(Backoff::fixed(value)),
        ),
        (
            "equal jitter, both delays",
            exact.with_backoff(Backoff::new(value, value).with_jitter(Jitter::Equal)),
        ),
    ]
}

/// A retry policy with one setting at `value`.
fn retry_policies(value: Duration) -> Vec<(&'static str, RetryPolicy)> {
    let exact = exact_retries();
    let backoff = exact.backoff();
    vec![
        (
            "initial backoff",
            exact.clone().with_backoff(backoff.with_initial(value)),
        ),
        (
            "max backoff",
            exact.clone().with_backoff(backoff.with_max(value)),
        ),
        (
            "with_max_retry_after",
            exact.clone().with_max_retry_after(value),
        ),
        (
            "full jitter, both backoffs",
            RetryPolicy::default().with_backoff(Backoff::new(value, value)),
        ),
    ]
}

#[tokio::test]
async fn every_duration_setting_at_every_extreme_neither_panics_nor_hangs() {
    // A job that runs for three polls then completes, and a 503 on the
    // first poll of each stream, so poll waits and retry waits both happen.
    for value in EXTREMES {
        for (name, policy) in poll_policies(value) {
            let server = MockServer::start_async().await;
            // Earlier mocks win: one 503 (asking for 1 s), three running
            // polls, then the completed job.
            server
                .mock_async(|when, then| {
                    when.method(GET).path(LOOKALIKE_PATH);
                    then.status(503).header("retry-after", "1").up_to_n_times(1);
                })
                .await;
            serve(&server, None, page("running", None, None, vec![]), Some(3)).await;
            serve(
                &server,
                None,
                terminal("completed", Some("page_0000"), None, rows(0..3), 1),
                None,
            )
            .await;
            let timer = VirtualTimer::new();
            let client = builder(&server, &timer)
                .with_poll_policy(policy.clone())
                .build()
                .unwrap();
            let case = format!("{name}({value:?})");
            settled(&case, lookalike_job(&client).wait().await);
            let rows = futures_util::TryStreamExt::try_collect::<Vec<_>>(
                lookalike_job(&client).stream().with_policy(policy).rows(),
            )
            .await;
            settled(&case, rows);
        }
        for (name, retry) in retry_policies(value) {
            let server = MockServer::start_async().await;
            let failing = answer_every_poll(&server, 503, None).await;
            let timer = VirtualTimer::new();
            let client = builder(&server, &timer)
                .with_retry_policy(retry)
                .build()
                .unwrap();
            let case = format!("{name}({value:?})");
            settled(&case, lookalike_job(&client).wait().await);
            settled(
                &case,
                futures_util::TryStreamExt::try_collect::<Vec<_>>(lookalike_job(&client).rows())
                    .await,
            );
            assert!(
                failing.calls_async().await >= 2,
                "{case}: the 503s were sent"
            );
        }
    }
}

#[tokio::test]
async fn the_idle_timeout_restarts_on_progress_so_a_moving_job_is_never_cut_off() {
    // Idle timeout 10 s; the job's `processed` moves every poll for 20
    // polls (well past 10 s of waiting in all), then it completes.
    let server = MockServer::start_async().await;
    for processed in 0..20 {
        let mut body = page("running", None, None, vec![]);
        body.processed = Some(processed);
        serve(&server, None, body, Some(1)).await;
    }
    serve(
        &server,
        None,
        terminal("completed", Some("page_0000"), None, rows(0..2), 1),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let policy = exact_policy()
        .with_backoff(
            exact_policy()
                .backoff()
                .with_initial(Duration::from_secs(2)),
        )
        .with_idle_timeout(Duration::from_secs(10));
    let client = builder(&server, &timer)
        .with_poll_policy(policy.clone())
        .build()
        .unwrap();
    let done = lookalike_job(&client)
        .wait()
        .await
        .expect("progress keeps it waiting");
    assert_eq!(done.polls, 21);
    assert!(done.elapsed > Duration::from_secs(10), "{:?}", done.elapsed);

    // The same job standing still: the idle timeout ends it, naming itself.
    let server = MockServer::start_async().await;
    let mut body = page("running", None, None, vec![]);
    body.processed = Some(5);
    serve(&server, None, body, None).await;
    let client = builder(&server, &timer)
        .with_poll_policy(policy)
        .build()
        .unwrap();
    match lookalike_job(&client).wait().await {
        Err(Error::TimedOut { limit, .. }) => {
            assert_eq!(limit, TimeLimit::Idle(Duration::from_secs(10)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_deadline_cuts_off_a_request_in_flight_not_only_the_waits_between() {
    // The server answers after 5 s; the request timeout is 30 s; the
    // deadline of 1 s ends the call at 1 s.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200)
                .delay(Duration::from_secs(5))
                .json_body_obj(&page("running", None, None, vec![]));
        })
        .await;
    let client = openfunnel::Client::builder()
        .with_api_key(KEY)
        .with_base_url(server.base_url())
        .with_poll_policy(PollPolicy::default().with_deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error,
            Error::TimedOut {
                limit: TimeLimit::Deadline(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let started = Instant::now();
    let error = futures_util::TryStreamExt::try_collect::<Vec<_>>(lookalike_job(&client).rows())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TimedOut { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_slow_reader_of_a_completed_job_is_never_timed_out_and_its_retries_still_work() {
    // Five pages; the reader spends 12 s (virtual) on each, longer than the
    // 10 s idle timeout, and every page's first request answers 503. Time
    // spent by the reader is not waiting: every page arrives. (With a bound
    // counted from the start of the stream, the retry after the first 10 s
    // was refused.)
    let server = MockServer::start_async().await;
    for index in 0..5u32 {
        let cursor = (index > 0).then(|| format!("page_{index:04}"));
        // Earlier mocks win: a 503 once per page, then the page itself.
        server
            .mock_async(move |when, then| {
                let when = when.method(GET).path(LOOKALIKE_PATH);
                match cursor {
                    Some(cursor) => when.query_param("cursor", cursor),
                    None => when.query_param_missing("cursor"),
                };
                then.status(503).up_to_n_times(1);
            })
            .await;
    }
    serve_completed_job(&server, 5).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_idle_timeout(Duration::from_secs(10)))
        .with_page_concurrency(1)
        .build()
        .unwrap();
    let mut rows = lookalike_job(&client).rows();
    let mut read = Vec::new();
    while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows)
        .await
        .expect("no time limit is reached")
    {
        read.push(row);
        if read.len() % 100 == 0 {
            openfunnel::Timer::sleep(&timer, Duration::from_secs(12)).await;
        }
    }
    assert_eq!(names(&read), expected_names(0..500));
    assert!(rows.outcome().is_some());
}

#[tokio::test]
async fn with_both_limits_set_the_first_to_come_ends_the_wait_and_is_named() {
    // (idle, deadline, the limit that ends a job standing still, and when).
    let secs = Duration::from_secs;
    let cases = [
        (secs(10), secs(100), TimeLimit::Idle(secs(10)), secs(10)),
        (secs(10), secs(5), TimeLimit::Deadline(secs(5)), secs(5)),
        // A tie is the deadline's: the call ends there, without a last poll.
        (secs(10), secs(10), TimeLimit::Deadline(secs(10)), secs(10)),
    ];
    for (idle, deadline, expected, at) in cases {
        let server = MockServer::start_async().await;
        serve(&server, None, page("running", None, None, vec![]), None).await;
        let timer = VirtualTimer::new();
        let policy = exact_policy()
            .with_idle_timeout(idle)
            .with_deadline(deadline);
        let client = builder(&server, &timer)
            .with_poll_policy(policy)
            .build()
            .unwrap();
        match lookalike_job(&client).wait().await {
            Err(Error::TimedOut { limit, elapsed, .. }) => {
                assert_eq!(
                    (limit, elapsed),
                    (expected, at),
                    "idle {idle:?}, deadline {deadline:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------- the deadline

#[tokio::test]
async fn retries_stop_at_the_deadline_with_the_last_state_seen() {
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), Some(1)).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503).body("overloaded");
        })
        .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_deadline(Duration::from_secs(2)))
        .with_retry_policy(
            exact_retries()
                .with_max_attempts(10)
                .with_backoff(exact_retries().backoff().with_max(Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    match &error {
        Error::TimedOut {
            last_status,
            polls,
            last_error,
            ..
        } => {
            assert_eq!(*last_status, Some(JobStatus::Running));
            assert_eq!(*polls, 1);
            let last_error = last_error.as_deref().expect("the failure being retried");
            assert_eq!(last_error.status(), Some(503));
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    // A 500 ms poll pause, then retries after 200, 400 and 800 ms (1.9 s in
    // all); the next, 1.6 s, would pass the 2 s deadline: no wait does.
    let total: Duration = timer.sleeps().iter().sum();
    assert!(total <= Duration::from_secs(2), "{:?}", timer.sleeps());
    assert_eq!(timer.sleeps_ms(), [500, 200, 400, 800]);
    assert!(error.to_string().contains("overloaded"), "{error}");
}

#[tokio::test]
async fn a_stream_s_retries_stop_at_its_deadline_too() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(
            exact_retries()
                .with_max_attempts(100)
                .with_max_retry_after(Duration::from_secs(600)),
        )
        .build()
        .unwrap();
    let error = lookalike_job(&client)
        .stream()
        .with_policy(PollPolicy::default().with_deadline(Duration::from_secs(3)))
        .rows()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TimedOut { .. }), "{error:?}");
    let total: Duration = timer.sleeps().iter().sum();
    assert!(total < Duration::from_secs(3), "{:?}", timer.sleeps());
}

#[tokio::test(flavor = "current_thread")]
async fn an_undocumented_status_is_warned_about_once_and_a_documented_one_not_at_all() {
    let captured = capture_trace();
    let timer = VirtualTimer::new();
    for status in ["running", "throttled"] {
        // Three polls in `status`, then completed.
        let server = MockServer::start_async().await;
        serve(&server, None, page(status, None, None, vec![]), Some(3)).await;
        serve_completed_empty(&server).await;
        let done = lookalike_job(&client(&server, &timer))
            .wait()
            .await
            .unwrap();
        assert_eq!(done.polls, 4);
    }
    let warnings: Vec<String> = captured
        .text()
        .lines()
        .filter(|line| line.contains("undocumented job status"))
        .map(str::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("status=throttled"), "{}", warnings[0]);
}

#[tokio::test]
async fn paced_to_the_rhythm_a_stalled_running_job_is_looked_at_each_second_a_pending_one_backs_off()
 {
    let policy = exact_policy().with_pacing(openfunnel::Pacing::Rhythm);
    let mut sleeps = Vec::new();
    for status in ["running", "pending"] {
        let server = MockServer::start_async().await;
        serve(&server, None, page(status, None, None, vec![]), Some(6)).await;
        serve_completed_empty(&server).await;
        let timer = VirtualTimer::new();
        let client = builder(&server, &timer)
            .with_poll_policy(policy.clone())
            .build()
            .unwrap();
        let rows: Vec<_> = lookalike_job(&client).rows().try_collect().await.unwrap();
        assert!(rows.is_empty());
        sleeps.push(timer.sleeps_ms());
    }
    // Running without a page (a stall): every fifth of the stall, at least
    // the backoff's second step (1 s), so its first page is not read late.
    assert_eq!(sleeps[0], [1_000; 6]);
    // Pending: the backoff alone.
    assert_eq!(sleeps[1], [500, 1_000, 2_000, 4_000, 8_000, 8_000]);
}
