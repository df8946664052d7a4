//! Every well-formed body the shared test helpers build conforms to the
//! vendored spec, checked by the simulator's validator: a fake server that
//! answers what no real server may send would test nothing. (Tests that send
//! hostile or malformed bodies on purpose — `hostile_bodies.rs`, the echoed
//! key in `network.rs` — build those bodies themselves and say so.)

mod common;

use common::*;
use openfunnel_sim::conformance::Spec;
use serde_json::Value;

const POLL: &str = "/api/v1/account/search-lookalikes-bulk/{job_id}";

fn assert_conforms(what: &str, body: &Value) {
    let errors = Spec::vendored().check_response(POLL, "get", 200, body);
    assert!(
        errors.is_empty(),
        "{what} breaks the spec: {errors:#?}\n{body:#}"
    );
}

#[test]
fn every_helper_body_conforms_to_the_spec() {
    for status in ["pending", "running", "cancelling"] {
        assert_conforms(status, &page(status, None, None, vec![]));
        assert_conforms(
            status,
            &page(status, Some("page_0000"), Some("page_0001"), rows(0..3)),
        );
    }
    for status in ["completed", "failed", "cancelled"] {
        assert_conforms(
            status,
            &terminal(status, Some("page_0002"), None, rows(200..250), 3),
        );
        assert_conforms(status, &terminal(status, None, None, vec![], 0));
    }
    assert_conforms("a chain page", &{
        let mut body = page("completed", Some("x"), None, rows(0..1));
        body["manifest"] = manifest("completed", 1, i64::MAX);
        body
    });
}

#[test]
fn the_check_is_not_vacuous() {
    let mut body = page("running", None, None, rows(0..1));
    body["rows"][0]["employees"] = serde_json::json!(5);
    let errors = Spec::vendored().check_response(POLL, "get", 200, &body);
    assert!(!errors.is_empty(), "an undeclared row field went unnoticed");
}
