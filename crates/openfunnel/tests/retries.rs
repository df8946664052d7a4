//! Retries: which failures are retried and how long each wait is (backoff with
//! jitter, `Retry-After` as RFC 9110 allows it, a server asking too much), a
//! submit never resent once it reached the server, and the bound on requests in
//! flight.

mod common;

use common::*;
use httpmock::prelude::*;
use openfunnel::{Client, Error, JobStatus, LookalikeSearch, RetryPolicy};
use serde_json::json;
use std::time::Duration;

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_retry_after_is_a_minimum_jittered_upward_by_up_to_a_quarter() {
    // Many jobs told "4 s" must not all come back at +4 s.
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(429).header("retry-after", "4").up_to_n_times(4);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    lookalike_job(&client)
        .poll()
        .await
        .expect("retried after the waits");
    limited.assert_calls_async(4).await;
    let sleeps = timer.sleeps_ms();
    assert_eq!(sleeps.len(), 4);
    assert!(
        sleeps.iter().all(|wait| (4_000..=5_000).contains(wait)),
        "{sleeps:?}"
    );
    assert!(
        sleeps.iter().any(|wait| *wait != sleeps[0]),
        "jittered: {sleeps:?}"
    );
}

#[tokio::test]
async fn without_jitter_a_429_waits_exactly_as_long_as_retry_after_says() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(429).header("retry-after", "7").up_to_n_times(1);
        })
        .await;
    let body_limited = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(429)
                .json_body(
                    json!({"error_code": "RATE_LIMITED", "details": {"retry_after_seconds": 2}}),
                )
                .up_to_n_times(1);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    lookalike_job(&client)
        .poll()
        .await
        .expect("retried after the waits");
    limited.assert_calls_async(1).await;
    body_limited.assert_calls_async(1).await;
    assert_eq!(timer.sleeps_ms(), [7000, 2000]);
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_returned_to_the_caller() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(429).header("retry-after", "3600");
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert!(
        error.to_string().contains("asked to wait 3600 s"),
        "{error}"
    );
    limited.assert_calls_async(1).await;
    assert!(timer.sleeps().is_empty());
}

#[tokio::test]
async fn a_503_burst_is_retried_with_backoff() {
    let server = MockServer::start_async().await;
    let burst = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503)
                .body("upstream unavailable")
                .up_to_n_times(3);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    lookalike_job(&client)
        .poll()
        .await
        .expect("the burst passes");
    burst.assert_calls_async(3).await;
    assert_eq!(timer.sleeps_ms(), [200, 400, 800]);
}

#[tokio::test]
async fn a_503_that_lasts_is_an_http_error_after_the_retry_budget() {
    let server = MockServer::start_async().await;
    let down = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503).body("upstream unavailable");
        })
        .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(RetryPolicy::default().with_max_attempts(3))
        .build()
        .unwrap();
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert!(
        matches!(&error, Error::Http { status: 503, body } if body.excerpt == "upstream unavailable")
    );
    assert!(error.is_retryable());
    down.assert_calls_async(3).await;
}

#[tokio::test]
async fn truncated_json_is_retried_and_a_lasting_one_is_a_decode_error_with_the_body() {
    let server = MockServer::start_async().await;
    let truncated = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"job_id": "d8a1", "status": "comp"#)
                .up_to_n_times(2);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    lookalike_job(&client)
        .poll()
        .await
        .expect("a good body follows");
    truncated.assert_calls_async(2).await;

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200)
                .body(r#"{"job_id": "d8a1", "status": "comp"#);
        })
        .await;
    let client = builder(&server, &timer).build().unwrap();
    match lookalike_job(&client).poll().await {
        Err(Error::Decode {
            operation, body, ..
        }) => {
            assert_eq!(operation, "search_lookalikes_bulk_status");
            assert!(body.starts_with(r#"{"job_id": "d8a1""#), "{body}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_submit_that_reached_the_server_is_never_resent() {
    let server = MockServer::start_async().await;
    let submit = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/account/search-lookalikes-bulk");
            then.status(503).body("try later");
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let error = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Http { status: 503, .. }));
    submit.assert_calls_async(1).await;
    assert!(timer.sleeps().is_empty());
}

#[tokio::test]
async fn a_submit_that_could_not_connect_is_retried() {
    // A port that was just bound and released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let timer = VirtualTimer::new();
    let client = Client::builder()
        .with_api_key(KEY)
        .with_base_url(format!("http://127.0.0.1:{port}"))
        .with_timer(timer.clone())
        .with_retry_policy(exact_retries().with_max_attempts(3))
        .build()
        .unwrap();
    let error = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(
        timer.sleeps_ms(),
        [200, 400],
        "two retries after the first attempt"
    );
}

#[tokio::test]
async fn a_slow_response_hits_the_request_timeout_not_the_job_deadline() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200)
                .json_body_obj(&terminal("completed", None, None, vec![], 0))
                .delay(Duration::from_secs(3));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_request_timeout(Duration::from_millis(150))
        .with_retry_policy(RetryPolicy::default().with_max_attempts(2))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the 3 s response was not cut short"
    );
    match &error {
        Error::Transport { source } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("expected a transport time-out, got {other:?}"),
    }
    assert!(error.is_retryable());
    slow.assert_calls_async(2).await;
}

