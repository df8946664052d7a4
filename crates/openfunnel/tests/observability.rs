//! Every request is traced (operation, job, cursor, attempt, status, elapsed
//! time) and the API key appears nowhere in the trace, even at TRACE level.

mod common;

use common::*;
use httpmock::prelude::*;
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
