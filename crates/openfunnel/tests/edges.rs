//! The SDK at its edges: durations at their extremes (from the caller and
//! from the server), what each time limit bounds, and a stream that stops
//! once it has caught up with a running job.

mod common;

use common::*;
use httpmock::prelude::*;
use openfunnel::{Backoff, Error, Jitter, PollPolicy, RetryPolicy, TimeLimit};
use std::time::{Duration, Instant};

/// Answers every poll of the fixture job with `status` (and a `Retry-After`
/// of `retry_after`, when given).
async fn answer_every_poll<'a>(
    server: &'a MockServer,
    status: u16,
    retry_after: Option<&str>,
) -> httpmock::Mock<'a> {
    let retry_after = retry_after.map(str::to_string);
    server
        .mock_async(move |when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            let then = then.status(status);
            if let Some(wait) = retry_after {
                then.header("retry-after", wait);
            }
        })
        .await
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

/// The outcome is an answer or a typed error: anything but a panic, which
/// would have unwound through the `.await` and failed the test.
fn settled<T: std::fmt::Debug>(case: &str, result: Result<T, Error>) {
    match result {
        Ok(_) | Err(Error::TimedOut { .. }) | Err(Error::Http { .. }) => {}
        Err(other) => panic!("{case}: unexpected error {other:?}"),
    }
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
async fn a_stream_until_caught_up_ends_where_it_would_wait_and_fails_where_a_request_fails() {
    // A running job with two written pages: the stream delivers both and
    // ends without an outcome (the job is not terminal) and without a sleep.
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), Some("page_0001"), rows(0..2)),
        None,
    )
    .await;
    serve(
        &server,
        Some("page_0001"),
        page("running", Some("page_0001"), None, rows(2..4)),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = common::client(&server, &timer);
    let mut pages = lookalike_job(&client).stream().until_caught_up().pages();
    let mut delivered = Vec::new();
    while let Some(page) = futures_util::TryStreamExt::try_next(&mut pages)
        .await
        .unwrap()
    {
        delivered.extend(names(&page.rows));
    }
    assert_eq!(delivered, expected_names(0..4));
    assert!(pages.outcome().is_none(), "the job still runs");
    assert!(timer.sleeps().is_empty(), "it never waited for a page");

    // A server failing every request: an error, never an early end.
    let server = MockServer::start_async().await;
    answer_every_poll(&server, 503, None).await;
    let client = common::client(&server, &timer);
    let error = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        lookalike_job(&client).stream().until_caught_up().rows(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );

    // A completed job is read to its end, with its outcome.
    let server = MockServer::start_async().await;
    serve_completed_job(&server, 3).await;
    let client = common::client(&server, &timer);
    let mut pages = lookalike_job(&client).stream().until_caught_up().pages();
    let mut count = 0;
    while let Some(page) = futures_util::TryStreamExt::try_next(&mut pages)
        .await
        .unwrap()
    {
        count += page.rows.len();
    }
    assert_eq!(count, 300);
    assert!(pages.outcome().is_some());
}

#[tokio::test]
async fn a_network_error_says_what_went_wrong_in_plain_words() {
    // Nothing listens on the port of a server that was just stopped.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = openfunnel::Client::builder()
        .with_api_key(KEY)
        .with_base_url(format!("http://127.0.0.1:{port}"))
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let error = lookalike_job(&client).poll().await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("connection was refused"), "{text}");
    assert!(
        text.contains("Connection refused"),
        "the cause itself: {text}"
    );

    // TLS spoken to a plain-HTTP port.
    let server = MockServer::start_async().await;
    let client = openfunnel::Client::builder()
        .with_api_key(KEY)
        .with_base_url(format!("https://127.0.0.1:{}", server.port()))
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let text = lookalike_job(&client).poll().await.unwrap_err().to_string();
    assert!(text.contains("TLS handshake failed"), "{text}");
}

#[tokio::test]
async fn each_row_s_json_text_is_kept_as_the_server_sent_it() {
    let row = r#"{"org_id": 123456789012345678901234567890, "name": "Caf\u00e9", "headquarters": null, "domain": "a.example", "zeta": 1.50}"#;
    let body = format!(
        r#"{{"job_id": "{JOB}", "status": "completed", "page": "page_0000", "next_cursor": null, "manifest": {{"pages": 1, "count": 1, "credits_consumed": 1, "partial": false}}, "rows": [{row}]}}"#
    );
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = common::client(&server, &timer);
    let page = lookalike_job(&client).poll().await.unwrap();
    assert_eq!(page.json_rows().len(), 1);
    assert_eq!(page.json_rows()[0].get(), row, "byte for byte");
    // The typed row still reads the same row, its unknown field in `extra`
    // as the nearest f64 (as documented on `Page::json_rows`).
    assert_eq!(page.rows[0].name.as_deref(), Some("Café"));
    assert_eq!(
        page.rows[0].extra["org_id"].as_f64(),
        Some(123456789012345678901234567890.0)
    );
    // Through the page stream too, and a resumed page skips the same rows
    // in both.
    let mut pages = lookalike_job(&client).pages();
    let streamed = futures_util::TryStreamExt::try_next(&mut pages)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(streamed.json_rows()[0].get(), row);
    let resumed = {
        let mut pages = lookalike_job(&client)
            .stream()
            .resume_from(
                serde_json::from_value(serde_json::json!({
                    "job_id": JOB, "kind": "lookalike", "cursor": null, "rows_delivered": 1
                }))
                .unwrap(),
            )
            .pages();
        futures_util::TryStreamExt::try_next(&mut pages)
            .await
            .unwrap()
    };
    assert!(resumed.is_none(), "the one row was delivered before");
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
