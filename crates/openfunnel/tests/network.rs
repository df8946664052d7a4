//! Requests and errors on a hostile network: jittered, bounded retries;
//! `Retry-After` as RFC 9110 allows it; errors classified by status before
//! their body is decoded; nothing secret in any message or trace.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Client, Error, JobStatus, LookalikeSearch, PollPolicy, RetryPolicy};
use serde_json::json;
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

// ---------------------------------------------------------------- classify, then decode

#[tokio::test]
async fn a_422_with_a_string_detail_is_one_request_and_a_typed_validation_error() {
    let server = MockServer::start_async().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(422)
                .json_body(json!({"detail": "limit must be at most 100"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let error = lookalike_job(&client(&server, &timer))
        .poll()
        .await
        .unwrap_err();
    refused.assert_calls_async(1).await;
    assert!(timer.sleeps().is_empty(), "not retried");
    match &error {
        Error::Validation { issues, body } => {
            assert_eq!(issues.len(), 1);
            assert_eq!(issues[0].message, "limit must be at most 100");
            assert_eq!(body.detail.as_deref(), Some("limit must be at most 100"));
        }
        other => panic!("expected Validation, got {other:?}"),
    }
    assert_eq!(error.status(), Some(422));
    assert!(
        error.to_string().contains("limit must be at most 100"),
        "{error}"
    );
}

#[tokio::test]
async fn a_422_list_of_issues_that_misses_a_required_field_is_read_loosely() {
    // The spec requires `type` on each issue; this server leaves it out.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(422).json_body(json!({"detail": [
                {"loc": ["query", "limit", 0], "msg": "must be at most 100"}
            ]}));
        })
        .await;
    let timer = VirtualTimer::new();
    let error = lookalike_job(&client(&server, &timer))
        .poll()
        .await
        .unwrap_err();
    let Error::Validation { issues, .. } = &error else {
        panic!("expected Validation, got {error:?}");
    };
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].location, "query.limit.0");
    assert_eq!(issues[0].message, "must be at most 100");
    assert_eq!(issues[0].kind, "");
    assert!(
        error
            .to_string()
            .contains("query.limit.0: must be at most 100"),
        "{error}"
    );
}

#[tokio::test]
async fn a_422_whose_body_is_not_json_is_still_a_validation_error_with_the_excerpt() {
    let server = MockServer::start_async().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(422).body("<html>unprocessable</html>");
        })
        .await;
    let timer = VirtualTimer::new();
    let error = lookalike_job(&client(&server, &timer))
        .poll()
        .await
        .unwrap_err();
    refused.assert_calls_async(1).await;
    assert!(matches!(&error, Error::Validation { issues, .. } if issues.is_empty()));
    assert_eq!(error.body(), Some("<html>unprocessable</html>"));
    assert!(
        error.to_string().contains("<html>unprocessable</html>"),
        "{error}"
    );
}

