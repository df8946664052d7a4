//! The row and page streams against scripted loopback servers: pages that land
//! while the job runs, concurrent fetches delivered in order, failed and
//! cancelled jobs, inconsistent cursors, resuming, laziness.

mod common;

use common::*;
use futures_util::{StreamExt, TryStreamExt};
use httpmock::prelude::*;
use openfunnel::{Checkpoint, Error, JobStatus, Lookalike, RetryPolicy, Rows};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::test]
async fn pages_are_yielded_while_the_job_runs_and_a_null_cursor_means_not_yet() {
    let server = MockServer::start_async().await;
    // First page: not written, then written with no next page yet, then with one.
    let pending = serve(&server, None, page("pending", None, None, vec![]), Some(1)).await;
    let first_without_next = serve(
        &server,
        None,
        page("running", Some("page_0000"), None, rows(0..3)),
        Some(1),
    )
    .await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), Some("page_0001"), rows(0..3)),
        None,
    )
    .await;
    // Second page: written (running, null cursor) twice, then the job completes.
    let second_without_next = serve(
        &server,
        Some("page_0001"),
        page("running", Some("page_0001"), None, rows(3..6)),
        Some(2),
    )
    .await;
    let done = serve(
        &server,
        Some("page_0001"),
        terminal("completed", Some("page_0001"), None, rows(3..6), 2),
        None,
    )
    .await;

    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let rows: Vec<_> = lookalike_job(&client)
        .rows()
        .try_collect()
        .await
        .expect("every row arrives");

    assert_eq!(
        names(&rows),
        expected_names(0..6),
        "each row once, in order"
    );
    pending.assert_calls_async(1).await;
    done.assert_calls_async(1).await;
    // A page just read is not read again before a wait: each page of a
    // running job costs the read that shows the next cursor and the read of
    // the next page, no more.
    first_without_next.assert_calls_async(1).await;
    second_without_next.assert_calls_async(2).await;
    // pending → wait; page_0000 lands (running, no next yet) → wait; its next
    // appears → page_0001 lands (no next yet) → wait, then a longer wait; the
    // status turns completed. A new page resets the backoff.
    assert_eq!(timer.sleeps_ms(), [500, 500, 500, 1000]);
}

#[tokio::test]
async fn a_running_job_with_a_null_cursor_is_not_treated_as_complete() {
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), None, rows(0..2)),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_deadline(Duration::from_secs(20)))
        .build()
        .unwrap();
    let mut rows = lookalike_job(&client).rows();
    assert_eq!(
        rows.next().await.unwrap().unwrap().name.as_deref(),
        Some("Company 0")
    );
    assert_eq!(
        rows.next().await.unwrap().unwrap().name.as_deref(),
        Some("Company 1")
    );
    // No more rows, but no end either: the stream keeps polling until the deadline.
    match rows.next().await {
        Some(Err(Error::TimedOut { last_status, .. })) => {
            assert_eq!(last_status, Some(JobStatus::Running))
        }
        other => panic!("expected a time-out while the job runs, got {other:?}"),
    }
    assert!(
        rows.next().await.is_none(),
        "the stream stops after its error"
    );
}

#[tokio::test]
async fn a_completed_job_is_fetched_concurrently_and_delivered_in_order() {
    let server = MockServer::start_async().await;
    let pages = 9u32;
    // Later pages answer faster, so responses complete out of order.
    serve(
        &server,
        None,
        terminal(
            "completed",
            Some("page_0000"),
            Some("page_0001"),
            rows(0..100),
            pages,
        ),
        None,
    )
    .await;
    for index in 1..pages {
        let name = format!("page_{index:04}");
        let next = (index + 1 < pages).then(|| format!("page_{:04}", index + 1));
        let body = terminal(
            "completed",
            Some(&name),
            next.as_deref(),
            rows(index * 100..(index + 1) * 100),
            pages,
        );
        let delay = Duration::from_millis(400 - u64::from(index) * 40);
        server
            .mock_async(move |when, then| {
                when.method(GET)
                    .path(LOOKALIKE_PATH)
                    .query_param("cursor", name);
                then.status(200).json_body_obj(&body).delay(delay);
            })
            .await;
    }
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    let started = Instant::now();
    let rows: Vec<_> = lookalike_job(&client).rows().try_collect().await.unwrap();
    let concurrent = started.elapsed();

    assert_eq!(names(&rows), expected_names(0..900));
    // Eight pages that take 80-360 ms each: about 0.4 s at once, 1.8 s one by one.
    assert!(
        concurrent < Duration::from_millis(1200),
        "took {concurrent:?}: not concurrent"
    );
    assert!(
        timer.sleeps().is_empty(),
        "a completed job needs no waiting"
    );
}

