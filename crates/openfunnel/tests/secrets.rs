//! Secrets: the API key never leaves in an error, a `Debug` output, a trace
//! line or a redirect, whatever the server echoes back.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Client, Error, LookalikeSearch, RetryPolicy};
use serde_json::json;
use std::time::Duration;

// ---------------------------------------------------------------- security

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_the_other_origin_never_sees_the_key() {
    let api = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let stolen = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let location = elsewhere.url(LOOKALIKE_PATH);
    api.mock_async(move |when, then| {
        when.any_request();
        then.status(302).header("location", location);
    })
    .await;
    let timer = VirtualTimer::new();
    let client = client(&api, &timer);
    let error = lookalike_job(&client).poll().await.unwrap_err();
    match &error {
        Error::CrossOriginRedirect { status, location } => {
            assert_eq!(*status, 302);
            assert!(location.starts_with(&elsewhere.base_url()), "{location}");
        }
        other => panic!("expected CrossOriginRedirect, got {other:?}"),
    }
    stolen.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_caller_http_builder_that_follows_redirects_still_cannot_leak_the_key() {
    let api = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let stolen = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let location = elsewhere.url("/x");
    api.mock_async(move |when, then| {
        when.any_request();
        then.status(307).header("location", location);
    })
    .await;
    let client = Client::builder()
        .with_api_key(KEY)
        .with_base_url(api.base_url())
        .with_http_client(
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10)),
        )
        .build()
        .unwrap();
    assert!(lookalike_job(&client).poll().await.is_err());
    stolen.assert_calls_async(0).await;
}

#[test]
fn plain_http_to_a_remote_host_is_refused_and_the_key_is_never_shown() {
    let error = Client::builder()
        .with_api_key(KEY)
        .with_base_url("http://api.openfunnel.dev")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("unencrypted"), "{error}");

    let client = Client::builder().with_api_key(KEY).build().unwrap();
    let builder = Client::builder().with_api_key(KEY);
    for shown in [
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{builder:?}"),
        format!("{:?}", client.raw()),
        format!("{:?}", lookalike_job(&client)),
        format!("{:?}", lookalike_job(&client).rows()),
    ] {
        assert!(!shown.contains(KEY), "the key leaked: {shown}");
    }
}

// ---------------------------------------------------------------- the key

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

#[tokio::test(flavor = "current_thread")]
async fn requests_are_traced_with_operation_status_attempt_and_time_but_never_the_key() {
    let captured = capture_trace();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503)
                .body(format!("echo of header x-api-key: {KEY}"))
                .up_to_n_times(1);
        })
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
    client.lookalike().job(JOB).unwrap().poll().await.unwrap();

    let trace = captured.text();
    for expected in [
        "openfunnel.request",
        "operation=\"search_lookalikes_bulk_status\"",
        &format!("job_id=\"{JOB}\""),
        "attempt=1",
        "status=503",
        "retrying",
        "attempt=2",
        "status=200",
        "elapsed_ms=",
    ] {
        assert!(
            trace.contains(expected),
            "missing {expected:?} in:\n{trace}"
        );
    }
    assert!(
        !trace.contains(KEY),
        "the key leaked into the trace:\n{trace}"
    );
    assert!(
        trace.contains("[redacted]"),
        "the echoed key is shown redacted:\n{trace}"
    );
}
