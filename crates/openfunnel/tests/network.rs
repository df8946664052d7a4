//! Requests and errors on a hostile network: jittered, bounded retries;
//! `Retry-After` as RFC 9110 allows it; errors classified by status before
//! their body is decoded; nothing secret in any message or trace.

mod common;

use common::*;
use httpmock::prelude::*;
use openfunnel::RetryPolicy;
use std::time::Duration;

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
    serve(
        &server,
        None,
        terminal("completed", None, None, vec![], 0),
        None,
    )
    .await;
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
        serve(
            &server,
            None,
            terminal("completed", None, None, vec![], 0),
            None,
        )
        .await;
        let timer = VirtualTimer::new();
        lookalike_job(&client(&server, &timer))
            .poll()
            .await
            .unwrap_or_else(|error| panic!("{value}: {error}"));
        limited.assert_calls_async(1).await;
        assert_eq!(timer.sleeps_ms(), [expected_ms], "Retry-After: {value}");
    }
}