#[tokio::test]
async fn concurrency_one_walks_next_cursor_only() {
    let server = MockServer::start_async().await;
    // Page names that cannot be predicted: only next_cursor leads anywhere.
    serve(
        &server,
        None,
        terminal("completed", Some("page_0000"), Some("tok-b"), rows(0..2), 3),
        None,
    )
    .await;
    serve(
        &server,
        Some("tok-b"),
        terminal("completed", Some("tok-b"), Some("tok-c"), rows(2..4), 3),
        None,
    )
    .await;
    serve(
        &server,
        Some("tok-c"),
        terminal("completed", Some("tok-c"), None, rows(4..6), 3),
        None,
    )
    .await;
    let built = server
        .mock_async(|when, then| {
            when.query_param("cursor", "page_0001");
            then.status(400);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let rows: Vec<_> = lookalike_job(&client)
        .stream()
        .with_concurrency(1)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&rows), expected_names(0..6));
    built.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_refused_guessed_cursor_falls_back_to_next_cursor() {
    // Was: built cursors tried first. Now guesses are only prefetches: the
    // first link teaches `page_0000` → `page_0001`, the guesses after it are
    // refused (400), and the chain's own opaque cursors are followed.
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        terminal(
            "completed",
            Some("page_0000"),
            Some("page_0001"),
            rows(0..2),
            4,
        ),
        None,
    )
    .await;
    serve(
        &server,
        Some("page_0001"),
        terminal("completed", Some("page_0001"), Some("tok-c"), rows(2..4), 4),
        None,
    )
    .await;
    serve(
        &server,
        Some("tok-c"),
        terminal("completed", Some("tok-c"), None, rows(4..6), 4),
        None,
    )
    .await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(LOOKALIKE_PATH)
                .query_param_exists("cursor");
            then.status(400)
                .json_body(serde_json::json!({"detail": "Unknown cursor"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let mut stream = lookalike_job(&client).rows();
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await.expect("fallback succeeds") {
        rows.push(row);
    }
    assert_eq!(
        names(&rows),
        expected_names(0..6),
        "each row once, in order"
    );
    let outcome = stream.outcome().expect("ended at a completed job");
    assert!(
        outcome.discarded_prefetches >= 1,
        "guessed cursors were tried and thrown away: {outcome:?} ({} refused)",
        refused.calls_async().await
    );
}

#[tokio::test]
async fn a_failed_job_delivers_its_written_pages_then_the_error_with_the_partial_manifest() {
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), Some("page_0001"), rows(0..3)),
        None,
    )
    .await;
    serve(
        &server,
        Some("page_0001"),
        page("running", Some("page_0001"), None, rows(3..5)),
        Some(1),
    )
    .await;
    let mut failed = terminal("failed", Some("page_0001"), None, rows(3..5), 2);
    failed.error_message = Some("upstream search timed out".into());
    serve(&server, Some("page_0001"), failed, None).await;

    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .expect_err("the job failed");
    assert_eq!(
        names(&partial.rows),
        expected_names(0..5),
        "written rows are kept"
    );
    match partial.error {
        Error::JobFailed {
            job_id,
            error_message,
            manifest,
        } => {
            assert_eq!(job_id, JOB);
            assert_eq!(error_message.as_deref(), Some("upstream search timed out"));
            let manifest = manifest.expect("partial manifest");
            assert!(manifest.is_partial());
            assert_eq!(manifest.pages(), Some(2));
        }
        other => panic!("expected JobFailed, got {other}"),
    }
}