#[tokio::test]
async fn the_documented_error_body_is_typed_on_every_status() {
    for (status, code, expected_status) in [
        (400, "BAD_REQUEST", Some(400)),
        (404, "JOB_NOT_FOUND", Some(404)),
        (409, "CONFLICT", Some(409)),
        (429, "RATE_LIMITED", Some(429)),
        (500, "INTERNAL_ERROR", Some(500)),
    ] {
        let server = MockServer::start_async().await;
        let answered = server
            .mock_async(|when, then| {
                when.method(GET).path(LOOKALIKE_PATH);
                then.status(status).json_body(json!({
                    "error_code": code,
                    "details": {"reason": format!("why {status}"), "job_id": JOB}
                }));
            })
            .await;
        let timer = VirtualTimer::new();
        let client = builder(&server, &timer)
            .with_retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let error = lookalike_job(&client).poll().await.unwrap_err();
        answered.assert_calls_async(1).await;
        assert_eq!(error.status(), expected_status, "{error:?}");
        assert_eq!(error.error_code(), Some(code), "HTTP {status}: {error:?}");
        assert_eq!(
            error.error_details().and_then(|d| d["reason"].as_str()),
            Some(format!("why {status}").as_str()),
            "HTTP {status}"
        );
        let message = error.to_string();
        assert!(
            message.contains(code) && message.contains(&format!("why {status}")),
            "HTTP {status}: the message shows the code and details: {message}"
        );
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

// ---------------------------------------------------------------- the key

/// Everything a user could print of `error`: Display, Debug, the source chain.
fn everything_shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = format!("{error}\n{error:?}");
    let mut source = error.source();
    while let Some(next) = source {
        shown.push_str(&format!("\n{next}\n{next:?}"));
        source = next.source();
    }
    shown
}

#[tokio::test(flavor = "current_thread")]
async fn a_key_echoed_in_a_field_of_the_wrong_type_is_shown_nowhere() {
    let trace = common::capture_trace();
    let server = MockServer::start_async().await;
    // `processed` must be an integer: serde_json's complaint quotes the string.
    let mut body = serde_json::to_value(page("running", None, None, vec![])).unwrap();
    body["processed"] = json!(KEY);
    let echoed = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200).json_body(body);
        })
        .await;
    let timer = VirtualTimer::new();
    let error = lookalike_job(&client(&server, &timer))
        .poll()
        .await
        .unwrap_err();
    assert!(echoed.calls_async().await > 1, "a bad body is retried");
    let Error::Decode { source, .. } = &error else {
        panic!("expected Decode, got {error:?}");
    };
    // The body is one line; the bad value sits well into it.
    assert_eq!(source.line(), 1);
    assert!(source.column() > 20, "{}", source.column());
    assert!(error.body().is_some_and(|body| body.contains("processed")));
    let shown = everything_shown(&error);
    assert!(!shown.contains(KEY), "the key leaked:\n{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    let traced = trace.text();
    assert!(traced.contains("retrying"), "{traced}");
    assert!(
        !traced.contains(KEY),
        "the key leaked into the trace:\n{traced}"
    );

    // And in an error body of every kind of error status, including a 422
    // of the spec's own shape (FastAPI quotes the input it refused).
    let documented = json!({"error_code": KEY, "details": {KEY: [KEY]}, "detail": KEY});
    let spec_shaped = json!({"detail": [{
        "loc": ["header", KEY], "msg": format!("{KEY} is revoked"), "type": KEY, "input": KEY
    }]});
    let cases = [400, 401, 404, 409, 422, 429, 500]
        .map(|status| (status, documented.clone()))
        .into_iter()
        .chain([(422, spec_shaped)]);
    for (status, body) in cases {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET).path(LOOKALIKE_PATH);
                then.status(status).json_body(body);
            })
            .await;
        let client = builder(&server, &timer)
            .with_retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let error = lookalike_job(&client).poll().await.unwrap_err();
        let shown = everything_shown(&error);
        assert!(
            !shown.contains(KEY),
            "HTTP {status}: the key leaked:\n{shown}"
        );
    }
    assert!(!trace.text().contains(KEY));
}

/// The error that ends the row stream of a server answering `pages`
/// (cursor → body; `None` is the first page).
async fn stream_error(
    timer: &VirtualTimer,
    pages: Vec<(
        Option<&str>,
        openfunnel::raw::types::BulkLookalikeJobResponse,
    )>,
) -> Error {
    let server = MockServer::start_async().await;
    for (cursor, body) in pages {
        serve(&server, cursor, body, None).await;
    }
    let client = builder(&server, timer).build().unwrap();
    lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err()
        .error
}

/// Asserts `error` shows the key nowhere (Display, Debug, sources).
fn assert_scrubbed(case: &str, error: &Error) {
    let shown = everything_shown(error);
    assert!(!shown.contains(KEY), "{case}: the key leaked:\n{shown}");
}

