//! Waiting, retries, errors, submit and cancel, and the client's security
//! rules, each against a loopback httpmock server and a virtual clock.

mod common;

use common::*;
use httpmock::prelude::*;
use openfunnel::{Client, Error, JobStatus, LookalikeSearch, RetryPolicy, TechIntentSearch};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    lookalike_job(&client)
        .wait_with(&policy, |p| {
            seen.lock()
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

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_429_waits_exactly_as_long_as_retry_after_says() {
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

// ---------------------------------------------------------------- fail fast

#[tokio::test]
async fn not_found_unauthorized_and_validation_fail_fast_without_retries_or_polling() {
    for (status, body) in [
        (404, json!({"detail": "Job not found"})),
        (401, json!({"detail": "Invalid API key"})),
        (403, json!({"detail": "Forbidden"})),
        (
            422,
            json!({"detail": [{"loc": ["path", "job_id"], "msg": "bad id", "type": "value_error"}]}),
        ),
    ] {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path(LOOKALIKE_PATH);
                then.status(status).json_body(body);
            })
            .await;
        let timer = VirtualTimer::new();
        let client = client(&server, &timer);
        let error = lookalike_job(&client).wait().await.unwrap_err();
        mock.assert_calls_async(1).await;
        assert!(
            timer.sleeps().is_empty(),
            "{status}: slept {:?}",
            timer.sleeps()
        );
        assert_eq!(error.status(), Some(status));
        assert!(!error.is_retryable());
        match (status, &error) {
            (404, Error::NotFound { job_id, .. }) => {
                assert_eq!(job_id, JOB);
                assert_eq!(error.job_id(), Some(JOB));
            }
            (401 | 403, Error::Unauthorized { .. }) => {}
            (422, Error::Validation { issues, .. }) => {
                assert_eq!(issues[0].location, "path.job_id");
                assert_eq!(issues[0].message, "bad id");
            }
            _ => panic!("{status}: unexpected {error:?}"),
        }
    }
}

// ---------------------------------------------------------------- submit

#[tokio::test]
async fn submit_sends_the_validated_body_and_returns_the_job() {
    let server = MockServer::start_async().await;
    let submit = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v2/tech/companies/intent-search")
                .header("x-api-key", KEY)
                .header(
                    "user-agent",
                    concat!("openfunnel-rs/", env!("CARGO_PKG_VERSION")),
                )
                .json_body(json!({
                    "tech": "Snowflake", "activity": "migrating off Redshift",
                    "lookback_days": 180, "limit": 50,
                    "exclude_vendor": true, "exclude_aggregators": true, "enrich": true,
                    "hq_country_code": "USA"
                }));
            then.status(200)
                .json_body(json!({"job_id": JOB, "status": "pending", "requested_limit": 50}));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let job = client
        .tech_intent()
        .submit(
            TechIntentSearch::new("Snowflake", "migrating off Redshift")
                .lookback_days(180)
                .limit(50)
                .enrich(true)
                .hq_country_code("USA"),
        )
        .await
        .unwrap();
    submit.assert_calls_async(1).await;
    assert_eq!(job.id(), JOB);
    // The submit's answer is kept on the job.
    let submitted = job.submission().expect("a submitted job keeps the answer");
    assert_eq!(submitted.requested_limit, Some(50));
    assert_eq!(
        openfunnel::Acknowledgement::status(submitted),
        Some(JobStatus::Pending)
    );
    assert!(
        client
            .tech_intent()
            .job(JOB)
            .unwrap()
            .submission()
            .is_none()
    );
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
async fn invalid_input_is_refused_before_any_request() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    let refused = [
        client
            .lookalike()
            .submit(LookalikeSearch::default().query("x".repeat(201)))
            .await
            .err(),
        client
            .lookalike()
            .submit(LookalikeSearch::default())
            .await
            .err(),
        client
            .lookalike()
            .submit(LookalikeSearch::default().query("APM").limit(10_001))
            .await
            .err(),
        client
            .tech_intent()
            .submit(TechIntentSearch::new("dbt", "x").limit(501))
            .await
            .err(),
        client
            .tech_intent()
            .submit(TechIntentSearch::new("dbt", "x").lookback_days(0))
            .await
            .err(),
        client.lookalike().job("..").err(),
        client.lookalike().job("").err(),
        client.lookalike().job("a/b").err(),
    ];
    for error in refused {
        assert!(matches!(error, Some(Error::InvalidInput(_))), "{error:?}");
    }
    for cursor in ["", "page\n1"] {
        let page = lookalike_job(&client).page(Some(cursor)).await;
        assert!(matches!(page, Err(Error::InvalidInput(_))), "{cursor:?}");
    }
    any.assert_calls_async(0).await;
}

// ---------------------------------------------------------------- cancel

#[tokio::test]
async fn cancel_asks_the_server_and_a_finished_job_is_not_an_error() {
    let server = MockServer::start_async().await;
    let cancel_path = format!("{LOOKALIKE_PATH}/cancel");
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(cancel_path.clone())
                .header("x-api-key", KEY);
            then.status(200)
                .json_body(json!({"job_id": JOB, "status": "cancelling", "message": "stopping"}))
                .up_to_n_times(1);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(cancel_path.clone());
            then.status(409)
                .json_body(json!({"detail": "Job already finished"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let job = lookalike_job(&client);

    let first = job.cancel().await.unwrap();
    assert_eq!(first.status, Some(JobStatus::Cancelling));
    assert!(!first.already_finished);
    accepted.assert_calls_async(1).await;

    let second = job.cancel().await.unwrap();
    assert!(second.already_finished);
}

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

#[test]
fn a_missing_key_names_the_environment_variable() {
    let error = Client::builder().with_api_key("  ").build().unwrap_err();
    assert!(error.to_string().contains("OPENFUNNEL_API_KEY"), "{error}");
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

#[tokio::test]
async fn ids_that_look_hostile_but_pass_are_sent_encoded_and_stay_in_the_jobs_path() {
    let server = MockServer::start_async().await;
    let one_job_segment = server
        .mock_async(|when, then| {
            when.method(GET)
                .path_matches(r"^/api/v1/account/search-lookalikes-bulk/[^/]+$");
            then.status(200)
                .json_body_obj(&terminal("completed", None, None, vec![], 0));
        })
        .await;
    let escaped = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let long = "x".repeat(256);
    let hostile = [
        "%2e%2e",
        "%2e",
        "a%2Fb",
        "..%2F..%2Fadmin",
        "é-ünï",
        "job;rm-rf",
        "a&cursor=page_0009",
        long.as_str(),
    ];
    for id in hostile {
        let job = client
            .lookalike()
            .job(id)
            .unwrap_or_else(|e| panic!("{id:?} refused: {e}"));
        job.poll().await.unwrap_or_else(|e| panic!("{id:?}: {e}"));
    }
    one_job_segment.assert_calls_async(hostile.len()).await;
    escaped.assert_calls_async(0).await;
}