#[tokio::test]
async fn a_job_failed_before_any_page_is_an_error_without_rows() {
    let server = MockServer::start_async().await;
    let mut failed = terminal("failed", None, None, vec![], 0);
    failed.error_message = Some("invalid seed domains".into());
    serve(&server, None, failed, None).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert!(partial.rows.is_empty());
    assert!(
        partial.error.to_string().contains("invalid seed domains"),
        "{}",
        partial.error
    );
}

#[tokio::test]
async fn cancelling_then_cancelled_delivers_written_rows_then_job_cancelled() {
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("running", Some("page_0000"), None, rows(0..2)),
        Some(1),
    )
    .await;
    serve(
        &server,
        None,
        page("cancelling", Some("page_0000"), None, rows(0..2)),
        Some(2),
    )
    .await;
    serve(
        &server,
        None,
        terminal("cancelled", Some("page_0000"), None, rows(0..2), 1),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    let statuses = Arc::new(Mutex::new(Vec::new()));
    let seen = statuses.clone();
    let partial = lookalike_job(&client)
        .stream()
        .on_progress(move |progress| seen.lock().unwrap().push(progress.status.clone()))
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(names(&partial.rows), expected_names(0..2));
    assert!(
        matches!(partial.error, Error::JobCancelled { ref manifest, .. } if manifest.is_some())
    );
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(
        statuses,
        [
            JobStatus::Running,
            JobStatus::Cancelling,
            JobStatus::Cancelling,
            JobStatus::Cancelled
        ]
    );
}

#[tokio::test]
async fn a_cursor_cycle_is_an_error_after_the_valid_rows_not_an_endless_loop() {
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
        page("running", Some("page_0001"), Some("page_0002"), rows(2..4)),
        None,
    )
    .await;
    // page_0002 points back to page_0001: A → B → C → B.
    serve(
        &server,
        Some("page_0002"),
        page("running", Some("page_0002"), Some("page_0001"), rows(4..6)),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(names(&partial.rows), expected_names(0..6), "no row twice");
    match partial.error {
        Error::InconsistentPages { problem, .. } => assert!(problem.contains("cycle"), "{problem}"),
        other => panic!("expected InconsistentPages, got {other}"),
    }
}

#[tokio::test]
async fn a_cursor_leading_back_to_the_first_page_is_a_cycle_too() {
    // The first page is fetched without a cursor; its next_cursor `again`
    // answers with the first page (same name) again.
    let server = MockServer::start_async().await;
    let first = page("running", Some("page_0000"), Some("again"), rows(0..2));
    serve(&server, None, first.clone(), None).await;
    serve(&server, Some("again"), first, None).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(names(&partial.rows), expected_names(0..2));
    match partial.error {
        Error::InconsistentPages { problem, .. } => {
            assert!(
                problem.contains("`page_0000` came back a second time"),
                "{problem}"
            )
        }
        other => panic!("expected InconsistentPages, got {other}"),
    }
}

#[tokio::test]
async fn a_page_named_differently_from_its_cursor_is_delivered() {
    // Was `a_page_that_is_not_the_one_asked_for_is_an_error`: the spec never
    // says a page's name equals the cursor that fetched it, so a page named
    // `page_0005` at cursor `page_0001` is simply the chain's next page.
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
        terminal("completed", Some("page_0005"), None, rows(9..11), 2),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let rows = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .expect("every row of the chain");
    let mut expected = expected_names(0..2);
    expected.extend(expected_names(9..11));
    assert_eq!(names(&rows), expected);
}