#[tokio::test]
async fn text_a_server_controls_shows_the_key_in_no_error() {
    // Beyond bodies, a server controls a failed job's reason, the status
    // string, page names, cursors, a redirect's target and a submitted job's
    // id: each reaches an error message.
    let trace = common::capture_trace();
    let echo = format!("x-{KEY}-y");
    let timer = VirtualTimer::new();

    // A failed job's reason, by `wait` and by the row stream.
    let server = MockServer::start_async().await;
    let mut failed = page("failed", Some("p0"), None, rows(0..1));
    failed.error_message = Some(format!("key {KEY} was revoked"));
    serve(&server, None, failed, None).await;
    let job = lookalike_job(&client(&server, &timer));
    assert_scrubbed("failed, wait", &job.wait().await.unwrap_err());
    let partial = job.rows().collect_all().await.unwrap_err();
    assert_eq!(partial.rows.len(), 1, "the written row is kept");
    assert_scrubbed("failed, rows", &partial.error);

    // An unknown status, named by the time-out.
    let server = MockServer::start_async().await;
    serve(&server, None, page(&echo, None, None, vec![]), None).await;
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_deadline(Duration::from_secs(5)))
        .build()
        .unwrap();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    assert!(matches!(error, Error::TimedOut { .. }), "{error:?}");
    assert_scrubbed("status", &error);

    // A page name that comes back (a cycle), and a next_cursor that does.
    let error = stream_error(
        &timer,
        vec![
            (None, page("completed", Some(&echo), Some("c1"), rows(0..1))),
            (Some("c1"), page("completed", Some(&echo), None, rows(1..2))),
        ],
    )
    .await;
    assert!(
        matches!(error, Error::InconsistentPages { .. }),
        "{error:?}"
    );
    assert_scrubbed("page name", &error);
    let error = stream_error(
        &timer,
        vec![
            (None, page("completed", Some("p0"), Some(&echo), rows(0..1))),
            (
                Some(&echo),
                page("completed", Some("p1"), Some(&echo), rows(1..2)),
            ),
        ],
    )
    .await;
    assert!(
        matches!(error, Error::InconsistentPages { .. }),
        "{error:?}"
    );
    assert_scrubbed("next_cursor cycle", &error);

    // Cursors that carry the key and a page number that skips (`…0001` is
    // followed by `…0003`): the guess `…0002` is discarded, and traced, with
    // the key removed.
    let server = MockServer::start_async().await;
    let client = builder(&server, &timer).build().unwrap();
    let numbered = |n: u32| format!("{echo}{n:04}");
    let links = [
        (None, 0, Some(1)),
        (Some(1), 1, Some(3)),
        (Some(3), 3, None),
    ];
    for (cursor, name, next) in links {
        let mut body = page(
            "completed",
            Some(&numbered(name)),
            next.map(numbered).as_deref(),
            rows(name..name + 1),
        );
        body.manifest =
            Some(serde_json::from_value(json!({"pages": 3, "partial": false})).unwrap());
        serve(&server, cursor.map(numbered).as_deref(), body, None).await;
    }
    let all = lookalike_job(&client).rows().collect_all().await.unwrap();
    assert_eq!(all.len(), 3);

    // A next_cursor the server then does not know.
    let error = stream_error(
        &timer,
        vec![(None, page("completed", Some("p0"), Some(&echo), rows(0..1)))],
    )
    .await;
    assert!(matches!(error, Error::UnknownCursor { .. }), "{error:?}");
    assert_scrubbed("unknown cursor", &error);

    // A request that times out: reqwest's error names the URL, whose query
    // holds the cursor.
    let server = MockServer::start_async().await;
    let client = builder(&server, &timer)
        .with_retry_policy(RetryPolicy::never())
        // Long enough for the first page on a loaded machine.
        .with_request_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    serve(
        &server,
        None,
        page("completed", Some("p0"), Some(&echo), rows(0..1)),
        None,
    )
    .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(LOOKALIKE_PATH)
                .query_param("cursor", &echo);
            then.status(200).delay(Duration::from_secs(10));
        })
        .await;
    let error = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err()
        .error;
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(
        everything_shown(&error).contains("cursor="),
        "the URL is still shown"
    );
    assert_scrubbed("transport", &error);

    // A redirect to another origin, its target carrying the key.
    let server = MockServer::start_async().await;
    let client = builder(&server, &timer).build().unwrap();
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(302)
                .header("location", format!("https://elsewhere.example/?k={KEY}"));
        })
        .await;
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert!(
        matches!(error, Error::CrossOriginRedirect { .. }),
        "{error:?}"
    );
    assert_scrubbed("redirect", &error);

    // A submitted job's id that cannot be used.
    let server = MockServer::start_async().await;
    let client = builder(&server, &timer).build().unwrap();
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/account/search-lookalikes-bulk");
            then.status(202)
                .json_body(json!({"job_id": format!("{KEY}/1"), "status": "pending"}));
        })
        .await;
    let error = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnusableJobId { .. }), "{error:?}");
    assert_scrubbed("job id", &error);
    let traced = trace.text();
    assert!(traced.contains("cursor"), "requests were traced: {traced}");
    assert!(traced.contains("discarded a prefetched page"), "{traced}");
    assert!(
        !traced.contains(KEY),
        "the key leaked into the trace:\n{traced}"
    );
}

