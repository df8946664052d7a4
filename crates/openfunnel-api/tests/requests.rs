//! Pins the HTTP shape of every generated operation (method, path, query,
//! headers, body) against a loopback httpmock server, and how the client treats
//! the API key: set once, sent on every request, never shown, never carried to
//! another origin.

use httpmock::prelude::*;
use openfunnel_api::{Client, Error, types};
use serde_json::json;

/// A made-up key used only by these tests.
const FIXTURE_KEY: &str = "of_fixture_5eb63bbbe01eeed093cb22bb8f5acdc3";
const JOB_ID: &str = "d8a1bddb-44f1-4c7f-87a7-f37496354ff6";

fn client(server: &MockServer) -> Client {
    Client::with_api_key(&server.base_url(), FIXTURE_KEY).expect("fixture key is valid")
}

fn lookalike_page() -> serde_json::Value {
    json!({
        "job_id": JOB_ID,
        "status": "running",
        "rows": [{"name": "Acme", "domain": "acme.com", "employee_count": 120}],
        "page": "page_0001",
        "next_cursor": null,
        "count": 1,
        "processed": 101,
        "progress_message": "qualifying_companies"
    })
}

#[tokio::test]
async fn lookalike_poll_sends_path_cursor_limit_and_key() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v1/account/search-lookalikes-bulk/{JOB_ID}"))
                .query_param("cursor", "page_0001")
                .query_param("limit", "50")
                .header("x-api-key", FIXTURE_KEY)
                .header("api-version", "1.0.0");
            then.status(200).json_body(lookalike_page());
        })
        .await;
    let limit = std::num::NonZeroU64::new(50);
    let page = client(&server)
        .search_lookalikes_bulk_status(JOB_ID, Some("page_0001"), limit)
        .await
        .expect("the mocked page decodes");
    mock.assert_async().await;
    assert_eq!(page.status, "running");
    assert_eq!(page.page.as_deref(), Some("page_0001"));
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.rows[0].domain.as_deref(), Some("acme.com"));
    assert_eq!(page.processed, Some(101));
}

#[tokio::test]
async fn lookalike_first_page_omits_cursor_and_limit() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v1/account/search-lookalikes-bulk/{JOB_ID}"))
                .query_param_missing("cursor")
                .query_param_missing("limit")
                .header("x-api-key", FIXTURE_KEY);
            then.status(200).json_body(lookalike_page());
        })
        .await;
    client(&server)
        .search_lookalikes_bulk_status(JOB_ID, None, None)
        .await
        .expect("first page decodes");
    mock.assert_async().await;
}

#[tokio::test]
async fn intent_poll_sends_path_cursor_and_key() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v2/tech/companies/intent-search/{JOB_ID}"))
                .query_param("cursor", "page_0002")
                .header("x-api-key", FIXTURE_KEY);
            then.status(200).json_body(json!({
                "job_id": JOB_ID,
                "status": "pending",
                "rows": [],
                "page": null,
                "next_cursor": null,
                "count": 0
            }));
        })
        .await;
    let page = client(&server)
        .tech_intent_search_status(JOB_ID, Some("page_0002"))
        .await
        .expect("the mocked page decodes");
    mock.assert_async().await;
    assert_eq!(page.status, "pending");
    assert!(page.rows.is_empty());
}

#[tokio::test]
async fn lookalike_submit_posts_the_body_and_accepts_202() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/account/search-lookalikes-bulk")
                .header("x-api-key", FIXTURE_KEY)
                .header("content-type", "application/json")
                .json_body(json!({
                    "query": "observability platforms",
                    "limit": 2000,
                    "locations": ["USA"]
                }));
            then.status(202)
                .json_body(json!({"job_id": JOB_ID, "status": "pending", "queue_position": 3}));
        })
        .await;
    let request: types::BulkLookalikeSearchRequest = serde_json::from_value(json!({
        "query": "observability platforms",
        "limit": 2000,
        "locations": ["USA"]
    }))
    .expect("a valid request");
    let accepted = client(&server)
        .search_lookalikes_bulk(&request)
        .await
        .expect("any 2xx is accepted");
    mock.assert_async().await;
    assert_eq!(accepted.job_id, JOB_ID);
    // A field the spec does not declare is kept, not dropped.
    assert_eq!(accepted.extra["queue_position"], 3);
}

#[tokio::test]
async fn intent_submit_posts_the_body_with_documented_defaults() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v2/tech/companies/intent-search")
                .header("x-api-key", FIXTURE_KEY)
                .json_body(json!({
                    "tech": "Snowflake",
                    "activity": "migrating off Redshift to Snowflake",
                    "lookback_days": 365,
                    "limit": 100,
                    "exclude_vendor": true,
                    "exclude_aggregators": true,
                    "enrich": false
                }));
            then.status(200).json_body(json!({
                "job_id": JOB_ID,
                "message": "accepted",
                "requested_limit": 100,
                "status": "pending"
            }));
        })
        .await;
    let request: types::TechIntentSearchRequest = serde_json::from_value(json!({
        "tech": "Snowflake",
        "activity": "migrating off Redshift to Snowflake"
    }))
    .expect("defaults fill the optional fields");
    let accepted = client(&server)
        .tech_intent_search(&request)
        .await
        .expect("submit succeeds");
    mock.assert_async().await;
    assert_eq!(accepted.requested_limit, Some(100));
}