#[tokio::test]
async fn a_manifest_listing_more_pages_than_the_chain_holds_is_reported() {
    // The manifest says 3 pages, but page_0001 ends the chain: the chain's
    // rows are delivered, the stream ends normally, and the outcome reports
    // the mismatch (it used to be an error).
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
        terminal("completed", Some("page_0001"), None, rows(2..4), 3),
        None,
    )
    .await;
    // Not a poll response: what a guess that went wrong may read.
    let guessed = serve_raw(&server, Some("page_0002"), serde_json::json!({})).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_page_concurrency(1)
        .build()
        .unwrap();
    let mut stream = lookalike_job(&client).rows();
    let mut delivered = Vec::new();
    while let Some(row) = stream.try_next().await.unwrap() {
        delivered.push(row);
    }
    assert_eq!(names(&delivered), expected_names(0..4));
    let mismatch = stream
        .outcome()
        .and_then(|outcome| outcome.manifest_mismatch)
        .expect("the mismatch is reported");
    assert_eq!((mismatch.manifest_pages, mismatch.chain_pages), (3, 2));
    guessed.assert_calls_async(0).await;
}

#[tokio::test]
async fn resuming_from_a_checkpoint_continues_without_duplicates_or_gaps() {
    let server = MockServer::start_async().await;
    serve_completed_job(&server, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    // Read 150 rows, then stop (a crash, a Ctrl-C) and save the position.
    let mut first: Rows<Lookalike> = lookalike_job(&client).rows();
    let mut delivered = Vec::new();
    for _ in 0..150 {
        delivered.push(first.next().await.unwrap().unwrap());
    }
    let saved = serde_json::to_string(&first.checkpoint()).unwrap();
    drop(first);
    assert_eq!(
        saved,
        format!(
            r#"{{"job_id":"{JOB}","kind":"lookalike","cursor":"page_0001","rows_delivered":50}}"#
        )
    );

    let checkpoint: Checkpoint = serde_json::from_str(&saved).unwrap();
    let rest: Vec<_> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoint)
        .rows()
        .try_collect()
        .await
        .unwrap();
    delivered.extend(rest);
    assert_eq!(names(&delivered), expected_names(0..300));
}

#[tokio::test]
async fn a_checkpoint_at_a_page_boundary_resumes_at_the_next_page() {
    let server = MockServer::start_async().await;
    serve_completed_job(&server, 2).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let mut rows = lookalike_job(&client).stream().with_concurrency(1).rows();
    for _ in 0..100 {
        rows.next().await.unwrap().unwrap();
    }
    let checkpoint = rows.checkpoint();
    assert_eq!(checkpoint.cursor(), Some("page_0001"));
    assert_eq!(checkpoint.rows_delivered(), 0);
    let rest: Vec<_> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoint)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&rest), expected_names(100..200));
}

#[tokio::test]
async fn pages_carry_checkpoints_for_page_by_page_exports() {
    let server = MockServer::start_async().await;
    serve_completed_job(&server, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let pages: Vec<_> = lookalike_job(&client).pages().try_collect().await.unwrap();
    let checkpoints: Vec<_> = pages.iter().map(|p| p.checkpoint()).collect();
    assert_eq!(checkpoints[0].cursor(), Some("page_0001"));
    assert_eq!(checkpoints[1].cursor(), Some("page_0002"));
    // The last page: resume re-reads it and skips its 100 rows.
    assert_eq!(
        (checkpoints[2].cursor(), checkpoints[2].rows_delivered()),
        (Some("page_0002"), 100)
    );
    let after_end: Vec<_> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoints[2].clone())
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert!(after_end.is_empty());
}