// ---------------------------------------------------------------- jitter

#[tokio::test]
async fn concurrent_retries_are_spread_and_within_the_documented_bounds() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503).up_to_n_times(8);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(RetryPolicy::default())
        .with_jitter_seed(7)
        .build()
        .unwrap();
    let polls = (0..8).map(|_| {
        let job = lookalike_job(&client);
        async move { job.poll().await }
    });
    for result in futures_util::future::join_all(polls).await {
        result.expect("each poll succeeds after one retry");
    }
    failing.assert_calls_async(8).await;
    let mut sleeps = timer.sleeps();
    assert_eq!(sleeps.len(), 8, "{sleeps:?}");
    assert!(
        sleeps
            .iter()
            .all(|wait| *wait <= Duration::from_millis(200)),
        "full jitter draws from [0, 200 ms]: {sleeps:?}"
    );
    sleeps.sort();
    sleeps.dedup();
    assert_eq!(sleeps.len(), 8, "no two retries at the same instant");
}

#[tokio::test]
async fn each_jittered_retry_stays_under_its_backoff() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503);
        })
        .await;
    for seed in 0..20 {
        let timer = VirtualTimer::new();
        let client = builder(&server, &timer)
            .with_retry_policy(RetryPolicy::default().with_max_attempts(8))
            .with_jitter_seed(seed)
            .build()
            .unwrap();
        lookalike_job(&client).poll().await.unwrap_err();
        let bounds = [200, 400, 800, 1600, 3200, 5000, 5000];
        let sleeps = timer.sleeps_ms();
        assert_eq!(sleeps.len(), bounds.len());
        for (wait, bound) in sleeps.iter().zip(bounds) {
            assert!(*wait <= bound, "seed {seed}: {sleeps:?}");
        }
    }
}

// ---------------------------------------------------------------- Retry-After

#[tokio::test]
async fn a_retry_after_rfc_9110_does_not_allow_falls_back_to_the_backoff() {
    let past = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(60));
    for (value, expected_ms) in [
        ("NaN", 200),
        ("-1", 200),
        ("1e3", 200),
        ("2.5", 200),
        (past.as_str(), 0),
        ("2", 2000),
    ] {
        let server = MockServer::start_async().await;
        let limited = server
            .mock_async(|when, then| {
                when.method(GET).path(LOOKALIKE_PATH);
                then.status(429)
                    .header("retry-after", value)
                    .up_to_n_times(1);
            })
            .await;
        serve_completed_empty(&server).await;
        let timer = VirtualTimer::new();
        lookalike_job(&client(&server, &timer))
            .poll()
            .await
            .unwrap_or_else(|error| panic!("{value}: {error}"));
        limited.assert_calls_async(1).await;
        assert_eq!(timer.sleeps_ms(), [expected_ms], "Retry-After: {value}");
    }
}

#[tokio::test]
async fn a_retry_after_equal_to_the_most_honoured_is_honoured() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(429)
                .header("retry-after", "10")
                .up_to_n_times(1);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(exact_retries().with_max_retry_after(Duration::from_secs(10)))
        .build()
        .unwrap();
    lookalike_job(&client)
        .poll()
        .await
        .expect("waited 10 s, then answered");
    assert_eq!(timer.sleeps_ms(), [10_000]);
}

#[tokio::test]
async fn a_retried_cancel_answered_409_checks_the_job_instead_of_saying_finished() {
    let server = MockServer::start_async().await;
    let cancel_path = format!("{LOOKALIKE_PATH}/cancel");
    // The first attempt reached the server and cancelled the job, but its
    // answer was lost (a 503 from a proxy); the retry finds it cancelling.
    let lost = server
        .mock_async(|when, then| {
            when.method(POST).path(cancel_path.clone());
            then.status(503).up_to_n_times(1);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(cancel_path.clone());
            then.status(409).json_body(
                json!({"error_code": "JOB_NOT_CANCELLABLE", "details": {"status": "cancelling"}}),
            );
        })
        .await;
    serve(&server, None, page("cancelling", None, None, vec![]), None).await;
    let timer = VirtualTimer::new();
    let cancellation = lookalike_job(&client(&server, &timer))
        .cancel()
        .await
        .unwrap();
    lost.assert_calls_async(1).await;
    assert!(!cancellation.already_finished, "{cancellation:?}");
    assert_eq!(cancellation.status, Some(JobStatus::Cancelling));
}