#[test]
fn the_key_is_held_in_a_type_that_cannot_print_it() {
    let key = openfunnel::raw::ApiKey::new(KEY).unwrap();
    assert!(!format!("{key:?}").contains(KEY));
    let builder = Client::builder().with_api_key(KEY);
    assert!(!format!("{builder:?}").contains(KEY));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(KEY));
}

// ---------------------------------------------------------------- checkpoints

#[tokio::test]
async fn a_checkpoint_from_another_job_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    serve_completed_job(&server, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let mut pages = lookalike_job(&client).pages();
    let first = pages.try_next().await.unwrap().expect("a first page");
    let checkpoint = first.checkpoint();
    assert_eq!(checkpoint.job_id(), Some(JOB));
    // Neither the other job nor the intent path is served: a request would
    // be a 404 (`NotFound`), not `InvalidInput`.

    let other = client
        .lookalike()
        .job("0b6f3c52-9d7e-4f0a-a2f1-5c1d0e6f7a88")
        .unwrap();
    let error = other
        .stream()
        .resume_from(checkpoint.clone())
        .rows()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::InvalidInput(_)), "{error:?}");
    assert!(
        error.to_string().contains(JOB),
        "names the job it belongs to: {error}"
    );

    // A job of another kind with the same id is another job too.
    let intent = client.tech_intent().job(JOB).unwrap();
    let error = intent
        .stream()
        .resume_from(checkpoint.clone())
        .pages()
        .try_next()
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::InvalidInput(_)), "{error:?}");

    // Its own job resumes from it.
    let rest: Vec<_> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoint)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&rest), expected_names(100..300));
}

// ---------------------------------------------------------------- error variants

#[tokio::test]
async fn configuration_problems_are_their_own_error_with_a_source() {
    for key in [None, Some("   ")] {
        let mut builder = Client::builder();
        if let Some(key) = key {
            builder = builder.with_api_key(key);
        }
        let error = builder.build().unwrap_err();
        assert!(matches!(error, Error::Configuration { .. }), "{error:?}");
        assert!(error.to_string().contains("OPENFUNNEL_API_KEY"), "{error}");
    }
    let error = Client::builder()
        .with_api_key("of_12\u{7}34")
        .build()
        .unwrap_err();
    let source = std::error::Error::source(&error).expect("the key's problem as a source");
    assert!(source.to_string().contains("control"), "{source}");
    assert!(!everything_shown(&error).contains("of_12"));
    let error = Client::builder()
        .with_api_key(KEY)
        .with_base_url("http://api.openfunnel.dev")
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Configuration { .. }), "{error:?}");
    assert!(!error.to_string().contains("network"), "{error}");
}

#[tokio::test]
async fn a_submitted_job_whose_id_is_unusable_says_the_job_exists() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/account/search-lookalikes-bulk");
            then.status(202)
                .json_body(json!({"job_id": "a/b", "status": "pending"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let error = client(&server, &timer)
        .lookalike()
        .submit(LookalikeSearch::default().query("APM"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnusableJobId { job_id, .. } if job_id == "a/b"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("a/b") && message.contains("billed"),
        "{message}"
    );
    assert_eq!(error.job_id(), Some("a/b"));
}

#[tokio::test]
async fn a_redirect_on_the_same_origin_is_not_called_cross_origin() {
    for (status, location) in [
        (304, None),
        (302, None),
        (307, Some("/elsewhere-on-the-same-host")),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET).path(LOOKALIKE_PATH);
                let then = then.status(status);
                if let Some(location) = location {
                    then.header("location", location);
                }
            })
            .await;
        // A same-origin redirect is followed; this one leads to a 304.
        server
            .mock_async(|when, then| {
                when.method(GET).path("/elsewhere-on-the-same-host");
                then.status(304);
            })
            .await;
        let timer = VirtualTimer::new();
        let error = lookalike_job(&client(&server, &timer))
            .poll()
            .await
            .unwrap_err();
        assert!(
            !matches!(error, Error::CrossOriginRedirect { .. }),
            "HTTP {status}: {error:?}"
        );
        assert!(
            matches!(error, Error::Http { .. }),
            "HTTP {status}: {error:?}"
        );
        assert!(!error.to_string().contains("another origin"), "{error}");
    }
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

// ---------------------------------------------------------------- any error body

/// The error variant's name: what a caller matches on.
fn variant(error: &Error) -> &'static str {
    match error {
        Error::Unauthorized { .. } => "Unauthorized",
        Error::NotFound { .. } => "NotFound",
        Error::UnknownCursor { .. } => "UnknownCursor",
        Error::Validation { .. } => "Validation",
        Error::RateLimited { .. } => "RateLimited",
        Error::Http { .. } => "Http",
        Error::Decode { .. } => "Decode",
        other => panic!("an error response became {other:?}"),
    }
}