#[tokio::test]
async fn a_page_stream_knows_where_it_stands_before_between_and_after_an_error() {
    // page_0000 → page_0001, then page_0002 answers 500 for good.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(LOOKALIKE_PATH)
                .query_param("cursor", "page_0002");
            then.status(500);
        })
        .await;
    serve_completed_job(&server, 3).await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let job = lookalike_job(&client);
    let start = job.start_checkpoint();
    let mut pages = job.stream().resume_from(start.clone()).pages();
    assert_eq!(
        pages.checkpoint(),
        start,
        "before the first page: where it starts"
    );
    for _ in 0..2 {
        let page = pages.try_next().await.unwrap().expect("a page");
        assert_eq!(
            pages.checkpoint(),
            page.checkpoint(),
            "after each page: past it"
        );
    }
    let error = pages.try_next().await.unwrap_err();
    assert_eq!(error.status(), Some(500), "{error}");
    let resume = pages.checkpoint();
    assert_eq!(
        (
            resume.job_id(),
            resume.kind(),
            resume.cursor(),
            resume.rows_delivered()
        ),
        (Some(JOB), Some("lookalike"), Some("page_0002"), 0),
        "after the error: the page it could not read"
    );
}

#[tokio::test]
async fn an_unknown_cursor_in_a_checkpoint_is_a_clear_error_not_retried() {
    // One kind documents 400 for a bad request, the other 404 and 422 (a
    // validation list that names the cursor).
    let plain = serde_json::json!({"detail": "Unknown cursor"});
    let about_the_cursor = serde_json::json!({"detail": [
        {"loc": ["query", "cursor"], "msg": "Unknown cursor", "type": "value_error"}
    ]});
    for (status, body) in [(400, &plain), (404, &plain), (422, &about_the_cursor)] {
        let server = MockServer::start_async().await;
        let refused = server
            .mock_async(|when, then| {
                when.method(GET)
                    .path(LOOKALIKE_PATH)
                    .query_param("cursor", "page_0042");
                then.status(status).json_body(body.clone());
            })
            .await;
        let timer = VirtualTimer::new();
        let client = client(&server, &timer);
        let checkpoint: Checkpoint =
            serde_json::from_str(r#"{"cursor":"page_0042","rows_delivered":0}"#).unwrap();
        let error = lookalike_job(&client)
            .stream()
            .resume_from(checkpoint)
            .rows()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(status));
        assert!(
            error
                .to_string()
                .contains("has no page at cursor `page_0042`"),
            "{error}"
        );
        match error {
            Error::UnknownCursor { cursor, .. } => assert_eq!(cursor, "page_0042"),
            other => panic!("HTTP {status}: expected UnknownCursor, got {other}"),
        }
        refused.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn an_unusable_cursor_in_a_checkpoint_is_refused_before_any_request() {
    // Cursors are opaque, so `../../admin` is a legal cursor (sent encoded in
    // the query); only an empty one or one with control characters cannot be
    // sent back and is refused before any request.
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for cursor in [r#""""#, r#""page\n0001""#, r#""a\u0000b""#] {
        let checkpoint: Checkpoint =
            serde_json::from_str(&format!(r#"{{"cursor":{cursor},"rows_delivered":0}}"#)).unwrap();
        let error = lookalike_job(&client)
            .stream()
            .resume_from(checkpoint)
            .rows()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{cursor}: {error}");
        assert!(
            error
                .to_string()
                .contains("exactly as OpenFunnel returned it"),
            "{error}"
        );
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_path_like_cursor_travels_in_the_query_not_the_path() {
    let server = MockServer::start_async().await;
    let at_cursor = serve(
        &server,
        Some("../../admin"),
        terminal("completed", Some("x"), None, rows(0..1), 1),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let checkpoint: Checkpoint =
        serde_json::from_str(r#"{"cursor":"../../admin","rows_delivered":0}"#).unwrap();
    let rows: Vec<_> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoint)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&rows), expected_names(0..1));
    at_cursor.assert_calls_async(1).await;
}

#[tokio::test]
async fn streams_are_lazy_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    // Its own job ids: httpmock reuses servers between tests, and a request
    // another test left in flight must not count here.
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.path_includes("lazy-job");
            then.status(500);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let rows = client.lookalike().job("lazy-job-1").unwrap().rows();
    let pages = client.tech_intent().job("lazy-job-2").unwrap().pages();
    assert_send_unpin(&rows);
    assert_send_unpin(&pages);
    tokio::task::yield_now().await;
    drop((rows, pages));
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_ten_thousand_row_job_from_submit_to_every_row() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/account/search-lookalikes-bulk");
            then.status(202)
                .json_body(serde_json::json!({"job_id": JOB, "status": "pending"}));
        })
        .await;
    serve(&server, None, page("running", None, None, vec![]), Some(3)).await;
    serve_completed_job(&server, 100).await;
    let timer = VirtualTimer::new();

    // What a user writes:
    let client = builder(&server, &timer).build().unwrap();
    let job = client
        .lookalike()
        .submit(
            openfunnel::LookalikeSearch::default()
                .query("observability platforms")
                .limit(10_000),
        )
        .await
        .unwrap();
    let mut rows = job.rows();
    let mut domains = Vec::new();
    while let Some(row) = rows.try_next().await.unwrap() {
        domains.push(row.domain.unwrap_or_default());
    }

    assert_eq!(domains.len(), 10_000);
    let unique: std::collections::HashSet<_> = domains.iter().collect();
    assert_eq!(unique.len(), 10_000, "every row exactly once");
    assert_eq!(domains[9_999], "c9999.example");
}

#[tokio::test]
async fn intent_rows_keep_their_undeclared_firmographics_through_the_stream() {
    let server = MockServer::start_async().await;
    let row = serde_json::json!({
        "company_slug": "acme-analytics", "company_name": "Acme Analytics", "post_count": 7,
        "enriched": true, "website": "acme-analytics.com", "employee_count": 850,
        "industries": ["Data Infrastructure"], "revenue_usd": 12500000.5,
        "intent": {"activity": "migrating", "reason": "says so", "qualified_job": {"title": "Data Engineer"}}
    });
    let body = serde_json::json!({
        "job_id": JOB, "status": "completed", "rows": [row.clone()], "page": "page_0000",
        "next_cursor": null, "count": 1,
        "manifest": {"pages": 1, "page_size": 100, "count": 1, "partial": false, "credits_consumed": 20}
    });
    serve_intent(&server, None, serde_json::from_value(body).unwrap()).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let rows = client
        .tech_intent()
        .job(JOB)
        .unwrap()
        .rows()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].extra["website"], "acme-analytics.com");
    let written = serde_json::to_value(&rows[0]).unwrap();
    for field in ["website", "employee_count", "industries", "revenue_usd"] {
        assert_eq!(written[field], row[field], "{field} survives");
    }
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

/// Compressed or not, a page hands out the rows exactly as the server wrote
/// them; compressed, far fewer bytes cross the wire.
#[tokio::test]
async fn compressed_responses_carry_the_same_rows_in_fewer_bytes() {
    use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
    let mut texts = Vec::new();
    let mut bytes = Vec::new();
    for compressed in [false, true] {
        let sim = Simulator::start_with(SimConfig::default().with_gzip(true))
            .await
            .unwrap();
        let id = sim.add_job(JobType::Lookalike, JobProfile::completed(1_000));
        let client = openfunnel::Client::builder()
            .with_api_key(KEY)
            .with_base_url(sim.base_url())
            .with_compressed_responses(compressed)
            .build()
            .unwrap();
        let pages: Vec<_> = client
            .lookalike()
            .job(id)
            .unwrap()
            .pages()
            .try_collect()
            .await
            .unwrap();
        let rows: Vec<String> = pages
            .iter()
            .flat_map(|page| page.json_rows().iter().map(|row| row.get().to_string()))
            .collect();
        assert_eq!(rows.len(), 1_000);
        texts.push(rows);
        bytes.push(sim.requests().poll_body_bytes);
    }
    assert_eq!(texts[0], texts[1], "the same rows, byte for byte");
    assert!(
        bytes[1] * 3 < bytes[0],
        "compressed {} bytes vs {} plain",
        bytes[1],
        bytes[0]
    );
}
