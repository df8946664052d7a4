//! Jobs: a submit sends the validated body and returns the job, ids are sent
//! encoded in the job's path, and cancel asks the server (a finished job is not
//! an error).

mod common;

use common::*;
use httpmock::prelude::*;
use openfunnel::{JobStatus, TechIntentSearch};
use serde_json::json;

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