#[tokio::test]
async fn the_error_a_status_means_does_not_depend_on_its_body() {
    // The spec types only the 422 body; OpenFunnel's docs show
    // `{"error_code", "details"}`; FastAPI sends `{"detail": "..."}`; a proxy
    // sends HTML or nothing. Each status must mean the same error, after the
    // same number of requests, whatever body comes with it — with one
    // refinement: a 422 whose issues name the cursor of a request that
    // carried one is the cursor's refusal (the lookalike endpoint documents
    // 422, not 400, for a bad query parameter).
    const ABOUT_THE_CURSOR: &str =
        r#"{"detail":[{"loc":["query","cursor"],"msg":"bad","type":"value_error"}]}"#;
    let bodies: [(&str, &str); 10] = [
        ("application/json", ABOUT_THE_CURSOR),
        (
            "application/json",
            r#"{"detail":[{"loc":["path","job_id"],"msg":"bad","type":"uuid_parsing"}]}"#,
        ),
        ("application/json", r#"{"detail":"Job not found"}"#),
        (
            "application/json",
            r#"{"error_code":"SOME_CODE","details":{"reason":"why"}}"#,
        ),
        ("application/json", r#"{"detail":{"nested":true}}"#),
        ("text/html", "<html><body>502 Bad Gateway</body></html>"),
        ("application/json", ""),
        ("application/json", "null"),
        ("application/json", "[1,2,3]"),
        ("text/plain", "upstream connect error"),
    ];
    // (status, without a cursor, with one, attempts a read makes)
    let expectations: [(u16, &str, &str, usize); 10] = [
        (400, "Http", "UnknownCursor", 1),
        (401, "Unauthorized", "Unauthorized", 1),
        (403, "Unauthorized", "Unauthorized", 1),
        (404, "NotFound", "UnknownCursor", 1),
        (409, "Http", "Http", 1),
        (422, "Validation", "Validation", 1),
        (429, "RateLimited", "RateLimited", 3),
        (500, "Http", "Http", 3),
        (502, "Http", "Http", 3),
        (503, "Http", "Http", 3),
    ];
    let server = MockServer::start_async().await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(exact_retries().with_max_attempts(3))
        .build()
        .unwrap();
    let job = lookalike_job(&client);
    for (status, plain, with_cursor, attempts) in expectations {
        for (content_type, body) in bodies {
            for cursor in [None, Some("c/3f+a= z")] {
                let answered = server
                    .mock_async(|when, then| {
                        when.method(GET).path(LOOKALIKE_PATH);
                        then.status(status)
                            .header("content-type", content_type)
                            .body(body);
                    })
                    .await;
                let case = format!("HTTP {status}, cursor {cursor:?}, body {body:?}");
                let error = job.page(cursor).await.expect_err(&case);
                let expected = match cursor {
                    Some(_) if status == 422 && body == ABOUT_THE_CURSOR => "UnknownCursor",
                    Some(_) => with_cursor,
                    None => plain,
                };
                assert_eq!(variant(&error), expected, "{case}: {error:?}");
                assert_eq!(error.status(), Some(status), "{case}");
                assert_eq!(answered.calls_async().await, attempts, "{case}");
                assert_eq!(error.is_retryable(), attempts > 1, "{case}");
                let shown = error.to_string();
                assert!(shown.contains(&status.to_string()), "{case}: {shown}");
                let kept = error.body().unwrap_or_default();
                // A 422 of the spec's shape is decoded by the generated client
                // and read back from its JSON: the same content, keys in order.
                let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
                if status == 422 && json(body).is_some_and(|value| value.is_object()) {
                    assert_eq!(json(kept), json(body), "{case}: the body is kept");
                } else {
                    assert_eq!(kept, body, "{case}: the body is kept");
                }
                answered.delete_async().await;
            }
        }
    }
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
                assert!(shown.contains("check the base URL"), "{case}: {shown}");
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