#[tokio::test]
async fn cancel_posts_without_a_body_and_409_keeps_its_status() {
    let server = MockServer::start_async().await;
    let path = format!("/api/v1/account/search-lookalikes-bulk/{JOB_ID}/cancel");
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path.clone())
                .header("x-api-key", FIXTURE_KEY)
                .body("");
            then.status(200)
                .json_body(json!({"job_id": JOB_ID, "status": "cancelling"}));
        })
        .await;
    let cancelled = client(&server)
        .search_lookalikes_bulk_cancel(JOB_ID)
        .await
        .expect("cancel accepted");
    accepted.assert_async().await;
    assert_eq!(cancelled.status.as_deref(), Some("cancelling"));

    accepted.delete_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(path.clone());
            then.status(409).body("job already finished");
        })
        .await;
    let error = client(&server)
        .search_lookalikes_bulk_cancel(JOB_ID)
        .await
        .expect_err("409 is an error");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(409));
    match error {
        Error::UnexpectedResponse(response) => {
            assert_eq!(response.text().await.unwrap(), "job already finished")
        }
        other => panic!("expected the raw 409 response, got {other:?}"),
    }
}

#[tokio::test]
async fn validation_errors_are_typed_and_404_keeps_status_and_body() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/account/search-lookalikes-bulk/bad");
            then.status(422).json_body(json!({"detail": [
                {"loc": ["query", "limit", 0], "msg": "must be <= 100", "type": "less_than_equal"}
            ]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/account/search-lookalikes-bulk/missing");
            then.status(404)
                .json_body(json!({"detail": "Job not found"}));
        })
        .await;
    let client = client(&server);

    match client
        .search_lookalikes_bulk_status("bad", None, None)
        .await
    {
        Err(Error::ErrorResponse(body)) => {
            assert_eq!(body.status().as_u16(), 422);
            assert_eq!(body.detail[0].msg, "must be <= 100");
            assert_eq!(body.detail[0].loc.len(), 3);
        }
        other => panic!("expected a typed 422, got {other:?}"),
    }
    match client
        .search_lookalikes_bulk_status("missing", None, None)
        .await
    {
        Err(Error::UnexpectedResponse(response)) => {
            assert_eq!(response.status().as_u16(), 404);
            assert!(response.text().await.unwrap().contains("Job not found"));
        }
        other => panic!("expected the raw 404, got {other:?}"),
    }
}

#[tokio::test]
async fn a_422_whose_body_is_not_the_spec_schema_keeps_its_status_and_body() {
    // FastAPI's HTTPException shape: `detail` is a string, not the list the
    // spec's HTTPValidationError declares.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/account/search-lookalikes-bulk/bad");
            then.status(422)
                .json_body(json!({"detail": "limit must be at most 100"}));
        })
        .await;
    match client(&server)
        .search_lookalikes_bulk_status("bad", None, None)
        .await
    {
        Err(Error::UnexpectedResponse(response)) => {
            assert_eq!(response.status().as_u16(), 422);
            let body = response.text().await.unwrap();
            assert!(body.contains("limit must be at most 100"), "{body}");
        }
        other => panic!("expected the raw 422, not a decoding failure: {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_and_never_gets_the_key() {
    let api = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let stolen = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(lookalike_page());
        })
        .await;
    api.mock_async(|when, then| {
        when.method(GET);
        then.status(307).header(
            "location",
            elsewhere.url(format!("/api/v1/account/search-lookalikes-bulk/{JOB_ID}")),
        );
    })
    .await;

    let error = client(&api)
        .search_lookalikes_bulk_status(JOB_ID, None, None)
        .await
        .expect_err("a cross-origin redirect is handed back, not followed");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307));
    assert_eq!(
        stolen.calls_async().await,
        0,
        "the other origin was contacted"
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v1/account/search-lookalikes-bulk/{JOB_ID}"));
            then.status(307).header("location", "/moved");
        })
        .await;
    let moved = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/moved")
                .header("x-api-key", FIXTURE_KEY);
            then.status(200).json_body(lookalike_page());
        })
        .await;
    client(&server)
        .search_lookalikes_bulk_status(JOB_ID, None, None)
        .await
        .expect("same-origin redirect is followed");
    moved.assert_async().await;
}

#[test]
fn the_key_never_appears_in_debug_output() {
    let client = Client::with_api_key("https://api.openfunnel.dev", FIXTURE_KEY).unwrap();
    let debug = format!("{client:?}");
    assert!(
        debug.contains("x-api-key"),
        "the header is configured: {debug}"
    );
    assert!(!debug.contains(FIXTURE_KEY), "the key leaked: {debug}");
    let alternate = format!("{client:#?}");
    assert!(!alternate.contains(FIXTURE_KEY));
}
