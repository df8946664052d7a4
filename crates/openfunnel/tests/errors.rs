//! Errors: each status means one typed error whatever its body, every body
//! shape the server may send is read, bad input and configuration are refused
//! before any request, and no body (random bytes, hostile JSON, one over the
//! size cap) makes the SDK panic.

mod common;

use common::{VirtualTimer, *};
use httpmock::prelude::*;
use openfunnel::{Client, Error, Lookalike, LookalikeSearch, RetryPolicy, TechIntentSearch};
use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
use proptest::prelude::*;
use serde_json::json;

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

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    // What this test could send: a submit, or a read of its own job (httpmock
    // reuses servers between tests: a request another test left in flight,
    // to the fixture job, must not count here).
    let server = MockServer::start_async().await;
    let submits = server
        .mock_async(|when, then| {
            when.method(POST)
                .path_matches(r"(search-lookalikes-bulk|intent-search)$");
            then.status(200);
        })
        .await;
    let reads = server
        .mock_async(|when, then| {
            when.path_includes("invalid-input-job");
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
    let job = client.lookalike().job("invalid-input-job").unwrap();
    for cursor in ["", "page\n1"] {
        let page = job.page(Some(cursor)).await;
        assert!(matches!(page, Err(Error::InvalidInput(_))), "{cursor:?}");
    }
    submits.assert_calls_async(0).await;
    reads.assert_calls_async(0).await;
}

#[test]
fn a_missing_key_names_the_environment_variable() {
    let error = Client::builder().with_api_key("  ").build().unwrap_err();
    assert!(error.to_string().contains("OPENFUNNEL_API_KEY"), "{error}");
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

// ---------------------------------------------------------------- any error body

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
        // Dozens of failing cases through one client: each gets its own
        // attempts (the shared budget has its tests in retries.rs).
        .with_retry_budget(openfunnel::RetryBudget::unlimited())
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

/// A simulator whose every poll answers 200 with exactly `body`
/// ([`Fault::Body`]), and a job of it, read by a client that accepts bodies
/// of at most `max_bytes`.
async fn serving(
    body: &[u8],
    chunked: bool,
    max_bytes: u64,
) -> (Simulator, openfunnel::Job<Lookalike>) {
    let fault = Fault::Body {
        body: body.into(),
        chunked,
    };
    let sim = Simulator::start_with(SimConfig::default().with_fault(fault))
        .await
        .unwrap();
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(1));
    let job = capped_client(sim.base_url(), max_bytes)
        .lookalike()
        .job(id)
        .unwrap();
    (sim, job)
}

fn capped_client(base_url: &str, max_bytes: u64) -> Client {
    Client::builder()
        .with_api_key(common::KEY)
        .with_base_url(base_url)
        .with_timer(VirtualTimer::new())
        .with_retry_policy(RetryPolicy::never())
        .with_max_response_bytes(max_bytes)
        .build()
        .unwrap()
}

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("job_id".to_string()),
                    Just("status".to_string()),
                    Just("rows".to_string()),
                    Just("next_cursor".to_string()),
                    Just("manifest".to_string()),
                    ".{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies: random bytes, JSON of any shape, and targeted hostile cases.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        Just(Vec::new()),
        Just(b"\xff\xfe{\"job_id\": \"\xc3\x28\"}".to_vec()),
        Just(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        Just(br#"{"job_id":"j","status":"running","count":1e400}"#.to_vec()),
        Just(br#"{"job_id":"j","status":"running","count":18446744073709551616999}"#.to_vec()),
        Just(br#"{"job_id":"j","status":"running","rows":[{"name":{"deep":[1,2,3]}}]}"#.to_vec()),
    ]
}

#[test]
fn any_body_gives_a_page_or_a_typed_error_never_a_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = common::proptest_runner();
    runner
        .run(&body(), |bytes| {
            let polled = runtime.block_on(async {
                let (_sim, job) = serving(&bytes, false, 8 * 1024 * 1024).await;
                job.poll().await
            });
            // A page exactly when the bytes are a poll response of the spec.
            let decodes =
                serde_json::from_slice::<openfunnel::raw::types::BulkLookalikeJobResponse>(&bytes)
                    .is_ok();
            match polled {
                Ok(_) => prop_assert!(decodes, "accepted {:?}", String::from_utf8_lossy(&bytes)),
                Err(Error::Decode { body, .. }) => {
                    prop_assert!(!decodes, "refused a valid page");
                    // The excerpt is the start of what was received.
                    let received = String::from_utf8_lossy(&bytes);
                    prop_assert!(
                        received.starts_with(body.trim_end_matches('…')) || bytes.is_empty()
                    );
                }
                Err(other) => prop_assert!(
                    false,
                    "unexpected error {other:?} for {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn a_body_over_the_cap_is_refused_with_or_without_a_length() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows: Vec<serde_json::Value> =
        (0..50_000).map(|i| serde_json::json!({"name": format!("Company {i}"), "domain": format!("c{i}.example")})).collect();
    let big = serde_json::to_vec(
        &serde_json::json!({"job_id": "j", "status": "completed", "rows": rows}),
    )
    .unwrap();
    assert!(big.len() > 1024 * 1024);
    for chunked in [false, true] {
        let refused = runtime.block_on(async {
            let (_sim, job) = serving(&big, chunked, 1024 * 1024).await;
            job.poll().await
        });
        match refused {
            Err(Error::ResponseTooLarge { limit, operation }) => {
                assert_eq!(limit, 1024 * 1024);
                assert_eq!(operation, "search_lookalikes_bulk_status");
            }
            Ok(page) => panic!(
                "chunked={chunked}: a {}-row page over the cap was accepted",
                page.rows.len()
            ),
            Err(other) => panic!("chunked={chunked}: expected ResponseTooLarge, got {other}"),
        }
        // The same body is fine under the default cap.
        let accepted = runtime.block_on(async {
            let default_cap = openfunnel::raw::DEFAULT_MAX_RESPONSE_BYTES;
            let (_sim, job) = serving(&big, chunked, default_cap).await;
            job.poll().await
        });
        assert_eq!(accepted.expect("under the default cap").rows.len(), 50_000);
    }
}

/// A gzip bomb: a body of 16 MiB of spaces crosses the wire compressed in a
/// few kilobytes; the response limit counts the bytes after decompression,
/// so it is refused all the same (and read no further than the limit).
#[tokio::test]
async fn a_compressed_body_is_capped_by_its_decompressed_size() {
    let bomb = vec![b' '; 16 * 1024 * 1024];
    let fault = Fault::Body {
        body: bomb.into(),
        chunked: true,
    };
    let sim = Simulator::start_with(SimConfig::default().with_fault(fault).with_gzip(true))
        .await
        .unwrap();
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(1));
    let client = Client::builder()
        .with_api_key(common::KEY)
        .with_base_url(sim.base_url())
        .with_timer(VirtualTimer::new())
        .with_retry_policy(RetryPolicy::never())
        .with_max_response_bytes(1024 * 1024)
        .with_compressed_responses(true)
        .build()
        .unwrap();
    let refused = client.lookalike().job(id).unwrap().poll().await;
    assert!(
        matches!(
            refused,
            Err(Error::ResponseTooLarge {
                limit: 1_048_576,
                ..
            })
        ),
        "{refused:?}"
    );
    let sent = sim.requests().poll_body_bytes;
    assert!(
        sent < 100 * 1024,
        "the bomb was small on the wire: {sent} bytes"
    );
}