#[tokio::test]
async fn a_refused_submit_is_sent_once_whatever_the_status_and_body() {
    // A submit that got an answer reached the server: never resent, even on
    // 429 or 5xx (a second submit is a second bill). And its errors are not
    // about a job, since none was created.
    let bodies = [
        r#"{"detail":"Not Found"}"#,
        r#"{"error_code":"SOME_CODE","details":{"reason":"why"}}"#,
        "<html>gateway</html>",
        "",
    ];
    let expectations: [(u16, &str); 9] = [
        (400, "Http"),
        (401, "Unauthorized"),
        (403, "Unauthorized"),
        (404, "NotFound"),
        (409, "Http"),
        (422, "Validation"),
        (429, "RateLimited"),
        (500, "Http"),
        (503, "Http"),
    ];
    let server = MockServer::start_async().await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for (status, expected) in expectations {
        for body in bodies {
            let refused = server
                .mock_async(|when, then| {
                    when.method(POST)
                        .path("/api/v1/account/search-lookalikes-bulk");
                    then.status(status).body(body);
                })
                .await;
            let case = format!("HTTP {status}, body {body:?}");
            let error = client
                .lookalike()
                .submit(LookalikeSearch::default().query("APM"))
                .await
                .expect_err(&case);
            assert_eq!(variant(&error), expected, "{case}: {error:?}");
            assert_eq!(refused.calls_async().await, 1, "{case}: sent once");
            let shown = error.to_string();
            assert!(!shown.contains("job ``"), "{case}: {shown}");
            if status == 404 {
                assert!(
                    shown.contains("the base URL looks wrong"),
                    "{case}: {shown}"
                );
            }
            assert_eq!(error.job_id(), None, "{case}: no job was created");
            refused.delete_async().await;
        }
    }
}

// ---------------------------------------------------------------- slow bodies

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_by_the_request_timeout() {
    // Headers at once, then one byte every 20 ms, forever: each read makes
    // progress, so only a timeout on the whole request (body included) ends it.
    use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
    let drip = Fault::Drip {
        interval: Duration::from_millis(20),
    };
    let sim = Simulator::start_with(SimConfig::default().with_fault(drip))
        .await
        .unwrap();
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(1));
    let client = Client::builder()
        .with_api_key(KEY)
        .with_base_url(sim.base_url())
        .with_timer(VirtualTimer::new())
        .with_request_timeout(Duration::from_millis(200))
        .with_retry_policy(RetryPolicy::default().with_max_attempts(2))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let job = client.lookalike().job(id).unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), job.poll())
        .await
        .expect("the request ends")
        .unwrap_err();
    let elapsed = started.elapsed();
    match &error {
        Error::Transport { source } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("expected a transport time-out, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(3),
        "two attempts of 200 ms took {elapsed:?}"
    );
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

#[tokio::test]
async fn a_server_asking_for_an_endless_wait_cannot_crash_or_hang_the_client() {
    // `Retry-After: 99999999999999999999` (more than u64 seconds) on 503 and
    // 429, with the client willing to honour any wait: the wait is longer
    // than the idle timeout allows, so it ends at once with the server's
    // wait on the error, through `wait()`, `rows()` and a single `poll()`.
    for status in [503, 429] {
        for header in ["99999999999999999999", "18446744073709551615"] {
            let server = MockServer::start_async().await;
            answer_every_poll(&server, status, Some(header)).await;
            let timer = VirtualTimer::new();
            let client = builder(&server, &timer)
                .with_retry_policy(exact_retries().with_max_retry_after(Duration::MAX))
                .build()
                .unwrap();
            let waited = lookalike_job(&client).wait().await.unwrap_err();
            let Error::TimedOut { last_error, .. } = &waited else {
                panic!("{status} {header}: {waited:?}");
            };
            let asked = last_error.as_ref().and_then(|error| error.retry_after());
            assert_eq!(
                asked,
                Some(Duration::from_secs(u64::MAX)),
                "{status} {header}"
            );
            let streamed =
                futures_util::TryStreamExt::try_collect::<Vec<_>>(lookalike_job(&client).rows())
                    .await
                    .unwrap_err();
            assert!(matches!(streamed, Error::TimedOut { .. }), "{streamed:?}");
            assert!(timer.sleeps().is_empty(), "no endless wait was begun");
        }
    }
}

#[tokio::test]
async fn a_503_asking_for_a_longer_wait_than_allowed_carries_the_wait_it_asked_for() {
    let server = MockServer::start_async().await;
    let failing = answer_every_poll(&server, 503, Some("600")).await;
    let timer = VirtualTimer::new();
    let client = common::client(&server, &timer);
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(
        failing.calls_async().await,
        1,
        "a wait past the cap is not waited"
    );
    // And a 503 retried within the cap keeps the wait it asked for too.
    let server = MockServer::start_async().await;
    answer_every_poll(&server, 503, Some("2")).await;
    let client = common::client(&server, &timer);
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
}
