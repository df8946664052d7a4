//! Decoding never panics: arbitrary and mutated response bodies give typed
//! errors with a body excerpt; a body over the size cap is refused while it
//! is read.

mod common;

use common::VirtualTimer;
use openfunnel::{Client, Error, Lookalike, RetryPolicy};
use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
use proptest::prelude::*;

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
    let job = client(sim.base_url(), max_bytes)
        .lookalike()
        .job(id)
        .unwrap();
    (sim, job)
}

fn client(base_url: &str, max_bytes: u64) -> Client {
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
